// Test support: a context on a ManualClock, stepped one batch at a time with explicit waits,
// and a collector that records each batch's records by batch time. For runtime tests.
#pragma once

#include <stdlib.h>

#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "dataflow/streaming_context.hpp"

namespace rill::test {

/// A fresh directory under /tmp, removed with everything in it at scope end.
struct ScratchDir {
  std::string path;
  ScratchDir() {
    char tmpl[] = "/tmp/rill_test_XXXXXX";
    if (::mkdtemp(tmpl) == nullptr) throw std::runtime_error("mkdtemp failed");
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::remove_all(path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
};

/// Owns a ManualClock and a context on it, checkpointing to a scratch directory (without
/// fsync: the tests kill no machines). step() advances one interval and waits for it.
class ManualRun {
 public:
  explicit ManualRun(Millis interval, int partitions = 2, std::ostream* print_to = nullptr)
      : clock(std::make_shared<ManualClock>()),
        ssc(interval, ContextOptions{.clock = clock, .partitions = partitions, .print_to = print_to,
                                     .checkpoint_dir = checkpoint.path + "/ckpt", .checkpoint_fsync = false}) {}

  /// Advances one interval and waits (bounded) until that batch completed; returns its time.
  Millis step() {
    clock->advance(ssc.batch_interval());
    Millis t = clock->now();
    if (!ssc.await_batch(t, Millis{20000}))
      throw std::runtime_error("batch " + std::to_string(t.count()) + " ms did not complete");
    return t;
  }
  void steps(int n) {
    for (int i = 0; i < n; ++i) step();
  }

  ScratchDir checkpoint;  // first: outlives the context
  std::shared_ptr<ManualClock> clock;
  StreamingContext ssc;
};

/// Records every batch of a stream (all partitions, in partition order) by batch time.
template <class T>
class Collector {
 public:
  explicit Collector(const DStream<T>& stream) : state_(std::make_shared<State>()) {
    auto st = state_;
    stream.foreach_batch([st](const std::vector<T>& batch, Millis t) {
      std::lock_guard lock(st->mu);
      st->batches[t.count()] = batch;
    });
  }
  /// The records of batch t (ms), empty if the stream produced nothing then.
  std::vector<T> at(int64_t t) const {
    std::lock_guard lock(state_->mu);
    auto it = state_->batches.find(t);
    return it == state_->batches.end() ? std::vector<T>{} : it->second;
  }
  bool has(int64_t t) const {
    std::lock_guard lock(state_->mu);
    return state_->batches.count(t) > 0;
  }
  size_t batch_count() const {
    std::lock_guard lock(state_->mu);
    return state_->batches.size();
  }

 private:
  struct State {
    std::mutex mu;
    std::map<int64_t, std::vector<T>> batches;
  };
  std::shared_ptr<State> state_;
};

/// Sorted copy, for comparing batches whose order is deterministic but not meaningful.
template <class T>
std::vector<T> sorted(std::vector<T> v) {
  std::sort(v.begin(), v.end());
  return v;
}

}  // namespace rill::test
