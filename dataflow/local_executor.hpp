// Runs a JobGraph's batches synchronously on the calling thread, without actors: the pure
// reference the actor runtime must agree with, and how operators are tested. One owner.
#pragma once

#include <map>
#include <set>
#include <vector>

#include "dataflow/batch_run.hpp"

namespace rill {

class LocalExecutor {
 public:
  /// REQUIRES: graph outlives the executor.
  LocalExecutor(const JobGraph& graph, Millis zero);

  /// Runs batch t with the given source partitions (keyed by source node id) and runs every
  /// output. Throws JobError naming the operator and time when a task fails.
  void run_batch(Millis t, std::map<int, std::vector<AnyPart>> sources);

 private:
  const JobGraph& graph_;
  Plan plan_;
  Millis zero_;
  std::vector<std::vector<StageStates>> states_;  // [stage][partition]
  std::set<int> opened_;                          // outputs whose Sink was opened
};

}  // namespace rill
