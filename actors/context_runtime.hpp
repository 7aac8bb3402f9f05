// The running half of StreamingContext (internal to actors/): the Job, the actor system and
// the supervision tree a started context runs on. Include from actors/ .cpp files only.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <utility>
#include <vector>

#include <caf/actor.hpp>
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/cluster_actors.hpp"
#include "actors/job.hpp"
#include "actors/supervisor.hpp"
#include "actors/wal_block_log.hpp"
#include "dataflow/job_metrics.hpp"
#include "dataflow/streaming_context.hpp"
#include "net/status_server.hpp"

namespace rill {

class ContextRuntime {
 public:
  ContextRuntime(StreamingContext& ctx, const ContextOptions& options,
                 const std::vector<std::pair<int, std::shared_ptr<InputSource>>>& sources,
                 std::vector<std::shared_ptr<StreamingListener>> listeners);
  ~ContextRuntime() { shutdown(); }

  void stop(bool graceful);
  void shutdown();
  SupervisionNode tree();
  int http_port();
  actors::Job job;
  std::optional<caf::actor_system> system;

 private:
  actors::SupervisorSpec tree_spec(const ContextOptions& options);
  void check_needs_no_checkpoint(const JobGraph& g);
  void open_checkpoint(const ContextOptions& options);
  void set_up_backpressure(const ContextOptions& options, Millis interval);
  void plan_recovery();
  std::unique_ptr<actors::WalBlockLog> block_log_;  // the receiver WAL; null when off
  caf::actor_system_config config_;
  caf::actor root_;
  caf::actor root_watch_;  // turns the root's failure into the job's
  caf::actor endpoint_;    // a worker node's endpoint (not supervised: it holds no state)
  // Ships this node's store commits to its replica peer (cluster replication = 2), else null.
  std::shared_ptr<actors::ReplicaShipper> replica_;
  void start_cluster_system();
  void start_sources(const ContextOptions& options);
  void stop_cluster_system();
  void stop_cluster_actors();
  void drain_actors();
  bool shut_down_ = false;
  std::mutex stop_mu_;  // serialises stop() and shutdown()
  // Guards system and shut_down_ against shutdown() for readers such as tree(), which must not
  // wait behind a graceful stop (the status page asks for the tree while a job drains).
  std::shared_mutex system_mu_;

  // The status endpoint (ContextOptions::http_port), all in the block "--- The status endpoint".
  static std::shared_ptr<JobMetrics> status_metrics(const ContextOptions& options, Millis interval);
  void start_status_endpoint(const ContextOptions& options);
  void stop_status_endpoint();
  std::shared_ptr<JobMetrics> metrics_;  // null when the endpoint is off
  std::unique_ptr<net::StatusServer> status_server_;
  std::mutex status_mu_;  // guards status_server_; never held with stop_mu_
};

/// A listener runs on the deterministic scheduler's pump thread, which the waits for stop() and
/// supervision_tree() need: throws JobError rather than hang.
void refuse_on_pump_thread(const actors::Job& job, const char* what);

}  // namespace rill
