#include "dataflow/plan.hpp"

#include <algorithm>
#include <exception>
#include <map>

#include "dataflow/dead_letter.hpp"
#include "dataflow/record_step.hpp"

namespace rill {

std::string TaskError::to_string() const {
  return "operator '" + node + "' failed at batch time " + rill::to_string(time) + ": " + cause;
}

namespace {

void add_unique(std::vector<int>& v, int x) {
  if (std::find(v.begin(), v.end(), x) == v.end()) v.push_back(x);
}

// A node whose function may run one record at a time inside a chain. Dead-letter nodes stay
// out: their per-record try/catch and their DeadLetter list need the node's own loop.
bool per_record(const Node& n) { return n.per_record && !n.dead_letters && n.inputs.size() == 1; }

// One node of a running chain: applies its step to each record and pushes on to next.
class ChainLink final : public RecordPush {
 public:
  ChainLink(const Node& node, RecordPush& next, const Node*& failed) : node_(&node), next_(&next), failed_(&failed) {}
  void push(void* record) override {
    try {
      node_->per_record->apply(record, *next_);
    } catch (...) {
      // The innermost link sees the throw first: it names the node whose function threw.
      if (*failed_ == nullptr) *failed_ = node_;
      throw;
    }
  }

 private:
  const Node* node_;
  RecordPush* next_;
  const Node** failed_;
};

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
        // An exchange reads the buckets run_task splits off, never the part itself.
        if (e.kind == Edge::Kind::one_to_one) add_unique(stages_[static_cast<size_t>(from_stage)].exported, e.from);
      }
    }
  }
  for (const OutputOp& op : graph.outputs())
    add_unique(stages_[static_cast<size_t>(stage_of(op.node))].exported, op.node);
  find_chains();
}

void Plan::find_chains() {
  const auto& nodes = graph_->nodes();
  chain_next_.assign(nodes.size(), -1);
  push_split_.assign(nodes.size(), false);
  std::vector<std::vector<std::pair<int, int>>> readers(nodes.size());  // (node, edge)
  for (const Node& n : nodes)
    for (size_t e = 0; e < n.inputs.size(); ++e)
      readers[static_cast<size_t>(n.inputs[e].from)].emplace_back(n.id, static_cast<int>(e));
  std::vector<bool> output_read(nodes.size(), false);
  for (const OutputOp& op : graph_->outputs()) output_read[static_cast<size_t>(op.node)] = true;
  for (const Node& n : nodes) {
    const auto id = static_cast<size_t>(n.id);
    // Only a part nobody else reads may stay unbuilt.
    if (!per_record(n) || output_read[id] || readers[id].size() != 1) continue;
    const auto [reader_id, e] = readers[id].front();
    const Node& reader = graph_->node(reader_id);
    const Edge& edge = reader.inputs[static_cast<size_t>(e)];
    if (edge.kind == Edge::Kind::one_to_one && stage_of(reader_id) == stage_of(n.id) && per_record(reader))
      chain_next_[id] = reader_id;
    else if (edge.kind == Edge::Kind::exchange && edge.push_split)
      push_split_[id] = true;
  }
}

bool Plan::is_chain_end(const Node& n) const {
  if (!per_record(n) || chain_next_[static_cast<size_t>(n.id)] != -1) return false;
  return push_split_[static_cast<size_t>(n.id)] || chain_next_[static_cast<size_t>(n.inputs[0].from)] == n.id;
}

AnyPart Plan::run_chain(int stage, const Node& end, const std::vector<TaskInput>& inputs,
                        std::map<int, AnyPart>& local, TaskResult& result, const Node*& failed) const {
  std::vector<const Node*> chain{&end};
  while (chain_next_[static_cast<size_t>(chain.back()->inputs[0].from)] == chain.back()->id)
    chain.push_back(&graph_->node(chain.back()->inputs[0].from));
  const Node& head = *chain.back();  // chain runs from back (head) to front (end)
  const Edge& in_edge = head.inputs[0];
  AnyPart in;
  if (stage_of(in_edge.from) == stage && in_edge.kind == Edge::Kind::one_to_one) {
    in = local[in_edge.from];
  } else {
    in = input_of(inputs, head.id, 0);
  }
  if (!in) return nullptr;
  std::unique_ptr<BucketBuilder> buckets;
  std::unique_ptr<PartBuilder> part;
  std::pair<int, int> exchange{-1, -1};
  RecordPush* next = nullptr;
  if (push_split_[static_cast<size_t>(end.id)]) {
    exchange = exchange_out_[static_cast<size_t>(end.id)].front();
    const Node& consumer = graph_->node(exchange.first);
    buckets = consumer.inputs[static_cast<size_t>(exchange.second)].push_split(consumer.partitions);
    next = buckets.get();
  } else {
    part = end.per_record->builder();
    next = part.get();
  }
  std::vector<ChainLink> links;
  links.reserve(chain.size());  // links point at each other: no reallocation
  for (size_t k = 0; k + 1 < chain.size(); ++k) next = &links.emplace_back(*chain[k], *next, failed);
  try {
    head.per_record->apply_all(in, *next);
  } catch (...) {
    if (failed == nullptr) failed = &head;
    throw;
  }
  if (part) return part->finish();
  result.buckets.push_back(TaskBuckets{exchange.first, exchange.second, buckets->finish()});
  return nullptr;
}

StageStates Plan::make_states(int stage) const {
  StageStates states;
  for (int id : stages_.at(static_cast<size_t>(stage)).nodes) {
    const Node& n = graph_->node(id);
    states.push_back(n.make_state ? n.make_state() : nullptr);
  }
  return states;
}

AnyPart Plan::input_of(const std::vector<TaskInput>& inputs, int node, int edge) const {
  for (const TaskInput& in : inputs) {
    if (in.node != node || in.edge != edge) continue;
    if (in.buckets.empty()) return in.part;
    bool any = false;
    for (const AnyPart& b : in.buckets) any = any || b != nullptr;
    if (!any) return nullptr;
    return graph_->node(node).inputs[static_cast<size_t>(edge)].merge(in.buckets);
  }
  return nullptr;
}

bool Plan::run_task(int stage, const TaskContext& ctx, const std::vector<TaskInput>& inputs,
                    StageStates& states, TaskResult& result, TaskError& error) const {
  const Stage& st = stages_.at(static_cast<size_t>(stage));
  std::map<int, AnyPart> local;  // node -> this partition's output at ctx.time
  auto external = [&](int node, int edge) { return input_of(inputs, node, edge); };
  // Dead letters live for one task only: a re-run of the batch recomputes the same ones in
  // the same order, which keeps the dead-letter stream deterministic without extra state.
  std::map<int, std::vector<DeadLetter>> dead;
  TaskContext node_ctx = ctx;
  node_ctx.dead_letters_by_node = &dead;
  std::vector<AnyPart> args;
  for (size_t i = 0; i < st.nodes.size(); ++i) {
    const Node& n = graph_->node(st.nodes[i]);
    if (chain_next_[static_cast<size_t>(n.id)] != -1) continue;  // runs inside its reader's chain
    AnyPart out;
    const Node* failed = nullptr;  // set by a chain: the node whose function threw
    try {
      if (is_chain_end(n)) {
        out = run_chain(stage, n, inputs, local, result, failed);
      } else if (n.is_source) {
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
      error = TaskError{(failed ? *failed : n).name, ctx.time, ex.what()};
      return false;
    } catch (...) {
      error = TaskError{(failed ? *failed : n).name, ctx.time, "unknown exception"};
      return false;
    }
  }
  for (int id : st.exported) result.exported.emplace_back(id, local[id]);
  return true;
}

}  // namespace rill
