#include "dataflow/pid_rate_estimator.hpp"

#include <algorithm>
#include <stdexcept>
#include <string>

namespace rill {

PidRateEstimator::PidRateEstimator(Millis batch_interval, PidRateOptions options)
    : interval_(batch_interval), options_(options) {
  if (interval_.count() <= 0)
    throw std::invalid_argument("backpressure: the batch interval must be positive");
  if (options_.proportional < 0 || options_.integral < 0 || options_.derivative < 0)
    throw std::invalid_argument("backpressure: PID gains must be >= 0 (proportional " +
                                std::to_string(options_.proportional) + ", integral " +
                                std::to_string(options_.integral) + ", derivative " +
                                std::to_string(options_.derivative) + ")");
  if (options_.min_rate <= 0)
    throw std::invalid_argument("backpressure: min_rate must be > 0, got " +
                                std::to_string(options_.min_rate));
}

std::optional<double> PidRateEstimator::compute(Millis batch_end, int64_t records,
                                                Millis processing_delay, Millis scheduling_delay) {
  if (batch_end <= last_time_ || records <= 0 || processing_delay.count() <= 0) return std::nullopt;
  const double delay_since_update = static_cast<double>((batch_end - last_time_).count()) / 1000.0;
  const double processing_rate =
      static_cast<double>(records) / static_cast<double>(processing_delay.count()) * 1000.0;
  // Positive error: we let in more than we can process.
  const double error = rate_ - processing_rate;
  // The backlog, as a rate: records queued behind the scheduling delay, spread over one batch.
  const double historical_error = static_cast<double>(scheduling_delay.count()) * processing_rate /
                                  static_cast<double>(interval_.count());
  const double d_error = (error - last_error_) / delay_since_update;
  last_time_ = batch_end;
  if (first_) {
    first_ = false;
    rate_ = processing_rate;
    last_error_ = 0;
    return rate_;
  }
  const double next = rate_ - options_.proportional * error - options_.integral * historical_error -
                      options_.derivative * d_error;
  rate_ = std::max(next, options_.min_rate);
  last_error_ = error;
  return rate_;
}

}  // namespace rill
