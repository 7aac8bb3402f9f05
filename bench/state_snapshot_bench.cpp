// Delta snapshots of a 1M-key state with 1k changes a batch, against a loop that only copies the
// 1k changed entries: what incremental checkpointing costs beyond touching the changes.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <optional>
#include <utility>
#include <vector>

#include "dataflow/ops/state.hpp"
#include "dataflow/record_columns.hpp"
#include "net/codec.hpp"

namespace {

using rill::Millis;
using KV = std::pair<int64_t, int64_t>;
constexpr int64_t kKeys = 1'000'000;
constexpr int64_t kChanges = 1'000;

std::vector<KV> all_keys() {
  std::vector<KV> out;
  out.reserve(kKeys);
  for (int64_t k = 0; k < kKeys; ++k) out.emplace_back(k, 1);
  return out;
}

// Batch b changes kChanges keys spread over the key space.
std::vector<KV> changes(int64_t b) {
  std::vector<KV> out;
  for (int64_t i = 0; i < kChanges; ++i) out.emplace_back((b * 7919 + i * 997) % kKeys, 1);
  return out;
}

const auto kCount = rill::state_spec([](int64_t, std::optional<int64_t> v, rill::State<int64_t>& s) {
  s.update(s.get_option().value_or(0) + v.value_or(0));
  return s.get();
});

void map_step(rill::ops::MappedState<int64_t, int64_t>& st, const std::vector<KV>& batch, int64_t t) {
  rill::ops::map_with_state_step<int64_t, int64_t, int64_t, int64_t>(st, batch, Millis{t}, kCount);
}

std::optional<int64_t> plus_old(const std::vector<int64_t>& v, const std::optional<int64_t>& old) {
  int64_t s = old.value_or(0);
  for (int64_t x : v) s += x;
  return s;
}

// Baseline: look up and copy the changed entries, nothing else.
void BM_CopyChanged(benchmark::State& state) {
  rill::OrderedMap<int64_t, int64_t> map;
  for (const auto& [k, v] : all_keys()) map.find_or_insert(k, [v = v] { return v; });
  std::vector<KV> copied;
  int64_t b = 0;
  for (auto _ : state) {
    copied.clear();
    for (const auto& [k, v] : changes(++b)) copied.emplace_back(k, *map.find(k));
    benchmark::DoNotOptimize(copied.data());
  }
  state.SetItemsProcessed(state.iterations() * kChanges);
}

// map_with_state: the step (O(batch)) plus the delta's columns, optionally plus the frame.
template <bool kFrame>
void BM_MappedDelta(benchmark::State& state) {
  rill::ops::MappedState<int64_t, int64_t> st;
  map_step(st, all_keys(), 1000);
  rill::EncodeColumns out;
  st.snapshot(true, out);
  int64_t b = 1;
  for (auto _ : state) {
    state.PauseTiming();
    map_step(st, changes(b), 1000 * (b + 1));
    ++b;
    out = rill::EncodeColumns{};
    state.ResumeTiming();
    benchmark::DoNotOptimize(st.snapshot(false, out));
    if constexpr (kFrame) benchmark::DoNotOptimize(rill::net::write_frame(out).size());
  }
  state.SetItemsProcessed(state.iterations() * kChanges);
}

// update_state_by_key: its step calls fn for all 1M keys, so only the snapshot is timed.
template <bool kFrame>
void BM_KeyedDelta(benchmark::State& state) {
  rill::ops::KeyedState<int64_t, int64_t> st;
  rill::ops::update_state_step<int64_t, int64_t, int64_t>(st, all_keys(), plus_old);
  rill::EncodeColumns out;
  st.snapshot(true, out);
  int64_t b = 1;
  for (auto _ : state) {
    state.PauseTiming();
    rill::ops::update_state_step<int64_t, int64_t, int64_t>(st, changes(b++), plus_old);
    out = rill::EncodeColumns{};
    state.ResumeTiming();
    benchmark::DoNotOptimize(st.snapshot(false, out));
    if constexpr (kFrame) benchmark::DoNotOptimize(rill::net::write_frame(out).size());
  }
  state.SetItemsProcessed(state.iterations() * kChanges);
}

}  // namespace

BENCHMARK(BM_CopyChanged);
BENCHMARK(BM_MappedDelta<false>)->Name("BM_MappedDelta/columns");
BENCHMARK(BM_MappedDelta<true>)->Name("BM_MappedDelta/frame");
BENCHMARK(BM_KeyedDelta<false>)->Name("BM_KeyedDelta/columns")->Iterations(20);
BENCHMARK(BM_KeyedDelta<true>)->Name("BM_KeyedDelta/frame")->Iterations(20);

BENCHMARK_MAIN();
