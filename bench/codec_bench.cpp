// The record codec (net/codec.hpp: records → columns → Cap'n Proto frame and back) against
// memcpy of the same frame bytes out and back, for (string, int64) pairs and a 5-field struct.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <utility>
#include <vector>

#include "bench/bench_common.hpp"
#include "net/codec.hpp"

namespace bench_records {

struct Trade {
  int64_t id = 0;
  std::string symbol;
  double price = 0;
  int32_t quantity = 0;
  bool buy = false;
  friend bool operator==(const Trade&, const Trade&) = default;
};
RILL_RECORD(Trade, id, symbol, price, quantity, buy)

}  // namespace bench_records

namespace {

using rill::bench::splitmix;
using bench_records::Trade;
using Pair = std::pair<std::string, int64_t>;

bool quick = false;
// A frame per batch partition; 10k records is a 100 ms batch's share at ~200 k records/s.
constexpr size_t kRecords = 10'000;

std::string word(uint64_t& rng) {
  std::string w(3 + splitmix(rng) % 10, 'a');
  for (char& c : w) c = static_cast<char>('a' + splitmix(rng) % 26);
  return w;
}

template <class T>
std::vector<T> make_records();

template <>
std::vector<Pair> make_records<Pair>() {
  uint64_t rng = 1;
  std::vector<Pair> out;
  for (size_t i = 0; i < kRecords; ++i) out.emplace_back(word(rng), static_cast<int64_t>(splitmix(rng) % 1'000'000));
  return out;
}

template <>
std::vector<Trade> make_records<Trade>() {
  uint64_t rng = 2;
  std::vector<Trade> out;
  for (size_t i = 0; i < kRecords; ++i)
    out.push_back(Trade{static_cast<int64_t>(i), word(rng), static_cast<double>(splitmix(rng) % 100'000) / 100.0,
                        static_cast<int32_t>(splitmix(rng) % 1000), splitmix(rng) % 2 == 0});
  return out;
}

// mode 0: encode, 1: decode, 2: encode + decode. Checks one round trip before timing.
template <class T>
void bm_codec(benchmark::State& state, int mode) {
  const std::vector<T> records = make_records<T>();
  const rill::net::Frame frame = rill::net::encode_batch(records);
  auto back = rill::net::decode_batch<T>(frame);
  if (!back || *back != records) {
    std::fprintf(stderr, "codec_bench: round trip changed the records\n");
    std::abort();
  }
  rill::bench::Stopwatch sw;
  for (auto _ : state) {
    if (mode != 1) {
      rill::net::Frame f = rill::net::encode_batch(records);
      benchmark::DoNotOptimize(f.data());
      if (mode == 2) benchmark::DoNotOptimize(rill::net::decode_batch<T>(f));
    } else {
      benchmark::DoNotOptimize(rill::net::decode_batch<T>(frame));
    }
  }
  const double rate = static_cast<double>(state.iterations() * kRecords) / sw.seconds() / 1e6;
  rill::bench::report_rate(state, rate, "Mrecords/s");
  state.counters["frame_bytes"] = static_cast<double>(frame.size());
}

// The floor: the frame's bytes copied out and back (what encode + decode move at the least).
template <class T>
void bm_memcpy(benchmark::State& state) {
  const rill::net::Frame frame = rill::net::encode_batch(make_records<T>());
  std::vector<uint8_t> out(frame.size()), in(frame.size());
  rill::bench::Stopwatch sw;
  for (auto _ : state) {
    std::memcpy(out.data(), frame.data(), frame.size());
    benchmark::ClobberMemory();
    std::memcpy(in.data(), out.data(), out.size());
    benchmark::ClobberMemory();
  }
  const double rate = static_cast<double>(state.iterations() * kRecords) / sw.seconds() / 1e6;
  rill::bench::report_rate(state, rate, "Mrecords/s");
  state.counters["frame_bytes"] = static_cast<double>(frame.size());
}

void register_all() {
  const double min_time = quick ? 0.05 : 0.5;
  auto reg = [min_time](const char* name, auto fn) { benchmark::RegisterBenchmark(name, fn)->MinTime(min_time); };
  reg("codec_pair_encode", [](benchmark::State& s) { bm_codec<Pair>(s, 0); });
  reg("codec_pair_decode", [](benchmark::State& s) { bm_codec<Pair>(s, 1); });
  reg("codec_pair_roundtrip", [](benchmark::State& s) { bm_codec<Pair>(s, 2); });
  reg("codec_pair_memcpy", bm_memcpy<Pair>);
  reg("codec_struct_encode", [](benchmark::State& s) { bm_codec<Trade>(s, 0); });
  reg("codec_struct_decode", [](benchmark::State& s) { bm_codec<Trade>(s, 1); });
  reg("codec_struct_roundtrip", [](benchmark::State& s) { bm_codec<Trade>(s, 2); });
  reg("codec_struct_memcpy", bm_memcpy<Trade>);
}

}  // namespace

int main(int argc, char** argv) {
  quick = rill::bench::take_quick_flag(argc, argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  register_all();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
