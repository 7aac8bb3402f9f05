// StreamingListener events from a running job: their order within a batch, the infos they carry
// (records, output operations, checkpoint sizes, receivers), and a listener that throws.
#include <catch2/catch.hpp>

#include <atomic>
#include <mutex>
#include <string>
#include <vector>

#include "dataflow/queue_source.hpp"
#include "dataflow/streaming_context.hpp"
#include "tests/support/manual_run.hpp"
#include "tests/support/running_total.hpp"

using namespace std::chrono_literals;
using rill::Millis;

namespace {

// Keeps every event as one line, in arrival order, plus the last infos of each kind.
struct RecordingListener : rill::StreamingListener {
  std::mutex mu;
  std::vector<std::string> events;
  std::vector<rill::BatchInfo> completed;
  std::vector<rill::OutputOperationInfo> outputs_done;
  std::vector<rill::CheckpointInfo> checkpoints;
  std::vector<rill::ReceiverInfo> receivers;

  void add(std::string e) {
    std::lock_guard lock(mu);
    events.push_back(std::move(e));
  }
  void on_streaming_started(Millis) override { add("started"); }
  void on_receiver_started(const rill::ReceiverInfo& r) override {
    add("receiver_started " + r.name);
    std::lock_guard lock(mu);
    receivers.push_back(r);
  }
  void on_receiver_stopped(const rill::ReceiverInfo& r) override {
    add("receiver_stopped " + r.name);
    std::lock_guard lock(mu);
    receivers.push_back(r);
  }
  void on_receiver_error(const std::string& name, const std::string& message) override {
    add("receiver_error " + name + ": " + message);
  }
  void on_batch_submitted(const rill::BatchInfo& b) override {
    add("submitted " + std::to_string(b.batch_time.count()));
  }
  void on_batch_started(const rill::BatchInfo& b) override {
    add("batch_started " + std::to_string(b.batch_time.count()));
  }
  void on_batch_completed(const rill::BatchInfo& b) override {
    add("completed " + std::to_string(b.batch_time.count()));
    std::lock_guard lock(mu);
    completed.push_back(b);
  }
  void on_output_operation_started(const rill::OutputOperationInfo& o) override {
    add("output_started " + std::to_string(o.batch_time.count()) + " " + std::to_string(o.id));
  }
  void on_output_operation_completed(const rill::OutputOperationInfo& o) override {
    add("output_completed " + std::to_string(o.batch_time.count()) + " " + std::to_string(o.id));
    std::lock_guard lock(mu);
    outputs_done.push_back(o);
  }
  void on_checkpoint_completed(const rill::CheckpointInfo& c) override {
    add("checkpoint " + std::to_string(c.batch_time.count()));
    std::lock_guard lock(mu);
    checkpoints.push_back(c);
  }
  std::vector<std::string> snapshot() {
    std::lock_guard lock(mu);
    return events;
  }
};

struct ThrowingListener : rill::StreamingListener {
  std::atomic<int> calls{0};
  void on_batch_submitted(const rill::BatchInfo&) override {
    ++calls;
    throw std::runtime_error("listener bug");
  }
};

// Stores "a" once per wake-up and reports one error after its first record.
class ErrorReportingReceiver : public rill::Receiver<std::string> {
 public:
  void on_start() override {
    start_thread([this] {
      bool reported = false;
      while (!is_stopped()) {
        store("a");
        if (!reported) report_error("sensor offline");
        reported = true;
        if (!sleep_for(100ms)) break;
      }
    });
  }
  void on_stop() override {}
};

std::shared_ptr<rill::BatchQueue<int>> queue_of(std::vector<std::vector<int>> batches) {
  auto q = std::make_shared<rill::BatchQueue<int>>();
  for (auto& b : batches) q->push(std::move(b));
  return q;
}

std::vector<std::string> between(const std::vector<std::string>& events, const std::string& first,
                                 const std::string& last) {
  auto b = std::find(events.begin(), events.end(), first);
  auto e = std::find(b, events.end(), last);
  if (b == events.end() || e == events.end()) return {};
  return {b, e + 1};
}

}  // namespace

TEST_CASE(
    "a batch's events arrive in order: submitted, started, each output, checkpoint, completed") {
  rill::test::ManualRun run(1000ms, 2);
  auto listener = std::make_shared<RecordingListener>();
  auto thrower = std::make_shared<ThrowingListener>();
  run.ssc.add_listener(thrower);  // first: the next listener still hears every event
  run.ssc.add_listener(listener);
  auto totals = run.ssc.queue_stream(queue_of({{1, 2, 2}, {3}, {}}))
                    .name("numbers")
                    .map([](int x) {
                      return std::pair{x, int64_t{1}};
                    })
                    .update_state_by_key(rill::test::running_total);
  totals.foreach_batch([](const std::vector<std::pair<int, int64_t>>&, Millis) {});
  totals.count().foreach_batch([](const std::vector<int64_t>&, Millis) {});
  run.ssc.start();
  const Millis t1 = run.step(), t2 = run.step(), t3 = run.step();
  run.ssc.stop();

  const auto events = listener->snapshot();
  REQUIRE_FALSE(events.empty());
  CHECK(events.front() == "started");
  const std::string s1 = std::to_string(t1.count());
  CHECK(between(events, "submitted " + s1, "completed " + s1) ==
        std::vector<std::string>{"submitted " + s1, "batch_started " + s1,
                                 "output_started " + s1 + " 0", "output_completed " + s1 + " 0",
                                 "output_started " + s1 + " 1", "output_completed " + s1 + " 1",
                                 "checkpoint " + s1, "completed " + s1});
  CHECK(thrower->calls == 3);  // it threw every time; the job and the other listener went on

  std::lock_guard lock(listener->mu);
  REQUIRE(listener->completed.size() == 3);
  CHECK(listener->completed[0].input_records == 3);
  CHECK(listener->completed[1].input_records == 1);
  CHECK(listener->completed[2].input_records == 0);
  for (const auto& b : listener->completed) {
    REQUIRE(b.outputs.size() == 2);
    for (int i = 0; i < 2; ++i) {
      CHECK(b.outputs[static_cast<size_t>(i)].id == i);
      CHECK(b.outputs[static_cast<size_t>(i)].batch_time == b.batch_time);
      CHECK(b.outputs[static_cast<size_t>(i)].end_time >=
            b.outputs[static_cast<size_t>(i)].start_time);
      CHECK_FALSE(b.outputs[static_cast<size_t>(i)].failure);
    }
  }
  // The first batch wrote keys 1 and 2; the second only key 3; the third no key at all.
  REQUIRE(listener->checkpoints.size() == 3);
  CHECK(listener->checkpoints[0].batch_time == t1);
  CHECK(listener->checkpoints[0].keys == 2);
  CHECK(listener->checkpoints[0].bytes > 0);
  CHECK(listener->checkpoints[1].batch_time == t2);
  CHECK(listener->checkpoints[1].keys == 1);
  CHECK(listener->checkpoints[2].batch_time == t3);
  CHECK(listener->checkpoints[2].keys == 0);
  CHECK(listener->checkpoints[0].duration_ms >= 0);
}

TEST_CASE("receiver events: started with its name, its reported error, stopped at stop()") {
  rill::test::ManualRun run(1000ms, 1);
  auto listener = std::make_shared<RecordingListener>();
  run.ssc.add_listener(listener);
  run.ssc
      .receiver_stream<std::string>([] { return std::make_unique<ErrorReportingReceiver>(); },
                                    "sensors")
      .foreach_batch([](const std::vector<std::string>&, Millis) {});
  run.ssc.start();  // returns once the receiver started
  // The error is reported from the receiver's thread: wait for it, bounded.
  auto deadline = std::chrono::steady_clock::now() + 20s;
  auto has = [&](const std::string& e) {
    auto ev = listener->snapshot();
    return std::find(ev.begin(), ev.end(), e) != ev.end();
  };
  while (!has("receiver_error sensors: sensor offline") &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(5ms);
  run.step();
  run.ssc.stop();

  const auto events = listener->snapshot();
  CHECK(has("receiver_started sensors"));
  CHECK(has("receiver_error sensors: sensor offline"));
  CHECK(events.back() == "receiver_stopped sensors");
  CHECK(std::count(events.begin(), events.end(), "receiver_stopped sensors") == 1);
  std::lock_guard lock(listener->mu);
  REQUIRE(listener->receivers.size() == 2);
  CHECK(listener->receivers[0].active);
  CHECK(listener->receivers[0].starts == 1);
  CHECK_FALSE(listener->receivers[1].active);
}
