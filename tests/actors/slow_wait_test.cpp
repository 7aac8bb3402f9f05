// Every long wait logs what it waits for: a batch held up in an output or a stage, and start()
// held up by a receiver, each named in a warning once slow_wait_warning has passed.
#include <catch2/catch.hpp>

#include <future>
#include <thread>

#include "dataflow/receiver.hpp"
#include "dataflow/streaming_context.hpp"
#include "tests/support/log_lines.hpp"

using namespace std::chrono_literals;
using rill::Millis;

namespace {

// A user function blocks on it until the test opens it.
struct Gate {
  std::promise<void> opened;
  std::shared_future<void> wait = opened.get_future().share();
  void open() { opened.set_value(); }
};

rill::ContextOptions options(const std::shared_ptr<rill::ManualClock>& clock) {
  return {.clock = clock, .partitions = 1, .slow_wait_warning = Millis{100}};
}

std::shared_ptr<rill::BatchQueue<int>> one_batch() {
  auto q = std::make_shared<rill::BatchQueue<int>>();
  q->push({1, 2, 3});
  return q;
}

// on_start() returns only once the gate opens.
class SlowStartingReceiver : public rill::Receiver<int> {
 public:
  explicit SlowStartingReceiver(std::shared_ptr<Gate> gate) : gate_(std::move(gate)) {}
  void on_start() override { gate_->wait.wait(); }
  void on_stop() override {}

 private:
  std::shared_ptr<Gate> gate_;
};

}  // namespace

TEST_CASE("a batch held up in an output logs the output it waits for") {
  rill::test::LogLines log;
  auto clock = std::make_shared<rill::ManualClock>();
  auto gate = std::make_shared<Gate>();
  rill::StreamingContext ssc(1000ms, options(clock));
  ssc.queue_stream(one_batch()).foreach_batch([gate](const std::vector<int>&, Millis) {
    gate->wait.wait();
  });
  ssc.start();
  clock->advance(1000ms);
  CHECK(log.wait_for("batch 1000 ms: waiting for output 'foreach_batch-0'"));
  CHECK(log.contains("ms without progress"));
  gate->open();
  CHECK(ssc.await_batch(1000ms, Millis{20000}));
  ssc.stop();
}

TEST_CASE("a batch held up in a stage logs the stage and partition") {
  rill::test::LogLines log;
  auto clock = std::make_shared<rill::ManualClock>();
  auto gate = std::make_shared<Gate>();
  rill::StreamingContext ssc(1000ms, options(clock));
  ssc.queue_stream(one_batch())
      .map([gate](int x) {
        gate->wait.wait();
        return x * 2;
      })
      .foreach_batch([](const std::vector<int>&, Millis) {});
  ssc.start();
  clock->advance(1000ms);
  CHECK(log.wait_for("batch 1000 ms: waiting for stage 0 partition 0 (their operators"));
  CHECK_FALSE(log.contains("waiting for output"));
  gate->open();
  CHECK(ssc.await_batch(1000ms, Millis{20000}));
  ssc.stop();
}

TEST_CASE("start() held up by a receiver's on_start says so") {
  rill::test::LogLines log;
  auto clock = std::make_shared<rill::ManualClock>();
  auto gate = std::make_shared<Gate>();
  rill::StreamingContext ssc(1000ms, options(clock));
  ssc.receiver_stream<int>([gate] { return std::make_unique<SlowStartingReceiver>(gate); }, "slow")
      .foreach_batch([](const std::vector<int>&, Millis) {});
  // start() blocks until the receiver started: open the gate once the warning is out.
  std::thread opener([&] {
    log.wait_for("start(): 100 ms waiting for 1 receiver(s) to start");
    gate->open();
  });
  ssc.start();
  opener.join();
  CHECK(
      log.contains("start(): 100 ms waiting for 1 receiver(s) to start (on_start() must return)"));
  ssc.stop();
}
