// Keyed sliding-window sums (1000 keys, 1 s window sliding every 100 ms): rill's
// reduce_by_key_and_window with and without an inverse against a hand loop, and per-batch cost
// against window length, where the inverse form should stay flat.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <deque>
#include <map>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "bench/bench_common.hpp"
#include "rill/rill.hpp"
#include "tests/support/manual_run.hpp"

namespace {

using rill::bench::splitmix;
using rill::Millis;
using KV = std::pair<int64_t, int64_t>;

bool quick = false;
constexpr int64_t kKeys = 1000;
constexpr Millis kInterval{100};
constexpr int kPartitions = 2;

// Batch k's events: keys uniform over kKeys, values 1-10, the same for every run.
std::vector<KV> batch_events(size_t k, size_t per_batch) {
  uint64_t rng = 0x5eed + k;
  std::vector<KV> out(per_batch);
  for (KV& e : out) e = {static_cast<int64_t>(splitmix(rng) % kKeys), static_cast<int64_t>(1 + splitmix(rng) % 10)};
  return out;
}

// Throughput runs: 20 M events (2 M under --quick) at a nominal 10 M/s, so a 100 ms batch holds 1 M.
struct Events {
  size_t per_batch = 0;
  std::vector<std::vector<KV>> batches;
  int64_t total() const { return static_cast<int64_t>(per_batch * batches.size()); }
};

const Events& events() {
  static const Events e = [] {
    Events out;
    out.per_batch = quick ? 200'000 : 1'000'000;
    const size_t n = quick ? 10 : 20;
    for (size_t k = 0; k < n; ++k) out.batches.push_back(batch_events(k, out.per_batch));
    return out;
  }();
  return e;
}

using WindowSums = std::map<int64_t, int64_t>;

// The hand loop: per-batch sums in a ring of `length` slices, the window kept by adding the new
// slice and subtracting the one that left. Returns the window at the last batch.
WindowSums hand_window(const std::vector<std::vector<KV>>& batches, size_t length) {
  std::deque<std::array<int64_t, kKeys>> ring;
  std::array<int64_t, kKeys> window{};
  for (const auto& batch : batches) {
    std::array<int64_t, kKeys> slice{};
    for (const auto& [k, v] : batch) slice[static_cast<size_t>(k)] += v;
    for (size_t i = 0; i < kKeys; ++i) window[i] += slice[i];
    ring.push_back(slice);
    if (ring.size() > length) {
      for (size_t i = 0; i < kKeys; ++i) window[i] -= ring.front()[i];
      ring.pop_front();
    }
  }
  WindowSums out;
  for (size_t i = 0; i < kKeys; ++i)
    if (window[i] != 0) out[static_cast<int64_t>(i)] = window[i];
  return out;
}

struct LastWindow {
  std::mutex mu;
  WindowSums sums;
};

// Runs `batches` batches of a 2-partition job summing a window of `length` batches (with or
// without the inverse) and returns each batch's wall time, advance to completion.
std::vector<double> run_rill(size_t batches, size_t length, bool inverse,
                             const std::function<std::vector<KV>(Millis, int)>& gen, WindowSums* last) {
  rill::test::ManualRun run(kInterval, kPartitions);
  auto input = run.ssc.generator_stream<KV>(gen);
  const Millis window = kInterval * static_cast<int64_t>(length);
  auto sums = inverse ? input.reduce_by_key_and_window(std::plus<>{}, std::minus<>{}, window, kInterval)
                      : input.reduce_by_key_and_window(std::plus<>{}, window, kInterval);
  auto out = std::make_shared<LastWindow>();
  sums.foreach_batch([out](const std::vector<KV>& rows, Millis) {
    std::lock_guard lock(out->mu);
    out->sums.clear();
    for (const auto& [k, v] : rows)
      if (v != 0) out->sums[k] = v;
  });
  run.ssc.start();
  std::vector<double> times;
  for (size_t k = 0; k < batches; ++k) {
    rill::bench::Stopwatch sw;
    run.step();
    times.push_back(sw.seconds());
  }
  run.ssc.stop();
  if (last) {
    std::lock_guard lock(out->mu);
    *last = out->sums;
  }
  return times;
}

// The generator's slice of the pre-made batch: partition p takes every other half.
std::vector<KV> slice_of(const std::vector<KV>& batch, int p) {
  const size_t half = batch.size() / 2;
  return p == 0 ? std::vector<KV>(batch.begin(), batch.begin() + static_cast<std::ptrdiff_t>(half))
                : std::vector<KV>(batch.begin() + static_cast<std::ptrdiff_t>(half), batch.end());
}

void check(const WindowSums& got, const char* who) {
  static const WindowSums want = hand_window(events().batches, 10);
  if (got != want) {
    std::fprintf(stderr, "window_bench: %s window differs from the hand loop's (%zu vs %zu keys)\n", who,
                 got.size(), want.size());
    std::abort();
  }
}

void bm_hand(benchmark::State& state) {
  for (auto _ : state) {
    rill::bench::Stopwatch sw;
    WindowSums w = hand_window(events().batches, 10);
    const double s = sw.seconds();
    state.SetIterationTime(s);
    rill::bench::report_rate(state, static_cast<double>(events().total()) / s / 1e6, "Mevents/s");
    check(w, "hand loop");
  }
}

void bm_rill(benchmark::State& state, bool inverse) {
  const Events& e = events();
  auto gen = [&e](Millis t, int p) {
    const auto k = static_cast<size_t>(t / kInterval) - 1;
    return k < e.batches.size() ? slice_of(e.batches[k], p) : std::vector<KV>{};
  };
  for (auto _ : state) {
    WindowSums last;
    auto times = run_rill(e.batches.size(), 10, inverse, gen, &last);
    double s = 0;
    for (double t : times) s += t;
    state.SetIterationTime(s);
    rill::bench::report_rate(state, static_cast<double>(e.total()) / s / 1e6, "Mevents/s");
    check(last, inverse ? "rill (inverse)" : "rill");
  }
}

// Per-batch cost once the window is full, over `measured` batches of 10 k events: the mean,
// and the median (rate_p50), which leaves out the batches that also write a full snapshot.
// A full snapshot rewrites the window's state once the deltas since the last one outgrow it:
// every ~length / 2 batches here, ~25 ms at 300 batches. The mean is only its amortised cost
// over whole cycles: measuring 40 batches, one full snapshot fell inside or not by chance, and
// inverse_window_flatness read 1.2-1.6. At least 200 batches (~0.3 s), and 2 x length.
// RILL_BENCH_TRACE=1 prints each measured batch's time.
void bm_length(benchmark::State& state, size_t length, bool inverse) {
  const size_t measured = quick ? 10 : std::max<size_t>(200, 2 * length);
  auto gen = [](Millis t, int p) { return slice_of(batch_events(static_cast<size_t>(t / kInterval), 10'000), p); };
  for (auto _ : state) {
    auto times = run_rill(length + measured, length, inverse, gen, nullptr);
    std::vector<double> full(times.begin() + static_cast<std::ptrdiff_t>(length), times.end());
    if (std::getenv("RILL_BENCH_TRACE") != nullptr)
      for (size_t i = 0; i < full.size(); ++i)
        std::fprintf(stderr, "%s length %zu batch %zu: %.2f ms\n", inverse ? "inverse" : "no inverse", length, i,
                     full[i] * 1e3);
    double s = 0;
    for (double t : full) s += t;
    state.SetIterationTime(s);
    rill::bench::report_rate(state, s / static_cast<double>(measured) * 1e3, "ms/batch");
    std::nth_element(full.begin(), full.begin() + static_cast<std::ptrdiff_t>(full.size() / 2), full.end());
    state.counters["rate_p50"] = full[full.size() / 2] * 1e3;
  }
}

void register_all() {
  auto reg = [](const std::string& name, auto fn) { rill::bench::register_once(name, fn); };
  reg("window_hand_loop", bm_hand);
  reg("window_rill_inverse", [](benchmark::State& s) { bm_rill(s, true); });
  reg("window_rill_no_inverse", [](benchmark::State& s) { bm_rill(s, false); });
  const std::vector<size_t> lengths = quick ? std::vector<size_t>{5, 300} : std::vector<size_t>{5, 30, 100, 300};
  for (size_t len : lengths) {
    reg("window_inverse_len" + std::to_string(len), [len](benchmark::State& s) { bm_length(s, len, true); });
    reg("window_no_inverse_len" + std::to_string(len), [len](benchmark::State& s) { bm_length(s, len, false); });
  }
}

}  // namespace

int main(int argc, char** argv) {
  quick = rill::bench::take_quick_flag(argc, argv);
  rill::set_log_level("warn");  // info logs every batch
  return rill::bench::run_benchmarks(argc, argv, register_all);
}
