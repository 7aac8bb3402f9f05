// Routes one batch through the plan: which stage tasks are ready, what each reads, where its
// outputs go. Pure bookkeeping shared by the local executor and the driver actor; one owner.
#pragma once

#include <map>
#include <vector>

#include "dataflow/plan.hpp"

namespace rill {

class BatchRun {
 public:
  /// sources: for each source node, its partitions at time t (from the batch builders).
  BatchRun(const Plan& plan, Millis time, std::map<int, std::vector<AnyPart>> sources);

  Millis time() const { return time_; }

  /// Stages whose upstream stages are all done and that were not handed out before.
  std::vector<int> take_ready_stages();

  /// Everything task (stage, partition) reads from outside its stage.
  std::vector<TaskInput> inputs(int stage, int partition) const;

  /// Records task (stage, partition)'s result; a second result for it is ignored.
  void complete(int stage, int partition, TaskResult result);
  bool completed(int stage, int partition) const;
  /// Whether stage's tasks were handed out.
  bool launched(int stage) const { return progress_[static_cast<size_t>(stage)].launched; }
  bool all_done() const { return stages_done_ == plan_->stages().size(); }

  /// Every partition of node's output at this time, or empty when the node was inactive.
  std::vector<AnyPart> node_parts(int node) const;

 private:
  struct StageProgress {
    bool launched = false;
    int remaining = 0;
    std::vector<TaskResult> results;  // by partition
    std::vector<bool> done;           // by partition, sized at the first result
  };
  const Plan* plan_;
  Millis time_;
  std::map<int, std::vector<AnyPart>> sources_;
  std::vector<StageProgress> progress_;
  size_t stages_done_ = 0;
};

}  // namespace rill
