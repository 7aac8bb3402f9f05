// Receiver-less test and benchmark sources: a queue of batches the program pushes into
// (Spark's queueStream) and a deterministic generator. Thread-safe.
#pragma once

#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <vector>

#include "dataflow/input_source.hpp"

namespace rill {

/// Batches waiting to be consumed by a queue_stream; push from any thread.
template <class T>
class BatchQueue {
 public:
  /// Appends one batch; a queue_stream takes it at a later batch time.
  void push(std::vector<T> batch) {
    std::lock_guard lock(mu_);
    batches_.push_back(std::move(batch));
  }
  /// Batches not yet taken.
  size_t size() const {
    std::lock_guard lock(mu_);
    return batches_.size();
  }
  /// One batch (or all, concatenated); empty when the queue is.
  std::vector<T> pop(bool one) {
    std::lock_guard lock(mu_);
    std::vector<T> out;
    while (!batches_.empty()) {
      auto& b = batches_.front();
      out.insert(out.end(), std::make_move_iterator(b.begin()), std::make_move_iterator(b.end()));
      batches_.pop_front();
      if (one) break;
    }
    return out;
  }

 private:
  mutable std::mutex mu_;
  std::deque<std::vector<T>> batches_;
};

/// @cond internal
template <class T>
class QueueSource final : public InputSource {
 public:
  QueueSource(std::shared_ptr<BatchQueue<T>> queue, bool one_at_a_time)
      : queue_(std::move(queue)), one_(one_at_a_time) {}
  std::string kind() const override { return "queue"; }
  Taken take(Millis, int partitions) override {
    return split_even(queue_->pop(one_), partitions);
  }
  bool has_pending() const override { return queue_->size() > 0; }

 private:
  std::shared_ptr<BatchQueue<T>> queue_;
  bool one_;
};

/// gen(t, partition) makes partition's records for batch t: replayable by construction. The
/// partitions of a batch are made at once, one thread each: gen must be safe to call
/// concurrently for different partitions (a function of its arguments is).
template <class T>
class GeneratorSource final : public InputSource {
 public:
  explicit GeneratorSource(std::function<std::vector<T>(Millis, int)> gen) : gen_(std::move(gen)) {}
  std::string kind() const override { return "generator"; }
  Taken take(Millis t, int partitions) override {
    // The batch builder waits for the take, serially in the batch: word count at 1 s batches
    // spent ~120 ms making 1 M line strings on one thread while the other idled.
    std::vector<std::future<std::vector<T>>> rest;
    for (int p = 1; p < partitions; ++p) rest.push_back(std::async(std::launch::async, gen_, t, p));
    Taken taken;
    auto add = [&taken](std::vector<T> records) {
      taken.records += static_cast<int64_t>(records.size());
      taken.parts.push_back(make_part(std::move(records)));
    };
    if (partitions > 0) add(gen_(t, 0));
    for (auto& f : rest) add(f.get());
    return taken;
  }
  /// Its records are a function of the batch time: any batch can be made again.
  bool replayable() const override { return true; }
  Result<Taken> replay(Millis t, std::string_view, int partitions) override { return take(t, partitions); }

 private:
  std::function<std::vector<T>(Millis, int)> gen_;
};
/// @endcond

}  // namespace rill
