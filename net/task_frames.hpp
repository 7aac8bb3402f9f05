// The frames nodes of a cluster exchange: handshake steps, refusals, stage tasks and their
// answers, each one Envelope (net/wire.capnp). Pure functions; any thread.
#pragma once

#include <cstdint>
#include <string>

#include "dataflow/graph.hpp"
#include "dataflow/result.hpp"
#include "dataflow/task_request.hpp"
#include "net/frame.hpp"
#include "net/output_frames.hpp"
#include "net/replica_frames.hpp"
#include "net/source_frames.hpp"

namespace rill::net {

enum class EnvelopeKind {
  hello,
  welcome,
  proof,
  refusal,
  task,
  task_done,
  fetch,
  fetched,
  replicate,
  replicated,
  restore,
  restored,
  source,
  sourced,
  output,
  output_done
};

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
  /// What the session carries: "tasks" (the driver's), "fetch" or "replica". A node keeps one
  /// session per peer and channel, so a peer's replication never replaces its task session.
  std::string channel;

  friend bool operator==(const HelloStep&, const HelloStep&) = default;
};

/// Where a shuffle bucket is, standing in for it in TaskInput::buckets and TaskBuckets between
/// nodes: the worker that ran task (stage, partition) keeps it.
struct BucketRef {
  std::string holder;
  int stage = -1;
  int partition = -1;
};

/// A part that stands for a bucket held elsewhere. AnyPart is untyped: only the frames code
/// and the cluster actors make and read these, and only in exchange-edge buckets.
AnyPart bucket_ref_part(BucketRef ref);
const BucketRef& bucket_ref_of(const AnyPart& part);

/// One bucket asked of its holder.
struct FetchRequest {
  Millis time{0};
  int stage = -1;  ///< the producing task
  int partition = -1;
  int node = -1;  ///< the consuming node and edge
  int edge = -1;
  int bucket = -1;  ///< the consumer's partition
};

struct FetchReply {
  bool found = false;  ///< false: the holder lost that task's output (error says why)
  AnyPart part;        ///< null: an empty bucket
  std::string error;
};

/// A decoded frame: `kind` says which members hold it.
struct Envelope {
  EnvelopeKind kind = EnvelopeKind::refusal;
  HelloStep hello;       ///< hello, welcome, proof
  std::string refusal;   ///< refusal: the reason
  uint64_t session = 0;  ///< every kind but the handshake's and refusal
  uint64_t id = 0;       ///< the request number, echoed in the answer
  TaskRequest task;      ///< its exchange inputs' buckets are bucket_ref_part()s
  TaskReply done;        ///< its buckets are bucket_ref_part()s held by the sender
  FetchRequest fetch;
  FetchReply fetched;
  ReplicaRequest replica;      ///< replicate (its commit), restore
  ReplicaReply replica_reply;  ///< replicated (the ack), restored (found, contents)
  SourceAsk source;
  SourceAnswer sourced;
  OutputAsk output;
  OutputDone output_done;
};

Frame encode_hello(EnvelopeKind kind, const HelloStep& step);
Frame encode_refusal(const std::string& reason);

/// Encodes a task; parts go by the codecs of `graph`'s nodes. Throws std::invalid_argument
/// when a part's stream has no codec (check_cluster_codecs refuses such jobs at start).
/// Encodes a task. Its exchange inputs' buckets must be null or bucket_ref_part()s.
Frame encode_task(const JobGraph& graph, uint64_t session, uint64_t id, const TaskRequest& task);
/// Encodes a task's answer; its buckets travel as presence flags only (they stay with the
/// sender, which keeps them in its ShuffleOutputs), and so do the parts of streams only Sinks
/// read (JobGraph::written_where_computed): the sender writes them when asked (OutputAsk).
Frame encode_task_done(const JobGraph& graph, uint64_t session, uint64_t id, const TaskReply& done);
Frame encode_fetch(uint64_t session, uint64_t id, const FetchRequest& fetch);
/// `fetch` is the request answered: its node and edge give the records' type.
Frame encode_fetched(const JobGraph& graph, uint64_t session, uint64_t id,
                     const FetchRequest& fetch, const FetchReply& reply);

/// Decodes any envelope. Never throws or crashes on bad bytes: a frame over `limits`, one that
/// is not an envelope, or one naming nodes, edges or record types `graph` does not have is an
/// error (Errc::corrupt or Errc::too_large) saying what was wrong.
/// A task done's buckets, and its held exported parts, become bucket_ref_part()s held by
/// `sender`.
Result<Envelope> decode_envelope(const Frame& frame, const JobGraph& graph,
                                 const DecodeLimits& limits, const std::string& sender = "");

/// Names the first stream of `graph` whose records cannot cross nodes (no codec), or empty.
std::string stream_without_codec(const JobGraph& graph);

}  // namespace rill::net
