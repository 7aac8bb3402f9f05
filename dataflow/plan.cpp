#include "dataflow/plan.hpp"

#include <algorithm>
#include <exception>
#include <map>

#include "dataflow/dead_letter.hpp"

namespace rill {

std::string TaskError::to_string() const {
  return "operator '" + node + "' failed at batch time " + rill::to_string(time) + ": " + cause;
}

namespace {

void add_unique(std::vector<int>& v, int x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

}  // namespace

Plan::Plan(const JobGraph& graph) : graph_(&graph) {
  const auto& nodes = graph.nodes();
  stage_of_.assign(nodes.size(), -1);
  exchange_out_.resize(nodes.size());
  for (const Node& n : nodes)
    for (size_t e = 0; e < n.inputs.size(); ++e)
      if (n.inputs[e].kind == Edge::Kind::exchange)
        exchange_out_[static_cast<size_t>(n.inputs[e].from)].emplace_back(n.id, static_cast<int>(e));
  for (const Node& n : nodes) {
    // Fuse into the parent's stage when every input is one-to-one from that same stage.
    int fuse = -1;
    bool fusable = !n.is_source && !n.inputs.empty();
    for (const Edge& e : n.inputs) {
      int s = stage_of_[static_cast<size_t>(e.from)];
      if (e.kind != Edge::Kind::one_to_one || (fuse != -1 && fuse != s)) fusable = false;
      fuse = s;
    }
    int s = fusable ? fuse : static_cast<int>(stages_.size());
    if (!fusable) stages_.push_back(Stage{s, n.partitions, {}, {}, {}, {}});
    stage_of_[static_cast<size_t>(n.id)] = s;
    Stage& st = stages_[static_cast<size_t>(s)];
    st.nodes.push_back(n.id);
    if (n.is_source) st.sources.push_back(n.id);
    for (const Edge& e : n.inputs) {
      int from_stage = stage_of_[static_cast<size_t>(e.from)];
      if (from_stage != s) {
        add_unique(st.upstream, from_stage);
        add_unique(stages_[static_cast<size_t>(from_stage)].exported, e.from);
      }
    }
  }
  for (const OutputOp& op : graph.outputs())
    add_unique(stages_[static_cast<size_t>(stage_of(op.node))].exported, op.node);
}

StageStates Plan::make_states(int stage) const {
  StageStates states;
  for (int id : stages_.at(static_cast<size_t>(stage)).nodes) {
    const Node& n = graph_->node(id);
    states.push_back(n.make_state ? n.make_state() : nullptr);
  }
  return states;
}

bool Plan::run_task(int stage, const TaskContext& ctx, const std::vector<TaskInput>& inputs,
                    StageStates& states, TaskResult& result, TaskError& error) const {
  const Stage& st = stages_.at(static_cast<size_t>(stage));
  std::map<int, AnyPart> local;  // node -> this partition's output at ctx.time
  auto external = [&](int node, int edge) -> AnyPart {
    for (const TaskInput& in : inputs) {
      if (in.node != node || in.edge != edge) continue;
      if (in.buckets.empty()) return in.part;
      bool any = false;
      for (const AnyPart& b : in.buckets) any = any || b != nullptr;
      if (!any) return nullptr;
      return graph_->node(node).inputs[static_cast<size_t>(edge)].merge(in.buckets);
    }
    return nullptr;
  };
  // Dead letters live for one task only: a re-run of the batch recomputes the same ones in
  // the same order, which keeps the dead-letter stream deterministic without extra state.
  std::map<int, std::vector<DeadLetter>> dead;
  TaskContext node_ctx = ctx;
  node_ctx.dead_letters_by_node = &dead;
  std::vector<AnyPart> args;
  for (size_t i = 0; i < st.nodes.size(); ++i) {
    const Node& n = graph_->node(st.nodes[i]);
    AnyPart out;
    try {
      if (n.is_source) {
        out = external(n.id, -1);
      } else {
        args.clear();
        bool any = false;
        for (size_t e = 0; e < n.inputs.size(); ++e) {
          const Edge& edge = n.inputs[e];
          AnyPart in = stage_of(edge.from) == stage && edge.kind == Edge::Kind::one_to_one
                           ? local[edge.from]
                           : external(n.id, static_cast<int>(e));
          any = any || in != nullptr;
          args.push_back(std::move(in));
        }
        if (any) {
          node_ctx.dead_letters = n.dead_letters ? &dead[n.id] : nullptr;
          out = n.compute(node_ctx, args, states[i].get());
          // Named here, at run time: the operator may be renamed after dead_letters().
          if (n.dead_letters)
            for (DeadLetter& d : dead[n.id]) d.op = n.name;
        }
      }
      local[n.id] = out;
      // Map-side split for every exchange edge that reads this node from another stage.
      if (out) {
        for (const auto& [consumer_id, e] : exchange_out_[static_cast<size_t>(n.id)]) {
          const Node& consumer = graph_->node(consumer_id);
          const Edge& edge = consumer.inputs[static_cast<size_t>(e)];
          result.buckets.push_back(TaskBuckets{consumer_id, e, edge.split(out, consumer.partitions)});
        }
      }
    } catch (const std::exception& ex) {
      error = TaskError{n.name, ctx.time, ex.what()};
      return false;
    } catch (...) {
      error = TaskError{n.name, ctx.time, "unknown exception"};
      return false;
    }
  }
  for (int id : st.exported) result.exported.emplace_back(id, local[id]);
  return true;
}

}  // namespace rill
