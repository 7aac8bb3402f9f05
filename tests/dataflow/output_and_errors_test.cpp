// Output operations (print's exact text, save_as_text_files' directories) through the actor
// runtime on the manual clock, and invalid definitions, which throw ConfigError naming the values.
#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#include <stdlib.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "dataflow/config_error.hpp"
#include "tests/support/manual_run.hpp"
#include "tests/support/memory_sink.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using rill::Millis;
using rill::test::Collector;
using rill::test::ManualRun;
using rill::test::sorted;

namespace fs = std::filesystem;

namespace {

using Strings = std::vector<std::string>;
using KV = std::pair<std::string, int>;

template <class T>
std::shared_ptr<rill::BatchQueue<T>> queue_of(std::vector<std::vector<T>> batches) {
  auto q = std::make_shared<rill::BatchQueue<T>>();
  for (auto& b : batches) q->push(std::move(b));
  return q;
}

const std::string kRule = "-------------------------------------------\n";  // 43 '-'

std::string header(int64_t ms) { return kRule + "Time: " + std::to_string(ms) + " ms\n" + kRule; }

// A fresh directory under /tmp, removed with everything in it at scope exit.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "rill-output-test-XXXXXX").string();
    REQUIRE(mkdtemp(tmpl.data()) != nullptr);
    path = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
};

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) names.insert(e.path().filename().string());
  return names;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

// Every line of every part-* file of a batch directory, sorted.
Strings lines_of_parts(const fs::path& dir) {
  Strings lines;
  for (const auto& name : names_in(dir)) {
    if (name.rfind("part-", 0) != 0) continue;
    std::istringstream in(read_file(dir / name));
    for (std::string line; std::getline(in, line);) lines.push_back(line);
  }
  return sorted(lines);
}

// The message of the ConfigError f throws; fails the test when it throws nothing.
template <class F>
std::string config_error(F&& f) {
  try {
    f();
  } catch (const rill::ConfigError& e) {
    return e.what();
  }
  FAIL("no rill::ConfigError was thrown");
  return {};
}

}  // namespace

// --- print ----------------------------------------------------------------------------------

TEST_CASE("print(n) writes Spark's block: header, up to n records, ... when there are more") {
  std::ostringstream out;
  ManualRun run(1000ms, 1, &out);  // one partition: the record order is defined
  run.ssc.queue_stream(queue_of<std::string>({{"a", "b", "c"}, {"x", "y"}, {}})).print(2);
  run.ssc.start();
  run.steps(3);
  CHECK(out.str() == header(1000) + "a\nb\n...\n\n" +  //
                         header(2000) + "x\ny\n\n" +   // exactly n: no "..."
                         header(3000) + "\n");         // an empty batch: the header only
}

TEST_CASE("print() shows 10 records by default") {
  std::ostringstream out;
  ManualRun run(1000ms, 1, &out);
  std::vector<int> eleven;
  for (int i = 1; i <= 11; ++i) eleven.push_back(i);
  run.ssc.queue_stream(queue_of<int>({eleven, {7}})).print();
  run.ssc.start();
  run.steps(2);
  CHECK(out.str() ==
        header(1000) + "1\n2\n3\n4\n5\n6\n7\n8\n9\n10\n...\n\n" + header(2000) + "7\n\n");
}

TEST_CASE("print shows pairs as (a,b) and optionals as Some/None") {
  std::ostringstream out;
  ManualRun run(1000ms, 2, &out);
  auto words = run.ssc.queue_stream(queue_of<std::string>({{"a", "b", "a"}, {"b"}}));
  auto one = [](const std::string& w) { return std::pair{w, int64_t{1}}; };
  auto counts = words.map(one).reduce_by_key(std::plus<>{});
  // One key per batch: the order of the printed records is defined.
  counts.filter([](const auto& kv) { return kv.first == "a"; }).print();
  run.ssc.start();
  run.steps(2);
  CHECK(out.str() == header(1000) + "(a,2)\n\n" + header(2000) + "\n");
}

TEST_CASE("print of a left outer join shows nested pairs and options") {
  std::ostringstream out;
  ManualRun run(1000ms, 2, &out);
  auto left = run.ssc.queue_stream(queue_of<KV>({{{"k", 1}}}));
  auto right_queue = std::make_shared<rill::BatchQueue<std::pair<std::string, std::string>>>();
  right_queue->push({{"other", "x"}});
  auto right = run.ssc.queue_stream(right_queue);
  left.left_outer_join(right).print();
  run.ssc.start();
  run.step();
  CHECK(out.str() == header(1000) + "(k,(1,None))\n\n");
}

TEST_CASE("print on several partitions prints n records across them") {
  std::ostringstream out;
  ManualRun run(1000ms, 2, &out);
  run.ssc.queue_stream(queue_of<int>({{1, 2, 3, 4, 5}})).print(3);
  run.ssc.start();
  run.step();
  std::string text = out.str();
  REQUIRE(text.rfind(header(1000), 0) == 0);
  std::istringstream body(text.substr(header(1000).size()));
  Strings lines;
  for (std::string l; std::getline(body, l);) lines.push_back(l);
  REQUIRE(lines.size() == 5);  // three records, "...", the blank line
  CHECK(lines[3] == "...");
  CHECK(lines[4].empty());
  Strings records(lines.begin(), lines.begin() + 3);
  for (const auto& r : records) CHECK((r.size() == 1 && r >= "1" && r <= "5"));
  CHECK(std::set<std::string>(records.begin(), records.end()).size() == 3);
}

TEST_CASE("several outputs of one stream run in definition order, once per batch") {
  std::ostringstream out;
  ManualRun run(1000ms, 1, &out);
  auto s = run.ssc.queue_stream(queue_of<std::string>({{"p"}, {"q"}}));
  s.print();
  s.map([](const std::string& x) { return x + x; }).print();
  run.ssc.start();
  run.steps(2);
  CHECK(out.str() == header(1000) + "p\n\n" + header(1000) + "pp\n\n" +  //
                         header(2000) + "q\n\n" + header(2000) + "qq\n\n");
}

TEST_CASE("a stream only Sinks read is written where computed; any other reader ships it") {
  ManualRun run(1000ms, 2, nullptr);
  auto rows = std::make_shared<rill::test::CommittedRows>();
  auto words = run.ssc.queue_stream(queue_of<std::string>({{"a"}}));
  auto pairs = words.map([](const std::string& w) { return std::pair{w, int64_t{1}}; });
  auto counts = pairs.reduce_by_key(std::plus<>{});
  counts.output_to(std::make_shared<rill::test::MemorySink<std::pair<std::string, int64_t>>>(rows),
                   "db");
  auto printed = pairs.map([](const auto& p) { return p.first; });
  printed.print();
  printed.output_to(std::make_shared<rill::test::MemorySink<std::string>>(rows), "db2");
  auto chained = counts.map([](const auto& p) { return p.second; });
  chained.output_to(std::make_shared<rill::test::MemorySink<int64_t>>(rows), "db3");
  const rill::JobGraph& g = run.ssc.graph();
  CHECK(g.written_where_computed(chained.id()));        // one Sink, no reader
  CHECK_FALSE(g.written_where_computed(counts.id()));   // its map reads it whole
  CHECK_FALSE(g.written_where_computed(printed.id()));  // print runs on the driver
  CHECK_FALSE(g.written_where_computed(words.id()));    // no output at all
}

TEST_CASE("print of a windowed stream prints only on the slide grid") {
  std::ostringstream out;
  ManualRun run(1000ms, 1, &out);
  run.ssc.queue_stream(queue_of<int>({{1}, {2}, {3}})).window(2000ms, 2000ms).print();
  run.ssc.start();
  run.steps(4);
  CHECK(out.str() == header(2000) + "1\n2\n\n" + header(4000) + "3\n\n");
}

// --- save_as_text_files ---------------------------------------------------------------------

TEST_CASE("save_as_text_files writes prefix-<ms>.suffix with part files and _SUCCESS") {
  TempDir tmp;
  ManualRun run(1000ms, 2);
  auto words = run.ssc.queue_stream(queue_of<std::string>({{"a", "b", "c"}, {}}));
  words.save_as_text_files((tmp.path / "words").string(), "txt");
  auto one = [](const std::string& w) { return std::pair{w, 1}; };
  words.map(one).save_as_text_files((tmp.path / "pairs").string());
  run.ssc.start();
  run.steps(2);
  CHECK(names_in(tmp.path) ==
        std::set<std::string>{"words-1000.txt", "words-2000.txt", "pairs-1000", "pairs-2000"});
  const std::set<std::string> files{"_SUCCESS", "part-00000", "part-00001"};  // no temp files left
  for (const char* d : {"words-1000.txt", "words-2000.txt", "pairs-1000", "pairs-2000"}) {
    INFO(d);
    CHECK(names_in(tmp.path / d) == files);
    CHECK(read_file(tmp.path / d / "_SUCCESS").empty());
  }
  CHECK(lines_of_parts(tmp.path / "words-1000.txt") == Strings{"a", "b", "c"});
  CHECK(lines_of_parts(tmp.path / "pairs-1000") == Strings{"(a,1)", "(b,1)", "(c,1)"});
  // One record per line, each line ending in '\n'.
  std::string all = read_file(tmp.path / "words-1000.txt" / "part-00000") +
                    read_file(tmp.path / "words-1000.txt" / "part-00001");
  CHECK(all.size() == 6);
  CHECK(std::count(all.begin(), all.end(), '\n') == 3);
  // An empty batch still gets its directory, with empty parts.
  CHECK(read_file(tmp.path / "words-2000.txt" / "part-00000").empty());
  CHECK(read_file(tmp.path / "words-2000.txt" / "part-00001").empty());
}

TEST_CASE("save_as_text_files of a keyed stream writes one part per partition") {
  TempDir tmp;
  ManualRun run(1000ms, 2);
  auto counts =
      run.ssc.queue_stream(queue_of<std::string>({{"x", "y", "x", "z"}})).count_by_value(3);
  counts.save_as_text_files((tmp.path / "counts").string(), "out");
  run.ssc.start();
  run.step();
  CHECK(names_in(tmp.path) == std::set<std::string>{"counts-1000.out"});
  CHECK(names_in(tmp.path / "counts-1000.out") ==
        std::set<std::string>{"_SUCCESS", "part-00000", "part-00001", "part-00002"});
  CHECK(lines_of_parts(tmp.path / "counts-1000.out") == Strings{"(x,2)", "(y,1)", "(z,1)"});
}

// --- invalid definitions ----------------------------------------------------------------------

namespace {

// A context on a manual clock that is never started (no actors).
struct Definition {
  rill::StreamingContext ssc{1000ms,
                             {.clock = std::make_shared<rill::ManualClock>(), .partitions = 2}};
  rill::DStream<int> ints = ssc.queue_stream(std::make_shared<rill::BatchQueue<int>>());
  rill::DStream<KV> pairs = ssc.queue_stream(std::make_shared<rill::BatchQueue<KV>>());
};

}  // namespace

TEST_CASE("a window length that is not a multiple of the batch interval is a ConfigError") {
  Definition d;
  auto plus = [](int a, int b) { return a + b; };
  auto minus = [](int a, int b) { return a - b; };
  CHECK_THAT(config_error([&] { d.ints.window(1500ms); }),
             Contains("1500 ms") && Contains("1000 ms"));
  CHECK_THAT(config_error([&] { d.ints.count_by_window(2500ms); }),
             Contains("2500 ms") && Contains("1000 ms"));
  CHECK_THAT(config_error([&] { d.ints.reduce_by_window(plus, 1200ms); }), Contains("1200 ms"));
  CHECK_THAT(config_error([&] { d.ints.reduce_by_window(plus, minus, 3300ms); }),
             Contains("3300 ms"));
  CHECK_THAT(config_error([&] { d.ints.count_by_value_and_window(1100ms); }), Contains("1100 ms"));
  CHECK_THAT(config_error([&] { d.pairs.reduce_by_key_and_window(plus, 2200ms); }),
             Contains("2200 ms"));
  CHECK_THAT(config_error([&] { d.pairs.reduce_by_key_and_window(plus, minus, 2700ms); }),
             Contains("2700 ms"));
  CHECK_THAT(config_error([&] { d.pairs.group_by_key_and_window(900ms); }), Contains("900 ms"));
  CHECK_THAT(config_error([&] { d.ints.window(1500ms); }), Contains("window length"));
}

TEST_CASE("a window slide that is not a multiple of the batch interval is a ConfigError") {
  Definition d;
  auto plus = [](int a, int b) { return a + b; };
  auto minus = [](int a, int b) { return a - b; };
  CHECK_THAT(config_error([&] { d.ints.window(3000ms, 1500ms); }),
             Contains("window slide") && Contains("1500 ms") && Contains("1000 ms"));
  CHECK_THAT(config_error([&] { d.ints.count_by_window(3000ms, 500ms); }), Contains("500 ms"));
  CHECK_THAT(config_error([&] { d.ints.reduce_by_window(plus, minus, 4000ms, 2500ms); }),
             Contains("2500 ms"));
  CHECK_THAT(config_error([&] { d.pairs.reduce_by_key_and_window(plus, minus, 4000ms, 1700ms); }),
             Contains("1700 ms"));
  CHECK_THAT(config_error([&] { d.pairs.group_by_key_and_window(4000ms, 3500ms); }),
             Contains("3500 ms"));
}

TEST_CASE("zero or negative window lengths and slides are ConfigErrors") {
  Definition d;
  auto plus = [](int a, int b) { return a + b; };
  CHECK_THAT(config_error([&] { d.ints.window(0ms); }),
             Contains("window length") && Contains("0 ms"));
  CHECK_THAT(config_error([&] { d.ints.window(-2000ms); }), Contains("-2000 ms"));
  CHECK_THAT(config_error([&] { d.ints.window(2000ms, -1000ms); }),
             Contains("window slide") && Contains("-1000 ms"));
  CHECK_THAT(config_error([&] { d.pairs.reduce_by_key_and_window(plus, -3000ms); }),
             Contains("-3000 ms"));
  CHECK_NOTHROW(d.ints.window(2000ms, 0ms));  // slide 0: the default, the batch interval
}

TEST_CASE("a window must be a multiple of its parent's slide") {
  Definition d;
  auto coarse = d.ints.window(4000ms, 2000ms);
  CHECK_THAT(config_error([&] { coarse.window(3000ms); }),
             Contains("3000 ms") && Contains("2000 ms"));
  CHECK_THAT(config_error([&] { coarse.window(4000ms, 1000ms); }),
             Contains("1000 ms") && Contains("2000 ms"));
  CHECK_NOTHROW(coarse.window(6000ms, 2000ms));
}

TEST_CASE("combining streams with different slides is a ConfigError") {
  Definition d;
  auto coarse = d.ints.window(4000ms, 2000ms);
  CHECK_THAT(config_error([&] { coarse.union_with(d.ints); }), Contains("slide"));
  auto coarse_pairs = d.pairs.window(2000ms, 2000ms);
  CHECK_THAT(config_error([&] { d.pairs.join(coarse_pairs); }), Contains("slide"));
}

TEST_CASE("zero or negative batch intervals are ConfigErrors") {
  auto clock = std::make_shared<rill::ManualClock>();
  CHECK_THAT(config_error([&] { rill::StreamingContext ssc(0ms, {.clock = clock}); }),
             Contains("batch interval") && Contains("0 ms"));
  CHECK_THAT(config_error([&] { rill::StreamingContext ssc(-1000ms, {.clock = clock}); }),
             Contains("batch interval") && Contains("-1000 ms"));
  CHECK_THAT(
      config_error([&] { rill::StreamingContext ssc(1000ms, {.clock = clock, .partitions = -3}); }),
      Contains("partitions"));
}

TEST_CASE("partition counts must be positive") {
  Definition d;
  CHECK_THAT(config_error([&] { d.ints.repartition(0); }), Contains("0"));
  CHECK_THAT(config_error([&] { d.ints.repartition(-4); }), Contains("-4"));
  CHECK_THAT(config_error([&] { d.pairs.reduce_by_key(std::plus<>{}, -2); }), Contains("-2"));
  CHECK_THAT(config_error([&] { d.pairs.group_by_key(-5); }), Contains("-5"));
}

TEST_CASE("two streams with one name are a ConfigError naming it") {
  Definition d;
  d.ints.map([](int x) { return x; }).name("doubled");
  CHECK_THAT(config_error([&] { d.ints.map([](int x) { return x; }).name("doubled"); }),
             Contains("doubled"));
}

TEST_CASE("start() with no output operations is a ConfigError") {
  Definition d;
  d.ints.map([](int x) { return x + 1; });
  CHECK_THAT(config_error([&] { d.ssc.start(); }), Contains("no output operations"));
}

TEST_CASE("streams and outputs cannot be added after start(); start() runs once") {
  ManualRun run(1000ms, 2);
  auto q = queue_of<int>({{1}});
  auto s = run.ssc.queue_stream(q);
  Collector<int> seen(s);
  run.ssc.start();
  CHECK_THAT(config_error([&] { run.ssc.queue_stream(q); }),
             Contains("queue") && Contains("after start()"));
  CHECK_THAT(config_error([&] { s.map([](int x) { return x; }); }),
             Contains("map") && Contains("after start()"));
  CHECK_THAT(config_error([&] { s.window(2000ms); }),
             Contains("window") && Contains("after start()"));
  CHECK_THAT(config_error([&] { s.print(); }), Contains("print") && Contains("after start()"));
  CHECK_THAT(config_error([&] { s.foreach_batch([](const std::vector<int>&, Millis) {}); }),
             Contains("foreach_batch") && Contains("after start()"));
  CHECK_THAT(config_error([&] { s.save_as_text_files("/nonexistent/never"); }),
             Contains("save_as_text_files") && Contains("after start()"));
  CHECK_THAT(config_error([&] { run.ssc.start(); }),
             Contains("start()") && Contains("already started"));
  // The failed definitions changed nothing: the job still runs its one output.
  run.step();
  CHECK(seen.at(1000) == std::vector<int>{1});
  run.ssc.stop();
  CHECK_THAT(config_error([&] { run.ssc.start(); }), Contains("stopped"));
  CHECK_THAT(config_error([&] { s.map([](int x) { return x; }); }), Contains("stopped"));
}
