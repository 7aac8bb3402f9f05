// A stage task and its answer, as the driver and a stage exchange them: in one process as
// typed values, across nodes encoded by net/task_frames.hpp. Plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/plan.hpp"

namespace rill {

/// Run partition `partition` of stage `stage` for batch `time`.
struct TaskRequest {
  int stage = -1;
  int partition = -1;
  Millis time{0};
  Millis zero{0};
  std::vector<TaskInput> inputs;
  /// The last checkpoint when the batch started: the one state a stateful stage can reload
  /// (nullopt: the empty state).
  std::optional<Millis> base;
  /// The batch this one follows: a stateful stage runs the task on its state as of `after`
  /// (nullopt: the empty state). It equals base when that batch was a checkpoint; otherwise a
  /// stage that holds another state answers stale_state, as it cannot reload `after`.
  std::optional<Millis> after;
  /// Snapshot the state after this batch (a checkpoint time): every checkpoint interval.
  bool checkpoint = true;
};

/// A task's `base` or `after` for messages: the batch time, or the empty state.
inline std::string state_as_of(std::optional<Millis> t) {
  return t ? to_string(*t) : std::string("(none: empty state)");
}

struct TaskReply {
  int stage = -1;
  int partition = -1;
  Millis time{0};
  bool ok = true;
  TaskResult result;
  TaskError error;  ///< when !ok: operator, batch time, cause
  /// The state snapshot the task wrote (0 for a stateless stage): for CheckpointInfo.
  int64_t snapshot_bytes = 0;
  int64_t snapshot_keys = 0;
  double snapshot_ms = 0;
  /// When !ok: a shuffle input could not be fetched (its holder restarted); the driver runs
  /// the whole batch again rather than this task.
  bool lost_input = false;
  /// When !ok: the stage's state is not as of the task's `after` (it restarted, or a function
  /// threw half-way) and only `base` can be reloaded: the driver rolls back to base and runs
  /// the batches since again.
  bool stale_state = false;
};

}  // namespace rill
