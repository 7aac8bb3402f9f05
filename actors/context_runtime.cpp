// The running half of StreamingContext: builds the Job, the actor system and the supervision
// tree at start(), and tears them down at stop(). CAF lives here, out of the user's headers.
#include <filesystem>
#include <functional>
#include <shared_mutex>
#include <thread>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/caller_actor.hpp"
#include "actors/cluster_actors.hpp"
#include "actors/cluster_runtime.hpp"
#include "actors/context_runtime.hpp"
#include "actors/deterministic_pump.hpp"
#include "actors/driver.hpp"
#include "actors/log_level.hpp"
#include "actors/supervisor.hpp"
#include "actors/type_ids.hpp"
#include "actors/wal_block_log.hpp"
#include "actors/workers.hpp"
#include "dataflow/config_error.hpp"
#include "dataflow/fingerprint.hpp"
#include "dataflow/job_metrics.hpp"
#include "dataflow/streaming_context.hpp"
#include "net/status_server.hpp"
#include "persistence/store_mirror.hpp"
#include "persistence/store_stats.hpp"

namespace rill {

// A listener runs on the deterministic scheduler's pump thread, which the waits for stop() and
// supervision_tree() need: refuse rather than hang.
void refuse_on_pump_thread(const actors::Job& job, const char* what) {
  if (job.pump && job.pump->on_pump_thread())
    throw JobError(std::string(what) + " cannot run inside a listener under Scheduler::deterministic: the "
                   "listener runs on the thread that would have to answer it");
}

ContextRuntime::ContextRuntime(StreamingContext& ctx, const ContextOptions& options,
                               const std::vector<std::pair<int, std::shared_ptr<InputSource>>>& sources,
                               std::vector<std::shared_ptr<StreamingListener>> listeners) {
  const JobGraph& g = ctx.graph();
  job.graph = &g;
  job.plan = std::make_shared<const Plan>(g);
  // First in line: a user listener that hears of a batch knows the endpoint shows it (tests).
  if ((metrics_ = status_metrics(options, g.interval()))) listeners.insert(listeners.begin(), metrics_);
  job.status = std::make_shared<actors::JobStatus>(std::move(listeners));
  job.clock = &ctx.clock();
  job.sources = sources;
  if (!options.cluster_config.empty()) {
    actors::join_cluster(job, options);  // a worker keeps only the sources placed on it
  }
  if (options.task_max_attempts < 1) throw ConfigError("task_max_attempts must be at least 1");
  job.max_attempts = options.task_max_attempts;
  if (options.slow_wait_warning.count() < 0) throw ConfigError("slow_wait_warning must be >= 0 ms");
  job.slow_wait_warning = options.slow_wait_warning;
  job.faults = options.fault_injector;
  if (options.supervisor_max_restarts < 0 || options.supervisor_period.count() <= 0 ||
      options.restart_backoff_min.count() < 0 || options.restart_backoff_max < options.restart_backoff_min)
    throw ConfigError("supervision options: supervisor_max_restarts must be >= 0, supervisor_period > 0 and "
                      "0 <= restart_backoff_min <= restart_backoff_max");
  for (const Node& n : g.nodes()) job.stateful = job.stateful || static_cast<bool>(n.make_state);
  Millis interval = g.interval();
  job.checkpoint_interval = g.checkpoint_interval(options.checkpoint_interval);
  // On a worker too: the receivers placed there start at the initial rate; the driver's
  // estimators then send each batch's rate over the link.
  if (options.backpressure) set_up_backpressure(options, interval);
  const bool deterministic = options.scheduler == Scheduler::deterministic;
  if (deterministic && job.cluster)
    throw ConfigError("scheduler = deterministic runs one process only: CAF's network layer would "
                      "send to actors from its own thread; use the threaded scheduler on a cluster");
  if (!deterministic) {
    int threads = options.threads > 0 ? options.threads : static_cast<int>(std::max(2u, std::thread::hardware_concurrency()));
    // With replication = 2 a store commit waits for the replica peer's answer, which actors on
    // this scheduler deliver (the link, the shipper, the endpoint): one thread more than the
    // actors that may be waiting so (stages, sinks, builders, the driver, the recorder), so
    // that those never hold every thread.
    if (job.cluster && job.cluster->replication > 1) {
      int waiting = static_cast<int>(g.outputs().size() + job.sources.size()) + 3;
      for (const Stage& stage : job.plan->stages())
        for (int p = 0; p < stage.partitions; ++p) waiting += actors::runs_partition(job, p) ? 1 : 0;
      threads += waiting;
    }
    config_.set("scheduler.policy", caf::atom("sharing"));
    config_.set("scheduler.max-threads", static_cast<size_t>(threads));
  }
  // A node of a cluster is on the network before it opens its store: a worker answers its
  // peers' replication (theirs may wait for it), and a store lost with its disk comes back
  // from the replica peer.
  job.store_sync = options.checkpoint_fsync ? persistence::SyncMode::full : persistence::SyncMode::nosync;
  if (job.cluster) start_cluster_system();
  try {
    if (options.checkpoint_dir.empty()) {
      check_needs_no_checkpoint(g);
      job.meta = std::make_shared<persistence::InMemoryMetaLog>();
    } else {
      open_checkpoint(options);
    }
    start_sources(options);
  } catch (...) {
    if (system) stop_cluster_system();
    throw;
  }
  if (deterministic) actors::DeterministicPump::install(config_);
  if (!system) {
    system.emplace(config_);
    // CAF 0.17 pins its logger to this thread (a thread-local reference) and ~actor_system
    // waits for the logger's destructor: destroyed from any other thread (stop() called from a
    // signal thread or a listener), it would wait forever. Drop the reference now.
    caf::logger::set_current_actor_system(nullptr);
  }
  root_ = actors::spawn_supervisor(*system, tree_spec(options));
  // The root gives up only when its restart intensity is exceeded: the job stops with that
  // error. Everything acknowledged was durable, so a later get_or_create resumes exactly.
  // Held in root_watch_: CAF destroys an actor nobody references. root and status go as spawn
  // arguments, not captures: CAF 0.17 dereferences a null argument tuple when there are none.
  auto watch_root = [](caf::event_based_actor* self, caf::actor root, std::shared_ptr<actors::JobStatus> status) {
    self->monitor(root);
    self->set_down_handler([self, status](caf::down_msg& m) {
      if (m.reason && m.reason != caf::exit_reason::user_shutdown)
        status->terminate("the supervision tree gave up: " + actors::exit_reason_text(self->system(), m.reason));
      self->quit();
    });
    return caf::behavior{[](int) {}};
  };
  root_watch_ = system->spawn(watch_root, root_, job.status);
  if (actors::is_worker(job)) {
    caf::anon_send(endpoint_, actors::ready_atom::value);  // its held tasks may run now
    job.status->ready();  // a worker schedules no batches: it is ready once it listens
  }
  // Spawned on this thread before the pump starts: queued, they run first on the pump thread.
  if (deterministic) {
    job.pump = std::make_shared<actors::DeterministicPump>(*system);
    job.pump->start();  // after: an actor that started first would capture no pump
  }
  start_status_endpoint(options);  // last: its requests read the supervision tree
}

// Restores the zero time and the recovery plan from the store, then starts the sources.
void ContextRuntime::start_sources(const ContextOptions& options) {
  const JobGraph& g = *job.graph;
  Millis interval = g.interval();
  // Spark's grid: the first batch is the first interval boundary after now. A recovered job
  // keeps the zero time it was first started with.
  Millis now = job.clock->now();
  if (auto zero = job.meta->zero_time()) {
    job.zero = *zero;
    job.recovery.resumed = true;
  } else {
    job.zero = Millis{(now.count() / interval.count()) * interval.count()};
    if (Status s = job.meta->record_zero_time(job.zero); !s) throw JobError("checkpoint: " + s.to_string());
  }
  if (job.store) plan_recovery();
  // The receiver WAL lives in the checkpoint store: without one, nothing would survive.
  if (options.receiver_write_ahead_log) {
    if (!job.store)
      throw ConfigError("receiver_write_ahead_log needs a checkpoint directory: call "
                        "ssc.checkpoint(dir) before start()");
    block_log_ = std::make_unique<actors::WalBlockLog>(job.store);
  }
  for (size_t i = 0; i < job.sources.size(); ++i) {
    const auto& [node, src] = job.sources[i];
    (void)job.meta->record_partitions(g.node(node).name, g.node(node).partitions);
    if (!actors::runs_elsewhere(job, i)) src->start(SourceContext{job.clock, job.zero, interval, block_log_.get(), node});
  }
  // A first start records what replayable sources saw (a directory's existing names) under
  // the zero time, which is never a batch time: resume() then gets it first.
  if (job.store && !job.recovery.resumed) {
    std::vector<persistence::BlockRef> started;
    for (size_t i = 0; i < job.sources.size(); ++i)
      if (job.sources[i].second->replayable() && !actors::runs_elsewhere(job, i))
        started.push_back({job.sources[i].first, 0, 0, job.sources[i].second->started_record()});
    if (!started.empty())
      if (Status s = job.meta->record_allocation(job.zero, started); !s) throw JobError("checkpoint: " + s.to_string());
  }
}

void ContextRuntime::start_cluster_system() {
  actors::configure_middleman(config_, *job.cluster);
  system.emplace(config_);
  caf::logger::set_current_actor_system(nullptr);  // as in the constructor
  try {
    if (actors::is_worker(job)) endpoint_ = actors::publish_endpoint(*system, job);
  } catch (const ConfigError&) {
    stop_cluster_system();
    throw;
  }
  if (const net::NodeConfig* peer = actors::replica_peer(*job.cluster, *job.node)) {
    actors::Job* j = &job;
    replica_ = std::make_shared<actors::ReplicaShipper>(*system, job, *peer, [j] {
      if (j->store) j->store->writer().resync_replica();
    });
  }
}

// Before anything else of the job runs: only the endpoint and the replica shipper are up.
void ContextRuntime::stop_cluster_system() {
  stop_cluster_actors();
  system.reset();
}

// The endpoint's port closes; commits still waiting for the replica end with `stopped` (nobody
// is left to hear of them); then every actor ends.
void ContextRuntime::stop_cluster_actors() {
  if (endpoint_) {
    actors::unpublish_endpoint(*system, job, endpoint_);
    caf::anon_send_exit(endpoint_, caf::exit_reason::user_shutdown);
  }
  endpoint_ = nullptr;
  if (replica_) replica_->close();
  drain_actors();
}

// Before the actor system goes: every actor has ended, and no timer (a link's reconnect delay,
// a connect timeout) still holds one, as CAF 0.17 would keep such a reference past the clock's
// stop.
void ContextRuntime::drain_actors() {
  system->await_all_actors_done();
  system->clock().cancel_all();
}

// As Spark: operators whose state is the only copy of their input refuse to run without a
// checkpoint directory, rather than silently losing it on the first failure.
void ContextRuntime::check_needs_no_checkpoint(const JobGraph& g) {
  for (const Node& n : g.nodes())
    if (n.make_state && n.kind != "window")
      throw ConfigError("stream '" + n.name + "' (" + n.kind +
                        ") keeps state across batches and needs a checkpoint directory: call "
                        "ssc.checkpoint(dir) before start()");
}

// The receivers start at the initial rate (or unlimited); the driver adapts it after each batch.
void ContextRuntime::set_up_backpressure(const ContextOptions& options, Millis interval) {
  if (options.backpressure_initial_rate < 0)
    throw ConfigError("backpressure_initial_rate must be >= 0 (records/s), got " +
                      std::to_string(options.backpressure_initial_rate));
  job.max_rate = options.receiver_max_rate;
  for (const auto& [node, src] : job.sources) {
    if (!src->rate_limited()) continue;
    try {
      job.rate_estimators.emplace(node, PidRateEstimator(interval, options.backpressure_pid));
    } catch (const std::invalid_argument& e) {
      throw ConfigError(e.what());
    }
    double initial = options.backpressure_initial_rate;
    if (job.max_rate > 0) initial = initial > 0 ? std::min(initial, job.max_rate) : job.max_rate;
    if (initial > 0) src->set_rate(initial);
  }
}

void ContextRuntime::open_checkpoint(const ContextOptions& options) {
  const std::string& dir = options.checkpoint_dir;
  persistence::StoreOptions store_options;
  store_options.sync = options.checkpoint_fsync ? persistence::SyncMode::full : persistence::SyncMode::nosync;
  const bool fresh = !std::filesystem::exists(std::filesystem::path(dir) / "data.mdb");
  auto store = persistence::CheckpointStore::open(dir, store_options);
  if (!store) throw ConfigError("checkpoint directory '" + dir + "': " + store.status().to_string());
  job.store = *store;
  if (replica_) {
    // An empty store on a node whose peer keeps a copy: the disk was lost (or replaced).
    // Rebuild it from the copy before anything reads it; then every commit goes to the peer.
    if (fresh) {
      spdlog::info("node {}: store {} is empty; asking node {} for its copy", job.node->name, dir,
                   actors::replica_peer(*job.cluster, *job.node)->name);
      auto copy = replica_->restore();
      if (!copy) throw JobError("checkpoint directory '" + dir + "': " + copy.status().to_string());
      if (*copy) {
        if (Status s = persistence::restore_from(job.store->writer(), **copy); !s)
          throw JobError("checkpoint directory '" + dir + "': cannot write the replica's copy: " + s.to_string());
        spdlog::info("node {}: store {} rebuilt from its replica ({} entries, commit {})", job.node->name, dir,
                     (*copy)->ops.size(), (*copy)->seq);
      }
    }
    job.store->writer().replicate_to(replica_);
  }
  job.meta = job.store->meta_log();
  for (const Node& n : job.graph->nodes())
    if (n.make_state && !n.make_state()->can_snapshot())
      throw ConfigError("stream '" + n.name + "' (" + n.kind + ", records " + n.type +
                        ") keeps state rill cannot checkpoint: its key and value types must be records "
                        "(arithmetic, std::string, pairs, tuples, vectors, optionals, or structs declared "
                        "with RILL_RECORD)");
  // The stored DAG must still fit the state: refuse with the differences rather than
  // restoring state into operators it was not written by.
  DagSignature current = DagSignature::of(*job.graph);
  if (auto stored_text = job.meta->job()) {
    auto stored = DagSignature::from_text(*stored_text);
    if (!stored) throw ConfigError("checkpoint directory '" + dir + "': " + stored.status().to_string());
    DagDiff d = diff(*stored, current);
    if (!d.keeps_state()) throw ConfigError(d.describe(dir));
    if (stored->to_text() != current.to_text()) {
      spdlog::info("checkpoint {}: the job gained stateless streams or outputs; state kept", dir);
      if (Status s = job.meta->record_job(current.to_text()); !s) throw JobError("checkpoint: " + s.to_string());
    }
  } else if (Status s = job.meta->record_job(current.to_text()); !s) {
    throw JobError("checkpoint: " + s.to_string());
  }
}

void ContextRuntime::plan_recovery() {
  auto& meta = *job.meta;
  job.recovery.checkpoint = meta.last_checkpoint();
  auto all = meta.allocations_after(Millis::min());
  if (!all) throw JobError("checkpoint directory '" + job.store->dir() + "': " + all.status().to_string());
  if (all->empty()) return;
  for (auto& a : *all)
    if (a.first > job.zero && (!job.recovery.checkpoint || a.first > *job.recovery.checkpoint))
      job.recovery.reruns.push_back(a);
  // Replayable sources continue after everything recorded; the rest start afresh. A stream
  // whose receiver runs on a worker is that worker's to resume.
  for (size_t i = 0; i < job.sources.size(); ++i) {
    const auto& [node, src] = job.sources[i];
    if (!src->replayable() || actors::runs_elsewhere(job, i)) continue;
    std::vector<std::string> recorded;
    for (const auto& [t, blocks] : *all)
      for (const auto& b : blocks)
        if (b.stream == node) recorded.push_back(b.replay);
    if (Status s = src->resume(recorded); !s)
      throw JobError("recovering stream '" + job.graph->node(node).name + "': " + s.to_string());
  }
  spdlog::info("checkpoint {}: recovering from {}, {} batch(es) to re-run", job.store->dir(),
               job.recovery.checkpoint ? to_string(*job.recovery.checkpoint) : std::string("the start"),
               job.recovery.reruns.size());
}


void ContextRuntime::stop(bool graceful) {
  refuse_on_pump_thread(job, "stop()");
  std::lock_guard lock(stop_mu_);
  if (shut_down_ || !system) return;
  caf::actor driver = job.directory.get("driver", 0);
  if (driver && !job.status->terminated()) {
    actors::CallerActor self{*system};
    // A graceful stop waits for the drain; a plain stop only for receivers to stop.
    auto limit = graceful ? std::chrono::hours(24) : std::chrono::hours(0) + std::chrono::seconds(30);
    actors::from_outside(job.pump.get(),
                         [&] { return self->request(driver, limit, actors::stop_atom::value, graceful); })
        .receive([](bool) {}, [](caf::error& e) { spdlog::warn("stop: driver did not answer: {}", to_string(e)); });
  }
  job.status->terminate(std::nullopt);
}

void ContextRuntime::shutdown() {
  stop_status_endpoint();  // first: its requests read the tree
  std::lock_guard lock(stop_mu_);
  {
    // From here tree() answers empty; one in flight finishes before the system goes.
    std::unique_lock system_lock(system_mu_);
    if (shut_down_ || !system) return;
    shut_down_ = true;
  }
  job.status->terminate(std::nullopt);
  {
    actors::CallerActor self{*system};
    actors::from_outside(job.pump.get(), [&] {
      self->monitor(root_);
      caf::anon_send_exit(root_, caf::exit_reason::user_shutdown);
    });
    self->receive([](caf::down_msg&) {}, caf::after(std::chrono::seconds(30)) >> [] {
      spdlog::error("supervision tree did not stop within 30 s");
    });
  }
  for (const auto& [node, src] : job.sources) src->stop();
  job.directory.clear();
  actors::from_outside(job.pump.get(), [&] { caf::anon_send_exit(root_watch_, caf::exit_reason::user_shutdown); });
  root_watch_ = nullptr;
  root_ = nullptr;
  if (job.cluster) stop_cluster_actors();
  // ~actor_system runs what is left on the coordinator on this thread, once the pump is gone.
  if (job.pump) job.pump->stop();
  std::unique_lock system_lock(system_mu_);
  system.reset();
}

}  // namespace rill
