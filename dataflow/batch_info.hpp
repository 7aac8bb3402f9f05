// Per-batch facts (records, delays) and the listener interface that receives them, as Spark's
// BatchInfo and StreamingListener. Values; listeners are called from the driver's thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "dataflow/time.hpp"

namespace rill {

/// What the runtime reports about one batch (Spark's BatchInfo); times on the context's clock.
struct BatchInfo {
  Millis batch_time{0};             ///< the batch's time on the grid
  int64_t input_records = 0;        ///< records its input streams took
  Millis submission_time{0};        ///< when the batch was allocated (clock time)
  Millis processing_start{0};       ///< when its first task started
  Millis processing_end{0};         ///< when its last output completed
  /// Time from allocation to the first task: how far the job lags.
  Millis scheduling_delay() const { return processing_start - submission_time; }
  /// Time from the first task to the last output.
  Millis processing_delay() const { return processing_end - processing_start; }
  /// Scheduling plus processing delay.
  Millis total_delay() const { return processing_end - submission_time; }
  std::optional<std::string> failure;  ///< set when the batch failed (operator, time, cause)
  int restarts = 0;       ///< actor restarts while the batch ran (any kind, any reason)
  int retried_tasks = 0;  ///< tasks, cuts and outputs sent again after a failure or a lost actor
  bool rerun = false;     ///< re-run from its recorded inputs after a driver restart
};

/// Receives the runtime's events. Default implementations do nothing.
class StreamingListener {
 public:
  virtual ~StreamingListener() = default;
  /// Called after every output of a batch committed.
  virtual void on_batch_completed(const BatchInfo&) {}
  /// Called when a batch failed for good (BatchInfo::failure says why).
  virtual void on_batch_failed(const BatchInfo&) {}
  /// Called for Receiver::report_error(), with the receiver's name.
  virtual void on_receiver_error(const std::string& /*receiver*/, const std::string& /*message*/) {}
  /// Called when a supervisor restarted an actor (kind, name, reason).
  virtual void on_actor_restarted(const std::string& /*kind*/, const std::string& /*name*/,
                                  const std::string& /*reason*/) {}
};

}  // namespace rill
