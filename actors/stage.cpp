// Stage actor: one partition of one stage. Handlers are thin: the pure Plan::run_task does
// the work; the actor owns the partition's operator state between batches.
#include <caf/all.hpp>

#include "actors/type_ids.hpp"
#include "actors/workers.hpp"

namespace rill::actors {

namespace {

struct StageState {
  StageStates states;
  std::string name;
};

caf::behavior stage_actor(caf::stateful_actor<StageState>* self, Job* job, int stage, int partition) {
  self->state.states = job->plan->make_states(stage);
  self->state.name = "stage-" + std::to_string(stage) + "-" + std::to_string(partition);
  return {
      [self, job, stage, partition](run_atom, const TaskRequest& req) -> TaskReply {
        TaskReply reply{stage, partition, req.time, true, {}, {}};
        const Stage& st = job->plan->stages()[static_cast<size_t>(stage)];
        TaskContext ctx{req.time, req.zero, job->graph->interval(), partition, st.partitions};
        reply.ok = job->plan->run_task(stage, ctx, req.inputs, self->state.states, reply.result,
                                       reply.error);
        return reply;
      },
  };
}

}  // namespace

caf::actor spawn_stage(caf::local_actor& parent, Job& job, int stage, int partition) {
  return parent.spawn(stage_actor, &job, stage, partition);
}

}  // namespace rill::actors
