// Receiver<T>: the base class of custom receivers (Spark's Receiver), and the slot through which
// the runtime starts, stops and restarts them. store() is thread-safe; the rest is the runtime's.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dataflow/clock.hpp"
#include "dataflow/input_source.hpp"

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
  Millis now() const { return clock_->now(); }
  /// Sleeps on the context's clock; returns false if stopped first.
  bool sleep_for(Millis d) { return clock_->sleep_until(clock_->now() + d, stopped_); }
  /// Runs body on a thread owned by this receiver, joined when it stops.
  void start_thread(std::function<void()> body);

 protected:
  ReceiverBase() = default;
  uint64_t generation() const { return generation_; }
  ReceiverSlot* slot_ = nullptr;

 private:
  friend class ReceiverSlot;
  Clock* clock_ = nullptr;
  uint64_t generation_ = 0;
  std::atomic<bool> stopped_{false};
  std::vector<std::thread> threads_;
};

/// Records stored by a receiver's instances, in chunks stamped with the clock time of storing.
/// A batch at t takes the chunks stamped before t, so the batch a record lands in depends only
/// on when it was stored, not on message timing.
template <class T>
class ReceiverBuffer {
 public:
  bool append(uint64_t generation, Millis at, std::vector<T>&& records) {
    std::lock_guard lock(mu_);
    if (generation != generation_) {
      ++rejected_;
      return false;
    }
    if (chunks_.empty() || chunks_.back().first != at) chunks_.emplace_back(at, std::vector<T>{});
    auto& c = chunks_.back().second;
    if (c.empty()) c = std::move(records);
    else c.insert(c.end(), std::make_move_iterator(records.begin()), std::make_move_iterator(records.end()));
    return true;
  }
  std::vector<T> take_before(Millis t) {
    std::lock_guard lock(mu_);
    std::vector<T> out;
    while (!chunks_.empty() && chunks_.front().first < t) {
      auto& c = chunks_.front().second;
      if (out.empty()) out = std::move(c);
      else out.insert(out.end(), std::make_move_iterator(c.begin()), std::make_move_iterator(c.end()));
      chunks_.pop_front();
    }
    return out;
  }
  bool empty() const {
    std::lock_guard lock(mu_);
    return chunks_.empty();
  }
  void set_generation(uint64_t g) {
    std::lock_guard lock(mu_);
    generation_ = g;
  }
  uint64_t rejected() const {
    std::lock_guard lock(mu_);
    return rejected_;
  }

 private:
  mutable std::mutex mu_;
  std::deque<std::pair<Millis, std::vector<T>>> chunks_;
  uint64_t generation_ = 0;
  uint64_t rejected_ = 0;
};

/// Base class of a user's receiver of records of type T.
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
  /// Stores several records at once.
  bool store(std::vector<T> records) {
    if (buffer_ == nullptr) return false;
    return buffer_->append(generation(), now(), std::move(records));
  }

 private:
  template <class U>
  friend class ReceiverSource;
  std::shared_ptr<ReceiverBuffer<T>> buffer_;
};

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

/// The InputSource of receiver_stream(): a slot plus the buffer its instances store into.
template <class T>
class ReceiverSource final : public InputSource {
 public:
  ReceiverSource(std::string name, std::function<std::unique_ptr<Receiver<T>>()> factory)
      : buffer_(std::make_shared<ReceiverBuffer<T>>()),
        slot_(std::move(name), [factory] { return std::unique_ptr<ReceiverBase>(factory()); }) {
    slot_.bind = [buffer = buffer_](ReceiverBase& r, uint64_t generation) {
      buffer->set_generation(generation);
      static_cast<Receiver<T>&>(r).buffer_ = buffer;
    };
    slot_.revoke = [buffer = buffer_] { buffer->set_generation(0); };  // 0: no instance's
  }
  std::string kind() const override { return "receiver"; }
  void start(const SourceContext& ctx) override { slot_.set_clock(ctx.clock); }
  Taken take(Millis t, int partitions) override {
    return split_even(buffer_->take_before(t), partitions);
  }
  bool has_pending() const override { return !buffer_->empty(); }
  ReceiverSlot* receiver_slot() override { return &slot_; }
  const ReceiverBuffer<T>& buffer() const { return *buffer_; }

 private:
  std::shared_ptr<ReceiverBuffer<T>> buffer_;
  ReceiverSlot slot_;
};

}  // namespace rill
