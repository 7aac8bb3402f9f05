#include "dataflow/sources/watched_dir.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <spdlog/spdlog.h>
#include <vector>
#include <xxhash.h>
#include <cstdio>

#include "dataflow/config_error.hpp"
#include "dataflow/sources/socket_text.hpp"
#include "dataflow/streaming_context.hpp"

namespace rill {

namespace fs = std::filesystem;

namespace {

bool ignored_name(const std::string& name) {
  return name.empty() || name.front() == '.' || name.front() == '_';
}

// Reads path whole into out. Returns 0 or an errno value.
int read_whole(const fs::path& path, std::string& out) {
  // O_NONBLOCK: whatever was swapped in since the listing (a FIFO) must not block the batch.
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
  if (fd < 0) return errno;
  int err = 0;
  struct stat st {};
  if (::fstat(fd, &st) != 0) err = errno;
  else if (!S_ISREG(st.st_mode)) err = EINVAL;
  if (err == 0) out.reserve(static_cast<size_t>(st.st_size));
  char buf[64 * 1024];
  while (err == 0) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) out.append(buf, static_cast<size_t>(n));
    else if (n == 0) break;
    else if (errno != EINTR) err = errno;
  }
  ::close(fd);
  return err;
}

void require_directory(const std::string& dir) {
  std::error_code ec;
  if (!fs::is_directory(dir, ec))
    throw ConfigError("text_file_stream: '" + dir + "' " +
                      (fs::exists(dir, ec) ? "is not a directory" : "does not exist"));
}

// Lines of a whole file, split as LineSplitter does, the final unterminated line included.
void append_lines(const std::string& content, std::vector<std::string>& lines) {
  LineSplitter splitter;
  splitter.feed(content, lines);
  std::string last;
  if (splitter.finish(last)) lines.push_back(std::move(last));
}

// The replay record: one entry per name, "<kind> <size> <hash> <name length> <name>\n", kind
// I (ignored at start: size and hash 0) or F (read in this batch). Lengths keep any byte in a
// name safe.
void record_entry(std::string& out, char kind, uint64_t size, uint64_t hash, const std::string& name) {
  out += kind;
  out += ' ' + std::to_string(size) + ' ' + std::to_string(hash) + ' ' + std::to_string(name.size()) + ' ';
  out += name;
  out += '\n';
}

struct RecordEntry {
  char kind = 0;
  uint64_t size = 0, hash = 0;
  std::string name;
};

Result<std::vector<RecordEntry>> parse_record(std::string_view in) {
  std::vector<RecordEntry> out;
  while (!in.empty()) {
    RecordEntry e;
    e.kind = in[0];
    size_t name_len = 0;
    int used = 0;
    std::string head(in.substr(0, std::min<size_t>(in.size(), 80)));
    if ((e.kind != 'I' && e.kind != 'F') ||
        std::sscanf(head.c_str() + 1, " %lu %lu %zu %n", &e.size, &e.hash, &name_len, &used) != 3 ||
        in.size() < 1 + static_cast<size_t>(used) + name_len + 1)
      return Status(Errc::corrupt, "malformed file list record");
    e.name = std::string(in.substr(1 + static_cast<size_t>(used), name_len));
    in.remove_prefix(1 + static_cast<size_t>(used) + name_len + 1);
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace

WatchedDirSource::WatchedDirSource(std::string dir) : dir_(std::move(dir)) {}

void WatchedDirSource::start(const SourceContext&) {
  std::lock_guard lock(mu_);
  start_locked();
}

void WatchedDirSource::start_locked() {
  if (started_) return;
  require_directory(dir_);
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec))
    seen_.insert(it->path().filename().string());
  if (ec) throw ConfigError("text_file_stream: cannot list '" + dir_ + "': " + ec.message());
  for (const std::string& name : seen_) record_entry(ignored_record_, 'I', 0, 0, name);
  started_ = true;
  spdlog::info("text_file_stream {}: watching, {} names already present are ignored", dir_,
               seen_.size());
}

Taken WatchedDirSource::take(Millis t, int partitions) {
  std::lock_guard lock(mu_);
  if (!started_) {
    start_locked();
    return split_even(std::vector<std::string>{}, partitions);
  }
  std::vector<std::string> fresh;
  std::error_code ec;
  for (fs::directory_iterator it(dir_, ec), end; !ec && it != end; it.increment(ec)) {
    std::string name = it->path().filename().string();
    if (ignored_name(name) || seen_.count(name) != 0) continue;
    std::error_code type_ec;
    if (it->is_regular_file(type_ec)) fresh.push_back(std::move(name));
  }
  // A transient listing error (directory removed, EMFILE) leaves the batch empty, not failed;
  // the files are found by the next listing that succeeds.
  if (ec) {
    std::string message = ec.message();
    if (message != list_error_)
      spdlog::error("text_file_stream {}: cannot list the directory at {}: {}", dir_,
                    to_string(t), message);
    list_error_ = std::move(message);
    fresh.clear();
  } else {
    list_error_.clear();
  }
  std::sort(fresh.begin(), fresh.end());
  // Failures of names no longer listed are forgotten: such a name is new if it comes back.
  if (!ec)
    std::erase_if(failing_, [&fresh](const auto& f) {
      return !std::binary_search(fresh.begin(), fresh.end(), f.first);
    });

  std::vector<std::string> lines;
  std::string record = std::move(ignored_record_);
  ignored_record_.clear();
  for (const std::string& name : fresh) {
    const fs::path path = fs::path(dir_) / name;
    std::string content;
    if (int err = read_whole(path, content); err != 0) {
      std::string message = std::strerror(err);
      if (err == ENOENT) {
        spdlog::warn("text_file_stream {}: '{}' vanished before it could be read", dir_, name);
        failing_.erase(name);
      } else if (auto [it, added] = failing_.try_emplace(name, message); added || it->second != message) {
        spdlog::error("text_file_stream {}: cannot read '{}' ({}); retrying at every batch",
                      dir_, path.string(), message);
        it->second = message;
      }
      continue;
    }
    if (failing_.erase(name) != 0)
      spdlog::info("text_file_stream {}: read '{}' after earlier failures", dir_, name);
    append_lines(content, lines);
    record_entry(record, 'F', content.size(), XXH3_64bits(content.data(), content.size()), name);
    seen_.insert(name);
  }
  if (!fresh.empty())
    spdlog::debug("text_file_stream {}: batch {}: {} lines", dir_, to_string(t), lines.size());
  Taken taken = split_even(std::move(lines), partitions);
  taken.replay = std::move(record);
  return taken;
}

std::string WatchedDirSource::started_record() const {
  std::lock_guard lock(mu_);
  std::string out;
  for (const std::string& name : seen_) record_entry(out, 'I', 0, 0, name);
  return out;
}

Result<Taken> WatchedDirSource::replay(Millis t, std::string_view recorded, int partitions) {
  auto entries = parse_record(recorded);
  auto where = [&] { return "text_file_stream " + dir_ + ": re-running batch " + to_string(t) + ": "; };
  if (!entries) return Status(Errc::corrupt, where() + entries.status().message());
  std::vector<std::string> lines;
  for (const RecordEntry& e : *entries) {
    if (e.kind != 'F') continue;
    const fs::path path = fs::path(dir_) / e.name;
    std::string content;
    if (int err = read_whole(path, content); err != 0)
      return Status(err == ENOENT ? Errc::not_found : Errc::io_error,
                    where() + "cannot read '" + path.string() + "' again: " + std::strerror(err) +
                        "; the batch's input must stay in place until the batch completes");
    uint64_t hash = XXH3_64bits(content.data(), content.size());
    if (content.size() != e.size || hash != e.hash)
      return Status(Errc::corrupt, where() + "'" + path.string() + "' changed since it was read (" +
                                       std::to_string(e.size) + " bytes then, " +
                                       std::to_string(content.size()) + " now" +
                                       (content.size() == e.size ? ", different content" : "") +
                                       "); files must not change once in the directory");
    append_lines(content, lines);
  }
  Taken taken = split_even(std::move(lines), partitions);
  taken.replay = std::string(recorded);
  return taken;
}

Status WatchedDirSource::resume(std::span<const std::string> recorded) {
  std::lock_guard lock(mu_);
  require_directory(dir_);
  for (const std::string& r : recorded) {
    auto entries = parse_record(r);
    if (!entries) return Status(Errc::corrupt, "text_file_stream " + dir_ + ": " + entries.status().message());
    for (auto& e : *entries) seen_.insert(std::move(e.name));
  }
  started_ = true;
  spdlog::info("text_file_stream {}: resuming, {} names already seen", dir_, seen_.size());
  return Status::ok();
}

DStream<std::string> StreamingContext::text_file_stream(const std::string& dir) {
  if (dir.empty()) throw ConfigError("text_file_stream: the directory name is empty");
  // Stream names must be unique: a second stream on one directory gets an automatic name.
  std::string name = "files-" + dir;
  for (const Node& n : graph().nodes())
    if (n.name == name) {
      name.clear();
      break;
    }
  return source_stream<std::string>(std::make_shared<WatchedDirSource>(dir), std::move(name));
}

}  // namespace rill
