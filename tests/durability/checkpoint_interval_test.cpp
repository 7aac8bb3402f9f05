// checkpoint_interval: state is snapshotted every few batches; between checkpoints it changes in
// memory only, and every failure (a restart, a killed stage, a function that threw) rolls the
// job back to the last checkpoint and runs the batches since again, their outputs once.
#include <catch2/catch.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/config_error.hpp"
#include "tests/support/kill_at.hpp"
#include "tests/support/manual_run.hpp"
#include "tests/support/memory_sink.hpp"
#include "tests/support/running_total.hpp"

using namespace rill;
using test::KillAt;
using namespace std::chrono_literals;
using test::CommittedRows;
using test::MemorySink;
using test::ScratchDir;
using KV = std::pair<std::string, int64_t>;

namespace {

constexpr Millis kInterval{1000};
constexpr Millis kEvery{3000};  // a checkpoint every third batch

// What the job's listener heard: checkpoint and re-run batch times, in order.
struct Heard : StreamingListener {
  std::mutex mu;
  std::vector<int64_t> checkpoints, reruns;
  void on_checkpoint_completed(const CheckpointInfo& c) override {
    std::lock_guard lock(mu);
    checkpoints.push_back(c.batch_time.count());
  }
  void on_batch_started(const BatchInfo& i) override {
    std::lock_guard lock(mu);
    if (i.rerun) reruns.push_back(i.batch_time.count());
  }
  std::vector<int64_t> checkpoint_times() {
    std::lock_guard lock(mu);
    return checkpoints;
  }
  std::vector<int64_t> rerun_times() {
    std::lock_guard lock(mu);
    return reruns;
  }
};

// Per batch: one record per key k0..k2 with value t/1000, on partition 0 only.
std::vector<KV> generate(Millis t, int partition) {
  if (partition != 0) return {};
  std::vector<KV> out;
  for (int k = 0; k < 3; ++k) out.emplace_back("k" + std::to_string(k), t.count() / 1000);
  return out;
}

// Running totals and a 3-batch inverse window into one exactly-once memory sink (a second
// commit of a batch's partition throws), on a manual clock starting at `start`.
// `throw_at_value`: the totals' function throws once when it sees that value.
struct Job {
  Job(const std::string& dir, Millis start, std::shared_ptr<CommittedRows> rows,
      std::shared_ptr<FaultInjector> faults = nullptr, int64_t throw_at_value = -1)
      : clock(std::make_shared<ManualClock>(start)),
        heard(std::make_shared<Heard>()),
        ssc(kInterval, ContextOptions{.clock = clock,
                                      .partitions = 2,
                                      .checkpoint_dir = dir,
                                      .checkpoint_fsync = false,
                                      .checkpoint_interval = kEvery,
                                      .restart_backoff_min = Millis{1},
                                      .restart_backoff_max = Millis{5},
                                      .fault_injector = std::move(faults)}) {
    ssc.add_listener(heard);
    auto thrown = std::make_shared<std::atomic<bool>>(false);
    auto input = ssc.generator_stream<KV>(generate).name("input");
    input
        .update_state_by_key([thrown, throw_at_value](const std::vector<int64_t>& vs,
                                                      const std::optional<int64_t>& s) {
          int64_t sum = s.value_or(0);
          for (int64_t v : vs) {
            if (v == throw_at_value && !thrown->exchange(true))
              throw std::runtime_error("injected once");
            sum += v;
          }
          return std::optional<int64_t>(sum);
        })
        .name("totals")
        .output_to(std::make_shared<MemorySink<KV>>(rows), "totals");
    input.reduce_by_key_and_window(std::plus<>{}, std::minus<>{}, 3 * kInterval, kInterval)
        .name("window")
        .output_to(std::make_shared<MemorySink<KV>>(rows), "window");
    ssc.start();
  }
  void step() {
    clock->advance(kInterval);
    if (!ssc.await_batch(clock->now(), Millis{20000}))
      throw std::runtime_error("batch " + to_string(clock->now()) + " did not complete");
  }
  std::shared_ptr<ManualClock> clock;
  std::shared_ptr<Heard> heard;
  StreamingContext ssc;
};

// Six batches without faults: what every run below must commit.
std::map<std::string, std::vector<std::string>> reference() {
  ScratchDir dir;
  auto rows = std::make_shared<CommittedRows>();
  Job job(dir.path + "/ckpt", Millis{0}, rows);
  for (int i = 0; i < 6; ++i) job.step();
  job.ssc.stop();
  return rows->snapshot();
}

}  // namespace

TEST_CASE(
    "state is snapshotted every checkpoint_interval; a restart re-runs the batches since, outputs "
    "once") {
  const auto expected = reference();
  REQUIRE(expected.at("totals t=6000 p=0").size() + expected.at("totals t=6000 p=1").size() == 3);
  ScratchDir dir;
  auto rows = std::make_shared<CommittedRows>();
  {
    Job first(dir.path + "/ckpt", Millis{0}, rows);
    for (int i = 0; i < 5; ++i) first.step();
    CHECK(first.heard->checkpoint_times() == std::vector<int64_t>{3000});
    first.ssc.stop();  // not graceful: batches 4 and 5 changed state in memory only
  }
  Job second(dir.path + "/ckpt", Millis{5000}, rows);
  CHECK(second.ssc.recovered());
  second.step();
  // 4 and 5 ran again from the checkpoint at 3; their outputs were not committed twice (the
  // sink throws on that), and 6 is a checkpoint.
  CHECK(second.heard->rerun_times() == std::vector<int64_t>{4000, 5000});
  CHECK(second.heard->checkpoint_times() == std::vector<int64_t>{6000});
  second.ssc.stop();
  CHECK(rows->snapshot() == expected);
}

TEST_CASE("a graceful stop ends on a checkpoint: the restart re-runs nothing") {
  const auto expected = reference();
  ScratchDir dir;
  auto rows = std::make_shared<CommittedRows>();
  {
    Job first(dir.path + "/ckpt", Millis{0}, rows);
    for (int i = 0; i < 4; ++i) first.step();
    first.ssc.stop(/*stop_gracefully=*/true);
    // The drain ran one more batch, a checkpoint, after the grid's at 3.
    CHECK(first.heard->checkpoint_times() == std::vector<int64_t>{3000, 5000});
  }
  Job second(dir.path + "/ckpt", Millis{5000}, rows);
  second.step();
  CHECK(second.heard->rerun_times().empty());
  second.ssc.stop();
  CHECK(rows->snapshot() == expected);
}

TEST_CASE(
    "a stage killed between checkpoints rolls every stage back to the checkpoint; outputs stay "
    "exact") {
  const auto expected = reference();
  ScratchDir dir;
  auto rows = std::make_shared<CommittedRows>();
  Job job(dir.path + "/ckpt", Millis{0}, rows,
          std::make_shared<KillAt>("stage-", Millis{5000}, FaultPhase::after_allocation));
  for (int i = 0; i < 6; ++i) job.step();
  job.ssc.stop();
  // The restarted stages could load only the checkpoint at 3: batch 4 ran again before 5.
  CHECK(job.heard->rerun_times() == std::vector<int64_t>{4000, 5000});
  CHECK(job.heard->checkpoint_times() == std::vector<int64_t>{3000, 6000});
  CHECK(rows->snapshot() == expected);
}

TEST_CASE(
    "a function that threw between checkpoints re-runs the batches since the checkpoint; outputs "
    "stay exact") {
  const auto expected = reference();
  ScratchDir dir;
  auto rows = std::make_shared<CommittedRows>();
  Job job(dir.path + "/ckpt", Millis{0}, rows, nullptr, /*throw_at_value=*/5);
  for (int i = 0; i < 6; ++i) job.step();
  job.ssc.stop();
  CHECK(job.heard->rerun_times() == std::vector<int64_t>{4000, 5000});
  CHECK(rows->snapshot() == expected);
}

TEST_CASE(
    "a checkpoint interval that is not a multiple of the batch interval is refused, naming both") {
  ScratchDir dir;
  StreamingContext ssc(kInterval, ContextOptions{.clock = std::make_shared<ManualClock>(),
                                                 .partitions = 1,
                                                 .checkpoint_dir = dir.path + "/ckpt",
                                                 .checkpoint_interval = 1500ms});
  ssc.generator_stream<KV>(generate).print();
  CHECK_THROWS_WITH(ssc.start(),
                    Catch::Contains("checkpoint interval 1500 ms") && Catch::Contains("1000 ms"));
}

// A source that cannot replay (a queue, as a receiver without the WAL) held the records of the
// batches since the checkpoint in memory only: after a restart their re-runs get none, and what
// the new process's source holds goes to the first new batch, as output and as state alike.
TEST_CASE("after a restart, completed batches of a source that cannot replay re-run empty") {
  ScratchDir dir;
  auto rows = std::make_shared<CommittedRows>();
  auto run = [&](Millis start, std::vector<std::vector<KV>> batches, int steps) {
    auto clock = std::make_shared<ManualClock>(start);
    auto heard = std::make_shared<Heard>();
    auto queue = std::make_shared<BatchQueue<KV>>();
    for (auto& b : batches) queue->push(std::move(b));
    StreamingContext ssc(kInterval, ContextOptions{.clock = clock,
                                                   .partitions = 1,
                                                   .checkpoint_dir = dir.path + "/ckpt",
                                                   .checkpoint_fsync = false,
                                                   .checkpoint_interval = kEvery});
    ssc.add_listener(heard);
    auto input = ssc.queue_stream(queue).name("queue");
    input.reduce_by_key(std::plus<>{})
        .name("counts")
        .output_to(std::make_shared<MemorySink<KV>>(rows), "counts");
    input.update_state_by_key(rill::test::running_total)
        .name("totals")
        .output_to(std::make_shared<MemorySink<KV>>(rows), "totals");
    ssc.start();
    for (int i = 0; i < steps; ++i) {
      clock->advance(kInterval);
      REQUIRE(ssc.await_batch(clock->now(), Millis{20000}));
    }
    ssc.stop();
    return heard->rerun_times();
  };
  // Batches 1-5 each count one "a"; the checkpoint is at 3.
  run(Millis{0}, {{{"a", 1}}, {{"a", 1}}, {{"a", 1}}, {{"a", 1}}, {{"a", 1}}}, 5);
  // The new process's queue holds one "b": 4 and 5 re-run without records, and 6 takes it.
  CHECK(run(Millis{5000}, {{{"b", 1}}}, 1) == std::vector<int64_t>{4000, 5000});
  const auto out = rows->snapshot();
  CHECK(out.at("counts t=6000 p=0") == std::vector<std::string>{to_text(KV{"b", 1})});
  // State: the checkpoint's 3, the re-runs' nothing, 6's "b".
  CHECK(out.at("totals t=6000 p=0") ==
        std::vector<std::string>{to_text(KV{"a", 3}), to_text(KV{"b", 1})});
}
