// Batch builder: turns an input stream's arrivals before t into batch t's partitions, one
// block per batch, numbered so the driver can record the allocation.
#include <caf/all.hpp>

#include "actors/type_ids.hpp"
#include "actors/workers.hpp"

namespace rill::actors {

namespace {

struct BuilderState {
  uint64_t next_seq = 0;
};

caf::behavior builder_actor(caf::stateful_actor<BuilderState>* self, Job* job, int index) {
  return {
      [self, job, index](take_atom, int64_t t) -> SourceBatch {
        const auto& [node, source] = job->sources[static_cast<size_t>(index)];
        SourceBatch out{node, Millis{t}, self->state.next_seq++, 0, {}};
        Taken taken = source->take(Millis{t}, job->graph->node(node).partitions);
        out.parts = std::move(taken.parts);
        out.records = taken.records;
        return out;
      },
      [job, index](pending_atom) -> bool { return job->sources[static_cast<size_t>(index)].second->has_pending(); },
  };
}

}  // namespace

caf::actor spawn_batch_builder(caf::local_actor& parent, Job& job, int source_index) {
  return parent.spawn(builder_actor, &job, source_index);
}

}  // namespace rill::actors
