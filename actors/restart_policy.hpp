// RestartPolicy: when a supervisor may restart a failed child (OTP intensity) and after how long
// (exponential backoff with jitter, as Akka's BackoffSupervisor). Pure: no CAF, no clock reads.
// Owned by one supervisor; not thread-safe. RestartPolicyOptions is a value: share freely.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <random>

namespace rill::actors {

/// Restart limits and backoff of one supervisor, after Erlang/OTP and Akka.
struct RestartPolicyOptions {
  /// Intensity: at most this many restarts within `period`; one more escalates (the
  /// supervisor stops its children and fails). Default 3. Higher hides a crash loop longer.
  int max_restarts = 3;

  /// The sliding window the intensity counts restarts in. Default 5 s. Longer escalates
  /// slow crash loops too, at the risk of escalating unrelated, rare failures.
  std::chrono::milliseconds period{5000};

  /// Delay before the first restart after a quiet spell. Default 10 ms; 0 restarts at once
  /// (what tests want). A delay lets a failed dependency (socket, peer) come back.
  std::chrono::milliseconds backoff_min{10};

  /// Upper bound of the doubled delay, before jitter. Default 1 s. The longer it is, the
  /// longer a child stays down after repeated failures.
  std::chrono::milliseconds backoff_max{1000};

  /// Jitter: each delay is multiplied by 1 + U[0, random_factor), so that siblings and peers
  /// failing together do not restart in lockstep. Default 0.2; 0 makes delays exact.
  double random_factor = 0.2;

  /// A quiet spell this long with no failure resets the delay to `backoff_min`. Default 10 s.
  std::chrono::milliseconds backoff_reset_after{10000};
};

/// The delay before restart number `attempt` (0 for the first after a quiet spell), given a
/// uniform draw `u` in [0, 1): min(backoff_max, backoff_min * 2^attempt) * (1 + u * random_factor).
std::chrono::nanoseconds backoff_delay(const RestartPolicyOptions& options, int attempt, double u);

/// What a supervisor should do about one failed child.
struct RestartDecision {
  bool escalate = false;              ///< intensity exceeded: stop all children and fail
  std::chrono::nanoseconds delay{0};  ///< if not escalating: wait this long, then restart
};

/// Counts restarts in a sliding window and draws backoff delays from a seeded generator, so
/// the same seed and the same failure times give the same decisions.
class RestartPolicy {
 public:
  using TimePoint = std::chrono::steady_clock::time_point;

  explicit RestartPolicy(RestartPolicyOptions options = {}, uint64_t seed = 0);

  /// Records a failure at `now` (non-decreasing across calls) and decides.
  RestartDecision on_failure(TimePoint now);

  /// Restarts that still count against the intensity at `now`.
  int restarts_in_window(TimePoint now) const;

  /// Doublings the next delay will use (0 after a quiet spell).
  int attempt() const noexcept { return attempt_; }

  const RestartPolicyOptions& options() const noexcept { return options_; }

 private:
  void expire(TimePoint now);

  RestartPolicyOptions options_;
  std::mt19937_64 rng_;
  std::deque<TimePoint> window_;  // times of the restarts in the current window, oldest first
  int attempt_ = 0;
  bool failed_before_ = false;
  TimePoint last_failure_{};
};

}  // namespace rill::actors
