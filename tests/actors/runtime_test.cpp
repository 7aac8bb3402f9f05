// The actor runtime end to end under the manual clock: batches, errors, stop.
#include <catch2/catch.hpp>

#include <algorithm>
#include <mutex>
#include <sstream>

#include "dataflow/config_error.hpp"
#include "dataflow/streaming_context.hpp"

using namespace std::chrono_literals;
using rill::Millis;

namespace {

using Counts = std::vector<std::pair<std::string, int64_t>>;

// Collects what foreach_batch sees, sorted per batch, keyed by batch time.
struct Collected {
  std::mutex mu;
  std::map<int64_t, Counts> batches;
  void add(Counts c, Millis t) {
    std::sort(c.begin(), c.end());
    std::lock_guard lock(mu);
    batches[t.count()] = std::move(c);
  }
};

}  // namespace

TEST_CASE("the runtime runs one batch per interval under the manual clock") {
  auto clock = std::make_shared<rill::ManualClock>();
  rill::StreamingContext ssc(1000ms, {.clock = clock, .partitions = 2});
  auto q = std::make_shared<rill::BatchQueue<std::string>>();
  q->push({"a b a", "c"});
  q->push({"b"});
  auto seen = std::make_shared<Collected>();
  ssc.queue_stream(q)
      .flat_map([](const std::string& l) { return rill::split(l); })
      .map([](const std::string& w) { return std::pair{w, int64_t{1}}; })
      .reduce_by_key(std::plus<>{})
      .foreach_batch([seen](const Counts& c, Millis t) { seen->add(c, t); });
  ssc.start();
  clock->advance(1000ms);
  REQUIRE(ssc.await_batch(1000ms));
  clock->advance(1000ms);
  REQUIRE(ssc.await_batch(2000ms));
  CHECK_FALSE(ssc.await_batch(3000ms, 50ms));  // no tick yet: no third batch
  ssc.stop();
  CHECK(seen->batches[1000] == Counts{{"a", 2}, {"b", 1}, {"c", 1}});
  CHECK(seen->batches[2000] == Counts{{"b", 1}});
  CHECK(seen->batches.size() == 2);
  CHECK_THROWS_AS(ssc.start(), rill::ConfigError);
}

TEST_CASE("a user function that throws stops the job with the operator and batch time") {
  auto clock = std::make_shared<rill::ManualClock>();
  rill::StreamingContext ssc(1000ms, {.clock = clock, .partitions = 1});
  auto q = std::make_shared<rill::BatchQueue<int>>();
  q->push({1, 2});
  q->push({3, 13});
  ssc.queue_stream(q)
      .map([](int x) {
        if (x == 13) throw std::runtime_error("unlucky record 13");
        return x * 2;
      })
      .name("doubler")
      .foreach_batch([](const std::vector<int>&, Millis) {});
  ssc.start();
  clock->advance(1000ms);
  REQUIRE(ssc.await_batch(1000ms));
  clock->advance(1000ms);
  try {
    ssc.await_termination_or_timeout(10s);
    FAIL("the job did not fail");
  } catch (const rill::JobError& e) {
    std::string what = e.what();
    CHECK(what.find("doubler") != std::string::npos);
    CHECK(what.find("2000 ms") != std::string::npos);
    CHECK(what.find("unlucky record 13") != std::string::npos);
  }
  CHECK(ssc.is_stopped());
  ssc.stop();
}

TEST_CASE("a graceful stop processes every queued batch first") {
  auto clock = std::make_shared<rill::ManualClock>();
  rill::StreamingContext ssc(1000ms, {.clock = clock, .partitions = 2});
  auto q = std::make_shared<rill::BatchQueue<int>>();
  for (int i = 0; i < 5; ++i) q->push({i});
  auto total = std::make_shared<std::atomic<int>>(0);
  ssc.queue_stream(q).foreach_batch([total](const std::vector<int>& v, Millis) {
    for (int x : v) *total += x + 1;
  });
  ssc.start();
  clock->advance(1000ms);
  REQUIRE(ssc.await_batch(1000ms));
  ssc.stop(true);
  CHECK(*total == 1 + 2 + 3 + 4 + 5);
  CHECK(q->size() == 0);
}
