// A worker's task outputs: the buckets each stage task it ran cut for the next stages, and the
// parts of streams only Sinks read, kept until the batch after next begins, so consumers on
// other workers can fetch the buckets and the driver can have the parts written here.
#pragma once

#include <climits>
#include <cstdint>
#include <map>
#include <optional>
#include <tuple>
#include <vector>

#include "dataflow/plan.hpp"

namespace rill {

class ShuffleOutputs {
 public:
  /// Keeps the buckets of task (stage, partition) at `time`, and its parts held for Sinks.
  /// Forgets the batch times no task touched in the last two switches between times: batches
  /// run one at a time, so that keeps the running batch and the one before. Counted by
  /// touches, not by time: after a rollback an earlier batch runs again while a task of the
  /// abandoned later one may still finish, and that must not evict the re-run's outputs.
  void put(Millis time, int stage, int partition, std::vector<TaskBuckets> buckets,
           std::vector<std::pair<int, AnyPart>> held = {}) {
    if (!last_time_ || *last_time_ != time) ++generation_;
    last_time_ = time;
    touched_[time] = generation_;
    for (auto it = touched_.begin(); it != touched_.end();) {
      if (it->second + 1 >= generation_) {
        ++it;
        continue;
      }
      outputs_.erase(outputs_.lower_bound({it->first, INT_MIN, INT_MIN}),
                     outputs_.lower_bound({it->first + Millis{1}, INT_MIN, INT_MIN}));
      it = touched_.erase(it);
    }
    outputs_[{time, stage, partition}] = Kept{std::move(buckets), std::move(held), {}};
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

  /// Notes that this process wrote task (stage, partition)'s part at `time` to output
  /// `output`'s Sink, committed with `hash`: an ask repeated over a new session (its answer
  /// was lost) is answered from here, never written twice, also to a Sink without markers.
  void note_written(Millis time, int stage, int partition, int output, uint64_t hash) {
    auto it = outputs_.find({time, stage, partition});
    if (it != outputs_.end()) it->second.written[output] = hash;
  }
  std::optional<uint64_t> written(Millis time, int stage, int partition, int output) const {
    auto it = outputs_.find({time, stage, partition});
    if (it == outputs_.end()) return std::nullopt;
    auto w = it->second.written.find(output);
    if (w == it->second.written.end()) return std::nullopt;
    return w->second;
  }

  size_t tasks() const { return outputs_.size(); }

 private:
  struct Kept {
    std::vector<TaskBuckets> buckets;
    std::vector<std::pair<int, AnyPart>> held;  // (node, part)
    std::map<int, uint64_t> written;            // output -> committed hash
  };
  std::map<std::tuple<Millis, int, int>, Kept> outputs_;
  std::map<Millis, uint64_t> touched_;  // batch time -> generation of its last put
  std::optional<Millis> last_time_;
  uint64_t generation_ = 0;
};

}  // namespace rill
