// ReceiverBuffer<T>: records a receiver stored and no block or batch holds yet, in chunks
// stamped with the clock time of storing. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "dataflow/time.hpp"

namespace rill {

/// A batch at t takes the chunks stamped before t, so the batch a record lands in depends only
/// on when it was stored, not on message timing. Stores of a revoked generation are refused.
template <class T>
class ReceiverBuffer {
 public:
  bool append(uint64_t generation, Millis at, std::vector<T>&& records) {
    std::lock_guard lock(mu_);
    if (generation != generation_) {
      ++rejected_;
      return false;
    }
    size_ += records.size();
    if (chunks_.empty() || chunks_.back().first != at) chunks_.emplace_back(at, std::vector<T>{});
    auto& c = chunks_.back().second;
    if (c.empty()) c = std::move(records);
    else c.insert(c.end(), std::make_move_iterator(records.begin()), std::make_move_iterator(records.end()));
    return true;
  }
  std::vector<T> take_before(Millis t) {
    std::lock_guard lock(mu_);
    std::vector<T> out;
    while (!chunks_.empty() && chunks_.front().first < t) {
      auto& c = chunks_.front().second;
      size_ -= c.size();
      if (out.empty()) out = std::move(c);
      else out.insert(out.end(), std::make_move_iterator(c.begin()), std::make_move_iterator(c.end()));
      chunks_.pop_front();
    }
    return out;
  }
  /// Puts records taken by take_before back in front (a block that could not be logged).
  void put_back(Millis at, std::vector<T>&& records) {
    std::lock_guard lock(mu_);
    size_ += records.size();
    chunks_.emplace_front(at, std::move(records));
  }
  /// The stamp of the oldest chunk, if any.
  std::optional<Millis> front_time() const {
    std::lock_guard lock(mu_);
    if (chunks_.empty()) return std::nullopt;
    return chunks_.front().first;
  }
  bool empty() const {
    std::lock_guard lock(mu_);
    return chunks_.empty();
  }
  /// Records held.
  std::size_t size() const {
    std::lock_guard lock(mu_);
    return size_;
  }
  void set_generation(uint64_t g) {
    std::lock_guard lock(mu_);
    generation_ = g;
  }
  bool is_current(uint64_t g) const {
    std::lock_guard lock(mu_);
    return g == generation_;
  }
  uint64_t rejected() const {
    std::lock_guard lock(mu_);
    return rejected_;
  }
  /// Counts a store refused elsewhere (a reliable store of a revoked generation).
  void count_rejected() {
    std::lock_guard lock(mu_);
    ++rejected_;
  }

 private:
  mutable std::mutex mu_;
  std::deque<std::pair<Millis, std::vector<T>>> chunks_;
  std::size_t size_ = 0;
  uint64_t generation_ = 0;
  uint64_t rejected_ = 0;
};

}  // namespace rill
