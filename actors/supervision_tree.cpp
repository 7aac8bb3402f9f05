// The supervision tree a started context runs: which actors, under which supervisor, with
// which restart policy, and where each one's handle goes in the Job's directory.
#include <caf/all.hpp>

#include "actors/cluster_runtime.hpp"
#include "actors/context_runtime.hpp"
#include "actors/driver.hpp"
#include "actors/type_ids.hpp"
#include "actors/workers.hpp"

namespace rill {

actors::SupervisorSpec ContextRuntime::tree_spec(const ContextOptions& options) {
  using actors::ChildSpec;
  actors::Job* j = &job;
  auto wire = [j](std::string role, int index) {
    return [j, role, index](const caf::actor& a) { j->directory.set(role, index, a); };
  };
  actors::RestartPolicyOptions policy;
  policy.max_restarts = options.supervisor_max_restarts;
  policy.period = options.supervisor_period;
  policy.backoff_min = options.restart_backoff_min;
  policy.backoff_max = options.restart_backoff_max;
  // Every supervisor gets the policy and reports restarts; every child is also listed by its
  // tree name, for fault injection.
  auto name_all = [j, policy](actors::SupervisorSpec& spec) {
    spec.policy = policy;
    spec.on_restart = [j](const ChildSpec& c, const std::string& why) { j->status->actor_restarted(c.kind, c.name, why); };
    for (ChildSpec& c : spec.children) {
      auto routed = std::move(c.on_started);
      c.on_started = [j, ref = ActorRef{c.name, c.kind}, routed](const caf::actor& a) {
        j->directory.set_named(ref, a);
        if (routed) routed(a);
      };
    }
  };
  actors::SupervisorSpec receivers{"receivers", actors::Strategy::one_for_one, {}, {}, 1};
  actors::SupervisorSpec workers{"workers", actors::Strategy::one_for_one, {}, {}, 2};
  std::vector<ChildSpec> builders;  // under the driver: they cut the batches it schedules
  // A worker has no driver: the builders of the receivers placed there answer its link.
  std::vector<ChildSpec>& builder_home = actors::is_worker(job) ? workers.children : builders;
  for (size_t i = 0; i < job.sources.size(); ++i) {
    int idx = static_cast<int>(i);
    const std::string& name = job.graph->node(job.sources[i].first).name;
    if (actors::runs_elsewhere(job, i)) {
      // Its receiver and batch builder run on a worker: one actor here asks them.
      builders.push_back(ChildSpec{"builder-" + name, "batch_builder", actors::RestartType::permanent,
                                   [j, idx](caf::local_actor& p) { return actors::spawn_remote_source(p, *j, idx); },
                                   [j, idx](const caf::actor& a) {
                                     j->directory.set("builder", idx, a);
                                     j->directory.set("receiver", idx, a);
                                   }});
      continue;
    }
    if (ReceiverSlot* slot = job.sources[i].second->receiver_slot()) {
      slot->set_clock(job.clock);
      receivers.children.push_back(ChildSpec{"receiver-" + name, "receiver", actors::RestartType::permanent,
                                             [j, slot](caf::local_actor& p) { return actors::spawn_receiver(p, *j, *slot); },
                                             wire("receiver", idx)});
    }
    builder_home.push_back(ChildSpec{"builder-" + name, "batch_builder", actors::RestartType::permanent,
                                     [j, idx](caf::local_actor& p) { return actors::spawn_batch_builder(p, *j, idx); },
                                     wire("builder", idx)});
  }
  for (const Stage& s : job.plan->stages())
    for (int p = 0; p < s.partitions; ++p)
      if (actors::runs_partition(job, p))
        workers.children.push_back(ChildSpec{"stage-" + std::to_string(s.id) + "-" + std::to_string(p), "stage",
                                           actors::RestartType::permanent,
                                           [j, sid = s.id, p](caf::local_actor& parent) {
                                             return actors::spawn_stage(parent, *j, sid, p);
                                           },
                                           wire("stage", actors::stage_index(s.id, p))});
  // On a cluster's driver node, one link per worker stands in for the stage partitions it owns.
  if (job.cluster && !actors::is_worker(job))
    for (const net::NodeConfig& n : job.cluster->nodes) {
      if (n.role != net::NodeRole::worker) continue;
      std::vector<int> owned;  // stage_index of every partition it owns
      for (const Stage& s : job.plan->stages())
        for (int p = 0; p < s.partitions; ++p)
          if (&job.cluster->owner_of(p) == &n) owned.push_back(actors::stage_index(s.id, p));
      workers.children.push_back(ChildSpec{"link-" + n.name, "node_link", actors::RestartType::permanent,
                                           [j, node = &n](caf::local_actor& p) { return actors::spawn_node_link(p, *j, *node); },
                                           [j, owned, node = &n](const caf::actor& a) {
                                             for (int index : owned) j->directory.set("stage", index, a);
                                             j->directory.set("link", actors::node_index(*j->cluster, *node), a);
                                           }});
    }
  // A worker writes the partitions it computed of streams only Sinks read; the driver the rest.
  for (const OutputOp& op : job.graph->outputs())
    if (!actors::is_worker(job) || (op.sink && job.graph->written_where_computed(op.node)))
      workers.children.push_back(ChildSpec{"sink-" + op.name, "sink", actors::RestartType::permanent,
                                         [j, id = op.id](caf::local_actor& p) { return actors::spawn_sink(p, *j, id); },
                                         wire("sink", op.id)});
  // one_for_one everywhere: no two actors share in-flight state that a restart of one would
  // leave inconsistent. A stage reloads its state from the last checkpoint and the driver
  // re-runs its task; a builder's cut is atomic; a sink's commit is idempotent; a restarted
  // driver re-plans from the meta log. Restarting siblings together would only add work.
  actors::SupervisorSpec driver{"driver", actors::Strategy::one_for_one, {}, std::move(builders), 3};
  driver.children.push_back(ChildSpec{"job-scheduler", "driver", actors::RestartType::permanent,
                                      [j](caf::local_actor& p) { return actors::spawn_driver(p, *j); },
                                      wire("driver", 0)});
  // Workers start before the driver, so its first batch finds every handle in the directory.
  actors::SupervisorSpec root{"root", actors::Strategy::one_for_one, {}, {}, 0};
  name_all(receivers);
  workers.children.insert(workers.children.begin(), actors::supervisor_child(std::move(receivers)));
  name_all(workers);
  name_all(driver);
  root.children.push_back(actors::supervisor_child(std::move(workers)));
  if (!actors::is_worker(job)) root.children.push_back(actors::supervisor_child(std::move(driver)));
  name_all(root);
  return root;
}

}  // namespace rill
