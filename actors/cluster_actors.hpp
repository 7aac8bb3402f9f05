// The actors that join nodes: a driver's link to each worker, and a worker's endpoint that
// the driver's link reaches. Both speak net/task_frames.hpp envelopes through CAF's middleman.
#pragma once

#include <caf/fwd.hpp>

#include "actors/job.hpp"

namespace rill::actors {

/// On the driver node: stands in for every stage partition `peer` owns. Connects to the
/// worker's endpoint, opens a session (the handshake), sends each task as a frame and answers
/// with the worker's reply. Holds tasks while the worker is unreachable and sends them again,
/// in a new session, once it is back; replies of an older session are refused.
caf::actor spawn_node_link(caf::local_actor& parent, Job& job, const net::NodeConfig& peer);

/// On a worker node: answers the driver's handshake and runs the tasks of the open session
/// on this node's stage actors. Published on the node's port by the runtime.
caf::actor spawn_node_endpoint(caf::actor_system& system, Job& job);

}  // namespace rill::actors
