#include "dataflow/batch_run.hpp"

#include <algorithm>

namespace rill {

BatchRun::BatchRun(const Plan& plan, Millis time, std::map<int, std::vector<AnyPart>> sources)
    : plan_(&plan), time_(time), sources_(std::move(sources)), progress_(plan.stages().size()) {
  for (const Stage& s : plan.stages()) {
    progress_[static_cast<size_t>(s.id)].remaining = s.partitions;
    progress_[static_cast<size_t>(s.id)].results.resize(static_cast<size_t>(s.partitions));
  }
}

std::vector<int> BatchRun::take_ready_stages() {
  std::vector<int> ready;
  for (const Stage& s : plan_->stages()) {
    StageProgress& p = progress_[static_cast<size_t>(s.id)];
    if (p.launched) continue;
    bool ok = std::all_of(s.upstream.begin(), s.upstream.end(), [this](int u) {
      return progress_[static_cast<size_t>(u)].remaining == 0;
    });
    if (!ok) continue;
    p.launched = true;
    ready.push_back(s.id);
  }
  return ready;
}

std::vector<TaskInput> BatchRun::inputs(int stage, int partition) const {
  const Stage& st = plan_->stages()[static_cast<size_t>(stage)];
  const JobGraph& g = plan_->graph();
  std::vector<TaskInput> in;
  for (int id : st.sources) {
    auto it = sources_.find(id);
    AnyPart part;
    if (it != sources_.end() && static_cast<size_t>(partition) < it->second.size())
      part = it->second[static_cast<size_t>(partition)];
    in.push_back(TaskInput{id, -1, std::move(part)});
  }
  for (int id : st.nodes) {
    const Node& n = g.node(id);
    for (size_t e = 0; e < n.inputs.size(); ++e) {
      const Edge& edge = n.inputs[e];
      int from_stage = plan_->stage_of(edge.from);
      if (from_stage == stage && edge.kind == Edge::Kind::one_to_one) continue;
      const StageProgress& up = progress_[static_cast<size_t>(from_stage)];
      if (edge.kind == Edge::Kind::one_to_one) {
        for (const auto& [node, part] : up.results[static_cast<size_t>(partition)].exported)
          if (node == edge.from) in.push_back(TaskInput{id, static_cast<int>(e), part});
        continue;
      }
      // Exchange: bucket `partition` of every upstream partition, in upstream order; the task
      // merges them (on its worker, not here).
      std::vector<AnyPart> buckets;
      bool any = false;
      for (const TaskResult& r : up.results)
        for (const TaskBuckets& b : r.buckets)
          if (b.node == id && b.edge == static_cast<int>(e)) {
            buckets.push_back(b.buckets[static_cast<size_t>(partition)]);
            any = any || buckets.back() != nullptr;
          }
      in.push_back(TaskInput{id, static_cast<int>(e), nullptr,
                             any ? std::move(buckets) : std::vector<AnyPart>{}});
    }
  }
  return in;
}

void BatchRun::complete(int stage, int partition, TaskResult result) {
  StageProgress& p = progress_[static_cast<size_t>(stage)];
  // A task re-sent after its actor restarted may answer twice: the first answer counts.
  if (p.done.empty()) p.done.assign(p.results.size(), false);
  if (p.done[static_cast<size_t>(partition)]) return;
  p.done[static_cast<size_t>(partition)] = true;
  p.results[static_cast<size_t>(partition)] = std::move(result);
  if (--p.remaining == 0) ++stages_done_;
}

bool BatchRun::completed(int stage, int partition) const {
  const StageProgress& p = progress_[static_cast<size_t>(stage)];
  return !p.done.empty() && p.done[static_cast<size_t>(partition)];
}

std::vector<AnyPart> BatchRun::node_parts(int node) const {
  const StageProgress& p = progress_[static_cast<size_t>(plan_->stage_of(node))];
  std::vector<AnyPart> parts;
  bool any = false;
  for (const TaskResult& r : p.results)
    for (const auto& [id, part] : r.exported)
      if (id == node) {
        parts.push_back(part);
        any = any || part != nullptr;
      }
  if (!any) return {};
  return parts;
}

}  // namespace rill
