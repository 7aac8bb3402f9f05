// The driver actor's state and the functions its two files share (internal to driver.cpp and
// driver_batch.cpp): the driver schedules batches over time, driver_batch runs one batch.
#pragma once

#include <chrono>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include <caf/response_promise.hpp>
#include <caf/stateful_actor.hpp>

#include "actors/job.hpp"
#include "dataflow/batch_run.hpp"

namespace rill::actors {

struct DriverState {
  Millis next_tick{0};
  std::deque<Millis> due;
  std::optional<BatchRun> run;
  /// Numbers each BatchRun: answers and retries of a run a rollback replaced (the same batch
  /// time, run again) must not reach the new one, whose upstream stages may not be done.
  int64_t run_seq = 0;
  BatchInfo info;
  std::map<int, std::vector<AnyPart>> source_parts;
  std::map<int, std::vector<AnyPart>> batch_sources;  // the current batch's, to run it again
  std::vector<persistence::BlockRef> blocks;
  std::vector<persistence::BlockRef> recorded;  // the current re-run's recorded inputs
  /// By stream: the last read recorded for a stream whose receiver runs on a worker, sent with
  /// each new cut so the worker continues right after it (whatever it cut or reloaded since).
  std::map<int, std::string> last_recorded;
  int restarts_at_start = 0;                      // JobStatus::restarts() when the batch began
  CheckpointInfo checkpoint;                      // what the current batch's tasks snapshotted
  std::map<int, int64_t> source_records;          // the current batch's records by source node
  /// Batches allocated before a restart and not yet re-run, with their recorded inputs.
  std::map<Millis, std::vector<persistence::BlockRef>> reruns;
  bool rerun = false;  // the current batch re-runs a recorded allocation
  size_t replays = 0;  // re-runs planned at this driver's start, for progress logs
  size_t replayed = 0;
  std::optional<Millis> base;  // the last checkpoint when the current batch started
  /// The batch the stages' state is as of once the running one is done with: the last batch
  /// run, or the checkpoint after a rollback. The current batch's tasks name it as `after`.
  std::optional<Millis> after;
  std::optional<Millis> task_after;  // `after` when the current batch started
  bool checkpoint_batch = false;     // the current batch's tasks snapshot their state
  /// The inputs of the batches since the last checkpoint (and the current one's), to run them
  /// again after a rollback; a checkpoint frees them.
  struct HeldBatch {
    std::map<int, std::vector<AnyPart>> sources;
    std::vector<persistence::BlockRef> blocks;
    std::map<int, int64_t> records;  // by source node, as source_records
  };
  std::map<Millis, HeldBatch> held;
  /// Attempts a task (batch time, stage, partition) used before a rollback ran it again.
  std::map<std::tuple<int64_t, int, int>, int> attempts;
  int since_retention = 0;
  size_t sources_waiting = 0;
  size_t next_output = 0;
  bool stopping = false;  // no more ticks
  bool draining = false;  // graceful stop: run batches until sources hold nothing
  bool failed = false;
  std::vector<caf::response_promise> stop_promises;
  /// Receivers asked to stop that have not answered yet, by source index.
  std::set<size_t> receivers_stopping;
  /// Real time of the last step forward (a cut, task, output or batch done), for the slow-wait
  /// warning: a wait on the job's clock (manual in tests) is no wait.
  std::chrono::steady_clock::time_point last_progress = std::chrono::steady_clock::now();
  void progressed() { last_progress = std::chrono::steady_clock::now(); }
  static inline const char* name = "driver";
};

using Self = caf::stateful_actor<DriverState>;

// How long to wait before asking a restarted actor again: its supervisor's backoff.
constexpr auto kLostActorRetry = std::chrono::milliseconds(20);

// driver.cpp: the job over time.
/// Ends the job with `error` (logged, reported, stop() waiters answered false).
void fail(Self* self, Job* job, const std::string& error);
/// Starts the next due batch, if none runs and the workers are ready.
void maybe_start(Self* self, Job* job);
/// Asks for the next tick of the job's clock.
void schedule_tick(Self* self, Job* job);

// driver_batch.cpp: one batch.
/// Kills the actors the fault injector picks for this phase of batch t (chaos tests).
void inject_kills(Job* job, Millis t, FaultPhase phase);
/// Asks source i's batch builder for its part of batch t (a fresh cut, or a re-run's).
void cut_source(Self* self, Job* job, Millis t, size_t i);
/// Records the batch's allocation (unless a re-run) and starts its stages.
void allocate_and_run(Self* self, Job* job);
/// Sends task (stage, partition) of the running batch; `attempt` counts its failures.
void send_task(Self* self, Job* job, int stage, int partition, int attempt);
/// Runs the running batch's outputs from the next one due, then completes the batch.
void run_outputs(Self* self, Job* job);

}  // namespace rill::actors
