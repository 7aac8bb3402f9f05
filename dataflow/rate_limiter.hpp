// RateLimiter: spaces out permits so that at most `rate` records per second pass (receiver
// max_rate), on whatever clock the caller reads. Thread-safe.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <mutex>

#include "dataflow/time.hpp"

namespace rill {

/// Guava-style "pay later" limiter: a request of n permits is granted at the time the previous
/// requests have paid for, and then charges n / rate seconds to the ones after it. The first
/// request after an idle spell passes at once; no burst is saved up while idle.
class RateLimiter {
 public:
  /// rate: permits per second; 0 or less means unlimited.
  explicit RateLimiter(double rate = 0) : rate_(rate) {}

  /// Changes the rate (backpressure); permits already reserved keep their times.
  void set_rate(double rate) {
    std::lock_guard lock(mu_);
    rate_ = rate;
  }

  /// Reserves n permits at `now`; returns the time the caller may go on (now when unlimited).
  Millis reserve(std::size_t n, Millis now) {
    std::lock_guard lock(mu_);
    if (rate_ <= 0) return now;
    const double now_us = static_cast<double>(now.count()) * 1000.0;
    const double start = std::max(now_us, next_free_us_);
    next_free_us_ = start + static_cast<double>(n) * 1e6 / rate_;
    return Millis{static_cast<Millis::rep>(std::ceil(start / 1000.0))};
  }

 private:
  std::mutex mu_;
  double rate_;
  double next_free_us_ = -1e300;  // microseconds on the caller's clock
};

}  // namespace rill
