// Sink actor: runs one output operation per batch, in batch order, and records a commit per
// (output, batch, partition) so a re-run of the batch skips what was already written.
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/type_ids.hpp"
#include "actors/workers.hpp"

namespace rill::actors {

namespace {

caf::behavior sink_actor(caf::event_based_actor*, Job* job, int output) {
  return {
      [job, output](output_atom, const OutputRequest& req) -> OutputReply {
        const OutputOp& op = job->graph->outputs()[static_cast<size_t>(output)];
        OutputReply reply{output, req.time, std::nullopt};
        auto* meta = job->meta.get();
        auto committed = [meta, output, t = req.time](int p) { return meta->is_committed(output, t, p); };
        if (committed(0) && req.parts.size() == 1) return reply;  // whole batch already written
        try {
          op.run(OutputContext{req.time, committed}, req.parts);
        } catch (const std::exception& e) {
          reply.error = "output '" + op.name + "' failed at batch time " + to_string(req.time) + ": " + e.what();
          return reply;
        }
        for (size_t p = 0; p < req.parts.size(); ++p) {
          Status s = meta->record_commit(output, req.time, static_cast<int>(p), 0);
          if (!s) {
            reply.error = "output '" + op.name + "': cannot record commit: " + s.to_string();
            break;
          }
        }
        return reply;
      },
  };
}

}  // namespace

caf::actor spawn_sink(caf::local_actor& parent, Job& job, int output) {
  return parent.spawn(sink_actor, &job, output);
}

}  // namespace rill::actors
