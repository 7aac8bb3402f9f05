// The values actors exchange inside one process: typed batches behind AnyPart, never encoded.
// Plain values; CAF carries them as whitelisted types (type_ids.hpp).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/plan.hpp"
#include "dataflow/task_request.hpp"

namespace rill::actors {

using rill::TaskReply;
using rill::TaskRequest;

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
  /// With error: a worker no longer holds a part it computed (it restarted): the driver runs
  /// the batches since the checkpoint again instead of failing the job.
  bool lost = false;
};

/// On a worker: write partition `partition` of output `output`'s stream at `time`, held here
/// since its task ran, to the output's Sink. `logged`: the commit the driver's log holds.
struct PartOutputRequest {
  int output = -1;
  Millis time{0};
  int partition = -1;
  AnyPart part;
  std::optional<uint64_t> logged;
};

/// The hash committed for it (0: unknown), or what failed.
struct PartOutputReply {
  uint64_t hash = 0;
  std::optional<std::string> error;
  bool differed = false;  ///< a re-run's output differed from the committed one
};

}  // namespace rill::actors
