// Receiver store() throughput with the write-ahead log on (LMDB, with and without fsync)
// against the same stores with it off, in one process: what a reliable receiver pays.
#include <benchmark/benchmark.h>

#include <stdlib.h>

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "actors/wal_block_log.hpp"
#include "dataflow/receiver.hpp"

namespace {

using rill::Millis;
constexpr int kBlock = 1000;      // records per reliable store()
constexpr int kTakeEvery = 50;    // stores between batches, so the buffer bound never bites

class Hand : public rill::Receiver<std::string> {
 public:
  void on_start() override {}
  void on_stop() override {}
};

std::vector<std::string> block(int64_t from) {
  std::vector<std::string> out;
  out.reserve(kBlock);
  for (int64_t i = 0; i < kBlock; ++i) out.push_back("word-" + std::to_string(from + i));
  return out;
}

void run(benchmark::State& state, bool wal, rill::persistence::SyncMode sync) {
  char tmpl[] = "/tmp/rill_wal_bench_XXXXXX";
  std::string dir = ::mkdtemp(tmpl);
  rill::persistence::StoreOptions options;
  options.sync = sync;
  auto store = rill::persistence::CheckpointStore::open(dir + "/ckpt", options);
  if (!store) state.SkipWithError(store.status().to_string().c_str());
  rill::actors::WalBlockLog log(*store);
  rill::SystemClock clock;
  Hand* hand = nullptr;
  rill::ReceiverSource<std::string> source("bench", [&hand] {
    auto r = std::make_unique<Hand>();
    hand = r.get();
    return r;
  }, {.write_ahead_log = wal});
  source.start(rill::SourceContext{&clock, Millis{0}, Millis{1000}, wal ? &log : nullptr, 1});
  source.receiver_slot()->start();
  const std::vector<std::string> records = block(0);
  uint64_t offset = 0;
  int n = 0;
  for (auto _ : state) {
    offset += kBlock;
    if (!hand->store(records, offset)) state.SkipWithError("store failed");
    if (++n % kTakeEvery == 0) benchmark::DoNotOptimize(source.take(clock.now() + Millis{1000}, 2));
  }
  source.receiver_slot()->stop();
  source.stop();
  const double items = static_cast<double>(state.iterations()) * kBlock;
  state.SetItemsProcessed(static_cast<int64_t>(items));
  std::filesystem::remove_all(dir);
}

void BM_StoreWalOff(benchmark::State& state) {
  run(state, false, rill::persistence::SyncMode::full);
}

void BM_StoreWalNoSync(benchmark::State& state) { run(state, true, rill::persistence::SyncMode::nosync); }
void BM_StoreWalFsync(benchmark::State& state) { run(state, true, rill::persistence::SyncMode::full); }

}  // namespace

BENCHMARK(BM_StoreWalOff)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_StoreWalNoSync)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_StoreWalFsync)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK_MAIN();
