// ReceiverBlocks<T>: what a receiver stream holds between store() and take(): the open buffer,
// the sealed durable blocks, the write-ahead log, the memory bound and the rate. Thread-safe.
#pragma once

#include <charconv>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <spdlog/spdlog.h>

#include "dataflow/block_log.hpp"
#include "dataflow/clock.hpp"
#include "dataflow/config_error.hpp"
#include "dataflow/failpoint.hpp"
#include "dataflow/input_source.hpp"
#include "dataflow/rate_limiter.hpp"
#include "dataflow/receiver_buffer.hpp"
#include "dataflow/record_columns.hpp"

namespace rill {

/// How receivers of a context buffer and log what they store (from ContextOptions).
struct ReceiverOptions {
  /// Write every block to the write-ahead log before a batch may take it. Default false.
  bool write_ahead_log = false;
  /// Records per second store() lets through, per stream; 0 (default) is unlimited.
  double max_rate = 0;
  /// Records held in memory (stored, not yet taken) before store() blocks; 0 is unbounded.
  /// Default 1 Mi: bounds a receiver's memory when batches fall behind.
  std::size_t max_buffered = std::size_t{1} << 20;
  /// With the WAL: how long unreliable records gather before the next store() seals them.
  Millis block_interval{200};
};

/// The shared state of one receiver stream. Receivers call the store side from their threads,
/// the batch builder the take side. With a log, blocks get dense seqs from 0 per stream, and
/// a batch takes a contiguous seq range, recorded as "first end" (end exclusive).
template <class T>
class ReceiverBlocks {
 public:
  ReceiverBlocks(std::string name, ReceiverOptions options)
      : name_(std::move(name)), options_(options), limiter_(options.max_rate) {
    if (options_.write_ahead_log && !is_record_v<T>)
      throw ConfigError("receiver stream '" + name_ +
                        "': the write-ahead log needs a record type (see record_traits.hpp)");
  }

  const std::string& name() const { return name_; }
  const ReceiverOptions& options() const { return options_; }
  ReceiverBuffer<T>& buffer() { return buffer_; }
  const ReceiverBuffer<T>& buffer() const { return buffer_; }

  // --- Setup (the source, before receivers start) -------------------------------------------
  /// Recovery: the next take() continues at seq `next`; blocks from there on were durable but
  /// never allocated and go to the first take().
  void resume_at(uint64_t next) { resume_at_ = next; }
  /// Attaches the log (nullptr: none) and loads the blocks no batch has taken yet.
  Status attach(BlockLog* log, int stream, Millis zero, Millis interval);
  /// Detaches the log (at stop): nothing is appended afterwards.
  void detach() {
    std::lock_guard w(write_mu_);
    log_ = nullptr;
    std::lock_guard lock(mu_);
    logged_ = false;
  }

  // --- Store side (receiver threads) --------------------------------------------------------
  /// Waits while `n` more records would pass max_buffered (unless nothing is held), or until
  /// `generation` is revoked. While it waits a ManualClock may move on (Clock::idle), so the
  /// batch that makes room can tick: REQUIRES the caller to be a receiver thread there.
  void admit(uint64_t generation, std::size_t n, Clock& clock);
  /// The time at which n more records keep within max_rate.
  Millis reserve(std::size_t n, Millis now) { return limiter_.reserve(n, now); }
  /// Backpressure: the rate store() lets through from now on (<= 0: unlimited).
  void set_rate(double records_per_s) { limiter_.set_rate(records_per_s); }
  /// Unreliable store: buffered; with the log, sealed into a block by a later store (once
  /// block_interval passed or a batch boundary lies between) or by take().
  bool store(uint64_t generation, Millis at, std::vector<T>&& records);
  /// Reliable store: with the log, one block, durable when this returns ok.
  Status store(uint64_t generation, Millis at, std::vector<T>&& records, uint64_t offset);
  /// The source offset the last durable block ends at; nullopt without a log or block.
  std::optional<uint64_t> last_durable_offset() const {
    std::lock_guard lock(mu_);
    return last_offset_;
  }
  void set_generation(uint64_t g) {
    buffer_.set_generation(g);
    std::lock_guard lock(mu_);
    space_.notify_all();  // wakes waits of a revoked generation
  }

  // --- Take side (the batch builder) --------------------------------------------------------
  Taken take(Millis t, int partitions);
  Result<Taken> replay(std::string_view recorded, int partitions) const;
  /// With the log: the next take() starts at seq `next`, the end of the last range a batch
  /// was recorded with. Blocks before it are dropped (a restart reloaded them); blocks from it
  /// that a take cut for a batch never recorded are read back from the log and taken again.
  Status align(uint64_t next);
  bool has_pending() const {
    std::lock_guard lock(mu_);
    return !sealed_.empty() || !buffer_.empty();
  }

 private:
  struct Block {
    uint64_t seq;
    Millis at;  // the time of its first record: decides the batch it belongs to
    std::vector<T> records;
  };
  // REQUIRES write_mu_: seals the open records stamped before `before` into one block.
  Status seal_open(Millis before);
  // REQUIRES write_mu_: appends and, when durable, queues the block.
  // On failure `records` are left as they were.
  Status append(Millis at, std::vector<T>& records, uint64_t offset);
  // The first grid time after `at`: the batch a record stored at `at` belongs to.
  Millis slot(Millis at) const {
    if (interval_.count() <= 0) return at;
    auto k = (at - zero_).count() / interval_.count();
    if (at < zero_ && (at - zero_).count() % interval_.count() != 0) --k;
    return zero_ + interval_ * (k + 1);
  }
  Result<std::vector<T>> decode(const DecodeColumns& columns) const;
  // Blocks read back from the log, not taken by any batch yet.
  struct Reloaded {
    std::deque<Block> blocks;
    std::size_t records = 0;
    std::optional<uint64_t> offset;  // the source offset the last one ends at
    uint64_t next = 0;               // the seq after the last one
  };
  // Decodes `stored` from seq `first`, stopping before seq `until`; a missing seq is corrupt
  // (batches take contiguous ranges: a hole would silently drop a block).
  Result<Reloaded> reload(std::vector<StoredBlock>& stored, uint64_t first, uint64_t until) const;
  // Marks, from before records leave the buffer until their block is sealed (or the write
  // failed), that a block stamped `at` is being written: a take() of a later batch waits.
  struct Appending {
    ReceiverBlocks& blocks;
    Appending(ReceiverBlocks& b, Millis at) : blocks(b) {
      std::lock_guard lock(blocks.mu_);
      blocks.appending_at_ = at;
    }
    ~Appending() {
      std::lock_guard lock(blocks.mu_);
      blocks.appending_at_.reset();
      blocks.appended_.notify_all();
    }
    Appending(const Appending&) = delete;
    Appending& operator=(const Appending&) = delete;
  };

  const std::string name_;
  const ReceiverOptions options_;
  RateLimiter limiter_;
  ReceiverBuffer<T> buffer_;
  std::optional<uint64_t> resume_at_;

  // Held across log appends so seqs, durability and the sealed queue stay in one order.
  mutable std::mutex write_mu_;
  BlockLog* log_ = nullptr;  // not owned; attached between start and stop
  int stream_ = 0;
  Millis zero_{0}, interval_{0};
  uint64_t next_seq_ = 0;  // the seq the next appended block gets

  mutable std::mutex mu_;  // guards the members below
  std::condition_variable space_;
  // take() waits on it for a block of its batch being appended (appending_at_ < t) instead of
  // for write_mu_: a reliable store of the next batch's block holds write_mu_ through the
  // log's durable commit, and the receiver takes it again at once for the block after, so a
  // take behind write_mu_ waited for every store of the next batch before it could cut.
  std::condition_variable appended_;
  std::optional<Millis> appending_at_;  // `at` of the block being appended, while it is
  bool logged_ = false;                 // log_ != nullptr, readable under mu_
  std::deque<Block> sealed_;            // durable, not taken yet, in seq order
  std::size_t sealed_records_ = 0;
  uint64_t taken_until_ = 0;  // the seq after the last block a batch took
  std::optional<uint64_t> last_offset_;
};

namespace detail {
/// Parses "first end" into the half-open seq range; nullopt when malformed.
std::optional<std::pair<uint64_t, uint64_t>> parse_block_range(std::string_view recorded);
}  // namespace detail

}  // namespace rill

#include "dataflow/receiver_blocks_impl.hpp"
