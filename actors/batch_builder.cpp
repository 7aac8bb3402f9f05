// Batch builder: turns an input stream's arrivals before t into batch t's partitions, one
// block per batch numbered by its time, so the driver can record the allocation; re-reads a
// recorded batch of a replayable source for a re-run. A cut asked for twice is answered twice
// the same (a driver may die between asking and hearing).
#include <memory>
#include <thread>

#include <caf/all.hpp>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include "actors/type_ids.hpp"
#include "actors/workers.hpp"

namespace rill::actors {

namespace {

// Batch t's cut. `after`: on a worker, the last read the driver recorded for the stream, which
// the cut continues right after (empty: this node's own position is the truth).
SourceBatch take(Job* job, int index, int64_t t, const std::string& after, std::thread::id& cut_thread) {
  const auto& [node, source] = job->sources[static_cast<size_t>(index)];
  std::lock_guard lock(job->cuts_mu);
  // Asked again for the same time: the asker died before it heard the answer.
  if (auto it = job->last_cuts.find(index); it != job->last_cuts.end() && it->second.time == Millis{t})
    return it->second;
  if (!after.empty())
    if (Status s = source->continue_after(after); !s)
      return SourceBatch{node, Millis{t}, static_cast<uint64_t>(t), 0, {}, {},
                         "stream '" + job->graph->node(node).name + "': " + s.to_string()};
  // A new time: the asker has moved past the kept cut. Dropping it before the take keeps
  // one batch of records in memory, not two (the kept cut is replaced below anyway).
  job->last_cuts.erase(index);
#if defined(__GLIBC__)
  // On another worker thread than the dropped cut's, the new records come from another
  // malloc arena, which cannot reuse the pages the dropped ones freed: return those to
  // the OS, or the process holds a batch per arena (word count, 1 s batches: 564 MB peak,
  // not 436). On the same thread they are reused; trimming would only cost page faults.
  if (cut_thread != std::this_thread::get_id()) malloc_trim(0);
  cut_thread = std::this_thread::get_id();
#endif
  SourceBatch out{node, Millis{t}, static_cast<uint64_t>(t), 0, {}, {}, {}};
  Taken taken = source->take(Millis{t}, job->graph->node(node).partitions);
  out.parts = std::move(taken.parts);
  out.records = taken.records;
  out.replay = std::move(taken.replay);
  if (!taken.error.empty()) out.error = "stream '" + job->graph->node(node).name + "': " + std::move(taken.error);
  job->last_cuts[index] = out;
  return out;
}

caf::behavior builder_actor(caf::event_based_actor*, Job* job, int index) {
  // The worker thread that made the kept cut: its records live in that thread's malloc arena.
  auto cut_thread = std::make_shared<std::thread::id>();
  return {
      [job, index, cut_thread](take_atom, int64_t t) -> SourceBatch { return take(job, index, t, {}, *cut_thread); },
      [job, index, cut_thread](take_atom, int64_t t, const std::string& after) -> SourceBatch {
        return take(job, index, t, after, *cut_thread);
      },
      [job, index](replay_atom, int64_t t, const std::string& recorded) -> SourceBatch {
        const auto& [node, source] = job->sources[static_cast<size_t>(index)];
        const Node& n = job->graph->node(node);
        SourceBatch out{node, Millis{t}, static_cast<uint64_t>(t), 0, {}, recorded, {}};
        if (!source->replayable()) {
          // Nothing recorded to re-read: the records the crashed run held only in memory are
          // the loss an unreliable source without a WAL allows. The re-run takes what has
          // arrived since the restart instead, so that is processed once, here.
          // A driver restarted in this process re-runs a batch whose cut is still here.
          std::lock_guard lock(job->cuts_mu);
          if (auto it = job->last_cuts.find(index); it != job->last_cuts.end() && it->second.time == Millis{t})
            return it->second;
          Taken taken = source->take(Millis{t}, n.partitions);
          out.parts = std::move(taken.parts);
          out.records = taken.records;
          job->last_cuts[index] = out;
          return out;
        }
        auto taken = source->replay(Millis{t}, recorded, n.partitions);
        if (!taken) {
          out.error = "stream '" + n.name + "': " + taken.status().message();
          return out;
        }
        out.parts = std::move(taken->parts);
        out.records = taken->records;
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
