// Word count over generated Zipf text, in memory: rill (generator → flat_map → map →
// reduce_by_key → counting sink) against hand-written absl, std::unordered_map and oneTBB loops.
#include <absl/container/flat_hash_map.h>
#include <benchmark/benchmark.h>
#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_pipeline.h>
#include <oneapi/tbb/task_arena.h>
#include <sys/resource.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "bench/bench_common.hpp"
#include "bench/text_corpus.hpp"
#include "dataflow/ops/exchange.hpp"
#include "dataflow/ops/reduce.hpp"
#include "dataflow/text_output.hpp"
#include "rill/rill.hpp"
#include "tests/support/local_run.hpp"
#include "tests/support/manual_run.hpp"

namespace {

using rill::Millis;
using rill::bench::Corpus;
using rill::bench::count_words;
using Counts = absl::flat_hash_map<std::string, int64_t>;

bool quick = false;

// Text arrives at a nominal 100 MB/s (about the 15 M words/s goal), so a batch holds
// what one interval brings: 10 MB at 100 ms, 100 MB at 1 s. The manual clock moves as soon as
// a batch completes, so the figure is how fast rill drains that input, not the nominal rate.
constexpr double kNominalBytesPerSecond = 100e6;
constexpr uint64_t kSeed = 20'261'126;

const Corpus& corpus() {
  static const Corpus c = rill::bench::make_corpus(quick ? (size_t{20} << 20) : (size_t{200} << 20), kSeed);
  return c;
}

void count_absl(std::string_view text, Counts& counts) { count_words<Counts, absl::string_view>(text, counts); }

const Counts& reference() {
  static const Counts r = [] {
    Counts c;
    count_absl(corpus().text, c);
    return c;
  }();
  return r;
}

template <class Map>
void check_same(const Map& got, const char* who) {
  const Counts& want = reference();
  bool same = got.size() == want.size();
  for (const auto& [word, n] : got) {
    if (!same) break;
    auto it = want.find(absl::string_view(word.data(), word.size()));
    same = it != want.end() && it->second == n;
  }
  if (!same) {
    std::fprintf(stderr, "wordcount_bench: %s counts differ from the absl loop's (%zu vs %zu words)\n",
                 who, got.size(), want.size());
    std::abort();
  }
}

void finish(benchmark::State& state, double seconds, int64_t runs) {
  state.SetIterationTime(seconds);
  rill::bench::report_rate(state, static_cast<double>(corpus().words) * static_cast<double>(runs) / 1e6 / seconds,
                           "Mwords/s");
  // The process's peak so far: meaningful when one benchmark runs alone in its process
  // (./dev bench does that for the peak-RSS figures).
  rusage usage{};
  ::getrusage(RUSAGE_SELF, &usage);
  state.counters["peak_rss_mb"] = static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void bm_absl(benchmark::State& state) {
  const Corpus& c = corpus();
  for (auto _ : state) {
    rill::bench::Stopwatch sw;
    Counts counts;
    count_absl(c.text, counts);
    finish(state, sw.seconds(), 1);
    check_same(counts, "absl loop");
  }
}

struct ViewHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using StdCounts = std::unordered_map<std::string, int64_t, ViewHash, std::equal_to<>>;

void bm_unordered(benchmark::State& state) {
  const Corpus& c = corpus();
  for (auto _ : state) {
    rill::bench::Stopwatch sw;
    StdCounts counts;
    count_words<StdCounts, std::string_view>(c.text, counts);
    finish(state, sw.seconds(), 1);
    check_same(counts, "std::unordered_map loop");
  }
}

// A serial stage cuts ~1 MB chunks at line ends; two threads count them into per-thread
// absl maps, merged at the end (the merge is timed too).
void bm_tbb(benchmark::State& state) {
  const Corpus& c = corpus();
  const std::string_view text = c.text;
  constexpr size_t kChunk = size_t{1} << 20;
  for (auto _ : state) {
    rill::bench::Stopwatch sw;
    tbb::enumerable_thread_specific<Counts> local;
    tbb::task_arena arena(2);
    arena.execute([&] {
      size_t pos = 0;
      tbb::parallel_pipeline(
          8,
          tbb::make_filter<void, std::string_view>(tbb::filter_mode::serial_in_order,
                                                   [&](tbb::flow_control& fc) -> std::string_view {
                                                     if (pos >= text.size()) {
                                                       fc.stop();
                                                       return {};
                                                     }
                                                     size_t end = text.find('\n', std::min(text.size(), pos + kChunk));
                                                     end = end == std::string_view::npos ? text.size() : end + 1;
                                                     std::string_view chunk = text.substr(pos, end - pos);
                                                     pos = end;
                                                     return chunk;
                                                   }) &
              tbb::make_filter<std::string_view, void>(
                  tbb::filter_mode::parallel, [&](std::string_view chunk) { count_absl(chunk, local.local()); }));
    });
    Counts counts;
    for (Counts& m : local)
      for (auto& [word, n] : m) counts[word] += n;
    finish(state, sw.seconds(), 1);
    check_same(counts, "TBB pipeline");
  }
}

// Batch k's lines: those starting in [k, k + 1) batch-bytes of the text.
std::vector<std::pair<size_t, size_t>> cut_batches(const Corpus& c, Millis interval) {
  const auto batch_bytes = static_cast<size_t>(kNominalBytesPerSecond * static_cast<double>(interval.count()) / 1000);
  std::vector<std::pair<size_t, size_t>> out;
  size_t line = 0;
  while (line < c.lines()) {
    const size_t limit = c.line_starts[line] + batch_bytes;
    size_t end = line;
    while (end < c.lines() && c.line_starts[end] < limit) ++end;
    out.emplace_back(line, end);
    line = end;
  }
  return out;
}

// The generator the rill job reads: batch t's lines for one partition, as fresh strings (what a
// receiver would hold). Batch times start at one interval (the manual clock starts at 0).
std::function<std::vector<std::string>(Millis, int)> line_generator(Millis interval, int partitions) {
  auto batches = cut_batches(corpus(), interval);
  return [batches, interval, partitions](Millis t, int p) {
    std::vector<std::string> out;
    const auto k = static_cast<size_t>(t / interval) - 1;
    if (k >= batches.size()) return out;
    const auto [first, end] = batches[k];
    const size_t n = end - first, per = n / static_cast<size_t>(partitions), extra = n % static_cast<size_t>(partitions);
    const auto up = static_cast<size_t>(p);
    const size_t from = first + up * per + std::min(up, extra);
    const size_t to = from + per + (up < extra ? 1 : 0);
    out.reserve(to - from);
    for (size_t i = from; i < to; ++i) out.emplace_back(corpus().line(i));
    return out;
  };
}

struct RillTotals {
  std::mutex mu;
  Counts counts;
};

// The job under test over `lines`; returns the counting sink's totals.
std::shared_ptr<RillTotals> define_wordcount(const rill::DStream<std::string>& lines) {
  auto totals = std::make_shared<RillTotals>();
  lines.flat_map([](const std::string& l) { return rill::split(l, ' '); })
      .map([](const std::string& w) { return std::pair{w, int64_t{1}}; })
      .reduce_by_key(std::plus<>{})
      .foreach_batch([totals](const std::vector<std::pair<std::string, int64_t>>& rows, Millis) {
        std::lock_guard lock(totals->mu);
        for (const auto& [word, n] : rows) totals->counts[word] += n;
      });
  return totals;
}

// Wall time for RILL_BENCH_TRACE lines.
const rill::bench::Stopwatch& trace_clock() {
  static const rill::bench::Stopwatch sw;
  return sw;
}

// RILL_BENCH_TRACE=1: one line per batch on stderr (times on the manual clock are all equal:
// wall-clock ms since the job started instead).
struct BatchTrace : rill::StreamingListener {
  const rill::bench::Stopwatch& since_start = trace_clock();
  void on_batch_submitted(const rill::BatchInfo& b) override {
    std::fprintf(stderr, "batch %lld submitted at %.1f ms\n", static_cast<long long>(b.batch_time.count()),
                 since_start.seconds() * 1e3);
  }
  void on_batch_started(const rill::BatchInfo& b) override {
    std::fprintf(stderr, "batch %lld started at %.1f ms\n", static_cast<long long>(b.batch_time.count()),
                 since_start.seconds() * 1e3);
  }
  void on_batch_completed(const rill::BatchInfo& b) override {
    std::fprintf(stderr, "batch %lld completed at %.1f ms, %lld records\n", static_cast<long long>(b.batch_time.count()),
                 since_start.seconds() * 1e3, static_cast<long long>(b.input_records));
  }
};

// Advances the clock one interval at a time, each as soon as the batch before completed.
void run_batches(rill::StreamingContext& ssc, rill::ManualClock& clock, size_t batches) {
  const bool trace = std::getenv("RILL_BENCH_TRACE") != nullptr;
  for (size_t k = 0; k < batches; ++k) {
    if (trace) std::fprintf(stderr, "advance at %.1f ms\n", trace_clock().seconds() * 1e3);
    clock.advance(ssc.batch_interval());
    if (!ssc.await_batch(clock.now(), Millis{600'000})) {
      std::fprintf(stderr, "wordcount_bench: rill batch %zu did not complete\n", k);
      std::abort();
    }
  }
}

void bm_rill(benchmark::State& state, Millis interval, int threads) {
  const size_t batches = cut_batches(corpus(), interval).size();
  for (auto _ : state) {
    auto clock = std::make_shared<rill::ManualClock>();
    rill::StreamingContext ssc(interval, rill::ContextOptions{.clock = clock, .partitions = threads, .threads = threads});
    auto totals = define_wordcount(ssc.generator_stream<std::string>(line_generator(interval, threads)));
    if (std::getenv("RILL_BENCH_TRACE") != nullptr) ssc.add_listener(std::make_shared<BatchTrace>());
    ssc.start();
    rill::bench::Stopwatch sw;
    run_batches(ssc, *clock, batches);
    finish(state, sw.seconds(), 1);
    ssc.stop();
    std::lock_guard lock(totals->mu);
    check_same(totals->counts, "rill");
  }
  state.counters["batches"] = static_cast<double>(batches);
}

// The same DAG on the LocalExecutor: rill's operators on one thread without actors, so the
// gap to bm_rill is the runtime's cost and the gap to bm_absl the operators'.
void bm_rill_local(benchmark::State& state, Millis interval) {
  const size_t batches = cut_batches(corpus(), interval).size();
  for (auto _ : state) {
    rill::StreamingContext ssc(interval, rill::ContextOptions{.partitions = 1, .threads = 1});
    auto totals = define_wordcount(ssc.generator_stream<std::string>(line_generator(interval, 1)));
    rill::test::LocalRun run(ssc);
    rill::bench::Stopwatch sw;
    run.steps(static_cast<int>(batches));
    finish(state, sw.seconds(), 1);
    check_same(totals->counts, "rill on the LocalExecutor");
  }
}

// A reliable receiver replaying the corpus: at each tick of the clock it stores the next batch's
// lines in blocks (each acknowledged once durable when the WAL is on), then sleeps an interval.
class CorpusReceiver : public rill::Receiver<std::string> {
 public:
  CorpusReceiver(std::vector<std::pair<size_t, size_t>> batches, Millis interval)
      : batches_(std::move(batches)), interval_(interval) {}
  void on_start() override { start_thread([this] { run(); }); }
  void on_stop() override {}

 private:
  void run() {
    constexpr size_t kBlock = 16'384;  // lines a reliable store(): ~1.3 MB, one durable write
    for (const auto& [first, end] : batches_) {
      for (size_t from = first; from < end && !is_stopped(); from += kBlock) {
        const size_t to = std::min(end, from + kBlock);
        std::vector<std::string> lines;
        lines.reserve(to - from);
        for (size_t i = from; i < to; ++i) lines.emplace_back(corpus().line(i));
        rill::bench::Stopwatch sw;
        rill::Status s = store(std::move(lines), to);
        if (trace_) std::fprintf(stderr, "store %zu lines %.1f ms, done at %.1f ms\n", to - from, sw.seconds() * 1e3, trace_clock().seconds() * 1e3);
        if (!s) {
          std::fprintf(stderr, "wordcount_bench: store failed: %s\n", s.to_string().c_str());
          std::abort();
        }
      }
      if (!sleep_for(interval_)) return;
    }
  }
  std::vector<std::pair<size_t, size_t>> batches_;
  Millis interval_;
  bool trace_ = std::getenv("RILL_BENCH_TRACE") != nullptr;
};

// Word count fed by CorpusReceiver, the WAL (fsync on, in a checkpoint directory) on or off.
void bm_rill_receiver(benchmark::State& state, Millis interval, int threads, bool wal) {
  auto batches = cut_batches(corpus(), interval);
  for (auto _ : state) {
    rill::test::ScratchDir dir;
    auto clock = std::make_shared<rill::ManualClock>();
    rill::ContextOptions options{.clock = clock, .partitions = threads, .threads = threads,
                                 .checkpoint_dir = wal ? dir.path + "/ckpt" : "",
                                 .receiver_write_ahead_log = wal, .receiver_max_buffered = 0};
    rill::StreamingContext ssc(interval, options);
    auto totals = define_wordcount(ssc.receiver_stream<std::string>([batches, interval] { return std::make_unique<CorpusReceiver>(batches, interval); }));
    if (std::getenv("RILL_BENCH_TRACE") != nullptr) ssc.add_listener(std::make_shared<BatchTrace>());
    ssc.start();
    rill::bench::Stopwatch sw;
    run_batches(ssc, *clock, batches.size());
    finish(state, sw.seconds(), 1);
    ssc.stop();
    std::lock_guard lock(totals->mu);
    check_same(totals->counts, wal ? "rill with the WAL" : "rill from a receiver");
  }
}

// Only the source: copying the lines into fresh strings, as the generator does for rill.
void bm_feed(benchmark::State& state, Millis interval) {
  const size_t batches = cut_batches(corpus(), interval).size();
  auto gen = line_generator(interval, 1);
  for (auto _ : state) {
    rill::bench::Stopwatch sw;
    for (size_t k = 1; k <= batches; ++k) benchmark::DoNotOptimize(gen(interval * static_cast<int64_t>(k), 0));
    finish(state, sw.seconds(), 1);
  }
}

// rill's word count operators called directly on one thread, 100 ms batches, 2 buckets, each
// step timed apart (the loops of dstream_ops.hpp's flat_map and map, then the pure ops the
// reduce_by_key edge and node run): where the time of bm_rill_local goes, without a profiler.
void bm_steps(benchmark::State& state) {
  using Pair = std::pair<std::string, int64_t>;
  const Millis interval{100};
  const size_t batches = cut_batches(corpus(), interval).size();
  auto gen = line_generator(interval, 1);
  const char* names[] = {"source", "flat_map", "map", "combine_split", "merge", "reduce", "sink"};
  double secs[7] = {};
  for (auto _ : state) {
    Counts totals;
    rill::bench::Stopwatch all;
    for (size_t k = 1; k <= batches; ++k) {
      rill::bench::Stopwatch sw;
      double mark = 0;
      auto lap = [&sw, &mark, &secs](int step) {
        const double now = sw.seconds();
        secs[step] += now - mark;
        mark = now;
      };
      const std::vector<std::string> lines = gen(interval * static_cast<int64_t>(k), 0);
      lap(0);
      std::vector<std::string> words;
      for (const std::string& l : lines)
        for (auto&& w : rill::split(l, ' ')) words.push_back(std::move(w));
      lap(1);
      std::vector<Pair> pairs;
      pairs.reserve(words.size());
      for (const std::string& w : words) pairs.push_back(Pair{w, int64_t{1}});
      lap(2);
      const std::vector<rill::AnyPart> buckets = rill::ops::combine_and_split<std::string, int64_t>(pairs, 2, std::plus<>{});
      lap(3);
      std::vector<rill::AnyPart> merged;
      for (const rill::AnyPart& b : buckets) merged.push_back(rill::ops::concat_parts<Pair>(std::span(&b, 1)));
      lap(4);
      std::vector<std::vector<Pair>> reduced;
      for (const rill::AnyPart& m : merged) reduced.push_back(rill::ops::reduce_by_key<std::string, int64_t>(rill::part_cast<Pair>(m), std::plus<>{}));
      lap(5);
      for (const auto& part : reduced)
        for (const auto& [word, n] : part) totals[word] += n;
      lap(6);
    }
    finish(state, all.seconds(), 1);
    check_same(totals, "rill's operators called directly");
  }
  const double words = static_cast<double>(corpus().words) * static_cast<double>(state.iterations());
  for (int i = 0; i < 7; ++i) state.counters[std::string("rate_") + names[i]] = words / secs[i] / 1e6;
}

void register_all() {
  const int loops = quick ? 1 : 3;  // the loops take well under a second each on the full text
  auto reg = [](const char* name, auto fn, int iterations) {
    benchmark::RegisterBenchmark(name, fn)->Iterations(iterations)->UseManualTime()->Unit(benchmark::kMillisecond);
  };
  reg("wordcount_absl_loop", bm_absl, loops);
  reg("wordcount_unordered_loop", bm_unordered, loops);
  reg("wordcount_tbb_2t", bm_tbb, loops);
  reg("wordcount_feed_only", [](benchmark::State& s) { bm_feed(s, Millis{100}); }, loops);
  reg("wordcount_steps", bm_steps, 1);
  reg("wordcount_rill_local_100ms", [](benchmark::State& s) { bm_rill_local(s, Millis{100}); }, 1);
  for (bool wal : {false, true})
    benchmark::RegisterBenchmark(wal ? "wordcount_rill_2t_100ms_wal_on" : "wordcount_rill_2t_100ms_wal_off",
                                 [wal](benchmark::State& s) { bm_rill_receiver(s, Millis{100}, 2, wal); })
        ->Iterations(1)
        ->UseManualTime()
        ->Unit(benchmark::kMillisecond);
  for (int threads : {1, 2})
    for (int ms : {100, 1000}) {
      const std::string name = "wordcount_rill_" + std::to_string(threads) + "t_" + (ms == 100 ? "100ms" : "1s");
      benchmark::RegisterBenchmark(name.c_str(), [threads, ms](benchmark::State& s) { bm_rill(s, Millis{ms}, threads); })
          ->Iterations(1)
          ->UseManualTime()
          ->Unit(benchmark::kMillisecond);
    }
}

}  // namespace

int main(int argc, char** argv) {
  quick = rill::bench::take_quick_flag(argc, argv);
  rill::set_log_level("warn");  // info logs every batch
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  std::fprintf(stderr, "wordcount_bench: %.0f MB of text, %lld words, %zu distinct\n",
               static_cast<double>(corpus().text.size()) / 1e6, static_cast<long long>(corpus().words),
               reference().size());
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
