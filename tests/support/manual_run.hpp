// Test support: a context on a ManualClock, stepped one batch at a time with explicit waits,
// and a collector that records each batch's records by batch time. For runtime tests.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <vector>

#include "dataflow/streaming_context.hpp"

namespace rill::test {

/// Owns a ManualClock and a context on it. step() advances one interval and waits for it.
class ManualRun {
 public:
  explicit ManualRun(Millis interval, int partitions = 2, std::ostream* print_to = nullptr)
      : clock(std::make_shared<ManualClock>()),
        ssc(interval, ContextOptions{.clock = clock, .partitions = partitions, .print_to = print_to}) {}

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
