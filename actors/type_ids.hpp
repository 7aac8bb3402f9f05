// Every atom and message type of rill's actors, in one place (the only CAF global).
// Include from actors/ .cpp files only; headers stay CAF-free where they can.
#pragma once

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/atom.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/messages.hpp"
#include "net/frame.hpp"
#include "net/task_frames.hpp"

namespace rill::actors {

using tick_atom = caf::atom_constant<caf::atom("rill_tick")>;      // (t): batch time t is due
using take_atom = caf::atom_constant<caf::atom("rill_take")>;      // (t) -> SourceBatch
using run_atom = caf::atom_constant<caf::atom("rill_run")>;        // TaskRequest -> TaskReply
using output_atom = caf::atom_constant<caf::atom("rill_out")>;     // OutputRequest -> OutputReply
using stop_atom = caf::atom_constant<caf::atom("rill_stop")>;      // (graceful)
using restart_atom = caf::atom_constant<caf::atom("rill_rstrt")>;  // (reason)
using retry_atom = caf::atom_constant<caf::atom("rill_retry")>;   // (stage, partition, attempt, run)
using pending_atom = caf::atom_constant<caf::atom("rill_pend")>;   // () -> bool
using replay_atom = caf::atom_constant<caf::atom("rill_rplay")>;   // (t, recorded) -> SourceBatch
using cut_atom = caf::atom_constant<caf::atom("rill_cut")>;        // (t, source index): cut again
using outputs_atom = caf::atom_constant<caf::atom("rill_outs")>;   // (run): run outputs again
using slow_atom = caf::atom_constant<caf::atom("rill_slow")>;      // (): check for a slow wait
using frame_atom = caf::atom_constant<caf::atom("rill_frame")>;    // (Frame): from a peer node
using link_atom = caf::atom_constant<caf::atom("rill_link")>;      // (): connect to the peer
using fetch_atom = caf::atom_constant<caf::atom("rill_fetch")>;    // FetchRequest -> FetchReply
using replicate_atom = caf::atom_constant<caf::atom("rill_repl")>;  // ReplicaRequest -> ReplicaReply
using ready_atom = caf::atom_constant<caf::atom("rill_ready")>;    // (): the node's store is open
using source_atom = caf::atom_constant<caf::atom("rill_src")>;     // SourceAsk -> SourceAnswer
using rate_atom = caf::atom_constant<caf::atom("rill_rate")>;      // (records/s): a source's rate
using trim_atom = caf::atom_constant<caf::atom("rill_trim")>;      // (seq): trim a source's WAL

}  // namespace rill::actors

// In-process only: these carry shared pointers to typed batches and are never serialized
// (frames cross processes; see net/).
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::actors::TaskRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::actors::TaskReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::actors::SourceBatch)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::actors::OutputRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::actors::OutputReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::actors::PartOutputRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::actors::PartOutputReply)
// Hold AnyPart too: between a worker's link and its endpoint, inside one process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::net::FetchRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::net::FetchReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::net::ReplicaRequest)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::net::ReplicaReply)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::net::SourceAsk)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::net::SourceAnswer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::net::OutputAsk)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::net::OutputDone)

namespace rill::net {
// The one type that crosses nodes: CAF's serializer carries the bytes, Cap'n Proto the rest.
template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, Frame& x) {
  return f(caf::meta::type_name("rill::net::Frame"), x.mutable_bytes());
}
}  // namespace rill::net
