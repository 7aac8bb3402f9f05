// Scheduler::deterministic: one pump thread runs the actors; outside events wait until they
// settle, timers run in virtual time, and receivers (whose own threads stay) still restart.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>

#include "dataflow/chaos_monkey.hpp"
#include "dataflow/streaming_context.hpp"
#include "tests/support/manual_run.hpp"

using namespace std::chrono_literals;
using rill::Millis;

namespace {

struct Completed : rill::StreamingListener {
  std::atomic<int> batches{0};
  std::atomic<int> restarts{0};
  void on_batch_completed(const rill::BatchInfo&) override { ++batches; }
  void on_actor_restarted(const std::string&, const std::string&, const std::string&) override {
    ++restarts;
  }
};

rill::ContextOptions deterministic(std::shared_ptr<rill::ManualClock> clock,
                                   const std::string& dir) {
  return rill::ContextOptions{.clock = std::move(clock),
                              .partitions = 2,
                              .scheduler = rill::Scheduler::deterministic,
                              .checkpoint_dir = dir + "/ckpt",
                              .checkpoint_fsync = false};
}

// Asks for a restart after its 2nd record, from its own thread.
class RestartingReceiver : public rill::Receiver<int> {
 public:
  explicit RestartingReceiver(int id) : id_(id) {}
  void on_start() override {
    start_thread([this] {
      for (int n = 0; !is_stopped(); ++n) {
        store(id_ * 100 + n);
        if (n == 1 && id_ == 1) restart("asked for by the test");
        if (!sleep_for(100ms)) break;
      }
    });
  }
  void on_stop() override {}

 private:
  int id_;
};

}  // namespace

TEST_CASE("deterministic scheduler: a clock step returns once its batch completed") {
  rill::test::ScratchDir dir;
  auto clock = std::make_shared<rill::ManualClock>();
  auto events = std::make_shared<Completed>();
  rill::StreamingContext ssc(1000ms, deterministic(clock, dir.path));
  ssc.add_listener(events);
  ssc.generator_stream<int>(
         [](Millis t, int p) { return std::vector<int>{static_cast<int>(t.count()) + p}; })
      .foreach_batch([](const std::vector<int>&, Millis) {});
  ssc.start();
  for (int i = 1; i <= 3; ++i) {
    clock->advance(1000ms);
    CHECK(events->batches ==
          i);  // no waiting: the tick was let in and settled before advance() returned
  }
  ssc.stop();
  CHECK(ssc.stray_wakeups() == 0);
}

TEST_CASE("deterministic scheduler: restart backoff runs in virtual time") {
  rill::test::ScratchDir dir;
  auto clock = std::make_shared<rill::ManualClock>();
  auto events = std::make_shared<Completed>();
  auto options = deterministic(clock, dir.path);
  // Every restart waits 3 s (virtual); stages are killed about twice per phase of each batch.
  options.restart_backoff_min = Millis{3000};
  options.restart_backoff_max = Millis{3000};
  options.supervisor_max_restarts = 1000;
  options.fault_injector = std::make_shared<rill::chaos::Monkey>(
      rill::chaos::MonkeyOptions{.seed = 1, .kills_per_batch = 8, .target = {.kinds = {"stage"}}});
  rill::StreamingContext ssc(1000ms, options);
  ssc.add_listener(events);
  ssc.generator_stream<int>(
         [](Millis t, int p) { return std::vector<int>{static_cast<int>(t.count()) + p}; })
      .map([](int x) { return x + 1; })
      .foreach_batch([](const std::vector<int>&, Millis) {});
  ssc.start();
  const auto begun = std::chrono::steady_clock::now();
  for (int i = 1; i <= 3; ++i) clock->advance(1000ms);
  CHECK(events->batches == 3);
  CHECK(events->restarts >= 3);
  CHECK(std::chrono::steady_clock::now() - begun < 3s);  // real time: less than one backoff
  ssc.stop();
}

TEST_CASE(
    "deterministic scheduler: a receiver's restart request, from its own thread, loses nothing") {
  rill::test::ScratchDir dir;
  auto clock = std::make_shared<rill::ManualClock>();
  rill::StreamingContext ssc(1000ms, deterministic(clock, dir.path));
  auto instances = std::make_shared<std::atomic<int>>(0);
  rill::test::Collector<int> got(ssc.receiver_stream<int>(
      [instances] { return std::make_unique<RestartingReceiver>(++*instances); }, "r"));
  ssc.start();
  for (int i = 0; i < 2; ++i) {
    clock->advance(1000ms);
    REQUIRE(ssc.await_batch(clock->now(), Millis{20000}));
  }
  ssc.stop();
  std::vector<int> all;
  for (int64_t t : {1000, 2000})
    for (int x : got.at(t)) all.push_back(x);
  CHECK(*instances == 2);
  std::vector<int> expected{100, 101};
  for (int i = 200; i < 200 + 19; ++i) expected.push_back(i);  // at 100, 200, ..., 1900 ms
  CHECK(all == expected);
  CHECK(ssc.stray_wakeups() == 0);  // the restart request went through the pump
}
