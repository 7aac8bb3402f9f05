// DeterministicPump: the one thread that runs a deterministic job's actors (on CAF's test
// coordinator) and the door through which every other thread reaches them. Thread-safe.
#pragma once

#include <caf/fwd.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <type_traits>
#include <utility>

namespace rill::actors {

class PumpedCoordinator;

/// Under ContextOptions::scheduler == Scheduler::deterministic, every actor that is not
/// detached runs on this one thread, in the order CAF's test coordinator gives (FIFO over
/// runnable actors), so the order of message handling follows from the events fed in.
///
/// Events from other threads (a clock tick, the caller's stop(), the status page's tree
/// request, a receiver asking for a restart) come in as closures through call() or post() and
/// are admitted one at a time, each only once the actors have settled: no actor runnable and
/// no timer due within kSettleHorizon of virtual time. Timers (delayed_send, request timeouts,
/// restart backoff) run on the coordinator's virtual clock, which jumps to each timer as the
/// pump fires it: a 20 ms backoff costs no real time, and restart intensity counts virtual time.
///
/// A send that bypasses call()/post() from another thread still works (the coordinator's
/// enqueue is made thread-safe), but it lands in a mailbox at a moment the seed does not fix;
/// stray_wakeups() counts the ones that woke an idle actor.
///
/// What this makes deterministic, for a job on a ManualClock: the order in which every actor
/// handles its messages; which timers fire when (virtual time); where each clock tick, stop()
/// and supervision_tree() request falls (a tick's call() returns only once its batch and every
/// restart it caused have settled, so the test's next step always finds the same state); and so
/// which actor a kill finds in which state. What it does not:
/// - Receivers' own threads (the one Receiver::on_start starts): when they store records
///   relative to a cut follows thread timing, unless they sleep on the ManualClock (advance()
///   fires a tick at t, then wakes them at t and lets them store before time moves past t;
///   what they store at t is the next batch's); their restart requests are post()ed at whatever
///   moment they make them. Receiver actors themselves run on the pump (not detached). Replayable,
///   receiver-less sources (generator, directory, file tail) have no such thread.
/// - A SystemClock: ticks come at real times from its timer thread (still one at a time).
/// - Real time read inside actors: steady_clock for the slow-wait warning and for durations
///   in BatchInfo/CheckpointInfo; they steer nothing. An injected pause really sleeps on the
///   pump thread, which delays everything equally and reorders nothing.
/// - Work another thread finishes while an actor waits for it (the store writer's commit of a
///   snapshot): the result matters, not its timing.
/// - Sends that bypass the pump (stray_wakeups()).
/// Never block the pump thread on an outside thread that waits for the pump: stop() or
/// supervision_tree() from a listener (which runs on the pump) would deadlock, so they throw.
class DeterministicPump {
 public:
  /// How far virtual time may run while settling after one event: ends timer loops that would
  /// otherwise spin forever (a retry that never succeeds), far beyond any backoff or retry delay.
  /// A periodic timer (the driver's slow-wait check, on unless slow_wait_warning is 0) carries
  /// virtual time this far after every event, so a restart-intensity window (supervisor_period)
  /// counts the restarts of one clock step, not of successive batches as on the threaded
  /// scheduler: a crash loop that spans batches escalates later here.
  static constexpr std::chrono::seconds kSettleHorizon{60};

  /// Makes the actor system built from `cfg` use the pump's coordinator. Call before building.
  static void install(caf::actor_system_config& cfg);
  /// Takes over the coordinator of `sys` (built from a config install() prepared); nothing
  /// runs until start().
  explicit DeterministicPump(caf::actor_system& sys);
  /// Starts the pump thread, which runs what spawning has queued so far. Call once the pump is
  /// where actors find it (Job::pump): an actor that starts before would see no pump, and
  /// later send around it from other threads (a clock tick, a receiver's restart request).
  void start();
  /// stop()s.
  ~DeterministicPump();
  DeterministicPump(const DeterministicPump&) = delete;
  DeterministicPump& operator=(const DeterministicPump&) = delete;

  /// Runs fn on the pump thread once the actors have settled, and returns its result once fn
  /// and everything it caused have settled too. For sends from threads that actors never wait
  /// on (the caller's, a clock's timer). On the pump thread, or after stop(), runs fn inline.
  template <class F>
  auto call(F fn) -> decltype(fn());
  /// Runs fn on the pump thread once the actors have settled; returns at once. For threads
  /// an actor may wait on (a receiver's, which the receiver actor joins when it stops).
  /// After stop() fn is dropped (the actors are gone) and post() returns false.
  bool post(std::function<void()> fn);
  /// Settles, stops admitting events and joins the thread; the calling thread then owns the
  /// coordinator (~actor_system runs what is left on it). Idempotent.
  void stop();
  /// True on the pump thread.
  bool on_pump_thread() const { return std::this_thread::get_id() == thread_id_.load(); }
  /// Idle actors woken by a send from another thread that bypassed call()/post(): each one a
  /// point where the order of handling depends on the threads' timing. 0 when every outside
  /// interaction is funnelled.
  uint64_t stray_wakeups() const;

 private:
  void run();
  void settle();
  // Queues fn and waits until it ran and settled; false when the pump has stopped.
  bool run_settled(std::function<void()> fn);

  PumpedCoordinator& coordinator_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> events_;
  uint64_t queued_ = 0;   // events queued so far; the n-th one is number n
  uint64_t settled_ = 0;  // events run and settled so far
  bool stopping_ = false;
  bool stopped_ = false;
  std::atomic<std::thread::id> thread_id_{};
  std::atomic<uint64_t> strays_{0};  // stray_wakeups()
  std::thread thread_;               // last: starts once the rest is initialised
};

template <class F>
auto DeterministicPump::call(F fn) -> decltype(fn()) {
  using R = decltype(fn());
  if (on_pump_thread()) return fn();
  std::exception_ptr error;  // thrown on the pump thread, rethrown to the caller
  if constexpr (std::is_void_v<R>) {
    auto run = [&fn, &error] {
      try {
        fn();
      } catch (...) {
        error = std::current_exception();
      }
    };
    if (!run_settled(run)) return fn();
    if (error) std::rethrow_exception(error);
  } else {
    std::optional<R> out;
    auto run = [&fn, &out, &error] {
      try {
        out.emplace(fn());
      } catch (...) {
        error = std::current_exception();
      }
    };
    if (!run_settled(run)) return fn();
    if (error) std::rethrow_exception(error);
    return std::move(*out);
  }
}

/// Runs fn, which reaches actors from a thread outside the actor system: at once on the
/// threaded scheduler (pump null), else through pump->call().
template <class F>
auto from_outside(DeterministicPump* pump, F fn) -> decltype(fn()) {
  if (pump) return pump->call(std::move(fn));
  return fn();
}

}  // namespace rill::actors
