// Test support: runs a context's DAG batch by batch on the LocalExecutor, pulling every
// source's records for each batch time. No actors, no clock: the pure reference.
#pragma once

#include <map>

#include "dataflow/local_executor.hpp"
#include "dataflow/streaming_context.hpp"

namespace rill::test {

class LocalRun {
 public:
  explicit LocalRun(StreamingContext& ctx, Millis zero = Millis{0})
      : ctx_(ctx), exec_(ctx.graph(), zero), next_(zero + ctx.batch_interval()) {
    ctx.graph().validate();
  }
  /// Runs the next batch; returns its time.
  Millis step() {
    Millis t = next_;
    std::map<int, std::vector<AnyPart>> in;
    for (const auto& [node, src] : ctx_.sources())
      in[node] = src->take(t, ctx_.graph().node(node).partitions).parts;
    exec_.run_batch(t, std::move(in));
    next_ += ctx_.batch_interval();
    return t;
  }
  void steps(int n) {
    for (int i = 0; i < n; ++i) step();
  }

 private:
  StreamingContext& ctx_;
  LocalExecutor exec_;
  Millis next_;
};

}  // namespace rill::test
