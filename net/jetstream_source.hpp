// The InputSource behind jetstream_stream(): reads stream-sequence ranges over libnats.
// Thread-safe (one mutex); the batch builder calls take() and replay().
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/input_source.hpp"
#include "net/jetstream_range.hpp"
#include "net/jetstream_stream.hpp"

namespace rill::net {

/// A receiver-less, replayable source of one JetStream stream (see jetstream_stream()).
class JetStreamSource final : public InputSource {
 public:
  /// Throws ConfigError for an empty url or stream, or names NATS would refuse.
  explicit JetStreamSource(JetStreamOptions options);
  ~JetStreamSource() override;
  JetStreamSource(const JetStreamSource&) = delete;
  JetStreamSource& operator=(const JetStreamSource&) = delete;

  std::string kind() const override { return "jetstream"; }
  /// Connects; with JetStreamStart::new_messages, also fixes where the job starts. An
  /// unreachable server is logged, and take() tries again.
  void start(const SourceContext& context) override;
  void stop() override;
  /// The matching messages of the stream sequences after the last batch's, up to the stream's
  /// last (at most max_messages_per_batch). Unreachable: an empty batch at the same position.
  Taken take(Millis t, int partitions) override;
  bool replayable() const override { return true; }
  bool resumes_from_last_record() const override { return true; }
  Result<Taken> replay(Millis t, std::string_view recorded, int partitions) override;
  /// The position start() found (an empty range before it); empty when not known yet.
  std::string started_record() const override;
  /// Continues after the newest recorded range.
  Status resume(std::span<const std::string> recorded) override;

 private:
  struct Connection;  // libnats handles, in the .cpp: nats.h stays out of headers
  struct Read {
    std::vector<JetStreamMessage> messages;
    JetStreamChecksum checksum;
    uint64_t to = 0;  // the last sequence read: `last` unless an error stopped it earlier
  };

  // REQUIRES: mu_ held (for all below). "jetstream nats://.. stream 'S' subject 'X'": the
  // prefix of every message; the Status messages below say only what went wrong.
  std::string where() const;
  // Connects if not connected.
  Status connect();
  // Reads [from, last]: to stops before a sequence whose read failed (status set).
  Status read(uint64_t from, uint64_t last, Read& out);
  // Logs why batch t reads nothing (or less), once while the reason stays the same. t == 0:
  // at start().
  void report(Millis t, const std::string& reason);
  Taken empty_batch() const;

  const JetStreamOptions options_;
  mutable std::mutex mu_;
  std::unique_ptr<Connection> connection_;
  std::optional<uint64_t> next_;  // the first sequence the next batch reads; unset: not known
  std::string last_error_;
};

}  // namespace rill::net
