#include "actors/restart_policy.hpp"

#include <algorithm>
#include <cmath>

namespace rill::actors {

namespace {

// 2^62 ns is over a century: more doublings cannot change a delay bounded by backoff_max.
constexpr int kMaxAttempt = 62;

}  // namespace

std::chrono::nanoseconds backoff_delay(const RestartPolicyOptions& options, int attempt, double u) {
  using std::chrono::nanoseconds;
  const double lo = static_cast<double>(nanoseconds(options.backoff_min).count());
  const double hi = static_cast<double>(nanoseconds(options.backoff_max).count());
  if (lo <= 0) return nanoseconds{0};
  const double doubled = std::ldexp(lo, std::clamp(attempt, 0, kMaxAttempt));
  const double factor = std::max(0.0, options.random_factor) * std::clamp(u, 0.0, 1.0);
  return nanoseconds{static_cast<int64_t>(std::min(doubled, std::max(lo, hi)) * (1.0 + factor))};
}

RestartPolicy::RestartPolicy(RestartPolicyOptions options, uint64_t seed)
    : options_(options), rng_(seed) {}

void RestartPolicy::expire(TimePoint now) {
  while (!window_.empty() && now - window_.front() >= options_.period) window_.pop_front();
}

int RestartPolicy::restarts_in_window(TimePoint now) const {
  const auto counts = [&](TimePoint t) { return now - t < options_.period; };
  return static_cast<int>(std::count_if(window_.begin(), window_.end(), counts));
}

RestartDecision RestartPolicy::on_failure(TimePoint now) {
  expire(now);
  if (static_cast<int>(window_.size()) >= options_.max_restarts) return {true, {}};
  window_.push_back(now);
  if (failed_before_ && now - last_failure_ >= options_.backoff_reset_after) attempt_ = 0;
  failed_before_ = true;
  last_failure_ = now;
  // Draw even when jitter is off, so a seed gives one sequence whatever the options. The top 53
  // bits make u in [0, 1) identically on every standard library, unlike uniform_real_distribution.
  const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  const auto delay = backoff_delay(options_, attempt_, u);
  attempt_ = std::min(attempt_ + 1, kMaxAttempt);
  return {false, delay};
}

}  // namespace rill::actors
