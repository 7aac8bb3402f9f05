// text_file_tail: appended lines read by offset across batches, partial lines wait, rename
// rotation, replay re-reads the same records or names what changed, resume_after.
#include "dataflow/sources/tail_file.hpp"

#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "dataflow/config_error.hpp"
#include "dataflow/streaming_context.hpp"
#include "tests/support/local_run.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using rill::Millis;
using rill::TailFileSource;
namespace fs = std::filesystem;

namespace {

using Lines = std::vector<std::string>;

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "rill-tail-XXXXXX").string();
    REQUIRE(::mkdtemp(tmpl.data()) != nullptr);
    root_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(root_, ec);
  }
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  fs::path operator/(const std::string& name) const { return root_ / name; }

 private:
  fs::path root_;
};

void append(const fs::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::app);
  out << text;
  REQUIRE(out.good());
}

// Overwrites bytes at offset, keeping the file's size.
void overwrite(const fs::path& path, size_t offset, const std::string& text) {
  std::fstream f(path, std::ios::binary | std::ios::in | std::ios::out);
  f.seekp(static_cast<std::streamoff>(offset));
  f << text;
  REQUIRE(f.good());
}

// Replaces path by a new file (a new inode: the new file exists before the old one is freed).
void replace_with(const fs::path& path, const std::string& text) {
  fs::path fresh = path.string() + ".new";
  append(fresh, text);
  fs::remove(path);
  fs::rename(fresh, path);
}

Lines lines_of(const rill::Taken& taken) {
  Lines out;
  for (const auto& p : taken.parts) {
    const auto& part = rill::part_cast<std::string>(p);
    out.insert(out.end(), part.begin(), part.end());
  }
  CHECK(static_cast<int64_t>(out.size()) == taken.records);
  return out;
}

// Takes the next batch; checks its records and what it records for replay.
struct Batch {
  Lines lines;
  std::string replay;
};
Batch take(TailFileSource& s, int partitions = 2) {
  static int64_t t = 0;
  auto taken = s.take(Millis{t += 1000}, partitions);
  return {lines_of(taken), taken.replay};
}

size_t range_count(const std::string& recorded) {
  auto ranges = TailFileSource::decode(recorded);
  REQUIRE(ranges.is_ok());
  return ranges->size();
}

}  // namespace

TEST_CASE("appended complete lines are read batch by batch; a partial line waits") {
  TempDir d;
  fs::path log = d / "app.log";
  TailFileSource s(log.string());
  CHECK(s.kind() == "tail");
  CHECK(s.replayable());
  CHECK(take(s).lines.empty());  // no file yet
  append(log, "one\ntwo\nthr");
  CHECK(take(s).lines == Lines{"one", "two"});
  CHECK(take(s).lines.empty());  // "thr" waits for its newline
  append(log, "ee\r\nfour\n");
  CHECK(take(s).lines == Lines{"three", "four"});
  append(log, "\n\nfive\n");
  CHECK(take(s, 3).lines == Lines{"", "", "five"});
  CHECK(take(s).lines.empty());
}

TEST_CASE("rotation by rename: the old file is read to its end, then the new one from 0") {
  TempDir d;
  fs::path log = d / "app.log", old = d / "app.log.1";
  TailFileSource s(log.string());
  append(log, "a1\na2\n");
  CHECK(take(s).lines == Lines{"a1", "a2"});

  SECTION("old file idle after the rename: one batch covers both files") {
    append(log, "a3\na-partial");
    fs::rename(log, old);
    append(log, "b1\nb2\n");
    auto b = take(s);
    // a3 had not been seen: the old file grew since the last take, so it is read on.
    CHECK(b.lines == Lines{"a3"});
    b = take(s);
    CHECK(b.lines == Lines{"a-partial", "b1", "b2"});
    CHECK(range_count(b.replay) == 2);
    append(log, "b3\n");
    append(old, "lost\n");  // written after the switch: documented as lost
    CHECK(take(s).lines == Lines{"b3"});
  }
  SECTION("the writer still appends to the old file after the rename") {
    fs::rename(log, old);
    append(log, "b1\n");
    append(old, "a3\n");
    CHECK(take(s).lines == Lines{"a3"});
    append(old, "a4\n");
    CHECK(take(s).lines == Lines{"a4"});
    auto b = take(s);  // idle for a batch: switch
    CHECK(b.lines == Lines{"b1"});
    CHECK(range_count(b.replay) == 1);  // nothing left in the old file
  }
  SECTION("between the rename and the new file, the old one is still read") {
    fs::rename(log, old);
    append(old, "a3\n");
    CHECK(take(s).lines == Lines{"a3"});
    CHECK(take(s).lines.empty());
    append(log, "b1\n");
    CHECK(take(s).lines == Lines{"b1"});
  }
}

TEST_CASE("replay re-reads exactly the recorded records, across rotation") {
  TempDir d;
  fs::path log = d / "app.log";
  TailFileSource s(log.string());
  std::vector<Batch> batches;
  batches.push_back(take(s));  // before the file exists
  append(log, "w1 w2\nw3\n");
  batches.push_back(take(s));
  append(log, "w4\nw5 partial");
  batches.push_back(take(s));
  fs::rename(log, d / "app.log.1");
  append(log, "n1\n");
  batches.push_back(take(s));
  append(log, "n2\nn3\n");
  batches.push_back(take(s));
  append(log, "n4\n");  // not taken: replay must not see it

  TailFileSource fresh(log.string());  // another process's source: no open fds shared
  for (size_t i = 0; i < batches.size(); ++i) {
    INFO("batch " << i);
    for (int partitions : {1, 3}) {
      auto r = fresh.replay(Millis{1000}, batches[i].replay, partitions);
      REQUIRE(r.is_ok());
      CHECK(lines_of(*r) == batches[i].lines);
      CHECK(r->replay == batches[i].replay);
    }
  }
  CHECK(batches[3].lines == Lines{"w5 partial", "n1"});
}

TEST_CASE("replay of changed or vanished bytes is an error naming the path and the range") {
  TempDir d;
  fs::path log = d / "app.log";
  TailFileSource s(log.string());
  append(log, "alpha\nbeta\n");
  auto b = take(s);
  REQUIRE(b.lines == Lines{"alpha", "beta"});

  SECTION("bytes changed in place") {
    overwrite(log, 6, "BETA");
    auto r = s.replay(Millis{1000}, b.replay, 2);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == rill::Errc::corrupt);
    CHECK_THAT(r.status().message(),
               Contains(log.string()) && Contains("bytes [0, 11)") && Contains("changed"));
  }
  SECTION("file truncated") {
    fs::resize_file(log, 4);
    auto r = s.replay(Millis{1000}, b.replay, 2);
    REQUIRE_FALSE(r.is_ok());
    CHECK_THAT(r.status().message(), Contains("bytes [0, 11)") && Contains("now ends at 4"));
  }
  SECTION("file gone (rotated away and deleted)") {
    replace_with(log, "alpha\nbeta\n");  // same bytes, another file
    auto r = s.replay(Millis{1000}, b.replay, 2);
    REQUIRE_FALSE(r.is_ok());
    CHECK(r.status().code() == rill::Errc::not_found);
    CHECK_THAT(r.status().message(), Contains(log.string()) && Contains("bytes [0, 11)"));
  }
  SECTION("garbage recorded") {
    auto r = s.replay(Millis{1000}, "tail1\n1 2 x\n", 2);
    REQUIRE_FALSE(r.is_ok());
    CHECK_THAT(r.status().message(), Contains("malformed range"));
  }
}

TEST_CASE("resume_after continues right after the recorded batch") {
  TempDir d;
  fs::path log = d / "app.log";
  TailFileSource s(log.string());
  Batch nothing = take(s);
  append(log, "r1\nr2\n");
  Batch first = take(s);
  append(log, "r3\nr4\n");

  SECTION("same file") {
    TailFileSource again(log.string());
    REQUIRE(again.resume_after(first.replay).is_ok());
    CHECK(take(again).lines == Lines{"r3", "r4"});
  }
  SECTION("after a batch that read nothing: from the start") {
    TailFileSource again(log.string());
    REQUIRE(again.resume_after(nothing.replay).is_ok());
    CHECK(take(again).lines == Lines{"r1", "r2", "r3", "r4"});
  }
  SECTION("rotated while down: the old file's rest, then the new file") {
    fs::rename(log, d / "app.log.1");
    append(log, "n1\n");
    TailFileSource again(log.string());
    REQUIRE(again.resume_after(first.replay).is_ok());
    CHECK(take(again).lines == Lines{"r3", "r4"});
    CHECK(take(again).lines == Lines{"n1"});
  }
  SECTION("the recorded file is gone") {
    replace_with(log, "new\n");
    TailFileSource again(log.string());
    auto status = again.resume_after(first.replay);
    CHECK(status.code() == rill::Errc::not_found);
    CHECK_THAT(status.message(), Contains(log.string()));
  }
}

TEST_CASE("text_file_tail defines a named stream of the file's lines") {
  TempDir d;
  fs::path log = d / "app.log";
  CHECK_THROWS_AS(TailFileSource(""), rill::ConfigError);
  rill::StreamingContext ssc(1000ms, rill::ContextOptions{.partitions = 2});
  auto lines = rill::text_file_tail(ssc, log.string());
  auto second = rill::text_file_tail(ssc, log.string());  // gets an automatic name
  CHECK(ssc.graph().node(lines.id()).name == "tail-" + log.string());
  CHECK(ssc.graph().node(second.id()).name != "tail-" + log.string());
  std::map<int64_t, Lines> seen;
  lines.foreach_batch([&seen](const Lines& batch, Millis t) { seen[t.count()] = batch; });
  rill::test::LocalRun run(ssc);
  append(log, "x\ny\n");
  run.step();
  append(log, "z\n");
  run.step();
  CHECK(seen[1000] == Lines{"x", "y"});
  CHECK(seen[2000] == Lines{"z"});
}
