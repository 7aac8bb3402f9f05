// Shared by the envelope encoders and the decoder (task_frames.cpp, replica_frames.cpp,
// source_frames.cpp): the frame writer, part codecs, the checked decoder and the readers of
// each kind. Internal to net/: it exposes Cap'n Proto types.
#pragma once

#include <capnp/message.h>

#include <algorithm>
#include <optional>
#include <stdexcept>
#include <string>

#include "dataflow/graph.hpp"
#include "dataflow/result.hpp"
#include "net/frame.hpp"
#include "net/record_batch_wire.hpp"
#include "net/replica_frames.hpp"
#include "net/task_frames.hpp"
#include "net/wire.capnp.h"

namespace rill::net {

inline kj::ArrayPtr<const capnp::byte> data_of(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const capnp::byte*>(s.data()), s.size());
}

inline const PartCodec& codec_of(const JobGraph& graph, int node) {
  const PartCodec& codec = graph.node(node).codec;
  if (!codec.encode)
    throw std::invalid_argument("stream '" + graph.node(node).name + "' (records " +
                                graph.node(node).type + ") cannot cross nodes: not a record type");
  return codec;
}

// The node whose output type a part on (node, edge) holds: the parent, or the source itself.
inline int producer(const JobGraph& graph, int node, int edge) {
  return edge < 0 ? node : graph.node(node).inputs[static_cast<size_t>(edge)].from;
}

inline EncodeColumns encode_part(const JobGraph& graph, int node, const AnyPart& part) {
  EncodeColumns columns;
  codec_of(graph, node).encode(part, columns);
  return columns;
}

// Room for an envelope's fixed fields and each list entry's own struct, on top of the parts:
// generous, as a short first segment costs a second one (slower to read), a long one only
// zeroed memory.
constexpr size_t kEnvelopeWords = 64;
constexpr size_t kEntryWords = 8;

inline unsigned first_segment(size_t words) {
  return static_cast<unsigned>(std::min<size_t>(words, size_t{1} << 28));
}

// Decoding state: the graph, the limits and the first refusal, which ends the walk.
struct Decoder {
  const JobGraph& graph;
  const DecodeLimits& limits;
  std::string what;
  std::optional<Status> refused;

  bool refuse(std::string message) {
    if (!refused) refused = Status(Errc::corrupt, what + ": " + std::move(message));
    return false;
  }
  bool node_ok(int node) {
    if (node >= 0 && static_cast<size_t>(node) < graph.nodes().size()) return true;
    return refuse("no stream " + std::to_string(node) + " in this job");
  }
  bool edge_ok(int node, int edge) {
    if (!node_ok(node)) return false;
    if (edge >= -1 && edge < static_cast<int>(graph.node(node).inputs.size()) &&
        (edge >= 0 || graph.node(node).is_source))
      return true;
    return refuse("stream '" + graph.node(node).name + "' has no input " + std::to_string(edge));
  }
  // The part of `producer`'s type in `batch`; null when absent.
  bool part(wire::RecordBatch::Reader batch, bool present, int producer_node, AnyPart& out,
            const std::string& where) {
    if (!present) return true;
    const PartCodec& codec = graph.node(producer_node).codec;
    if (!codec.decode)
      return refuse(where + ": stream '" + graph.node(producer_node).name + "' cannot cross nodes");
    DecodeColumns columns;
    if (auto s =
            read_record_batch(batch, limits, codec.type_signature, what + ", " + where, columns)) {
      if (!refused) refused = Status(s->code(), what + ", " + where + ": " + s->message());
      return false;
    }
    auto decoded = codec.decode(columns, limits.max_records);
    if (!decoded) {
      if (!refused)
        refused = Status(decoded.status().code(),
                         what + ", " + where + ": " + decoded.status().message());
      return false;
    }
    out = std::move(*decoded);
    return true;
  }
};

/// The message in the standard stream framing, written straight into the frame's bytes.
Frame to_frame(capnp::MessageBuilder& message);

/// Reads a replicate or restored frame into `reply.contents` (and found, error); a bad op kind
/// or database number is the refusal returned.
std::optional<std::string> read_replica_frame(wire::ReplicaFrame::Reader in, ReplicaReply& reply);
/// Reads an ack; a bad outcome is the refusal returned.
std::optional<std::string> read_replica_ack(wire::ReplicaAck::Reader in, ReplicaReply& reply);

/// Read a source ask or answer into `out` (source_frames.cpp); refusals go to `d`.
void read_source(Decoder& d, wire::SourceAsk::Reader in, Envelope& out);
void read_sourced(Decoder& d, wire::SourceAnswer::Reader in, Envelope& out);
/// Read an output ask or answer into `out` (output_frames.cpp); refusals go to `d`.
void read_output(Decoder& d, wire::OutputAsk::Reader in, Envelope& out);
void read_output_done(Decoder& d, wire::OutputDone::Reader in, Envelope& out);

}  // namespace rill::net
