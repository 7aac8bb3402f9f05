// Receivers under the runtime: generation tokens, restart requests, listeners, the tree.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "dataflow/streaming_context.hpp"
#include "tests/support/manual_run.hpp"

using namespace std::chrono_literals;
using rill::Millis;

namespace {

// Stores one record per wake-up; the first instance asks for a restart after its 2nd record.
struct Probe {
  std::atomic<int> instances{0};
  std::atomic<int> stored_while_stopping{-1};  // 1 accepted, 0 refused
  std::atomic<int> accepted{0};                 // records the loop stored successfully
};

class CountingReceiver : public rill::Receiver<int> {
 public:
  explicit CountingReceiver(std::shared_ptr<Probe> probe) : probe_(std::move(probe)), id_(++probe_->instances) {}
  void on_start() override {
    start_thread([this] {
      int n = 0;
      while (!is_stopped()) {
        if (store(id_ * 100 + n)) ++probe_->accepted;
        if (++n == 2 && id_ == 1) restart("asked for by the test");
        if (!sleep_for(100ms)) break;
      }
    });
  }
  // A receiver that still stores while stopping must be refused: its generation was revoked.
  void on_stop() override { probe_->stored_while_stopping = store(-1) ? 1 : 0; }

 private:
  std::shared_ptr<Probe> probe_;
  int id_;
};

struct CountingListener : rill::StreamingListener {
  std::atomic<int64_t> records{0};
  std::atomic<int> batches{0};
  void on_batch_completed(const rill::BatchInfo& info) override {
    records += info.input_records;
    ++batches;
  }
};

}  // namespace

TEST_CASE("a stopping receiver instance cannot store: its generation token is revoked") {
  auto probe = std::make_shared<Probe>();
  rill::ReceiverSource<int> source("probe", [probe] { return std::make_unique<CountingReceiver>(probe); });
  auto clock = std::make_shared<rill::ManualClock>();
  source.start(rill::SourceContext{clock.get(), Millis{0}, 1000ms});
  rill::ReceiverSlot& slot = *source.receiver_slot();
  slot.set_clock(clock.get());
  slot.start();
  CHECK(slot.generation() == 1);
  auto stored_first = [&] {  // instance 1 stores at once, then sleeps on the manual clock
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (source.buffer().empty() && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
    return !source.buffer().empty();
  };
  REQUIRE(stored_first());
  slot.start();  // restart: stops instance 1 first
  CHECK(slot.generation() == 2);
  CHECK(probe->stored_while_stopping == 0);
  CHECK(source.buffer().rejected() == 1);
  // Instance 2 stores at once as well; wait for its record before stopping it.
  auto deadline = std::chrono::steady_clock::now() + 10s;
  while (probe->accepted < 2 && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
  slot.stop();
  auto taken = source.take(Millis{1}, 1);
  // Each instance stored its first record at time 0 before the test moved on.
  CHECK(rill::part_cast<int>(taken.parts[0]) == std::vector<int>{100, 200});
}

TEST_CASE("a receiver's restart request gives a new instance and loses nothing it stored") {
  auto probe = std::make_shared<Probe>();
  rill::test::ManualRun run(1000ms, 1);
  auto listener = std::make_shared<CountingListener>();
  run.ssc.add_listener(listener);
  rill::test::Collector<int> got(
      run.ssc.receiver_stream<int>([probe] { return std::make_unique<CountingReceiver>(probe); }, "counting"));
  run.ssc.start();
  run.steps(2);
  run.ssc.stop();
  std::vector<int> all;
  for (int64_t t : {1000, 2000})
    for (int x : got.at(t)) all.push_back(x);
  CAPTURE(all);
  CHECK(probe->instances == 2);
  // Instance 1 stored 100 and 101, then restarted; instance 2 stores from 200 on. Under the
  // manual clock the restart completes before time moves on, so the sequence is exact.
  std::vector<int> expected{100, 101};
  for (int i = 200; i < 200 + 19; ++i) expected.push_back(i);  // at 100, 200, ..., 1900 ms
  CHECK(all == expected);
  CHECK(listener->batches == 2);
  CHECK(listener->records == static_cast<int64_t>(all.size()));
}

TEST_CASE("the supervision tree names every actor under the node root") {
  rill::test::ManualRun run(1000ms, 2);
  auto q = std::make_shared<rill::BatchQueue<int>>();
  run.ssc.queue_stream(q).count().print();
  run.ssc.start();
  rill::SupervisionNode root = run.ssc.supervision_tree();
  run.ssc.stop();
  CHECK(root.name == "root");
  std::vector<std::string> names;
  std::function<void(const rill::SupervisionNode&)> walk = [&](const rill::SupervisionNode& n) {
    names.push_back(n.kind + ":" + n.name);
    for (const auto& c : n.children) walk(c);
  };
  walk(root);
  auto has = [&](const std::string& s) { return std::find(names.begin(), names.end(), s) != names.end(); };
  CHECK(has("supervisor:workers"));
  CHECK(has("supervisor:driver"));
  CHECK(has("driver:job-scheduler"));
  CHECK(has("batch_builder:builder-queue-0"));
  CHECK(has("stage:stage-0-0"));
  CHECK(has("stage:stage-0-1"));
  CHECK(has("stage:stage-1-0"));
  CHECK(has("sink:sink-print-0"));
}
