#include "dataflow/clock.hpp"

#include <algorithm>
#include <chrono>

namespace rill {

namespace {
using SysClock = std::chrono::system_clock;

SysClock::time_point to_system(Millis t) { return SysClock::time_point(t); }

// The manual clock a thread was last woken by and has not yet slept on again.
thread_local ManualClock* tls_awake_on = nullptr;
}  // namespace

SystemClock::SystemClock() : timer_thread_([this] { run_timers(); }) {}

SystemClock::~SystemClock() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
  }
  timers_cv_.notify_all();
  sleepers_cv_.notify_all();
  timer_thread_.join();
}

Millis SystemClock::now() const {
  return std::chrono::duration_cast<Millis>(SysClock::now().time_since_epoch());
}

bool SystemClock::sleep_until(Millis t, const std::atomic<bool>& stop) {
  std::unique_lock lock(mu_);
  while (!stop && !closing_) {
    if (now() >= t) return true;
    sleepers_cv_.wait_until(lock, to_system(t));
  }
  return false;
}

void SystemClock::wake() {
  std::lock_guard lock(mu_);
  sleepers_cv_.notify_all();
}

uint64_t SystemClock::schedule(Millis t, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  timers_.emplace(t, std::make_pair(id, std::move(fn)));
  timers_cv_.notify_all();
  return id;
}

void SystemClock::cancel(uint64_t id) {
  std::lock_guard lock(mu_);
  std::erase_if(timers_, [id](const auto& e) { return e.second.first == id; });
}

void SystemClock::run_timers() {
  std::unique_lock lock(mu_);
  while (!closing_) {
    if (timers_.empty()) {
      timers_cv_.wait(lock);
      continue;
    }
    auto it = timers_.begin();
    if (now() < it->first) {
      timers_cv_.wait_until(lock, to_system(it->first));
      continue;
    }
    auto fn = std::move(it->second.second);
    timers_.erase(it);
    lock.unlock();
    fn();
    lock.lock();
  }
}

ManualClock::ManualClock(Millis start) : now_(start) {}

Millis ManualClock::now() const {
  std::lock_guard lock(mu_);
  return now_;
}

bool ManualClock::sleep_until(Millis t, const std::atomic<bool>& stop) {
  std::unique_lock lock(mu_);
  if (tls_awake_on == this) {
    tls_awake_on = nullptr;
    --awake_;
    cv_.notify_all();
  }
  if (now_ >= t) return !stop;
  Sleeper self{t};
  sleepers_.push_back(&self);
  cv_.wait(lock, [&] { return self.woken || stop.load(); });
  if (!self.woken) {
    std::erase(sleepers_, &self);
    return false;
  }
  // advance() counted this thread as awake; it stays counted until it sleeps again or ends.
  tls_awake_on = this;
  return true;
}

void ManualClock::hold() {
  std::lock_guard lock(mu_);
  ++awake_;
}

void ManualClock::release() {
  std::lock_guard lock(mu_);
  --awake_;
  cv_.notify_all();
}

void ManualClock::adopt() {
  std::lock_guard lock(mu_);
  tls_awake_on = this;
}

void ManualClock::thread_finished() {
  std::lock_guard lock(mu_);
  if (tls_awake_on != this) return;
  tls_awake_on = nullptr;
  --awake_;
  cv_.notify_all();
}

void ManualClock::wake() {
  std::lock_guard lock(mu_);
  ++epoch_;
  cv_.notify_all();
}

uint64_t ManualClock::schedule(Millis t, std::function<void()> fn) {
  std::lock_guard lock(mu_);
  uint64_t id = next_id_++;
  timers_.emplace(t, std::make_pair(id, std::move(fn)));
  return id;
}

void ManualClock::cancel(uint64_t id) {
  std::lock_guard lock(mu_);
  std::erase_if(timers_, [id](const auto& e) { return e.second.first == id; });
}

void ManualClock::settle(std::unique_lock<std::mutex>& lock) {
  // Bounded: a woken thread that blocks elsewhere forever must not hang the test.
  cv_.wait_for(lock, std::chrono::seconds(10), [this] { return awake_ <= 0; });
}

void ManualClock::advance(Millis d) {
  std::unique_lock lock(mu_);
  const Millis target = now_ + d;
  for (;;) {
    settle(lock);  // threads started or woken earlier run until they sleep
    Millis next = target + Millis{1};
    if (!timers_.empty()) next = std::min(next, timers_.begin()->first);
    for (const Sleeper* s : sleepers_) next = std::min(next, s->until);
    if (next > target) break;
    now_ = std::max(now_, next);
    // Ticks first: a batch at now_ cuts records stamped before now_ only (what a sleeper
    // stores at now_ belongs to the next batch), so waking sleepers after the tick changes no
    // batch, and their work at now_ (a reliable receiver's durable writes of the next batch)
    // runs while the batch does, as on the system clock, instead of before it starts.
    while (!timers_.empty() && timers_.begin()->first <= now_) {
      auto fn = std::move(timers_.begin()->second.second);
      timers_.erase(timers_.begin());
      lock.unlock();
      fn();
      lock.lock();
    }
    bool woke = false;
    std::erase_if(sleepers_, [&](Sleeper* s) {
      if (s->until > now_) return false;
      s->woken = true;
      ++awake_;
      woke = true;
      return true;
    });
    if (woke) {
      cv_.notify_all();
      settle(lock);
    }
  }
  // Another thread's advance (a batch's work on this clock) may have moved past target while
  // this one waited in settle(): time never goes back.
  now_ = std::max(now_, target);
}

}  // namespace rill
