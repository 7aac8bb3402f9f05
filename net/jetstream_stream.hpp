// A NATS JetStream stream as a DStream, rill's Kafka direct stream: options, the message
// record and the factory. Values; define streams on the defining thread. No NATS types here.
#pragma once

#include <cstdint>
#include <string>

#include "dataflow/record_traits.hpp"
#include "dataflow/streaming_context.hpp"
#include "dataflow/time.hpp"

namespace rill {

/// One message of a JetStream stream, as jetstream_stream() delivers it.
struct JetStreamMessage {
  std::string subject;    ///< the subject it was published to
  uint64_t sequence = 0;  ///< its stream sequence: unique and increasing within the stream
  std::string payload;    ///< its data, the bytes as published
};
RILL_RECORD(JetStreamMessage, subject, sequence, payload)

/// Where a job that has read nothing yet starts (a restarted job continues where it was).
enum class JetStreamStart {
  first,         ///< the first message the stream still holds (Kafka's "earliest")
  new_messages,  ///< messages stored after start() first reached the server (Kafka's "latest")
};

/// What jetstream_stream() reads and how; each field says its default.
struct JetStreamOptions {
  /// The NATS server(s): "nats://host:port", several separated by commas. Default the local
  /// server on NATS's port.
  std::string url = "nats://127.0.0.1:4222";
  /// The JetStream stream to read. Required; the job does not create it.
  std::string stream{};
  /// Only messages whose subject matches (NATS wildcards '*' and '>'). Default empty: every
  /// subject of the stream.
  std::string subject{};
  /// Where a job with nothing recorded starts. Default: the stream's first message.
  JetStreamStart start = JetStreamStart::first;
  /// Stream sequences (of any subject) one batch reads at most; the rest wait for the next
  /// batches. Default 100,000. Bounds a batch's memory and a recovering job's first batches.
  uint64_t max_messages_per_batch = 100000;
  /// A matching message with a larger payload fails the job with an error naming it, before
  /// its batch is allocated: nothing is skipped. Default 1 MiB (NATS's default max_payload);
  /// 0: no limit.
  uint64_t max_message_bytes = uint64_t{1} << 20;
  /// How long one connection attempt or JetStream request may take. Default 2 s. While the
  /// server is unreachable each batch waits up to this long, then reads nothing (logged).
  Millis request_timeout{2000};
  /// How long a re-run batch keeps trying to re-read its recorded range from an unreachable
  /// server before the job fails. Default 60 s.
  Millis replay_timeout{60000};
};

/// The messages of a JetStream stream, without a receiver and exactly once: each batch reads
/// the stream sequences after the previous batch's up to the stream's last one and records
/// that range (with a count and checksum of what it read) when it is allocated, so a re-run
/// batch re-reads exactly its range and a restarted job continues after the last recorded
/// one (that needs a checkpoint directory; without one a new run starts per `start`). Nothing
/// is copied into the write-ahead log. A batch's messages are in stream order, split into
/// contiguous partitions. Each read goes through an ephemeral pull consumer created at the
/// range's first sequence (no acknowledgements; deleted after the read), so the server
/// filters subjects and nothing about the job's position is kept on the server.
///
/// Failures: an unreachable server or a missing stream is logged (naming the URL, stream,
/// subject and batch) and batches read nothing until it is back; the job goes on. A message
/// over max_message_bytes, a stream whose sequences went back (deleted and recreated), or a
/// recorded range whose messages changed (removed by the stream's limits) fails the job.
///
/// Caveats: messages removed by the stream's limits (max_age, max_msgs, max_bytes) before a
/// batch read them are lost (logged as an error); a work-queue or interest stream may remove
/// messages other consumers acknowledged, so use a limits stream that keeps messages for
/// longer than a recovery takes. `name` names the stream in the DAG (default: an automatic name).
/// Throws ConfigError for a missing stream name or a malformed option.
DStream<JetStreamMessage> jetstream_stream(StreamingContext& ssc, JetStreamOptions options,
                                           std::string name = {});

}  // namespace rill
