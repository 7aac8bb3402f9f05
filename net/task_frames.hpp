// The frames nodes of a cluster exchange: handshake steps, refusals, stage tasks and their
// answers, each one Envelope (net/wire.capnp). Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>

#include "dataflow/graph.hpp"
#include "dataflow/result.hpp"
#include "dataflow/task_request.hpp"
#include "net/frame.hpp"

namespace rill::net {

enum class EnvelopeKind { hello, welcome, proof, refusal, task, task_done };

/// "hello", "welcome", ...: for messages.
const char* envelope_kind_name(EnvelopeKind kind) noexcept;

/// One handshake step (net/handshake.hpp says what each field must hold).
struct HelloStep {
  std::string cluster;
  std::string from;
  std::string to;
  uint64_t dag_fingerprint = 0;
  uint64_t config_fingerprint = 0;
  std::string nonce;  ///< raw bytes
  std::string proof;  ///< raw bytes; empty in a hello
  uint64_t session = 0;

  friend bool operator==(const HelloStep&, const HelloStep&) = default;
};

/// A decoded frame: `kind` says which members hold it.
struct Envelope {
  EnvelopeKind kind = EnvelopeKind::refusal;
  HelloStep hello;       ///< hello, welcome, proof
  std::string refusal;   ///< refusal: the reason
  uint64_t session = 0;  ///< task, task_done
  uint64_t id = 0;       ///< task, task_done: the driver's request number
  TaskRequest task;
  TaskReply done;
};

Frame encode_hello(EnvelopeKind kind, const HelloStep& step);
Frame encode_refusal(const std::string& reason);

/// Encodes a task; parts go by the codecs of `graph`'s nodes. Throws std::invalid_argument
/// when a part's stream has no codec (check_cluster_codecs refuses such jobs at start).
Frame encode_task(const JobGraph& graph, uint64_t session, uint64_t id, const TaskRequest& task);
Frame encode_task_done(const JobGraph& graph, uint64_t session, uint64_t id, const TaskReply& done);

/// Decodes any envelope. Never throws or crashes on bad bytes: a frame over `limits`, one that
/// is not an envelope, or one naming nodes, edges or record types `graph` does not have is an
/// error (Errc::corrupt or Errc::too_large) saying what was wrong.
Result<Envelope> decode_envelope(const Frame& frame, const JobGraph& graph,
                                 const DecodeLimits& limits);

/// Names the first stream of `graph` whose records cannot cross nodes (no codec), or empty.
std::string stream_without_codec(const JobGraph& graph);

}  // namespace rill::net
