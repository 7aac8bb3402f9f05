// Shared by the envelope encoders and the decoder (task_frames.cpp, replica_frames.cpp): the
// frame writer and the replication readers. Internal to net/: it exposes Cap'n Proto types.
#pragma once

#include <capnp/message.h>

#include <optional>
#include <string>

#include "dataflow/result.hpp"
#include "net/frame.hpp"
#include "net/replica_frames.hpp"
#include "net/wire.capnp.h"

namespace rill::net {

/// The message in the standard stream framing, written straight into the frame's bytes.
Frame to_frame(capnp::MessageBuilder& message);

/// Reads a replicate or restored frame into `reply.contents` (and found, error); a bad op kind
/// or database number is the refusal returned.
std::optional<std::string> read_replica_frame(wire::ReplicaFrame::Reader in, ReplicaReply& reply);
/// Reads an ack; a bad outcome is the refusal returned.
std::optional<std::string> read_replica_ack(wire::ReplicaAck::Reader in, ReplicaReply& reply);

}  // namespace rill::net
