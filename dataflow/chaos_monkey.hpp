// rill::chaos::Monkey: a seeded FaultInjector for users' chaos tests. Kills actors, fails,
// delays and pauses tasks on a schedule that depends only on the seed and the batch times.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "dataflow/fault_injector.hpp"

namespace rill::chaos {

/// Which actors the monkey may kill.
struct Target {
  /// Actor kinds ("receiver", "batch_builder", "stage", "sink", "driver", "supervisor").
  /// Empty: every kind.
  std::vector<std::string> kinds{};
  /// A shell glob on the actor's name ("stage-*", "sink-totals"). Default: any name.
  std::string name_pattern = "*";
};

/// A monkey's schedule. Each field says its default.
struct MonkeyOptions {
  /// Seeds every decision: the same seed and the same batch times give the same faults.
  uint64_t seed = 1;
  /// Mean actor kills per batch, spread over the batch's four phases (Poisson). Default 1.
  double kills_per_batch = 1.0;
  /// Which actors may be killed. Default: any.
  Target target{};
  /// Probability that a stage's task of a batch fails once, as if a user function threw (the
  /// runtime retries it). Default 0.
  double task_failure_rate = 0;
  /// Probability that a stage's task of a batch is held back before it is sent, for up to
  /// max_delay. Default 0.
  double delay_rate = 0;
  /// The longest hold-back of a delayed task. Default 50 ms.
  Millis max_delay{50};
  /// Probability that a stage stalls before running its task of a batch, for up to
  /// max_pause (its mailbox waits meanwhile). Default 0.
  double pause_rate = 0;
  /// The longest stall of a paused stage. Default 50 ms.
  Millis max_pause{50};
};

/// What a monkey has injected so far.
struct MonkeyStats {
  std::map<std::string, int> kills_by_kind;  ///< actor kind -> kills
  int kills = 0;                              ///< actors killed
  int task_failures = 0;                      ///< tasks failed as if a user function threw
  int delays = 0;                             ///< tasks held back
  int pauses = 0;                             ///< stages stalled
  /// "kills=K (batch_builder=…, driver=…, …) task_failures=F delays=D pauses=P".
  std::string summary() const;
};

/// Pass it as ContextOptions::fault_injector. Every fault is logged (warn) with the seed, so
/// a failing run is replayed by running again with that seed. Thread-safe.
class Monkey final : public FaultInjector {
 public:
  /// A monkey following `options`; enabled from the start.
  explicit Monkey(MonkeyOptions options);

  /// Stops (false) or resumes (true) injecting; e.g. off before a test's final graceful stop.
  void set_enabled(bool enabled) { enabled_ = enabled; }
  /// What it injected so far.
  MonkeyStats stats() const;
  /// Every fault injected so far, one line each ("batch 3000 ms after_allocation: kill
  /// stage-1-0 (stage)"), in the order the runtime asked: the same for two runs of a seed on
  /// the deterministic scheduler, not on the threaded one.
  std::vector<std::string> fault_log() const;
  /// The schedule it follows.
  const MonkeyOptions& options() const { return options_; }

  std::vector<std::string> kills(Millis t, FaultPhase phase, std::span<const ActorRef> actors) override;
  bool fail_task(const std::string& stage, Millis t) override;
  Millis delay_task(const std::string& stage, Millis t) override;
  Millis pause_stage(const std::string& stage, Millis t) override;

 private:
  bool targeted(const ActorRef& actor) const;
  // A uniform draw in [0, 1) from (seed, t, what, salt): the same arguments, the same draw.
  double draw(Millis t, const std::string& what, uint64_t salt) const;
  // True the first time (what, t) is asked about: a retried task is not failed again.
  bool first_time(const std::string& what, Millis t);

  MonkeyOptions options_;
  std::atomic<bool> enabled_{true};
  mutable std::mutex mu_;
  MonkeyStats stats_;
  std::vector<std::string> log_;  // fault_log()
  std::set<std::pair<std::string, Millis>> asked_;
};

}  // namespace rill::chaos
