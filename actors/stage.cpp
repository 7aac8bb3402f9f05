// Stage actor: one partition of one stage. Handlers are thin: the pure Plan::run_task does
// the work; the actor owns the partition's operator state between batches, loads it from the
// checkpoint each task names as its base when it holds another, and snapshots it at checkpoints.
#include <chrono>
#include <thread>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/type_ids.hpp"
#include "actors/workers.hpp"
#include "dataflow/failpoint.hpp"
#include "net/codec.hpp"

namespace rill::actors {

namespace {

struct StageState {
  StageStates states;
  std::string name;
  std::optional<std::string> restore_error;  // every task fails with it: state is unusable
  std::vector<size_t> since_full;            // per node: entries written since the last full
  std::vector<std::optional<Millis>> last_full;
  // The batch the in-memory state is as of (nullopt: the empty state), valid when loaded. A
  // task whose base differs (this stage restarted, or ran a batch a dead driver re-runs, or a
  // task failed half-way) reloads its base from the store first.
  std::optional<Millis> applied;
  bool loaded = false;
};

std::string where(const Node& n, int partition) {
  return "state of '" + n.name + "' partition " + std::to_string(partition);
}

// Loads every stateful node's state as of checkpoint c (none: empty state) and deletes the
// snapshots a crashed run wrote after c, which the re-run batches write again.
std::optional<std::string> restore(StageState& st, Job& job, const Stage& stage, int partition,
                                   std::optional<Millis> c) {
  auto& store = job.store->state();
  for (size_t i = 0; i < stage.nodes.size(); ++i) {
    NodeState* state = st.states[i].get();
    if (state == nullptr) continue;
    const Node& n = job.graph->node(stage.nodes[i]);
    Millis at = c.value_or(Millis::min());
    if (c) {
      auto snapshots = store.read_for_restore(n.name, partition, *c);
      if (!snapshots) return where(n, partition) + ": " + snapshots.status().to_string();
      for (const auto& snap : *snapshots) {
        net::Frame frame(std::vector<uint8_t>(snap.bytes.begin(), snap.bytes.end()));
        auto columns = net::read_frame(frame, net::DecodeLimits{}, state->snapshot_type());
        if (!columns)
          return where(n, partition) + " at " + to_string(snap.t) + ": " + columns.status().to_string();
        if (Status s = state->restore(*columns); !s)
          return where(n, partition) + " at " + to_string(snap.t) + ": " + s.to_string();
        if (snap.full) {
          st.last_full[i] = snap.t;
          st.since_full[i] = 0;
        } else {
          st.since_full[i] += static_cast<size_t>(columns->record_count);
        }
      }
      spdlog::debug("stage {}: {} restored at {} from {} snapshot(s)", st.name, n.name, to_string(*c),
                    snapshots->size());
    }
    if (Status s = store.drop_after(n.name, partition, at); !s) return where(n, partition) + ": " + s.to_string();
  }
  return std::nullopt;
}

// Fresh states, then restore at c: after a restart, a failed task, or a driver restart.
void reload(StageState& st, Job& job, const Stage& stage, int partition, std::optional<Millis> c) {
  st.states = job.plan->make_states(stage.id);
  st.since_full.assign(stage.nodes.size(), 0);
  st.last_full.assign(stage.nodes.size(), std::nullopt);
  st.restore_error = restore(st, job, stage, partition, c);
  st.applied = c;
  st.loaded = !st.restore_error;
  if (st.restore_error) spdlog::error("stage {}: {}", st.name, *st.restore_error);
}

// Writes the changes of every stateful node at t, durably, before the task reports done: the
// driver may then record t as a checkpoint. A full snapshot replaces the deltas once they
// outgrow the state (compaction), which keeps restore cost bounded by the state's size.
std::optional<std::string> snapshot(StageState& st, Job& job, const Stage& stage, int partition, Millis t,
                                    TaskReply& reply) {
  auto& store = job.store->state();
  const auto started = std::chrono::steady_clock::now();
  for (size_t i = 0; i < stage.nodes.size(); ++i) {
    NodeState* state = st.states[i].get();
    if (state == nullptr) continue;
    const Node& n = job.graph->node(stage.nodes[i]);
    constexpr size_t kMinCompaction = 1024;
    bool full = !st.last_full[i] ||
                (st.since_full[i] > kMinCompaction && st.since_full[i] > state->live_entries());
    EncodeColumns columns;
    size_t entries = state->snapshot(full, columns);
    if (entries == 0 && !full) continue;
    net::Frame frame = net::write_frame(columns);
    persistence::StateSnapshot snap{t, full, std::string(frame.bytes().begin(), frame.bytes().end())};
    failpoint(full ? "checkpoint.mid_compaction" : "checkpoint.mid_write");
    Status s = store.write(n.name, partition, snap, full ? st.last_full[i] : std::nullopt).get();
    if (!s) return where(n, partition) + " at " + to_string(t) + ": cannot write the snapshot: " + s.to_string();
    reply.snapshot_bytes += static_cast<int64_t>(snap.bytes.size());
    reply.snapshot_keys += static_cast<int64_t>(entries);
    if (full) {
      st.last_full[i] = t;
      st.since_full[i] = 0;
    } else {
      st.since_full[i] += entries;
    }
  }
  reply.snapshot_ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
  return std::nullopt;
}

caf::behavior stage_actor(caf::stateful_actor<StageState>* self, Job* job, int stage, int partition) {
  auto& st = self->state;
  st.name = "stage-" + std::to_string(stage) + "-" + std::to_string(partition);
  st.states = job->plan->make_states(stage);
  bool stateful = false;
  for (const auto& s : st.states) stateful = stateful || s != nullptr;
  // State loads lazily, at the base the first task names: the driver knows which batch the
  // task follows; a stage restarting concurrently with a completion could not.
  return {
      [self, job, stage, partition, stateful](run_atom, const TaskRequest& req) -> TaskReply {
        auto& s = self->state;
        TaskReply reply{stage, partition, req.time, true, {}, {}};
        const Stage& sp = job->plan->stages()[static_cast<size_t>(stage)];
        if (stateful && job->store && (!s.loaded || s.applied != req.after)) {
          if (req.after != req.base) {
            // The batches since the checkpoint changed the state in memory only: the driver
            // runs them again from the checkpoint, which this stage loads on the first.
            reply.ok = false;
            reply.stale_state = true;
            reply.error = TaskError{s.name, req.time,
                                    "operator state is not as of batch " + state_as_of(req.after) +
                                        "; it can be reloaded only at checkpoint " + state_as_of(req.base)};
            return reply;
          }
          reload(s, *job, sp, partition, req.base);
          if (s.restore_error) {
            reply.ok = false;
            reply.error = TaskError{s.name, req.time, "cannot restore operator state: " + *s.restore_error};
            return reply;
          }
        }
        if (job->faults) {
          Millis stall = job->faults->pause_stage(s.name, req.time);
          // A paused actor holds its thread and mailbox, as one stuck in a slow call would.
          if (stall.count() > 0) std::this_thread::sleep_for(stall);
          if (job->faults->fail_task(s.name, req.time)) {
            reply.ok = false;
            reply.error = TaskError{s.name, req.time, "injected fault: a user function threw"};
            return reply;  // before the operators ran: the state is untouched
          }
        }
        TaskContext ctx{req.time, req.zero, job->graph->interval(), partition, sp.partitions};
        reply.ok = job->plan->run_task(stage, ctx, req.inputs, s.states, reply.result, reply.error);
        failpoint("stage.mid_batch");
        if (reply.ok && stateful && job->store) {
          // Between checkpoints the state changes in memory only.
          if (auto e = req.checkpoint ? snapshot(s, *job, sp, partition, req.time, reply) : std::nullopt) {
            reply.ok = false;
            reply.error = TaskError{s.name, req.time, *e};
          } else {
            s.applied = req.time;
          }
        }
        // A function that threw may have left the state half-updated: the retry reloads it.
        if (!reply.ok) s.loaded = false;
        return reply;
      },
  };
}

}  // namespace

caf::actor spawn_stage(caf::local_actor& parent, Job& job, int stage, int partition) {
  return parent.spawn(stage_actor, &job, stage, partition);
}

}  // namespace rill::actors
