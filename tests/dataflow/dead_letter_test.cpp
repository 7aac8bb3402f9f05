// dead_letters() and on_record_error(sink): records whose per-record function throws are skipped
// and reported with operator, batch time and error, through the runtime on the manual clock.
#include <catch2/catch.hpp>
#include <map>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataflow/config_error.hpp"
#include "tests/support/manual_run.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using rill::DeadLetter;
using rill::Millis;
using rill::test::Collector;
using rill::test::ManualRun;

namespace {

template <class T>
std::shared_ptr<rill::BatchQueue<T>> queue_of(std::vector<std::vector<T>> batches) {
  auto q = std::make_shared<rill::BatchQueue<T>>();
  for (auto& b : batches) q->push(std::move(b));
  return q;
}

int parse(const std::string& s) {
  size_t used = 0;
  int v = std::stoi(s, &used);  // throws std::invalid_argument on "x"
  if (used != s.size()) throw std::invalid_argument("trailing text in '" + s + "'");
  return v;
}

DeadLetter letter(std::string op, int64_t t, int32_t p, std::string record, std::string error) {
  return DeadLetter{std::move(op), t, p, std::move(record), std::move(error)};
}

// A TypedSink<DeadLetter> that keeps what was committed, by (batch time, partition).
class MemorySink final : public rill::TypedSink<DeadLetter> {
 public:
  void open(const rill::SinkContext&) override {}
  void write(Millis t, int p, const std::vector<DeadLetter>& rows) override {
    std::lock_guard lock(mu_);
    staged_[{t.count(), p}] = rows;
  }
  void commit(Millis t, int p, uint64_t) override {
    std::lock_guard lock(mu_);
    committed_[{t.count(), p}] = staged_[{t.count(), p}];
  }
  std::optional<uint64_t> committed(Millis, int) override { return std::nullopt; }
  std::vector<DeadLetter> at(int64_t t) const {
    std::lock_guard lock(mu_);
    std::vector<DeadLetter> all;
    for (const auto& [key, rows] : committed_)
      if (key.first == t) all.insert(all.end(), rows.begin(), rows.end());
    return all;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<int64_t, int>, std::vector<DeadLetter>> staged_, committed_;
};

// One run of lines -> parse with a dead-letter stream; returns both streams' batches 1..n.
struct ParseRun {
  std::vector<std::vector<int>> good;
  std::vector<std::vector<DeadLetter>> bad;
};

ParseRun run_parse(const std::vector<std::vector<std::string>>& input, int partitions) {
  ManualRun run(1000ms, partitions);
  auto parsed = run.ssc.queue_stream(queue_of(input)).map(parse).name("parse");
  Collector<int> good(parsed);
  Collector<DeadLetter> bad(parsed.dead_letters());
  run.ssc.start();
  ParseRun out;
  for (size_t i = 0; i < input.size(); ++i) {
    Millis t = run.step();
    out.good.push_back(good.at(t.count()));
    out.bad.push_back(bad.at(t.count()));
  }
  run.ssc.stop();
  return out;
}

}  // namespace

TEST_CASE("a map that throws sends the record to dead_letters() and the batch completes") {
  ParseRun r = run_parse({{"1", "x", "3"}, {"4"}, {"5z", "6"}}, 1);
  CHECK(r.good == std::vector<std::vector<int>>{{1, 3}, {4}, {6}});
  REQUIRE(r.bad.size() == 3);
  REQUIRE(r.bad[0].size() == 1);
  CHECK(r.bad[0][0].op == "parse");
  CHECK(r.bad[0][0].time_ms == 1000);
  CHECK(r.bad[0][0].partition == 0);
  CHECK(r.bad[0][0].record == "x");
  CHECK_THAT(r.bad[0][0].error, Contains("stoi"));
  CHECK(r.bad[1].empty());
  CHECK(r.bad[2] == std::vector<DeadLetter>{letter("parse", 3000, 0, "5z", "trailing text in '5z'")});
}

TEST_CASE("dead letters are the same records in the same order on a re-run") {
  std::vector<std::vector<std::string>> input{{"a", "1", "b", "2", "c", "3", "d"}, {"e", "f"}};
  ParseRun first = run_parse(input, 2);
  ParseRun second = run_parse(input, 2);
  CHECK(first.bad == second.bad);
  CHECK(first.good == second.good);
  CHECK(first.bad[0].size() == 4);
  CHECK(first.bad[1].size() == 2);
  // Partition order, then input order within a partition.
  for (const auto& batch : first.bad)
    for (size_t i = 1; i < batch.size(); ++i) CHECK(batch[i - 1].partition <= batch[i].partition);
}

TEST_CASE("flat_map, filter, map_values and flat_map_values route their errors too") {
  ManualRun run(1000ms, 1);
  auto src = run.ssc.queue_stream(queue_of<int>({{1, 2, 3}}));
  auto boom = [](int x) {
    if (x == 2) throw std::runtime_error("two");
    return x;
  };
  auto flat = src.flat_map([boom](int x) { return std::vector<int>{boom(x), boom(x)}; });
  auto kept = src.filter([boom](int x) { return boom(x) > 1; });
  auto kv = src.map([](int x) { return std::pair<int, int>{x, x}; });
  auto values = kv.map_values(boom);
  auto flat_values = kv.flat_map_values([boom](int v) { return std::vector<int>{boom(v)}; });
  Collector<int> flat_out(flat), kept_out(kept);
  Collector<std::pair<int, int>> values_out(values), flat_values_out(flat_values);
  Collector<DeadLetter> e1(flat.dead_letters()), e2(kept.dead_letters()),
      e3(values.dead_letters()), e4(flat_values.dead_letters());
  run.ssc.start();
  run.step();
  CHECK(flat_out.at(1000) == std::vector<int>{1, 1, 3, 3});
  CHECK(kept_out.at(1000) == std::vector<int>{3});
  CHECK(values_out.at(1000) == std::vector<std::pair<int, int>>{{1, 1}, {3, 3}});
  CHECK(flat_values_out.at(1000) == std::vector<std::pair<int, int>>{{1, 1}, {3, 3}});
  CHECK(e1.at(1000) == std::vector<DeadLetter>{letter("flat_map-0", 1000, 0, "2", "two")});
  CHECK(e2.at(1000) == std::vector<DeadLetter>{letter("filter-0", 1000, 0, "2", "two")});
  // map_values is a map over pairs: the record is the whole pair.
  CHECK(e3.at(1000) == std::vector<DeadLetter>{letter("map-1", 1000, 0, "(2,2)", "two")});
  CHECK(e4.at(1000) == std::vector<DeadLetter>{letter("flat_map-1", 1000, 0, "(2,2)", "two")});
  run.ssc.stop();
}

TEST_CASE("on_record_error(sink) writes the dead letters to a sink, named as renamed later") {
  ManualRun run(1000ms, 1);
  auto sink = std::make_shared<MemorySink>();
  auto parsed = run.ssc.queue_stream(queue_of<std::string>({{"7", "seven"}}))
                    .map(parse)
                    .on_record_error(sink, "bad-lines");
  parsed.name("parse-numbers");  // after on_record_error: letters carry the final name
  Collector<int> good(parsed);
  run.ssc.start();
  run.step();
  CHECK(good.at(1000) == std::vector<int>{7});
  auto bad = sink->at(1000);
  REQUIRE(bad.size() == 1);
  CHECK(bad[0].op == "parse-numbers");
  CHECK(bad[0].record == "seven");
  run.ssc.stop();
}

TEST_CASE("without dead_letters() a throwing map still fails the job naming operator and time") {
  ManualRun run(1000ms, 1);
  auto parsed = run.ssc.queue_stream(queue_of<std::string>({{"1"}, {"oops"}})).map(parse).name("parse");
  Collector<int> good(parsed);
  run.ssc.start();
  run.step();
  run.clock->advance(1000ms);
  try {
    run.ssc.await_termination_or_timeout(10s);
    FAIL("the job did not fail");
  } catch (const rill::JobError& e) {
    CHECK_THAT(e.what(), Contains("parse") && Contains("2000 ms") && Contains("stoi"));
  }
  run.ssc.stop();
}

TEST_CASE("dead_letters() on an operator without a per-record function is a ConfigError") {
  ManualRun run(1000ms, 1);
  auto counts = run.ssc.queue_stream(queue_of<std::pair<std::string, int>>({}))
                    .reduce_by_key(std::plus<int>{})
                    .name("totals");
  CHECK_THROWS_WITH(counts.dead_letters(), Contains("totals") && Contains("reduce_by_key"));
}

TEST_CASE("checkpoint(interval) records a multiple of the batch interval, rejects others") {
  ManualRun run(1000ms, 1);
  auto s = run.ssc.queue_stream(queue_of<int>({})).map([](int x) { return x; }).name("ids");
  s.checkpoint(10s);
  CHECK(rill::context_graph(run.ssc).node(s.id()).checkpoint_interval == 10s);
  CHECK_THROWS_AS(s.checkpoint(1500ms), rill::ConfigError);
  CHECK_THROWS_WITH(s.checkpoint(1500ms), Contains("ids") && Contains("1500"));
  CHECK_THROWS_WITH(s.checkpoint(0ms), Contains("ids"));
  CHECK(rill::context_graph(run.ssc).node(s.id()).checkpoint_interval == 10s);
}

TEST_CASE("the job checkpoints at the configured interval, else the shortest a stream names, else every batch") {
  ManualRun run(1000ms, 1);
  const rill::JobGraph& g = rill::context_graph(run.ssc);
  auto a = run.ssc.queue_stream(queue_of<int>({})).map([](int x) { return x; }).name("a");
  CHECK(g.checkpoint_interval(0ms) == 1000ms);  // nothing named: every batch
  a.checkpoint(10s);
  auto b = a.map([](int x) { return x + 1; }).name("b");
  b.checkpoint(4s);
  CHECK(g.checkpoint_interval(0ms) == 4s);  // one cut serves both: the more frequent
  CHECK(g.checkpoint_interval(6s) == 6s);   // ContextOptions / a cluster config override
  CHECK_THROWS_WITH(g.checkpoint_interval(2500ms), Contains("2500 ms") && Contains("1000 ms"));
}
