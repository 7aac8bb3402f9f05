// Sinks through the actor runtime on the manual clock: per-partition write + commit with the
// output hash, skipping committed partitions, NONDETERMINISM on a differing hash, sink errors.
#include <sqlite3.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <map>
#include <mutex>

#include "dataflow/config_error.hpp"
#include "dataflow/stable_hash.hpp"
#include "persistence/sqlite_sink.hpp"
#include "tests/support/manual_run.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using rill::Millis;
using rill::test::ManualRun;

namespace {

using Key = std::pair<int64_t, int>;  // (batch time ms, partition)

// Records every call; committed() answers from `earlier`, standing in for markers an earlier
// run of the job left (the re-run is simulated, the runtime cannot tell the difference).
class RecordingSink final : public rill::TypedSink<int> {
 public:
  void open(const rill::SinkContext& c) override {
    std::lock_guard lock(mu);
    contexts.push_back(c);
  }
  void write(Millis t, int p, const std::vector<int>& records) override {
    std::lock_guard lock(mu);
    if (t.count() == throw_at) throw std::runtime_error("disk on fire");
    written[{t.count(), p}].push_back(records);
  }
  void commit(Millis t, int p, uint64_t hash) override {
    std::lock_guard lock(mu);
    commits[{t.count(), p}].push_back(hash);
  }
  std::optional<uint64_t> committed(Millis t, int p) override {
    std::lock_guard lock(mu);
    auto it = earlier.find({t.count(), p});
    if (it == earlier.end()) return std::nullopt;
    return it->second;
  }

  std::mutex mu;
  std::vector<rill::SinkContext> contexts;
  std::map<Key, std::vector<std::vector<int>>> written;
  std::map<Key, std::vector<uint64_t>> commits;
  std::map<Key, uint64_t> earlier;
  int64_t throw_at = -1;
};

std::shared_ptr<rill::BatchQueue<int>> queue_of(std::vector<std::vector<int>> batches) {
  auto q = std::make_shared<rill::BatchQueue<int>>();
  for (auto& b : batches) q->push(std::move(b));
  return q;
}

}  // namespace

TEST_CASE("output_to writes and commits every partition once, with the records' stable hash") {
  ManualRun run(1000ms, 2);
  auto sink = std::make_shared<RecordingSink>();
  run.ssc.queue_stream(queue_of({{1, 2, 3, 4}, {5}})).name("numbers").output_to(sink, "numbers-out");
  run.ssc.start();
  const Millis t1 = run.step(), t2 = run.step();
  run.ssc.stop();

  std::lock_guard lock(sink->mu);
  REQUIRE(sink->contexts.size() == 1);
  CHECK(sink->contexts[0].output == "numbers-out");
  CHECK(sink->contexts[0].stream == "numbers");
  CHECK(sink->contexts[0].partitions == 2);
  for (Millis t : {t1, t2}) {
    for (int p = 0; p < 2; ++p) {
      REQUIRE(sink->written[{t.count(), p}].size() == 1);
      REQUIRE(sink->commits[{t.count(), p}].size() == 1);
      CHECK(sink->commits[{t.count(), p}][0] == rill::stable_hash(sink->written[{t.count(), p}][0]));
    }
  }
  std::vector<int> all;
  for (int p = 0; p < 2; ++p)
    for (int x : sink->written[{t1.count(), p}][0]) all.push_back(x);
  CHECK(rill::test::sorted(all) == std::vector<int>{1, 2, 3, 4});
  CHECK(run.ssc.nondeterministic_outputs() == 0);
}

TEST_CASE("a re-run partition is skipped; a differing committed hash counts as nondeterminism") {
  ManualRun run(1000ms, 1);
  auto sink = std::make_shared<RecordingSink>();
  run.ssc.queue_stream(queue_of({{1, 2}, {3}, {4}})).name("numbers").output_to(sink);
  const Millis t1 = run.clock->now() + 1000ms, t2 = t1 + 1000ms;
  {
    std::lock_guard lock(sink->mu);
    sink->earlier[{t1.count(), 0}] = rill::stable_hash(std::vector<int>{1, 2});  // same output
    sink->earlier[{t2.count(), 0}] = 0x1234;                                      // other output
  }
  run.ssc.start();
  run.steps(3);
  run.ssc.stop();

  std::lock_guard lock(sink->mu);
  CHECK(sink->written.count({t1.count(), 0}) == 0);  // committed before: not written twice
  CHECK(sink->written.count({t2.count(), 0}) == 0);
  CHECK(sink->commits.count({t2.count(), 0}) == 0);
  CHECK(sink->written[{t2.count() + 1000, 0}] == std::vector<std::vector<int>>{{4}});
  CHECK(run.ssc.nondeterministic_outputs() == 1);
}

TEST_CASE("a sink that throws fails the batch, naming output, batch time and partition") {
  ManualRun run(1000ms, 1);
  auto sink = std::make_shared<RecordingSink>();
  sink->throw_at = run.clock->now().count() + 2000;
  run.ssc.queue_stream(queue_of({{1}, {2}})).name("numbers").output_to(sink, "fragile");
  run.ssc.start();
  run.step();
  run.clock->advance(1000ms);
  try {
    run.ssc.await_termination_or_timeout(10s);
    FAIL("the job did not fail");
  } catch (const rill::JobError& e) {
    CHECK_THAT(std::string(e.what()), Contains("output 'fragile'") && Contains("numbers") &&
                                          Contains(std::to_string(sink->throw_at) + " ms") &&
                                          Contains("partition 0") && Contains("disk on fire"));
  }
  run.ssc.stop();
}

TEST_CASE("output_to refuses a sink of another record type, and a null sink") {
  ManualRun run(1000ms, 1);
  auto s = run.ssc.queue_stream(queue_of({{1}}));
  auto strings = rill::sqlite_sink<std::string>("/tmp/never.db", "t", {}, {"s"});
  CHECK_THROWS_AS(s.output_to(strings), rill::ConfigError);
  CHECK_THROWS_AS(s.output_to(nullptr), rill::ConfigError);
}

TEST_CASE("a SQLite sink through the runtime: one marker per (batch, partition), rows upserted") {
  char tmpl[] = "/tmp/rill_sink_XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string path = std::string(tmpl) + "/out.db";
  {
    ManualRun run(1000ms, 2);
    auto words = run.ssc.queue_stream(queue_of({{1, 2, 3}, {2, 3}}))
                     .map([](int x) { return std::pair{std::string(1, static_cast<char>('a' + x)), int64_t{x}}; })
                     .reduce_by_key(std::plus<>{});
    words.output_to(rill::sqlite_sink<std::pair<std::string, int64_t>>(path, "totals", {"word"}, {"word", "n"}),
                    "totals");
    run.ssc.start();
    run.steps(2);
    run.ssc.stop();
  }
  sqlite3* db = nullptr;
  REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
  auto scalar = [db](const char* sql) {
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db, sql, -1, &s, nullptr) == SQLITE_OK);
    REQUIRE(sqlite3_step(s) == SQLITE_ROW);
    std::string out = reinterpret_cast<const char*>(sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
    return out;
  };
  CHECK(scalar("SELECT group_concat(word || '=' || n, ',') FROM (SELECT * FROM totals ORDER BY word)") ==
        "b=1,c=2,d=3");
  CHECK(scalar("SELECT count(*) FROM _rill_markers WHERE output = 'totals'") == "4");  // 2 batches x 2
  sqlite3_close(db);
  std::filesystem::remove_all(tmpl);
}
