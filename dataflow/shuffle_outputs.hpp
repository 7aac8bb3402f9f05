// A worker's task outputs: the buckets each stage task it ran cut for the next stages, and the
// parts of streams only Sinks read, kept until the batch after next begins, so consumers on
// other workers can fetch the buckets and the driver can have the parts written here.
#pragma once

#include <climits>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "dataflow/plan.hpp"

namespace rill {

class ShuffleOutputs {
 public:
  /// Keeps the buckets of task (stage, partition) at `time`; forgets batches before the one
  /// preceding `time` (batches run one at a time: a re-run re-runs its producers too).
  void put(Millis time, int stage, int partition, std::vector<TaskBuckets> buckets,
           std::vector<std::pair<int, AnyPart>> held = {}) {
    std::optional<Millis> previous;
    for (const auto& [key, kept] : outputs_)
      if (std::get<0>(key) < time) previous = std::get<0>(key);
    if (previous)
      outputs_.erase(outputs_.begin(), outputs_.lower_bound({*previous, INT_MIN, INT_MIN}));
    outputs_[{time, stage, partition}] = Kept{std::move(buckets), std::move(held)};
  }

  /// Bucket `bucket` of (node, edge) cut by task (stage, partition) at `time`: nullopt when
  /// this worker does not hold that task's output (it restarted since, or it was dropped), a
  /// null part when the bucket was empty.
  std::optional<AnyPart> get(Millis time, int stage, int partition, int node, int edge,
                             int bucket) const {
    auto it = outputs_.find({time, stage, partition});
    if (it == outputs_.end()) return std::nullopt;
    for (const TaskBuckets& b : it->second.buckets)
      if (b.node == node && b.edge == edge) {
        if (bucket < 0 || static_cast<size_t>(bucket) >= b.buckets.size()) return std::nullopt;
        return b.buckets[static_cast<size_t>(bucket)];
      }
    return std::nullopt;
  }

  /// Node `node`'s part from task (stage, partition) at `time`, kept for its Sinks: nullopt
  /// when this worker does not hold it, a null part when it was empty.
  std::optional<AnyPart> held(Millis time, int stage, int partition, int node) const {
    auto it = outputs_.find({time, stage, partition});
    if (it == outputs_.end()) return std::nullopt;
    for (const auto& [id, part] : it->second.held)
      if (id == node) return part;
    return std::nullopt;
  }

  size_t tasks() const { return outputs_.size(); }

 private:
  struct Kept {
    std::vector<TaskBuckets> buckets;
    std::vector<std::pair<int, AnyPart>> held;  // (node, part)
  };
  std::map<std::tuple<Millis, int, int>, Kept> outputs_;
};

}  // namespace rill
