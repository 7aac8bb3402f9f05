// The source frames: the driver asks the batch builder of a stream whose receiver runs on a
// worker for batch t's cut (or a recorded batch again, or whether data waits), or its receiver
// to stop or to take in records at a rate; the worker answers with the records. Plain values.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/batch_info.hpp"
#include "dataflow/graph.hpp"
#include "net/frame.hpp"

namespace rill::net {

/// One question about a stream placed on a worker.
struct SourceAsk {
  enum class Kind : uint8_t { take, replay, pending, stop, set_rate, trim_wal };
  Kind kind = Kind::take;
  int stream = -1;  ///< the source node
  Millis time{0};   ///< take, replay
  /// replay: what the batch read (its recorded string); take: the stream's last recorded read
  /// before `time`, so a worker that restarted continues right after it.
  std::string recorded;
  bool graceful = false;  ///< stop
  double rate = 0;        ///< set_rate: records per second
  uint64_t below = 0;     ///< trim_wal: the stream's WAL blocks before it go (driver retention)
};
inline constexpr uint8_t kSourceAskKinds = 6;

/// The worker's answer: a cut (take, replay), pending, or only that it was done (stop, rate).
struct SourceAnswer {
  int stream = -1;
  Millis time{0};
  int64_t records = 0;
  std::vector<AnyPart> parts;  ///< per partition; null: empty
  std::string replay;          ///< take: a replayable stream's record of what it read
  std::optional<std::string> error;
  bool pending = false;
  /// The worker's view of the stream's receiver (its node in `node`), for the driver's status.
  std::optional<ReceiverInfo> receiver;
  uint64_t incarnation = 0;  ///< the worker's process: its receiver counts restart with it
};

Frame encode_source(uint64_t session, uint64_t id, const SourceAsk& ask);
/// Parts go by the codec of the stream's records.
Frame encode_sourced(const JobGraph& graph, uint64_t session, uint64_t id,
                     const SourceAnswer& answer);

}  // namespace rill::net
