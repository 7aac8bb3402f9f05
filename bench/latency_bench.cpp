// Latency and recovery (issue 6, items 6 and 7). Latency: a paced receiver at half the job's
// measured capacity, 100 ms batches on the system clock, each record stamped when stored and
// timed when its batch's last output is done. Recovery: a job with N keys of state, stopped,
// then get_or_create on its checkpoint until its first new batch completed.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "bench/bench_common.hpp"
#include "rill/rill.hpp"
#include "tests/support/manual_run.hpp"

using namespace std::chrono_literals;
using rill::Millis;

namespace {

bool quick = false;

// (key, steady-clock ns when stored)
using Stamped = std::pair<int64_t, int64_t>;

int64_t steady_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// Stores `rate` records a second (0: as fast as the stream takes them), each stamped with its
// store time, from one thread, catching up every millisecond.
class PacedReceiver : public rill::Receiver<Stamped> {
 public:
  explicit PacedReceiver(double rate) : rate_(rate) {}
  void on_start() override {
    start_thread([this] {
      const auto t0 = std::chrono::steady_clock::now();
      uint64_t sent = 0, seed = 42;
      while (!is_stopped()) {
        double elapsed =
            std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
        uint64_t due = rate_ > 0 ? static_cast<uint64_t>(elapsed * rate_) : sent + 1000;
        if (due > sent) {
          std::vector<Stamped> block;
          block.reserve(due - sent);
          int64_t now = steady_ns();
          for (; sent < due; ++sent)
            block.emplace_back(static_cast<int64_t>(rill::bench::splitmix(seed) % 100'000), now);
          if (!store(std::move(block))) return;
        }
        if (rate_ > 0 && !sleep_for(Millis{1})) return;
      }
    });
  }
  void on_stop() override {}

 private:
  double rate_;
};

// Record latencies counted in 10 us buckets. Not a vector of every sample: at 5 M records/s
// that vector reached 100 M entries, and each doubling (a 0.5-1 GB copy and fresh pages under
// the sink's lock) stalled the batch being counted for up to a second: the bench's own tail.
class LatencyHistogram {
 public:
  static constexpr int64_t kBucketNs = 10'000;
  static constexpr size_t kBuckets = 3'000'000;  // 30 s; slower records count in the last one

  LatencyHistogram() : counts_(kBuckets) {}  // zeroed before the job starts
  void add(int64_t ns, int64_t n = 1) {
    const auto b = static_cast<size_t>(std::clamp<int64_t>(ns / kBucketNs, 0, kBuckets - 1));
    counts_[b] += n;
    total_ += n;
    max_ns_ = std::max(max_ns_, ns);
  }
  bool empty() const { return total_ == 0; }
  /// The p-quantile in ms, to the bucket's width (the bucket's midpoint).
  double percentile_ms(double p) const {
    if (total_ == 0) return 0;
    const auto rank = static_cast<int64_t>(p * static_cast<double>(total_ - 1));
    int64_t seen = 0;
    for (size_t b = 0; b < counts_.size(); ++b) {
      seen += counts_[b];
      if (seen > rank) return (static_cast<double>(b) + 0.5) * kBucketNs / 1e6;
    }
    return max_ms();
  }
  double max_ms() const { return static_cast<double>(max_ns_) / 1e6; }

 private:
  std::vector<int64_t> counts_;
  int64_t total_ = 0;
  int64_t max_ns_ = 0;
};

struct Run {
  std::mutex mu;
  LatencyHistogram latencies;  // one count per record, after the warm-up
  int64_t records = 0;
  Millis processing{0};
  Millis max_processing{0};
  Millis max_scheduling{0};  // how late the slowest batch started after its time
  int batches = 0;
  Millis warm_up{0};  // batches up to this time are not counted
};

struct ProcessingTotals : rill::StreamingListener {
  std::shared_ptr<Run> run;
  bool trace = std::getenv("RILL_BENCH_TRACE") != nullptr;
  explicit ProcessingTotals(std::shared_ptr<Run> r) : run(std::move(r)) {}
  void on_batch_completed(const rill::BatchInfo& b) override {
    // RILL_BENCH_TRACE=1: one line per batch on stderr, to find where a tail comes from.
    if (trace)
      std::fprintf(
          stderr,
          "batch %lld records %lld submitted %lld start +%lld end +%lld restarts %d retried %d\n",
          static_cast<long long>(b.batch_time.count()), static_cast<long long>(b.input_records),
          static_cast<long long>(b.submission_time.count()),
          static_cast<long long>(b.scheduling_delay().count()),
          static_cast<long long>(b.total_delay().count()), b.restarts, b.retried_tasks);
    std::lock_guard lock(run->mu);
    if (b.batch_time <= run->warm_up || b.input_records == 0) return;
    run->records += b.input_records;
    run->processing += b.processing_delay();
    run->max_processing = std::max(run->max_processing, b.processing_delay());
    run->max_scheduling = std::max(run->max_scheduling, b.scheduling_delay());
    ++run->batches;
  }
};

// A keyed count (the work) and then the records' latencies (the last output, so "done" is when
// the batch's outputs are all done).
std::shared_ptr<Run> run_job(double rate, Millis duration) {
  auto run = std::make_shared<Run>();
  auto clock = std::make_shared<rill::SystemClock>();
  rill::StreamingContext ssc(100ms, {.clock = clock, .partitions = 2, .threads = 2});
  run->warm_up = clock->now() + 1000ms;
  ssc.add_listener(std::make_shared<ProcessingTotals>(run));
  auto stamped = ssc.receiver_stream<Stamped>(
      [rate] { return std::make_unique<PacedReceiver>(rate); }, "paced");
  stamped.map([](const Stamped& s) {
           return std::pair{s.first % 1000, int64_t{1}};
         })
      .reduce_by_key(std::plus<>{})
      .foreach_batch([](const std::vector<std::pair<int64_t, int64_t>>&, Millis) {});
  stamped.foreach_batch([run](const std::vector<Stamped>& records, Millis t) {
    int64_t done = steady_ns();
    std::lock_guard lock(run->mu);
    if (t <= run->warm_up) return;
    for (const auto& r : records) run->latencies.add(done - r.second);
  });
  ssc.start();
  ssc.await_termination_or_timeout(duration);
  ssc.stop(false);
  return run;
}

double capacity_records_per_s = 0;

void bm_capacity(benchmark::State& state) {
  for (auto _ : state) {
    auto run = run_job(0, quick ? 3000ms : 5000ms);
    std::lock_guard lock(run->mu);
    // What the job sustained end to end with the receiver storing as fast as it can (its thread
    // shares the 2 cores): records per second of batch time. Processing time alone would leave
    // the receiver's cost out and overstate it.
    double seconds = static_cast<double>(run->batches) * 0.1;
    capacity_records_per_s = seconds > 0 ? static_cast<double>(run->records) / seconds : 0;
    state.SetIterationTime(seconds);
    rill::bench::report_rate(state, capacity_records_per_s / 1e6, "M records/s");
    state.counters["rate_utilization"] =
        seconds > 0 ? std::chrono::duration<double>(run->processing).count() / seconds : 0;
  }
}

void bm_latency(benchmark::State& state) {
  for (auto _ : state) {
    if (capacity_records_per_s <= 0) {
      state.SkipWithError("no capacity figure: run latency_capacity first");
      return;
    }
    double rate = capacity_records_per_s / 2;
    auto run = run_job(rate, quick ? 4000ms : 20000ms);
    std::lock_guard lock(run->mu);
    const LatencyHistogram& h = run->latencies;
    state.SetIterationTime(static_cast<double>(run->batches) * 0.1);
    double p50 = h.percentile_ms(0.5), p99 = h.percentile_ms(0.99), max = h.max_ms();
    rill::bench::report_rate(state, p50, "ms");
    state.counters["rate_p50_ms"] = p50;
    state.counters["rate_p99_ms"] = p99;
    state.counters["rate_max_ms"] = max;
    state.counters["rate_p99_intervals"] = p99 / 100.0;
    state.counters["rate_input_records_per_s"] = rate;
    // Where a tail comes from: a batch that started late, or one that ran long.
    state.counters["rate_max_scheduling_delay_ms"] =
        static_cast<double>(run->max_scheduling.count());
    state.counters["rate_max_processing_ms"] = static_cast<double>(run->max_processing.count());
    // Processing time over the interval: how loaded the job ran (0.5 is the aim).
    state.counters["rate_utilization"] =
        run->batches > 0
            ? std::chrono::duration<double>(run->processing).count() / (run->batches * 0.1)
            : 0;
  }
}

// Recovery: a job whose first batch creates `keys` keys of state and whose next two change 1,000;
// stopped; then the clock on, a new context from the checkpoint, and its first batch.
using KV = std::pair<int64_t, int64_t>;

std::unique_ptr<rill::StreamingContext> keyed_job(const std::string& dir,
                                                  std::shared_ptr<rill::ManualClock> clock,
                                                  int64_t keys) {
  auto ssc = std::make_unique<rill::StreamingContext>(
      100ms, rill::ContextOptions{.clock = clock, .partitions = 2, .checkpoint_dir = dir});
  ssc->generator_stream<KV>([keys](Millis t, int p) {
       std::vector<KV> out;
       int64_t n = t == 100ms ? keys : 1000;
       for (int64_t k = p; k < n; k += 2)
         out.emplace_back(t == 100ms ? k : (k * 7919 + t.count()) % keys, 1);
       return out;
     })
      .update_state_by_key(
          [](const std::vector<int64_t>& added, const std::optional<int64_t>& total) {
            int64_t sum = total.value_or(0);
            for (int64_t n : added) sum += n;
            return std::optional<int64_t>(sum);
          })
      .foreach_batch([](const std::vector<KV>&, Millis) {});
  return ssc;
}

void bm_recovery(benchmark::State& state, int64_t keys) {
  for (auto _ : state) {
    rill::test::ScratchDir dir;
    const std::string ckpt = dir.path + "/ckpt";
    {
      auto clock = std::make_shared<rill::ManualClock>();
      auto ssc =
          rill::StreamingContext::get_or_create(ckpt, [&] { return keyed_job(ckpt, clock, keys); });
      ssc->start();
      for (int i = 1; i <= 3; ++i) {
        clock->advance(100ms);
        if (!ssc->await_batch(Millis{i * 100}, Millis{600000}))
          state.SkipWithError("setup batch did not complete");
      }
      ssc->stop(false);
    }
    // The restarted job's clock stands where the old one stopped; its first new batch is 400 ms.
    auto clock = std::make_shared<rill::ManualClock>(Millis{300});
    rill::bench::Stopwatch sw;
    auto ssc =
        rill::StreamingContext::get_or_create(ckpt, [&] { return keyed_job(ckpt, clock, keys); });
    ssc->start();
    clock->advance(100ms);
    bool done = ssc->await_batch(400ms, Millis{600000});
    double ms = sw.seconds() * 1e3;
    ssc->stop(false);
    if (!done || !ssc->recovered())
      state.SkipWithError("the recovered job's first batch did not complete");
    state.SetIterationTime(ms / 1e3);
    rill::bench::report_rate(state, ms, "ms");
  }
}

void register_all() {
  using rill::bench::register_once;
  register_once("latency_capacity", bm_capacity);
  register_once("latency", bm_latency);
  register_once("recovery_1k_ms", [](benchmark::State& s) { bm_recovery(s, 1000); });
  register_once("recovery_100k_ms", [](benchmark::State& s) { bm_recovery(s, 100'000); });
  if (!quick)
    register_once("recovery_1m_ms", [](benchmark::State& s) { bm_recovery(s, 1'000'000); });
}

}  // namespace

int main(int argc, char** argv) {
  quick = rill::bench::take_quick_flag(argc, argv);
  rill::set_log_level("warn");  // info logs every batch
  return rill::bench::run_benchmarks(argc, argv, register_all);
}
