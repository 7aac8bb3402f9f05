// Receiver<T>: the base class of custom receivers (Spark's Receiver), and the slot through which
// the runtime starts, stops and restarts them. store() is thread-safe; the rest is the runtime's.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "dataflow/clock.hpp"
#include "dataflow/config_error.hpp"
#include "dataflow/input_source.hpp"
#include "dataflow/receiver_blocks.hpp"

namespace rill {

class ReceiverSlot;

/// The untyped part of a receiver. Each (re)start makes a new instance through the user's
/// factory and gives it a new generation; an old instance's store() calls are rejected.
class ReceiverBase {
 public:
  virtual ~ReceiverBase();
  /// Starts receiving; must not block: start threads with start_thread().
  virtual void on_start() = 0;
  /// Stops receiving; threads started with start_thread() are joined after it returns.
  virtual void on_stop() = 0;

  /// True once the runtime stopped this instance: loops must exit.
  bool is_stopped() const { return stopped_.load(); }
  /// Asks the runtime to stop this instance and start a new one (Spark's restart()).
  void restart(const std::string& reason);
  /// Reports an error without stopping (logged and passed to listeners).
  void report_error(const std::string& message);
  /// The context's clock: time and sleeps follow the manual clock in tests.
  Clock& clock() const { return *clock_; }
  /// The context clock's time.
  Millis now() const { return clock_->now(); }
  /// Sleeps on the context's clock; returns false if stopped first.
  bool sleep_for(Millis d) { return clock_->sleep_until(clock_->now() + d, stopped_); }
  /// Sleeps until t on the context's clock; returns false if stopped first.
  bool sleep_until(Millis t) { return clock_->sleep_until(t, stopped_); }
  /// Runs body on a thread owned by this receiver, joined when it stops.
  void start_thread(std::function<void()> body);

 protected:
  ReceiverBase() = default;
  /// This instance's generation: stores of older ones are refused.
  uint64_t generation() const { return generation_; }
  ReceiverSlot* slot_ = nullptr;  ///< the runtime handle of this instance (set before on_start)

 private:
  friend class ReceiverSlot;
  Clock* clock_ = nullptr;
  uint64_t generation_ = 0;
  std::atomic<bool> stopped_{false};
  std::vector<std::thread> threads_;
};

/// Base class of a user's receiver of records of type T.
///
/// Two ways to store, as in Spark. store(record) and store(records) are the unreliable path:
/// buffered, and with the write-ahead log sealed into blocks every block_interval, so what a
/// crash catches in memory is lost. store(records, offset) is the reliable path: with the
/// log it returns once the records are durable, so a source acknowledged after it never
/// resends them; after a restart last_durable_offset() says where to resume the source.
/// Every store() waits while the stream's buffer is full (max_buffered) or max_rate is hit.
template <class T>
class Receiver : public ReceiverBase {
 public:
  /// Stores one record (buffered into the current block). Returns false, and stores nothing,
  /// once this instance is stopping or was replaced by a restart: its generation token no
  /// longer matches the stream's.
  bool store(T record) {
    std::vector<T> one;
    one.push_back(std::move(record));
    return store(std::move(one));
  }
  /// Stores several records at once (unreliable, as store(record)).
  bool store(std::vector<T> records) {
    if (!wait_for_room(records.size())) return false;
    return blocks_->store(generation(), now(), std::move(records));
  }
  /// Reliable store: `records` are the source's data up to `offset` (exclusive end, in the
  /// source's own numbering). With the write-ahead log they form one block that is durable,
  /// with its offset, when this returns ok; acknowledge the source only then. Errc::stopped
  /// once this instance is stopping; an I/O error leaves nothing stored (send them again).
  Status store(std::vector<T> records, uint64_t offset) {
    if (!wait_for_room(records.size()))
      return Status(Errc::stopped, "receiver stream '" + blocks_name() + "': instance stopped");
    return blocks_->store(generation(), now(), std::move(records), offset);
  }
  /// The offset the stream's last durable block ends at: where a reliable receiver resumes
  /// its source in on_start(). nullopt without the write-ahead log or before any block.
  std::optional<uint64_t> last_durable_offset() const {
    return blocks_ ? blocks_->last_durable_offset() : std::nullopt;
  }

 private:
  template <class U>
  friend class ReceiverSource;
  // The rate limit first (a sleep on the clock), then room in the buffer.
  bool wait_for_room(std::size_t n) {
    if (blocks_ == nullptr) return false;
    const Millis go = blocks_->reserve(n, now());
    if (go > now() && !sleep_until(go)) return false;
    blocks_->admit(generation(), n, clock());
    return true;
  }
  std::string blocks_name() const { return blocks_ ? blocks_->name() : std::string("?"); }
  std::shared_ptr<ReceiverBlocks<T>> blocks_;
};

/// @cond internal
/// One receiver stream's runtime handle, shared by the receiver actor (start, stop, restart)
/// and the batch builder (take). Thread-safe.
class ReceiverSlot {
 public:
  using Factory = std::function<std::unique_ptr<ReceiverBase>()>;
  ReceiverSlot(std::string name, Factory factory) : name_(std::move(name)), factory_(std::move(factory)) {}
  /// Stops a running instance: its threads must end before its members are destroyed.
  ~ReceiverSlot() { stop(); }
  ReceiverSlot(const ReceiverSlot&) = delete;
  ReceiverSlot& operator=(const ReceiverSlot&) = delete;

  const std::string& name() const { return name_; }
  void set_clock(Clock* clock) { clock_ = clock; }
  /// Stops the current instance (if any) and starts a new one with the next generation.
  void start();
  /// Marks the current instance stopped, wakes its sleeps, calls on_stop, joins its threads.
  void stop();
  uint64_t generation() const { return generation_.load(); }
  /// Where restart() and report_error() requests go (the receiver actor sets it).
  void set_handlers(std::function<void(std::string)> on_restart,
                    std::function<void(std::string)> on_error);
  void request_restart(const std::string& reason);
  /// The runtime finished a requested restart (pairs with request_restart).
  void restart_done();
  void report_error(const std::string& message);
  /// Wires a new instance to the stream's buffer (set by the typed source).
  std::function<void(ReceiverBase&, uint64_t generation)> bind;
  /// Revokes the current generation before its instance stops, so nothing it stores from
  /// then on is accepted (set by the typed source).
  std::function<void()> revoke;

 private:
  std::string name_;
  Factory factory_;
  Clock* clock_ = nullptr;
  std::mutex mu_;
  std::unique_ptr<ReceiverBase> current_;
  std::atomic<uint64_t> generation_{0};
  std::function<void(std::string)> on_restart_, on_error_;
};

/// The InputSource of receiver_stream(): a slot plus the blocks its instances store into.
/// With the write-ahead log it is replayable: take() records the block seq range it cut.
template <class T>
class ReceiverSource final : public InputSource {
 public:
  ReceiverSource(std::string name, std::function<std::unique_ptr<Receiver<T>>()> factory,
                 ReceiverOptions options = {})
      : blocks_(std::make_shared<ReceiverBlocks<T>>(name, options)),
        slot_(std::move(name), [factory] { return std::unique_ptr<ReceiverBase>(factory()); }) {
    slot_.bind = [blocks = blocks_](ReceiverBase& r, uint64_t generation) {
      blocks->set_generation(generation);
      static_cast<Receiver<T>&>(r).blocks_ = blocks;
    };
    slot_.revoke = [blocks = blocks_] { blocks->set_generation(0); };  // 0: no instance's
  }
  std::string kind() const override { return "receiver"; }
  /// Attaches ctx.wal when the write-ahead log is on and loads the blocks no batch took.
  /// Throws JobError when the log cannot be read.
  void start(const SourceContext& ctx) override {
    slot_.set_clock(ctx.clock);
    if (Status s = blocks_->attach(ctx.wal, ctx.stream, ctx.zero, ctx.interval); !s)
      throw JobError("receiver stream '" + slot_.name() + "': " + s.to_string());
  }
  void stop() override { blocks_->detach(); }
  Taken take(Millis t, int partitions) override { return blocks_->take(t, partitions); }
  bool has_pending() const override { return blocks_->has_pending(); }
  ReceiverSlot* receiver_slot() override { return &slot_; }
  bool rate_limited() const override { return true; }
  void set_rate(double records_per_s) override { blocks_->set_rate(records_per_s); }
  bool replayable() const override { return blocks_->options().write_ahead_log; }
  bool resumes_from_last_record() const override { return replayable(); }
  Result<Taken> replay(Millis, std::string_view recorded, int partitions) override {
    return blocks_->replay(recorded, partitions);
  }
  /// The next take() continues after the last recorded range; blocks after it were durable
  /// but unallocated, and start() hands them to the first take().
  Status resume(std::span<const std::string> recorded) override {
    for (auto it = recorded.rbegin(); it != recorded.rend(); ++it) {
      if (it->empty()) continue;  // a batch cut while the log was off
      auto range = detail::parse_block_range(*it);
      if (!range)
        return Status(Errc::corrupt, "receiver stream '" + slot_.name() +
                                         "': recorded block range '" + *it + "' is malformed");
      blocks_->resume_at(range->second);
      break;
    }
    return Status::ok();
  }
  Status continue_after(std::string_view recorded) override {
    if (recorded.empty()) return Status::ok();  // nothing recorded yet, or the log was off
    auto range = detail::parse_block_range(recorded);
    if (!range)
      return Status(Errc::corrupt, "receiver stream '" + slot_.name() + "': recorded block range '" +
                                       std::string(recorded) + "' is malformed");
    return blocks_->align(range->second);
  }
  const ReceiverBuffer<T>& buffer() const { return blocks_->buffer(); }
  const ReceiverBlocks<T>& blocks() const { return *blocks_; }

 private:
  std::shared_ptr<ReceiverBlocks<T>> blocks_;
  ReceiverSlot slot_;
};
/// @endcond

}  // namespace rill
