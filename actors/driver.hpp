// The driver (job scheduler): ticks the batch clock, allocates each batch's input, runs its
// stages and outputs in order and records completion in the MetaLog. One per job.
#pragma once

#include <caf/fwd.hpp>

#include "actors/job.hpp"

namespace rill::actors {

/// Spawns the driver. Its first batch is at job.zero + interval; it schedules ticks on
/// job.clock. Messages: (stop_atom, graceful) -> bool once stopped receiving and, if graceful,
/// drained every received record.
caf::actor spawn_driver(caf::local_actor& parent, Job& job);

}  // namespace rill::actors
