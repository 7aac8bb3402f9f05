// What the runtime tells the waiting program: batches completed, the job ended, and why.
// Thread-safe: written by the driver, read by await_* callers and listeners' owners.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "dataflow/batch_info.hpp"

namespace rill::actors {

class JobStatus {
 public:
  explicit JobStatus(std::vector<std::shared_ptr<StreamingListener>> listeners)
      : listeners_(std::move(listeners)) {}

  // Events: recorded, then passed to the listeners one at a time (listener exceptions logged).
  void streaming_started(Millis time);
  void batch_submitted(const BatchInfo& info);
  void batch_started(const BatchInfo& info);
  void batch_completed(const BatchInfo& info);
  void batch_failed(const BatchInfo& info);
  void output_started(const OutputOperationInfo& info);
  void output_completed(const OutputOperationInfo& info);
  void checkpoint_completed(const CheckpointInfo& info);
  void receiver_error(const std::string& receiver, const std::string& message, Millis time);
  /// A receiver instance started (counted across restarts: wait_receivers).
  void receiver_started(const std::string& receiver);
  void receiver_stopped(const std::string& receiver);
  /// What this process knows of `receiver`'s instances, or nullopt.
  std::optional<ReceiverInfo> receiver(const std::string& receiver) const;
  /// On a cluster's driver: `remote` is what the worker running the receiver reported (with
  /// each cut), and `incarnation` its process's. Records it and raises the started, error and
  /// stopped events the change implies; starts add up across the worker's restarts.
  void mirror_receiver(const ReceiverInfo& remote, uint64_t incarnation);
  void actor_restarted(const std::string& kind, const std::string& name, const std::string& reason);
  /// Actor restarts so far (every supervisor's, across the job).
  int restarts() const { return restarts_.load(); }
  /// The job ended: error set when it failed.
  void terminate(std::optional<std::string> error);
  /// A graceful stop finished draining.
  void drained();
  /// The driver scheduled its first tick: advancing a manual clock now produces batches.
  void ready();
  bool wait_ready(Millis timeout);
  /// Waits until at least n receiver starts were counted.
  bool wait_receivers(int n, Millis timeout);

  /// A re-run batch produced output whose hash differs from the committed run's.
  void nondeterministic_output();
  uint64_t nondeterministic_outputs() const;

  bool terminated() const;
  std::optional<std::string> error() const;
  /// Waits until pred or timeout; returns pred's value.
  bool wait_terminated(std::optional<Millis> timeout);
  bool wait_batch(Millis t, Millis timeout);
  bool wait_drained(Millis timeout);
  std::vector<BatchInfo> completed() const;

 private:
  mutable std::mutex mu_;
  std::condition_variable cv_;
  template <class Event>
  void notify(Event&& event);

  std::recursive_mutex notify_mu_;  // one event at a time; a listener may cause another
  std::vector<std::shared_ptr<StreamingListener>> listeners_;
  std::map<std::string, ReceiverInfo> receivers_;
  struct Mirrored {  // a worker's receiver: its process, and the starts of earlier processes
    uint64_t incarnation = 0;
    int earlier_starts = 0;
    int remote_starts = 0;  // the latest view's, in this process: an older view is ignored
  };
  std::map<std::string, Mirrored> mirrored_;
  std::set<Millis> completed_times_;
  std::vector<BatchInfo> infos_;
  bool terminated_ = false;
  bool drained_ = false;
  bool ready_ = false;
  int receivers_started_ = 0;
  uint64_t nondeterministic_outputs_ = 0;
  std::atomic<int> restarts_{0};
  std::optional<std::string> error_;
};

}  // namespace rill::actors
