#include "dataflow/sources/tail_file.hpp"

#include <fcntl.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>
#include <xxhash.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>

#include "dataflow/config_error.hpp"
#include "dataflow/streaming_context.hpp"

namespace rill {

namespace fs = std::filesystem;

namespace {

constexpr std::string_view kHeader = "tail1\n";

struct Identity {
  dev_t dev = 0;
  ino_t ino = 0;
};

// Opens path read-only; -1 with errno set on failure.
int open_file(const std::string& path) {
  return ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
}

// Reads [begin, end) of fd, or to EOF when end is npos. Returns 0 or an errno value; a file
// shorter than end yields what is there (the caller compares sizes).
int read_range(int fd, uint64_t begin, uint64_t end, std::string& out) {
  char buf[64 * 1024];
  uint64_t at = begin;
  while (at < end) {
    size_t want = static_cast<size_t>(std::min<uint64_t>(sizeof buf, end - at));
    ssize_t n = ::pread(fd, buf, want, static_cast<off_t>(at));
    if (n == 0) break;
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    out.append(buf, static_cast<size_t>(n));
    at += static_cast<uint64_t>(n);
  }
  return 0;
}

// Opens the file with identity id: at path, else under any name in path's directory.
// Returns the fd, or -1 when no such file exists.
int open_by_identity(const std::string& path, Identity id) {
  struct stat st {};
  int fd = open_file(path);
  if (fd >= 0 && ::fstat(fd, &st) == 0 && st.st_dev == id.dev && st.st_ino == id.ino) return fd;
  if (fd >= 0) ::close(fd);
  fs::path dir = fs::path(path).parent_path();
  if (dir.empty()) dir = ".";
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    if (::stat(it->path().c_str(), &st) != 0 || st.st_dev != id.dev || st.st_ino != id.ino)
      continue;
    fd = open_file(it->path().string());
    if (fd >= 0) return fd;
  }
  return -1;
}

uint64_t hash_of(std::string_view bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

// The lines of one range's bytes; an unterminated rest (only at a rotated file's end) is one.
void split_lines(std::string_view bytes, std::vector<std::string>& out) {
  size_t begin = 0;
  while (begin < bytes.size()) {
    size_t nl = bytes.find('\n', begin);
    size_t end = nl == std::string_view::npos ? bytes.size() : nl;
    std::string_view line = bytes.substr(begin, end - begin);
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    out.emplace_back(line);
    begin = end + 1;
  }
}

std::string describe(const TailFileSource::Range& r) {
  return "bytes [" + std::to_string(r.begin) + ", " + std::to_string(r.end) + ") of " + r.path +
         " (device " + std::to_string(r.dev) + ", inode " + std::to_string(r.ino) + ")";
}

// Re-reads r and checks its hash; appends its lines to lines when given.
Status reread(const TailFileSource::Range& r, std::vector<std::string>* lines) {
  if (r.begin == r.end) return Status::ok();
  int fd = open_by_identity(r.path, Identity{r.dev, r.ino});
  if (fd < 0)
    return {Errc::not_found, "tail " + r.path + ": cannot re-read " + describe(r) +
                                 ": no file with that identity at the path or in its directory"};
  std::string bytes;
  int err = read_range(fd, r.begin, r.end, bytes);
  ::close(fd);
  if (err != 0)
    return {Errc::io_error,
            "tail " + r.path + ": cannot re-read " + describe(r) + ": " + std::strerror(err)};
  if (bytes.size() != r.end - r.begin)
    return {Errc::corrupt, "tail " + r.path + ": cannot re-read " + describe(r) +
                               ": the file now ends at " + std::to_string(r.begin + bytes.size())};
  if (hash_of(bytes) != r.hash)
    return {Errc::corrupt, "tail " + r.path + ": cannot re-read " + describe(r) +
                               ": the bytes changed since they were read (checksum differs)"};
  if (lines) split_lines(bytes, *lines);
  return Status::ok();
}

template <class N>
bool parse_number(std::string_view& s, N& out, int base = 10) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  if (ec != std::errc{} || p == s.data() + s.size() || *p != ' ') return false;
  s.remove_prefix(static_cast<size_t>(p - s.data()) + 1);
  return true;
}

}  // namespace

TailFileSource::TailFileSource(std::string path) : path_(std::move(path)) {
  if (path_.empty()) throw ConfigError("text_file_tail: the path is empty");
  if (path_.find('\n') != std::string::npos)
    throw ConfigError("text_file_tail: the path '" + path_ + "' contains a newline");
}

TailFileSource::~TailFileSource() { close_file(); }

void TailFileSource::close_file() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

std::string TailFileSource::encode(const std::vector<Range>& ranges) {
  std::string out(kHeader);
  char hex[17];
  for (const Range& r : ranges) {
    std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(r.hash));
    out += std::to_string(r.dev) + ' ' + std::to_string(r.ino) + ' ' + std::to_string(r.begin) +
           ' ' + std::to_string(r.end) + ' ' + hex + ' ' + r.path + '\n';
  }
  return out;
}

Result<std::vector<TailFileSource::Range>> TailFileSource::decode(std::string_view recorded) {
  auto bad = [recorded](const std::string& why) {
    return Status(Errc::corrupt, "tail: recorded batch '" + std::string(recorded) + "': " + why);
  };
  if (recorded.substr(0, kHeader.size()) != kHeader) return bad("does not start with tail1");
  recorded.remove_prefix(kHeader.size());
  std::vector<Range> ranges;
  while (!recorded.empty()) {
    size_t nl = recorded.find('\n');
    if (nl == std::string_view::npos) return bad("unterminated line");
    std::string_view line = recorded.substr(0, nl);
    recorded.remove_prefix(nl + 1);
    Range r;
    if (!parse_number(line, r.dev) || !parse_number(line, r.ino) || !parse_number(line, r.begin) ||
        !parse_number(line, r.end) || !parse_number(line, r.hash, 16) || line.empty() ||
        r.end < r.begin)
      return bad("malformed range");
    r.path = line;
    ranges.push_back(std::move(r));
  }
  return ranges;
}

bool TailFileSource::read_new(std::string& bytes) {
  struct stat st {};
  if (::fstat(fd_, &st) == 0 && static_cast<uint64_t>(st.st_size) < offset_) {
    spdlog::warn(
        "text_file_tail {}: the file shrank from {} to {} bytes (truncated?): reading "
        "again from offset 0",
        path_, offset_, st.st_size);
    offset_ = 0;
  }
  if (int err = read_range(fd_, offset_, UINT64_MAX, bytes); err != 0)
    spdlog::error("text_file_tail {}: read error at offset {}: {}; retrying next batch", path_,
                  offset_ + bytes.size(), std::strerror(err));
  uint64_t end = offset_ + bytes.size();
  bool grew = end != seen_end_;
  seen_end_ = end;
  return grew;
}

TailFileSource::Range TailFileSource::consume(const std::string& bytes, size_t n,
                                              std::vector<std::string>& lines) {
  std::string_view taken(bytes.data(), n);
  Range r{dev_, ino_, offset_, offset_ + n, hash_of(taken), path_};
  split_lines(taken, lines);
  offset_ += n;
  return r;
}

bool TailFileSource::open_path() {
  int fd = open_file(path_);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0) {
    std::string message = std::strerror(errno);
    if (fd >= 0) ::close(fd);
    if (errno != ENOENT && message != open_error_)
      spdlog::error("text_file_tail {}: cannot open: {}; retrying every batch", path_, message);
    open_error_ = errno == ENOENT ? "" : message;
    return false;
  }
  open_error_.clear();
  close_file();
  fd_ = fd;
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  offset_ = seen_end_ = 0;
  return true;
}

Taken TailFileSource::take(Millis t, int partitions) {
  std::lock_guard lock(mu_);
  std::vector<Range> ranges;
  std::vector<std::string> lines;
  if (fd_ < 0 && !open_path()) {
    Taken empty = split_even(std::move(lines), partitions);
    empty.replay = encode(ranges);  // nothing read yet: resume_after starts at offset 0
    return empty;
  }
  std::string bytes;
  bool grew = read_new(bytes);
  struct stat st {};
  bool rotated = ::stat(path_.c_str(), &st) == 0 && (st.st_dev != dev_ || st.st_ino != ino_);
  if (rotated && !grew) {
    // The old file stayed idle for a batch after the rename: the writer has moved on.
    if (!bytes.empty()) ranges.push_back(consume(bytes, bytes.size(), lines));
    bytes.clear();
    spdlog::info("text_file_tail {}: rotated at {}; finished the old file at offset {}", path_,
                 to_string(t), offset_);
    if (open_path()) read_new(bytes);
  }
  if (fd_ >= 0) {
    size_t last_nl = bytes.rfind('\n');
    ranges.push_back(consume(bytes, last_nl == std::string::npos ? 0 : last_nl + 1, lines));
  }
  Taken taken = split_even(std::move(lines), partitions);
  taken.replay = encode(ranges);
  return taken;
}

Result<Taken> TailFileSource::replay(Millis, std::string_view recorded, int partitions) {
  auto ranges = decode(recorded);
  if (!ranges) return ranges.status();
  std::vector<std::string> lines;
  for (const Range& r : *ranges)
    if (Status s = reread(r, &lines); !s) return s;
  Taken taken = split_even(std::move(lines), partitions);
  taken.replay = std::string(recorded);
  return taken;
}

Status TailFileSource::resume_after(std::string_view recorded) {
  auto ranges = decode(recorded);
  if (!ranges) return ranges.status();
  if (ranges->empty()) return Status::ok();  // nothing was ever read: start at offset 0
  const Range& last = ranges->back();
  // The bytes before the resume point must be the ones the recorded batch read.
  if (Status s = reread(last, nullptr); !s) return s;
  int fd = open_by_identity(last.path, Identity{last.dev, last.ino});
  if (fd < 0)
    return {Errc::not_found, "tail " + last.path + ": cannot resume after " + describe(last) +
                                 ": no file with that identity at the path or in its directory"};
  std::lock_guard lock(mu_);
  close_file();
  fd_ = fd;
  dev_ = last.dev;
  ino_ = last.ino;
  offset_ = seen_end_ = last.end;
  return Status::ok();
}

DStream<std::string> StreamingContext::text_file_tail(const std::string& path) {
  // Stream names must be unique: a second tail of one path gets an automatic name.
  std::string name = "tail-" + path;
  for (const Node& n : graph().nodes())
    if (n.name == name) {
      name.clear();
      break;
    }
  return source_stream<std::string>(std::make_shared<TailFileSource>(path), std::move(name));
}

DStream<std::string> text_file_tail(StreamingContext& ssc, const std::string& path) {
  return ssc.text_file_tail(path);
}

}  // namespace rill
