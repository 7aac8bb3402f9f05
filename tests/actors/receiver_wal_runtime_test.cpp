// The receiver write-ahead log under the runtime, on a real checkpoint directory: a context
// destroyed with durable blocks not yet allocated, and a process killed between a block's
// fsync and its acknowledgement, both restart with every record exactly once.
#include <catch2/catch.hpp>

#include <signal.h>
#include <stdlib.h>

#include <filesystem>
#include <mutex>
#include <numeric>
#include <thread>

#include "dataflow/failpoint.hpp"
#include "dataflow/streaming_context.hpp"
#include "tests/support/crash_harness.hpp"
#include "tests/support/manual_run.hpp"

using namespace std::chrono_literals;
using rill::Millis;

namespace {

struct Probe {
  Millis pause{250};  // between stores; 0: store as fast as the log allows
  std::mutex mu;
  std::vector<uint64_t> starts;  // the offset each instance resumed from
};

// A reliable receiver of an endless source 0, 1, 2, ...: stores 5 records per block with the
// offset after them, and resumes from the last durable offset.
class CounterReceiver : public rill::Receiver<int64_t> {
 public:
  explicit CounterReceiver(std::shared_ptr<Probe> probe) : probe_(std::move(probe)) {}
  void on_start() override {
    const uint64_t from = last_durable_offset().value_or(0);
    {
      std::lock_guard lock(probe_->mu);
      probe_->starts.push_back(from);
    }
    start_thread([this, from] {
      for (uint64_t next = from; !is_stopped(); next += 5) {
        std::vector<int64_t> block(5);
        std::iota(block.begin(), block.end(), static_cast<int64_t>(next));
        if (!store(std::move(block), next + 5)) break;  // acknowledge the source here
        if (probe_->pause.count() > 0 && !sleep_for(probe_->pause)) break;
      }
    });
  }
  void on_stop() override {}

 private:
  std::shared_ptr<Probe> probe_;
};

rill::ContextOptions wal_options(std::shared_ptr<rill::ManualClock> clock, const std::string& dir) {
  return {.clock = std::move(clock), .partitions = 2, .checkpoint_dir = dir,
          .checkpoint_fsync = false, .receiver_write_ahead_log = true};
}

// One run of the job: a context on a manual clock starting at `start`.
struct Run {
  std::shared_ptr<rill::ManualClock> clock;
  rill::StreamingContext ssc;
  std::unique_ptr<rill::test::Collector<int64_t>> seen;
  struct Seen {
    std::mutex mu;
    std::map<int64_t, std::vector<int64_t>> batches;
  };
  std::shared_ptr<Seen> killer = std::make_shared<Seen>();  // what the killing output saw
  Run(Millis start, const std::string& dir, std::shared_ptr<Probe> probe)
      : clock(std::make_shared<rill::ManualClock>(start)), ssc(1000ms, wal_options(clock, dir)) {
    auto stream = ssc.receiver_stream<int64_t>(
        [probe] { return std::make_unique<CounterReceiver>(probe); }, "counter");
    seen = std::make_unique<rill::test::Collector<int64_t>>(stream);
    // The crash of a batch in flight, after its allocation is durable (the child sets it).
    // This output never commits the batch it kills at, so a restart runs it there again.
    const char* kill_at = ::getenv("RILL_WAL_CHILD_KILL_AT");
    const int64_t kill_ms = kill_at ? std::atoll(kill_at) : -1;
    stream.foreach_batch([kill_ms, k = killer](const std::vector<int64_t>& batch, Millis t) {
      if (t.count() == kill_ms) ::raise(SIGKILL);
      std::lock_guard lock(k->mu);
      k->batches[t.count()] = batch;
    });
    ssc.start();
  }
  void to(Millis t) {
    clock->advance(t - clock->now());
    REQUIRE(ssc.await_batch(t, 20000ms));
  }
};

// from, from + 1, ..., to - 1
std::vector<int64_t> range(int64_t from, int64_t to) {
  std::vector<int64_t> v(static_cast<size_t>(to - from));
  std::iota(v.begin(), v.end(), from);
  return v;
}
std::vector<int64_t> iota_to(int64_t n) { return range(0, n); }

}  // namespace

TEST_CASE("the write-ahead log needs a checkpoint directory") {
  rill::StreamingContext ssc(1000ms, {.clock = std::make_shared<rill::ManualClock>(),
                                      .receiver_write_ahead_log = true});
  auto probe = std::make_shared<Probe>();
  ssc.receiver_stream<int64_t>([probe] { return std::make_unique<CounterReceiver>(probe); })
      .foreach_batch([](const std::vector<int64_t>&, Millis) {});
  CHECK_THROWS_AS(ssc.start(), rill::ConfigError);
}

TEST_CASE("durable blocks not yet allocated at a crash go to the first batch after restart") {
  rill::set_failpoints_for_testing("wal.after_fsync_before_ack:1000000:count");
  rill::test::ScratchDir dir;
  const std::string ckpt = dir.path + "/ckpt";
  auto probe = std::make_shared<Probe>();
  std::map<int64_t, std::vector<int64_t>> batches;
  {
    Run run1(0ms, ckpt, probe);
    for (int64_t t : {1000, 2000, 3000}) run1.to(Millis{t});
    run1.clock->advance(500ms);  // blocks stored at 3000, 3250, 3500: durable, unallocated
    for (int64_t t : {1000, 2000, 3000}) batches[t] = run1.seen->at(t);
    CHECK(batches[1000] == std::vector<int64_t>(iota_to(20)));
  }  // destroyed without stop(): nothing drains
  {
    Run run2(3500ms, ckpt, probe);
    CHECK(run2.ssc.recovered());
    {
      std::lock_guard lock(probe->mu);
      REQUIRE(probe->starts.size() == 2);
      CHECK(probe->starts[1] == 75);  // resumed after the last durable block
    }
    run2.to(4000ms);
    run2.to(5000ms);
    // Re-runs of allocated batches (if any) read the same records back from the log.
    for (int64_t t : {1000, 2000, 3000})
      if (run2.seen->has(t)) CHECK(run2.seen->at(t) == batches[t]);
    batches[4000] = run2.seen->at(4000);
    batches[5000] = run2.seen->at(5000);
    run2.ssc.stop();
  }
  std::vector<int64_t> all;
  for (auto& [t, records] : batches) all.insert(all.end(), records.begin(), records.end());
  CHECK(all == iota_to(105));  // every record once, in order
  CHECK(rill::failpoint_hits("wal.after_fsync_before_ack") >= 19);
  rill::reset_failpoints_for_testing();
}

// Run by the tests below as a child process, killed by a failpoint or its own output.
TEST_CASE("wal child stores blocks until killed", "[.]") {
  const char* dir = ::getenv("RILL_WAL_CHILD_DIR");
  REQUIRE(dir != nullptr);
  const bool ticks = ::getenv("RILL_WAL_CHILD_KILL_AT") != nullptr;
  auto probe = std::make_shared<Probe>();
  if (!ticks) probe->pause = 0ms;
  Run run(0ms, dir, probe);
  if (ticks) {
    run.to(1000ms);
    run.clock->advance(1000ms);  // batch 2000 is allocated, then its output kills
  }
  std::this_thread::sleep_for(30s);  // the failpoint kills the process first
  FAIL("the failpoint did not kill the child");
}

TEST_CASE("a crash between a block's fsync and its acknowledgement duplicates nothing") {
  rill::test::ScratchDir dir;
  const std::string ckpt = dir.path + "/ckpt";
  rill::test::ChildOptions options{
      .binary = std::filesystem::read_symlink("/proc/self/exe").string(),
      .args = {"wal child stores blocks until killed"},
      .env = {{"RILL_FAILPOINTS", "wal.after_fsync_before_ack:3"}, {"RILL_WAL_CHILD_DIR", ckpt}},
      .control = false};
  {
    rill::test::ChildProcess child(options);
    auto status = child.wait(60000ms);
    REQUIRE(status);
    REQUIRE(status->killed_by(SIGKILL));  // at the 3rd block: durable, never acknowledged
  }
  auto probe = std::make_shared<Probe>();
  Run run(0ms, ckpt, probe);
  {
    std::lock_guard lock(probe->mu);
    REQUIRE(probe->starts.size() == 1);
    CHECK(probe->starts[0] == 15);  // 3 blocks of 5 were durable: resume after the 3rd
  }
  run.to(1000ms);
  CHECK(run.seen->at(1000) == iota_to(35));  // the child's 15, then 20 stored at 0..750
  run.ssc.stop();
}

TEST_CASE("a batch allocated before a crash is re-run from the log with the same records") {
  rill::test::ScratchDir dir;
  const std::string ckpt = dir.path + "/ckpt";
  rill::test::ChildOptions options{
      .binary = std::filesystem::read_symlink("/proc/self/exe").string(),
      .args = {"wal child stores blocks until killed"},
      .env = {{"RILL_WAL_CHILD_DIR", ckpt}, {"RILL_WAL_CHILD_KILL_AT", "2000"}},
      .control = false};
  {
    rill::test::ChildProcess child(options);
    auto status = child.wait(60000ms);
    REQUIRE(status);
    REQUIRE(status->killed_by(SIGKILL));
  }
  auto probe = std::make_shared<Probe>();
  Run run(2000ms, ckpt, probe);
  {
    std::lock_guard lock(probe->mu);
    CHECK(probe->starts.at(0) == 45);  // the child's block at 2000 was durable
  }
  REQUIRE(run.ssc.await_batch(2000ms, 20000ms));  // the re-run, read back from the log
  std::vector<int64_t> rerun;
  {
    std::lock_guard lock(run.killer->mu);
    rerun = run.killer->batches[2000];
  }
  CHECK(rerun == range(20, 40));
  run.to(3000ms);  // the child's unallocated block, then this run's 45..64
  std::vector<int64_t> first = run.seen->at(3000);
  CHECK(first == range(40, 65));
  run.ssc.stop();
}
