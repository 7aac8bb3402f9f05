// The physical plan: the DAG cut into stages at exchange edges, and the pure task runner that
// executes one stage partition for one batch. Immutable after build; share freely.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "dataflow/graph.hpp"

namespace rill {

/// Nodes fused into one task per partition: a chain joined by one-to-one edges.
struct Stage {
  int id = -1;
  int partitions = 1;
  std::vector<int> nodes;       ///< in topological (construction) order
  std::vector<int> upstream;    ///< stages this one reads from
  std::vector<int> exported;    ///< nodes read outside the stage as parts (one-to-one, outputs)
  std::vector<int> sources;     ///< source nodes in this stage (fed by batch builders)
};

/// Input to one task that does not come from inside its stage.
struct TaskInput {
  int node = -1;  ///< the consuming node (a source node: its own data)
  int edge = -1;  ///< index into node.inputs; -1 for source data
  AnyPart part;
  /// An exchange edge: each parent partition's bucket for this partition, in parent-partition
  /// order; the task merges them (Edge::merge) and `part` is unset. Across nodes the buckets
  /// are where to fetch them (net/task_frames.hpp BucketRef) until the worker fetched them.
  std::vector<AnyPart> buckets{};
};

/// One exchange edge's buckets produced by a task: bucket q goes to consumer partition q.
struct TaskBuckets {
  int node = -1;  ///< the consuming node
  int edge = -1;
  std::vector<AnyPart> buckets;
};

struct TaskResult {
  std::vector<std::pair<int, AnyPart>> exported;  ///< (node, this partition's output)
  std::vector<TaskBuckets> buckets;
};

/// The error of a failed task: names operator, batch time and cause.
struct TaskError {
  std::string node;
  Millis time{0};
  std::string cause;
  std::string to_string() const;
};

/// Per-partition states of one stage's nodes, indexed like Stage::nodes (null if stateless).
using StageStates = std::vector<std::unique_ptr<NodeState>>;

class Plan {
 public:
  /// Cuts graph into stages. REQUIRES: graph outlives the plan and is validated.
  explicit Plan(const JobGraph& graph);

  const JobGraph& graph() const { return *graph_; }
  const std::vector<Stage>& stages() const { return stages_; }
  int stage_of(int node) const { return stage_of_.at(static_cast<size_t>(node)); }

  /// Fresh states for one partition of stage s.
  StageStates make_states(int stage) const;

  /// Runs partition ctx.partition of stage s at ctx.time. User-function exceptions are
  /// caught here, the one place that knows which operator ran, and returned as TaskError,
  /// except per-record ones of a node with Node::dead_letters, which become DeadLetters.
  bool run_task(int stage, const TaskContext& ctx, const std::vector<TaskInput>& inputs,
                StageStates& states, TaskResult& result, TaskError& error) const;

 private:
  const JobGraph* graph_;
  std::vector<Stage> stages_;
  std::vector<int> stage_of_;
  // exchange_out_[n]: the (consumer node, edge index) of every exchange edge reading node n,
  // found once here rather than by scanning the graph in every task.
  std::vector<std::vector<std::pair<int, int>>> exchange_out_;
  // Push chains (dataflow/record_step.hpp): chain_next_[n] is the per-record node that n's
  // records go straight into (-1: none), and push_split_[n] says n's records go straight into
  // its one exchange edge's Edge::push_split. Such outputs are never built as parts.
  std::vector<int> chain_next_;
  std::vector<bool> push_split_;

  void find_chains();
  // Runs the chain of per-record nodes ending at `end`; returns end's part, or null when it
  // was pushed into its exchange edge's buckets (appended to result) or had no input.
  AnyPart run_chain(int stage, const Node& end, const std::vector<TaskInput>& inputs,
                    std::map<int, AnyPart>& local, TaskResult& result, const Node*& failed) const;
  bool is_chain_end(const Node& n) const;
  /// What task input (node, edge) reads: its part, or its buckets merged in parent-partition
  /// order (null when none is present or the task has no such input).
  AnyPart input_of(const std::vector<TaskInput>& inputs, int node, int edge) const;
};

}  // namespace rill
