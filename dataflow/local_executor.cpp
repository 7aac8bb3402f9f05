#include "dataflow/local_executor.hpp"

#include "dataflow/config_error.hpp"
#include "dataflow/sink.hpp"

namespace rill {

LocalExecutor::LocalExecutor(const JobGraph& graph, Millis zero) : graph_(graph), plan_(graph), zero_(zero) {
  for (const Stage& s : plan_.stages()) {
    states_.emplace_back();
    for (int p = 0; p < s.partitions; ++p) states_.back().push_back(plan_.make_states(s.id));
  }
}

void LocalExecutor::run_batch(Millis t, std::map<int, std::vector<AnyPart>> sources) {
  BatchRun run(plan_, t, std::move(sources));
  while (!run.all_done()) {
    for (int s : run.take_ready_stages()) {
      const Stage& stage = plan_.stages()[static_cast<size_t>(s)];
      for (int p = 0; p < stage.partitions; ++p) {
        TaskContext ctx{t, zero_, graph_.interval(), p, stage.partitions};
        TaskResult result;
        TaskError error;
        if (!plan_.run_task(s, ctx, run.inputs(s, p), states_[static_cast<size_t>(s)][static_cast<size_t>(p)],
                            result, error))
          throw JobError(error.to_string());
        run.complete(s, p, std::move(result));
      }
    }
  }
  for (const OutputOp& op : graph_.outputs()) {
    std::vector<AnyPart> parts = run.node_parts(op.node);
    if (parts.empty()) continue;
    if (op.run) {
      op.run(OutputContext{t, {}}, parts);
      continue;
    }
    // A Sink without the driver's log: its own markers are all that keep a re-run idempotent.
    if (opened_.insert(op.id).second) {
      const Node& node = graph_.node(op.node);
      op.sink->open(SinkContext{op.name, node.name, node.partitions});
    }
    for (size_t i = 0; i < parts.size(); ++i) {
      const int p = static_cast<int>(i);
      if (op.sink->committed(t, p)) continue;
      op.sink->write(t, p, parts[i]);
      op.sink->commit(t, p, op.hash ? op.hash(parts[i]) : 0);
    }
  }
}

}  // namespace rill
