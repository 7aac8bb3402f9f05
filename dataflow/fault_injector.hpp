// FaultInjector: where the runtime asks whether to inject a fault (kill an actor, fail a task,
// delay or pause one). rill::chaos::Monkey implements it; the runtime calls it from its actors.
#pragma once

#include <span>
#include <string>
#include <vector>

#include "dataflow/time.hpp"

namespace rill {

/// The moments of a batch at which actors may be killed, in the order they occur.
enum class FaultPhase {
  batch_start,       ///< the batch is due; its inputs are about to be cut
  after_allocation,  ///< its inputs are durable; tasks are about to be sent
  outputs_start,     ///< every task is done; outputs are about to run
  before_completion  ///< outputs are done; the completion is about to be recorded
};

/// "batch_start", "after_allocation", ...
const char* to_string(FaultPhase phase);

/// A supervised actor the runtime offers as a target: its name in the supervision tree and its
/// kind ("receiver", "batch_builder", "stage", "sink", "driver", "supervisor").
struct ActorRef {
  std::string name;  ///< its name in the supervision tree ("stage-2-1", "sink-totals")
  std::string kind;  ///< "receiver", "batch_builder", "stage", "sink", "driver" or "supervisor"
};

/// Decides faults. Called from actor threads, concurrently: implementations are thread-safe.
/// Every decision should depend only on its arguments (and the injector's seed), so a
/// schedule replays whatever the threads' interleaving.
class FaultInjector {
 public:
  virtual ~FaultInjector() = default;
  /// The names, among `actors`, to kill with exit_reason::kill at `phase` of batch t.
  virtual std::vector<std::string> kills(Millis t, FaultPhase phase, std::span<const ActorRef> actors) = 0;
  /// True to fail `stage`'s task of batch t as if a user function threw.
  virtual bool fail_task(const std::string& stage, Millis t) = 0;
  /// How long to hold back `stage`'s task of batch t before sending it (0: not at all).
  virtual Millis delay_task(const std::string& stage, Millis t) = 0;
  /// How long `stage` stalls before running its task of batch t (0: not at all).
  virtual Millis pause_stage(const std::string& stage, Millis t) = 0;
};

}  // namespace rill
