// The interface every input stream's data comes through: the batch builder asks it for the
// records of batch t. Implementations are thread-safe (receivers store from their threads).
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "dataflow/graph.hpp"
#include "dataflow/result.hpp"

namespace rill {

class BlockLog;
class Clock;
class ReceiverSlot;

/// What a source is given at start().
struct SourceContext {
  Clock* clock = nullptr;  ///< the context's clock; outlives the source's run
  Millis zero{0};          ///< the job's zero time
  Millis interval{0};      ///< batch interval
  /// The receiver write-ahead log when it is on, else null; outlives the source's run (until
  /// stop() returns).
  BlockLog* wal = nullptr;
  int stream = 0;  ///< the source's node id: its key in the write-ahead log
};

/// One batch's records from a source, cut into partitions.
struct Taken {
  std::vector<AnyPart> parts;
  int64_t records = 0;
  /// Replayable sources: what this batch read, in a form replay() re-reads exactly (file
  /// names with size and checksum, byte offsets). The driver records it with the allocation.
  std::string replay{};
  /// Set when the source cannot give batch t without losing or skipping data (a record over
  /// its size limit): the job fails with it, naming the stream, and nothing is allocated.
  std::string error{};
};

class InputSource {
 public:
  virtual ~InputSource() = default;
  /// "socket", "queue", "files", "generator", "receiver": names the source in logs and errors.
  virtual std::string kind() const = 0;
  /// Called once before the first batch.
  virtual void start(const SourceContext&) {}
  /// Called once at stop; after it, take() returns what is left.
  virtual void stop() {}
  /// The records of batch t (all arrivals before t not taken yet), split into `partitions`
  /// parts. Called by one batch builder, once per batch, in increasing t.
  virtual Taken take(Millis t, int partitions) = 0;
  /// True while data received but not yet taken remains (a graceful stop drains it).
  virtual bool has_pending() const { return false; }
  /// Receiver-based sources: the slot the receiver actor runs; null for receiver-less ones.
  virtual ReceiverSlot* receiver_slot() { return nullptr; }
  /// True when set_rate() limits how fast records enter (backpressure applies).
  virtual bool rate_limited() const { return false; }
  /// Backpressure: records per second the source may take in from now on; what exceeds it
  /// waits at the source (a reliable receiver's store() blocks), nothing is dropped.
  virtual void set_rate(double /*records_per_s*/) {}

  // --- Replayable sources (receiver-less, exactly-once: Spark's direct streams) -----------
  /// True when take() fills Taken::replay and replay() can re-read any recorded batch.
  virtual bool replayable() const { return false; }
  /// Re-reads the batch whose take() returned `recorded`, split into `partitions` parts,
  /// giving the same records in the same order. An error (the data changed or vanished)
  /// names the source and what differs; the job then refuses to go on.
  virtual Result<Taken> replay(Millis t, std::string_view recorded, int partitions) {
    (void)t, (void)recorded, (void)partitions;
    return Status(Errc::invalid_argument, kind() + " source cannot replay");
  }
  /// True when resume() reads only the newest recorded string (offsets, block ranges), so
  /// retention may drop older ones; false when it needs them all (a directory's names).
  virtual bool resumes_from_last_record() const { return false; }
  /// What start() saw, for a replayable source whose start decides what is new (the names
  /// already in a watched directory). Recorded once, at the job's first start, and handed to
  /// resume() first, so a crash before the first batch does not change what counts as new.
  virtual std::string started_record() const { return {}; }
  /// Recovery, instead of start()'s fresh look: `recorded` holds what every allocated batch
  /// of this stream still in the store read, oldest first; the next take() continues right
  /// after the last of them.
  virtual Status resume(std::span<const std::string> recorded) {
    (void)recorded;
    return Status::ok();
  }
  /// For a replayable source on another node than the driver, before each new take():
  /// `recorded` is the last read the driver recorded for this stream, and the take continues
  /// right after it, whatever this source cut since (a cut whose answer was lost) or reloaded
  /// (a restart).
  virtual Status continue_after(std::string_view recorded) {
    (void)recorded;
    return Status::ok();
  }
};

/// Splits records into n nearly equal contiguous parts, in order.
template <class T>
Taken split_even(std::vector<T> records, int n) {
  Taken taken{{}, static_cast<int64_t>(records.size())};
  auto& parts = taken.parts;
  if (n == 1) {
    parts.push_back(make_part(std::move(records)));
    return taken;
  }
  size_t size = records.size(), un = static_cast<size_t>(n), begin = 0;
  for (size_t i = 0; i < un; ++i) {
    size_t end = begin + size / un + (i < size % un ? 1 : 0);
    parts.push_back(make_part(std::vector<T>(std::make_move_iterator(records.begin() + begin),
                                             std::make_move_iterator(records.begin() + end))));
    begin = end;
  }
  return taken;
}

}  // namespace rill
