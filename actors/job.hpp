// Everything the actors of one running job share: the plan, the driver's log, the clock, the
// sources and the table of current actor handles. Built by ContextRuntime; outlives the actors.
#pragma once

#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <caf/actor.hpp>

#include "actors/deterministic_pump.hpp"
#include "actors/job_status.hpp"
#include "actors/messages.hpp"
#include "dataflow/clock.hpp"
#include "dataflow/fault_injector.hpp"
#include "dataflow/pid_rate_estimator.hpp"
#include "dataflow/input_source.hpp"
#include "dataflow/plan.hpp"
#include "net/cluster_config.hpp"
#include "net/handshake.hpp"
#include "persistence/checkpoint_store.hpp"
#include "persistence/meta_log.hpp"

namespace rill::actors {

/// The current handle of every worker actor by role and index, updated by the supervisors'
/// on_started hooks after each (re)start, read by the driver when it routes work. Thread-safe.
class ActorDirectory {
 public:
  void set(const std::string& role, int index, caf::actor handle) {
    std::lock_guard lock(mu_);
    handles_[{role, index}] = std::move(handle);
  }
  /// Records the current handle of a supervised actor under its tree name, for fault
  /// injection (kills by name).
  void set_named(const ActorRef& ref, caf::actor handle) {
    std::lock_guard lock(mu_);
    named_[ref.name] = {ref, std::move(handle)};
  }
  /// Every named actor, with its handle.
  std::vector<std::pair<ActorRef, caf::actor>> named() const {
    std::lock_guard lock(mu_);
    std::vector<std::pair<ActorRef, caf::actor>> out;
    for (const auto& [name, entry] : named_) out.push_back(entry);
    return out;
  }
  /// Drops every handle: needed before the actor system can finish detached actors.
  void clear() {
    std::lock_guard lock(mu_);
    handles_.clear();
    named_.clear();
  }
  caf::actor get(const std::string& role, int index) const {
    std::lock_guard lock(mu_);
    auto it = handles_.find({role, index});
    return it == handles_.end() ? caf::actor{} : it->second;
  }

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, int>, caf::actor> handles_;
  std::map<std::string, std::pair<ActorRef, caf::actor>> named_;
};

/// Stage actor index in the directory: stages are numbered densely across partitions.
inline int stage_index(int stage, int partition) { return stage * 4096 + partition; }

/// What a restart found in the checkpoint directory.
struct Recovery {
  bool resumed = false;  ///< the checkpoint directory held a job already
  std::optional<Millis> checkpoint;  ///< C: state is restored as of this batch
  /// Allocated batches after C, in time order: re-run from their recorded inputs first.
  std::vector<persistence::Allocation> reruns;
};

struct Job {
  const JobGraph* graph = nullptr;
  std::shared_ptr<const Plan> plan;
  std::shared_ptr<persistence::MetaLog> meta;
  std::shared_ptr<JobStatus> status;
  Clock* clock = nullptr;
  Millis zero{0};
  std::vector<std::pair<int, std::shared_ptr<InputSource>>> sources;  // by source node
  ActorDirectory directory;
  /// The checkpoint directory's store; null when the job keeps no checkpoints.
  std::shared_ptr<persistence::CheckpointStore> store;
  /// How hard its commits (and those of the store copies this node keeps) push to disk.
  persistence::SyncMode store_sync = persistence::SyncMode::full;
  Recovery recovery;
  int max_attempts = 4;  ///< attempts of a failed task before the job stops
  /// State is snapshotted at batch times zero + k * checkpoint_interval (a multiple of the
  /// batch interval); a rollback re-runs the batches since the last one.
  Millis checkpoint_interval{0};
  Millis slow_wait_warning{10000};  ///< log what a wait this long waits for; 0: never
  /// True when some operator keeps state (then completion waits for its snapshots).
  bool stateful = false;
  /// Decides injected faults (chaos tests); null: none.
  std::shared_ptr<FaultInjector> faults;
  /// The thread that runs every actor under Scheduler::deterministic; null when threaded.
  /// Sends from other threads go through it (from_outside()).
  std::shared_ptr<DeterministicPump> pump;
  /// Driver instances started so far: a restarted driver (> 1) re-plans from the store.
  std::atomic<int> driver_starts{0};
  /// Each source's last cut, by source index: a driver that died before the answer reached it
  /// asks again for the same batch time and must get the same records (the source has moved
  /// on). Outlives the builder actors; guarded by cuts_mu.
  std::mutex cuts_mu;
  std::map<int, SourceBatch> last_cuts;
  /// Backpressure: an estimator per rate-limited source node (empty when off), and the cap.
  std::map<int, PidRateEstimator> rate_estimators;
  double max_rate = 0;
  /// Set when the job runs on several nodes (ContextOptions::cluster_config): the cluster,
  /// this node in it and what the handshake proves about it.
  std::shared_ptr<const net::ClusterConfig> cluster;
  const net::NodeConfig* node = nullptr;
  net::NodeIdentity identity;
  /// On a cluster's driver: by source index, the worker whose `receivers` run that stream
  /// (its batch builder is there too; the driver asks it over the worker's link), or null for
  /// a stream this node runs. Empty on one machine and on workers (they keep only their own).
  std::vector<const net::NodeConfig*> source_hosts;
};

}  // namespace rill::actors
