// PidRateEstimator: the ingestion rate a stream can sustain, from each batch's size and delays,
// as Spark's PIDRateEstimator (spark.streaming.backpressure.*). Pure; one per input stream.
#pragma once

#include <optional>

#include "dataflow/time.hpp"

namespace rill {

/// Gains and bounds of the estimator; the defaults are Spark's.
struct PidRateOptions {
  double proportional = 1.0;  ///< weight of (current rate - measured processing rate)
  double integral = 0.2;      ///< weight of the backlog (scheduling delay) to work off
  double derivative = 0.0;    ///< weight of the error's change
  double min_rate = 100;      ///< records/s it never goes below, so a stream is never starved
};

class PidRateEstimator {
 public:
  /// batch_interval: the job's; throws std::invalid_argument for negative gains or a
  /// non-positive min_rate.
  PidRateEstimator(Millis batch_interval, PidRateOptions options = {});

  /// Feeds one completed batch: its records from this stream and its delays. Returns the new
  /// rate in records/s, or nullopt when the batch says nothing (no records, no processing
  /// time, or time did not move forward). The first useful batch sets the rate to what was
  /// processed, as Spark does.
  std::optional<double> compute(Millis batch_end, int64_t records, Millis processing_delay,
                                Millis scheduling_delay);

  /// The last rate computed (nullopt before the first).
  std::optional<double> rate() const {
    return first_ ? std::nullopt : std::optional<double>(rate_);
  }

 private:
  Millis interval_;
  PidRateOptions options_;
  bool first_ = true;
  Millis last_time_{0};
  double rate_ = 0;
  double last_error_ = 0;
};

}  // namespace rill
