// Spawn functions of the worker actors: stage tasks, batch builders, sinks and receivers.
// Called by supervisors (ChildSpec::start); each actor touches only its own state and the Job.
#pragma once

#include <caf/fwd.hpp>

#include "actors/job.hpp"

namespace rill::actors {

/// Runs partition `partition` of stage `stage` for each batch; holds that partition's state.
caf::actor spawn_stage(caf::local_actor& parent, Job& job, int stage, int partition);

/// Cuts input stream `source_index`'s records into batches on request (take_atom).
caf::actor spawn_batch_builder(caf::local_actor& parent, Job& job, int source_index);

/// Runs output operation `output` for each batch; skips partitions already committed.
caf::actor spawn_sink(caf::local_actor& parent, Job& job, int output);

/// Runs a receiver's instances on their own thread (detached; under the deterministic scheduler
/// on the pump thread): starts one at spawn (after stopping any instance a killed predecessor
/// left), restarts on request, stops on exit.
caf::actor spawn_receiver(caf::local_actor& parent, Job& job, ReceiverSlot& slot);

}  // namespace rill::actors
