// A StreamingListener that keeps a job's counters, delay histograms and recent batches, and
// renders them as Prometheus text and JSON for the status endpoint. Thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/batch_info.hpp"
#include "dataflow/time.hpp"

namespace rill {

/// What the checkpoint store reports about its size (persistence/store_stats.hpp reads it).
struct StoreStats {
  int64_t wal_blocks = 0;   ///< receiver WAL blocks held
  int64_t wal_bytes = 0;    ///< pages the WAL database occupies, in bytes
  int64_t state_bytes = 0;  ///< pages the operator-state database occupies, in bytes
  int64_t used_bytes = 0;   ///< pages in use in the store file, in bytes
  int64_t file_bytes = 0;   ///< size of data.mdb (LMDB grows it sparsely: can exceed used)
};

/// Prometheus-style cumulative histogram of durations, in seconds.
struct DelayHistogram {
  /// Upper bounds in seconds, ascending; +Inf is implicit.
  static const std::vector<double>& bounds();
  std::vector<int64_t> counts = std::vector<int64_t>(bounds().size() + 1, 0);  ///< per bucket
  double sum_seconds = 0;
  int64_t count = 0;
  void add(Millis d);
};

/// Aggregates the listener events of one job. Register it with ssc.add_listener() (the runtime
/// does when ContextOptions::http_port is set). History is bounded: the last `history` finished
/// batches and `history` active ones; counters and histograms cover the whole run.
class JobMetrics : public StreamingListener {
 public:
  explicit JobMetrics(Millis batch_interval, std::size_t history = 1000);

  void on_streaming_started(Millis time) override;
  void on_receiver_started(const ReceiverInfo& info) override;
  void on_receiver_error(const std::string& receiver, const std::string& message) override;
  void on_receiver_stopped(const ReceiverInfo& info) override;
  void on_batch_submitted(const BatchInfo& info) override;
  void on_batch_started(const BatchInfo& info) override;
  void on_batch_completed(const BatchInfo& info) override;
  void on_batch_failed(const BatchInfo& info) override;
  void on_output_operation_started(const OutputOperationInfo& info) override;
  void on_output_operation_completed(const OutputOperationInfo& info) override;
  void on_actor_restarted(const std::string& kind, const std::string& name,
                          const std::string& reason) override;
  void on_checkpoint_completed(const CheckpointInfo& info) override;

  /// Batches completed and failed so far.
  int64_t batches_completed() const;
  int64_t batches_failed() const;
  /// Input records of completed batches so far.
  int64_t input_records() const;

  /// The Prometheus text exposition (version 0.0.4) of every metric; store adds the store's.
  std::string prometheus_text(const std::optional<StoreStats>& store = std::nullopt) const;
  /// {"batch_interval_ms", "started", counters, "active": [...], "batches": [the last `last`
  /// finished, oldest first]}; each batch with its delays, input rate and output operations.
  std::string batches_json(std::size_t last = 100) const;
  /// {"receivers": [{name, active, starts, errors, last_error, last_error_time}]}.
  std::string receivers_json() const;
  /// {"restarts_by_kind": {...}, "recent": [{kind, name, reason}]}, the last 20 restarts.
  std::string restarts_json() const;

 private:
  struct ReceiverState {
    ReceiverInfo info;
    int64_t errors = 0;
  };
  struct Restart {
    std::string kind, name, reason;
  };
  void finish(const BatchInfo& info, bool failed);  // REQUIRES: mu_ held
  double input_rate(const BatchInfo& b) const;      // records per second of batch interval

  const Millis interval_;
  const std::size_t history_;
  mutable std::mutex mu_;
  std::optional<Millis> started_;
  int64_t completed_ = 0, failed_ = 0, records_ = 0;
  std::optional<BatchInfo> last_;  // the last completed batch
  DelayHistogram scheduling_, processing_, total_;
  std::map<Millis, BatchInfo> active_;  // submitted or started, not finished
  std::deque<BatchInfo> finished_;      // oldest first
  std::map<std::string, ReceiverState> receivers_;
  std::map<std::string, int64_t> restarts_by_kind_;
  std::deque<Restart> recent_restarts_;
  int64_t checkpoints_ = 0;
  std::optional<CheckpointInfo> last_checkpoint_;
};

}  // namespace rill
