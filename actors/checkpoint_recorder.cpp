// A worker's checkpoint recorder: records each checkpoint the driver's tasks name as their base
// in the worker's store, runs the worker's retention every few of them, and trims the WAL of
// the receivers placed here when the driver's retention says so.
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/cluster_actors.hpp"
#include "actors/type_ids.hpp"
#include "persistence/retention.hpp"

namespace rill::actors {
namespace {

struct RecorderState {
  std::optional<Millis> checkpoint;  // the latest recorded
  int since_retention = 0;
  static inline const char* name = "checkpoint-recorder";
};

caf::behavior checkpoint_recorder(caf::stateful_actor<RecorderState>* self, Job* job) {
  return {[job](trim_atom, int stream, uint64_t below) {
            if (auto trimmed = persistence::trim_wal(*job->store, stream, below); !trimmed)
              spdlog::warn("node {}: cannot trim the WAL of stream '{}': {}", job->node->name,
                           job->graph->node(stream).name, trimmed.status().to_string());
          },
          [self, job](tick_atom, int64_t base_ms) {
            auto& st = self->state;
            Millis base{base_ms};
            if (st.checkpoint && base <= *st.checkpoint) return;
            st.checkpoint = base;
            if (Status s = job->meta->record_completion(base, /*checkpoint=*/true); !s) {
              spdlog::warn("node {}: cannot record checkpoint {}: {}", job->node->name,
                           to_string(base), s.to_string());
              return;
            }
            if (++st.since_retention < 10) return;
            st.since_retention = 0;
            auto stats = persistence::retain(*job->store, base);
            if (!stats)
              spdlog::warn("node {}: retention at {}: {}", job->node->name, to_string(base),
                           stats.status().to_string());
          }};
}

}  // namespace

caf::actor spawn_checkpoint_recorder(caf::local_actor& parent, Job& job) {
  return parent.spawn(checkpoint_recorder, &job);
}

}  // namespace rill::actors
