// The output frames: the driver asks the worker that holds partition p of a stream only Sinks
// read (JobGraph::written_where_computed) to write it to one output's Sink; the worker answers
// with the committed hash. Plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dataflow/time.hpp"
#include "net/frame.hpp"

namespace rill::net {

/// Write partition `partition` of output `output`'s stream at `time` to its Sink.
struct OutputAsk {
  int output = -1;
  Millis time{0};
  int partition = -1;
  /// The commit the driver's log holds for it, if any: the worker then writes nothing and
  /// compares the hash with the one it would have written.
  std::optional<uint64_t> logged;

  friend bool operator==(const OutputAsk&, const OutputAsk&) = default;
};

struct OutputDone {
  int output = -1;
  Millis time{0};
  int partition = -1;
  /// False: the worker no longer holds that part (it restarted since its task ran): the driver
  /// runs the batches since the checkpoint again.
  bool found = true;
  uint64_t hash = 0;                 ///< the hash committed (0: unknown), for the driver's log
  std::optional<std::string> error;  ///< the sink failed: names output, batch time, partition
  /// A re-run produced other output than the committed run (NONDETERMINISM, logged on the
  /// worker): the driver counts it too.
  bool differed = false;

  friend bool operator==(const OutputDone&, const OutputDone&) = default;
};

Frame encode_output(uint64_t session, uint64_t id, const OutputAsk& ask);
Frame encode_output_done(uint64_t session, uint64_t id, const OutputDone& done);

}  // namespace rill::net
