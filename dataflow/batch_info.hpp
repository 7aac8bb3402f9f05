// Per-batch facts (records, delays) and the listener interface that receives them, as Spark's
// BatchInfo and StreamingListener. Values; listeners are called one event at a time per job.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/time.hpp"

namespace rill {

/// One output operation of one batch (Spark's OutputOperationInfo); times on the context's clock.
struct OutputOperationInfo {
  Millis batch_time{0};        ///< the batch it belongs to
  int id = 0;                  ///< the output's index in the job, in definition order
  std::string name;            ///< its kind and index, e.g. "foreach_batch-0"
  Millis start_time{0};        ///< when its first partition was sent to the sink
  Millis end_time{0};          ///< when its last partition committed (0 while running)
  std::optional<std::string> failure;  ///< set when it failed for good
  /// Time from the first partition sent to the last committed.
  Millis duration() const { return end_time - start_time; }
};

/// What the runtime reports about one batch (Spark's BatchInfo); times on the context's clock.
struct BatchInfo {
  Millis batch_time{0};             ///< the batch's time on the grid
  int64_t input_records = 0;        ///< records its input streams took
  /// When the batch was due: its grid time, or the allocation time if that came earlier; a
  /// re-run after a restart counts from its resubmission. Scheduling delay starts here, as Spark's.
  Millis submission_time{0};
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
  /// Its output operations, by id; filled as they complete (complete in on_batch_completed).
  std::vector<OutputOperationInfo> outputs;
};

/// One receiver stream (Spark's ReceiverInfo).
struct ReceiverInfo {
  std::string name;          ///< the input stream's name
  bool active = false;       ///< an instance is running
  int starts = 0;            ///< instances started so far (1 + restarts)
  std::string last_error;    ///< the last report_error() message, empty if none
  Millis last_error_time{0}; ///< clock time of last_error
  std::string node{};        ///< the cluster node it runs on ("" on one machine, the driver)
};

/// A checkpoint of operator state that completed (rill's own event).
struct CheckpointInfo {
  Millis batch_time{0};    ///< the batch the state is at
  int64_t bytes = 0;       ///< bytes written (changed keys and tombstones)
  int64_t keys = 0;        ///< keys written, tombstones included
  double duration_ms = 0;  ///< wall time from the first operator's write to the commit
};

/// Receives the runtime's events, as Spark's StreamingListener, plus rill's own (actor
/// restarts, checkpoints). Default implementations do nothing. Called from runtime threads,
/// one event at a time per job; a listener that throws is logged and otherwise ignored. Keep
/// them quick: the driver waits for them.
class StreamingListener {
 public:
  virtual ~StreamingListener() = default;
  /// The job started (clock time of start()).
  virtual void on_streaming_started(Millis /*time*/) {}
  /// A receiver instance started (first start or restart).
  virtual void on_receiver_started(const ReceiverInfo&) {}
  /// Called for Receiver::report_error(), with the receiver's name.
  virtual void on_receiver_error(const std::string& /*receiver*/, const std::string& /*message*/) {}
  /// A receiver instance stopped (job stop, or its actor died).
  virtual void on_receiver_stopped(const ReceiverInfo&) {}
  /// A batch's input was allocated; its tasks are queued.
  virtual void on_batch_submitted(const BatchInfo&) {}
  /// A batch's first task started.
  virtual void on_batch_started(const BatchInfo&) {}
  /// Called after every output of a batch committed.
  virtual void on_batch_completed(const BatchInfo&) {}
  /// Called when a batch failed for good (BatchInfo::failure says why).
  virtual void on_batch_failed(const BatchInfo&) {}
  /// An output operation of a batch started (its partitions were sent to the sink).
  virtual void on_output_operation_started(const OutputOperationInfo&) {}
  /// An output operation of a batch committed every partition, or failed for good.
  virtual void on_output_operation_completed(const OutputOperationInfo&) {}
  /// A supervisor restarted an actor (kind, name, reason).
  virtual void on_actor_restarted(const std::string& /*kind*/, const std::string& /*name*/,
                                  const std::string& /*reason*/) {}
  /// Operator state at a batch was checkpointed.
  virtual void on_checkpoint_completed(const CheckpointInfo&) {}
};

}  // namespace rill
