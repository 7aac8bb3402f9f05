// The values actors exchange inside one process: typed batches behind AnyPart, never encoded.
// Plain values; CAF carries them as whitelisted types (type_ids.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/plan.hpp"

namespace rill::actors {

/// Run partition `partition` of stage `stage` for batch `time`.
struct TaskRequest {
  int stage = -1;
  int partition = -1;
  Millis time{0};
  Millis zero{0};
  std::vector<TaskInput> inputs;
  /// The last checkpoint when the batch started: a stateful stage runs the task on its state
  /// as of this batch (nullopt: the empty state), reloading it first if it holds another.
  std::optional<Millis> base;
};

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
};

/// One input stream's records for a batch, cut into its partitions.
struct SourceBatch {
  int node = -1;
  Millis time{0};
  uint64_t block_seq = 0;  ///< the block id within the stream: the batch time
  int64_t records = 0;
  std::vector<AnyPart> parts;
  std::string replay;                ///< a replayable source's record of what it read
  std::optional<std::string> error;  ///< replay failed: the input changed or vanished
};

/// Run output operation `output` on every partition of batch `time`.
struct OutputRequest {
  int output = -1;
  Millis time{0};
  std::vector<AnyPart> parts;
};

struct OutputReply {
  int output = -1;
  Millis time{0};
  std::optional<std::string> error;
};

}  // namespace rill::actors
