// The clock batches and receivers run on: the system clock in production, a manual clock in
// tests so that advancing by one interval produces exactly one batch. Thread-safe.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "dataflow/time.hpp"

namespace rill {

/// The time batches tick on: real (SystemClock) or driven by a test (ManualClock).
class Clock {
 public:
  virtual ~Clock() = default;
  /// Milliseconds since the epoch (system clock) or since the manual clock's start.
  virtual Millis now() const = 0;
  /// Blocks until now() >= t or stop becomes true (checked on every wake-up, and wake() is
  /// called by whoever sets it). Returns true when t was reached.
  virtual bool sleep_until(Millis t, const std::atomic<bool>& stop) = 0;
  /// Wakes every sleeper so it re-checks its stop flag.
  virtual void wake() = 0;
  /// Runs fn once now() >= t: on the clock's timer thread, or inside ManualClock::advance().
  /// fn must not block; it usually sends a message. Returns an id for cancel().
  virtual uint64_t schedule(Millis t, std::function<void()> fn) = 0;
  /// Drops a callback schedule() returned id for, if it has not run yet.
  virtual void cancel(uint64_t id) = 0;

  // Activity that must finish before a manual clock moves on (no-ops on the system clock):
  /// Counts one unit of activity in progress (a starting thread, a pending restart).
  virtual void hold() {}
  /// Ends a unit counted by hold().
  virtual void release() {}
  /// Makes the calling thread own one held unit: released when it next sleeps or finishes.
  virtual void adopt() {}
  /// The calling thread ends: releases what it owns.
  virtual void thread_finished() {}
  /// The calling thread now waits on something else (a socket): time may move meanwhile.
  void idle() { thread_finished(); }
  /// The calling thread woke from such a wait: time waits for it again until it next sleeps.
  void busy() {
    hold();
    adopt();
  }
};

/// Wall-clock time with one timer thread for scheduled callbacks.
class SystemClock final : public Clock {
 public:
  SystemClock();
  ~SystemClock() override;
  Millis now() const override;
  bool sleep_until(Millis t, const std::atomic<bool>& stop) override;
  void wake() override;
  uint64_t schedule(Millis t, std::function<void()> fn) override;
  /// Drops a scheduled callback that has not run yet.
  void cancel(uint64_t id) override;

 private:
  void run_timers();
  std::mutex mu_;
  std::condition_variable timers_cv_;
  std::condition_variable sleepers_cv_;
  std::multimap<Millis, std::pair<uint64_t, std::function<void()>>> timers_;
  uint64_t next_id_ = 1;
  bool closing_ = false;
  std::thread timer_thread_;
};

/// Time moves only when a test calls advance(). advance() steps through every due timer and
/// sleeper in time order, and after waking sleepers waits until each has gone back to sleep
/// (or its thread ended), so what a receiver stores at time x is visible before time moves on.
class ManualClock final : public Clock {
 public:
  /// A clock standing at start until advance() moves it.
  explicit ManualClock(Millis start = Millis{0});
  Millis now() const override;
  bool sleep_until(Millis t, const std::atomic<bool>& stop) override;
  void wake() override;
  uint64_t schedule(Millis t, std::function<void()> fn) override;
  /// Drops a scheduled callback that has not run yet.
  void cancel(uint64_t id) override;

  /// Moves time forward by d, firing timers and waking sleepers on the way. Before each step
  /// it waits for held activity: threads woken or started that have not slept yet.
  void advance(Millis d);
  void hold() override;
  void release() override;
  void adopt() override;
  /// Threads woken from sleep_until or adopted that have not slept again must call this when
  /// they end (Receiver's threads do).
  void thread_finished() override;

 private:
  void settle(std::unique_lock<std::mutex>& lock);
  mutable std::mutex mu_;
  std::condition_variable cv_;
  Millis now_;
  std::multimap<Millis, std::pair<uint64_t, std::function<void()>>> timers_;
  struct Sleeper {
    Millis until;
    bool woken = false;
  };
  std::vector<Sleeper*> sleepers_;  // threads in sleep_until; each Sleeper lives on its stack
  int awake_ = 0;                   // woken by advance(), not yet asleep again
  uint64_t next_id_ = 1;
  uint64_t epoch_ = 0;  // bumped by wake() so sleepers re-check stop flags
};

}  // namespace rill
