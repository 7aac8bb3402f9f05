// text_file_stream: new files renamed into a watched directory are read exactly once; files
// present at start, dot- and _-files are not; unreadable files are retried; bad dirs throw.
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include "dataflow/config_error.hpp"
#include "dataflow/sources/watched_dir.hpp"
#include "dataflow/streaming_context.hpp"
#include "tests/support/local_run.hpp"

using namespace std::chrono_literals;
using rill::Millis;
namespace fs = std::filesystem;

namespace {

// A fresh directory with "in" (watched) and "staging" (where writers write) in it.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "rill-files-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    root_ = tmpl;
    fs::create_directory(in());
    fs::create_directory(staging());
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;

  fs::path in() const { return root_ / "in"; }
  fs::path staging() const { return root_ / "staging"; }
  const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

void write_file(const fs::path& path, const std::string& content) {
  std::ofstream out(path, std::ios::binary);
  out << content;
  REQUIRE(out.good());
}

// Writes name in staging, then renames it into the watched directory, as writers should.
void publish(const TempDir& d, const std::string& name, const std::string& content) {
  write_file(d.staging() / name, content);
  fs::rename(d.staging() / name, d.in() / name);
}

std::vector<std::string> lines_of(const rill::Taken& taken) {
  std::vector<std::string> out;
  for (const auto& p : taken.parts) {
    const auto& part = rill::part_cast<std::string>(p);
    out.insert(out.end(), part.begin(), part.end());
  }
  CHECK(static_cast<int64_t>(out.size()) == taken.records);
  return out;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST_CASE("files renamed in after start are read once each, in name order") {
  TempDir d;
  write_file(d.in() / "old.txt", "present at start\n");
  write_file(d.in() / "zz-old.txt", "present at start too\n");
  rill::ManualClock clock;
  rill::WatchedDirSource source(d.in().string());
  CHECK(source.kind() == "files");
  source.start(rill::SourceContext{&clock, 0ms, 1000ms});
  CHECK(lines_of(source.take(1000ms, 2)).empty());

  publish(d, "b.txt", "b1 x\nb2\n");
  publish(d, "a.txt", "a1\r\na2");  // '\r\n' and no final newline
  // A file written long ago and renamed in now keeps its old mtime: it is still new.
  write_file(d.staging() / "c.txt", "c1\n");
  const auto long_ago = fs::file_time_type::clock::now() - std::chrono::hours(24 * 3650);
  fs::last_write_time(d.staging() / "c.txt", long_ago);
  fs::rename(d.staging() / "c.txt", d.in() / "c.txt");
  REQUIRE(fs::last_write_time(d.in() / "c.txt") < fs::file_time_type::clock::now() - 24h);
  write_file(d.in() / ".being-written", "hidden\n");
  write_file(d.in() / "_COPYING_", "hidden too\n");
  fs::create_directory(d.in() / "subdir");
  write_file(d.in() / "subdir" / "inner.txt", "not watched\n");
  write_file(d.in() / "old.txt", "rewritten after start, still old\n");

  rill::Taken second = source.take(2000ms, 2);
  CHECK(second.parts.size() == 2);
  CHECK(second.records == 5);
  CHECK(lines_of(second) == Lines{"a1", "a2", "b1 x", "b2", "c1"});
  CHECK(lines_of(source.take(3000ms, 2)).empty());

  publish(d, "d.txt", "d1\n");
  CHECK(lines_of(source.take(4000ms, 1)) == Lines{"d1"});
  // Renaming a dot-name into place is how a writer in the same directory publishes.
  fs::rename(d.in() / ".being-written", d.in() / "e.txt");
  CHECK(lines_of(source.take(5000ms, 3)) == Lines{"hidden"});
  // An empty file is read (no lines) and remembered like any other.
  publish(d, "empty.txt", "");
  CHECK(lines_of(source.take(6000ms, 2)).empty());
  CHECK(lines_of(source.take(7000ms, 2)).empty());
}

TEST_CASE("an unreadable file is logged and retried until it can be read") {
  TempDir d;
  rill::ManualClock clock;
  rill::WatchedDirSource source(d.in().string());
  source.start(rill::SourceContext{&clock, 0ms, 1000ms});
  if (::geteuid() == 0) {
    // Root reads any file; /proc/self/mem is a regular file whose read at offset 0 fails (EIO).
    if (!fs::exists("/proc/self/mem")) {
      WARN("no /proc/self/mem: cannot make an unreadable file as root");
      return;
    }
    fs::create_symlink("/proc/self/mem", d.in() / "bad.txt");
  } else {
    write_file(d.in() / "bad.txt", "unreadable\n");
    fs::permissions(d.in() / "bad.txt", fs::perms::none);
  }
  publish(d, "good.txt", "good\n");
  CHECK(lines_of(source.take(1000ms, 2)) == Lines{"good"});
  CHECK(lines_of(source.take(2000ms, 2)).empty());
  // The writer fixes it by renaming a readable file over the name: read once, now.
  publish(d, "bad.txt", "fixed\n");
  CHECK(lines_of(source.take(3000ms, 2)) == Lines{"fixed"});
  CHECK(lines_of(source.take(4000ms, 2)).empty());
}

TEST_CASE("a missing directory is a ConfigError naming it") {
  TempDir d;
  const std::string missing = (d.root() / "no-such-dir").string();
  rill::ManualClock clock;
  rill::WatchedDirSource source(missing);
  CHECK_THROWS_WITH(source.start(rill::SourceContext{&clock, 0ms, 1000ms}),
                    Catch::Contains(missing) && Catch::Contains("does not exist"));
  // take() without start() (the LocalRun path) checks too.
  CHECK_THROWS_AS(source.take(1000ms, 1), rill::ConfigError);

  write_file(d.root() / "a-file", "x\n");
  rill::WatchedDirSource not_dir((d.root() / "a-file").string());
  CHECK_THROWS_WITH(not_dir.start(rill::SourceContext{&clock, 0ms, 1000ms}),
                    Catch::Contains("a-file") && Catch::Contains("not a directory"));

  rill::StreamingContext ssc(1000ms, {.clock = std::make_shared<rill::ManualClock>()});
  CHECK_THROWS_AS(ssc.text_file_stream(""), rill::ConfigError);
}

TEST_CASE("word counts over a text file stream are exact on the local executor") {
  TempDir d;
  write_file(d.in() / "before.txt", "ignored ignored\n");
  rill::StreamingContext ssc(1000ms, {.clock = std::make_shared<rill::ManualClock>(), .partitions = 2});
  auto lines = ssc.text_file_stream(d.in().string());
  CHECK(ssc.graph().node(lines.id()).name == "files-" + d.in().string());
  std::vector<std::map<std::string, int64_t>> batches;
  lines.flat_map([](const std::string& l) { return rill::split(l, ' '); })
      .map([](const std::string& w) { return std::pair{w, int64_t{1}}; })
      .reduce_by_key(std::plus<>{})
      .foreach_batch([&batches](const auto& batch, Millis) {
        batches.emplace_back(batch.begin(), batch.end());
      });
  for (const auto& [node, source] : ssc.sources())
    source->start(rill::SourceContext{&ssc.clock(), 0ms, ssc.batch_interval()});
  rill::test::LocalRun run(ssc);
  run.step();
  publish(d, "1.txt", "to be or\nnot to be\n");
  publish(d, "2.txt", "be quick");
  run.step();
  run.step();
  REQUIRE(batches.size() == 3);
  CHECK(batches[0].empty());
  CHECK(batches[1] == std::map<std::string, int64_t>{{"to", 2}, {"be", 3}, {"or", 1}, {"not", 1}, {"quick", 1}});
  CHECK(batches[2].empty());

  // A second stream on the same directory gets an automatic, unique name.
  rill::StreamingContext other(1000ms, {.clock = std::make_shared<rill::ManualClock>()});
  auto a = other.text_file_stream(d.in().string());
  auto b = other.text_file_stream(d.in().string());
  CHECK(other.graph().node(a.id()).name != other.graph().node(b.id()).name);
}
