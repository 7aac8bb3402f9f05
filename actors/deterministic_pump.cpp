#include "actors/deterministic_pump.hpp"

#include <execinfo.h>

#include <cstdlib>

#include <spdlog/spdlog.h>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/scheduler/test_coordinator.hpp>

namespace rill::actors {

/// CAF's test coordinator, whose enqueue is safe from any thread: the owner's enqueues go
/// straight to the run queue; other threads' (a send that bypassed the pump) wait in a side
/// queue the owner admits. CAF's own queue (`jobs`, a plain deque) has no lock.
class PumpedCoordinator final : public caf::scheduler::test_coordinator {
 public:
  explicit PumpedCoordinator(caf::actor_system& sys) : test_coordinator(sys) {}

  /// The thread that may run jobs from now on (none: whoever calls), and how to wake it when
  /// another thread's enqueue is waiting.
  void set_owner(std::thread::id owner, std::function<void()> wake) {
    std::lock_guard lock(mu_);
    owner_ = owner;
    wake_ = std::move(wake);
  }
  /// Moves the other threads' jobs to the run queue. On the owner thread only.
  void admit_strays() {
    std::deque<caf::resumable*> strays;
    {
      std::lock_guard lock(mu_);
      strays.swap(strays_);
    }
    for (caf::resumable* job : strays) jobs.push_back(job);
  }
  bool has_strays() const {
    std::lock_guard lock(mu_);
    return !strays_.empty();
  }

 protected:
  void enqueue(caf::resumable* job) override {
    std::function<void()> wake;
    {
      std::lock_guard lock(mu_);
      if (owner_ != std::thread::id{} && owner_ != std::this_thread::get_id()) {
        strays_.push_back(job);
        wake = wake_;
      }
    }
    if (!wake) return test_coordinator::enqueue(job);
    if (std::getenv("RILL_TRACE_STRAYS") != nullptr) {  // who sent around the pump: the stack
      void* frames[48];
      spdlog::error("deterministic scheduler: a stray wakeup; the sending thread's stack:");
      backtrace_symbols_fd(frames, backtrace(frames, 48), 2);
    }
    wake();  // outside mu_: it takes the pump's lock
  }

 private:
  mutable std::mutex mu_;
  std::thread::id owner_;
  std::function<void()> wake_;
  std::deque<caf::resumable*> strays_;
};

void DeterministicPump::install(caf::actor_system_config& cfg) {
  // A scheduler module loaded by the config replaces the one scheduler.policy names.
  cfg.module_factories.push_back([](caf::actor_system& sys) -> caf::actor_system::module* {
    return new PumpedCoordinator(sys);
  });
}

DeterministicPump::DeterministicPump(caf::actor_system& sys)
    : coordinator_(dynamic_cast<PumpedCoordinator&>(sys.scheduler())) {}

void DeterministicPump::start() {
  std::lock_guard lock(mu_);  // run() starts once the owner is set
  thread_ = std::thread([this] { run(); });
  thread_id_ = thread_.get_id();
  coordinator_.set_owner(thread_.get_id(), [this] {
    ++strays_;
    std::lock_guard wake_lock(mu_);
    cv_.notify_all();
  });
}

DeterministicPump::~DeterministicPump() { stop(); }

bool DeterministicPump::post(std::function<void()> fn) {
  std::lock_guard lock(mu_);
  if (stopped_) return false;
  events_.push_back(std::move(fn));
  ++queued_;
  cv_.notify_all();
  return true;
}

bool DeterministicPump::run_settled(std::function<void()> fn) {
  std::unique_lock lock(mu_);
  if (stopped_) return false;
  events_.push_back(std::move(fn));
  const uint64_t number = ++queued_;
  cv_.notify_all();
  cv_.wait(lock, [this, number] { return settled_ >= number; });
  return true;
}

void DeterministicPump::stop() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (!thread_.joinable()) stopped_ = true;  // never started: nothing will take events
    cv_.notify_all();
  }
  if (thread_.joinable() && !on_pump_thread()) thread_.join();
}

uint64_t DeterministicPump::stray_wakeups() const { return strays_; }

// Runs every runnable actor, then the earliest timer (moving virtual time to it), until
// neither is left within the horizon. FIFO over runnable actors: CAF's test coordinator.
void DeterministicPump::settle() {
  auto& clock = coordinator_.clock();
  const auto horizon = clock.now() + kSettleHorizon;
  for (;;) {
    coordinator_.admit_strays();
    if (coordinator_.try_run_once()) continue;
    if (!clock.has_pending_timeout() || clock.schedule().begin()->first > horizon) return;
    clock.trigger_timeout();
  }
}

void DeterministicPump::run() {
  std::unique_lock lock(mu_);
  uint64_t ran = 0;
  for (;;) {
    lock.unlock();
    settle();
    lock.lock();
    settled_ = ran;
    cv_.notify_all();
    cv_.wait(lock, [this] { return !events_.empty() || stopping_ || coordinator_.has_strays(); });
    if (!events_.empty()) {
      auto fn = std::move(events_.front());
      events_.pop_front();
      ++ran;
      lock.unlock();
      try {
        fn();
      } catch (const std::exception& e) {  // call() rethrows its own; a post()ed one has no caller
        spdlog::error("deterministic scheduler: an event from outside threw: {}", e.what());
      }
      lock.lock();
      continue;
    }
    if (coordinator_.has_strays()) continue;
    break;  // stopping, nothing queued, settled
  }
  stopped_ = true;
  coordinator_.set_owner({}, nullptr);
  thread_id_ = std::thread::id{};
}

}  // namespace rill::actors
