// Driver actor. Batches run one at a time, in time order (Spark's default): allocate inputs
// (durable in the MetaLog before any work), run stages as their inputs complete, run outputs
// one after another, record completion. Work is asynchronous requests; nothing blocks.
#include "actors/driver.hpp"

#include <deque>
#include <set>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/cluster_runtime.hpp"
#include "actors/type_ids.hpp"
#include "dataflow/batch_run.hpp"
#include "dataflow/failpoint.hpp"
#include "persistence/retention.hpp"

namespace rill::actors {

namespace {

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

void maybe_start(Self* self, Job* job);

void complete_batch(Self* self, Job* job);

// Retention runs on the driver between batches, every few checkpoints: each pass deletes
// what the last ones left (a few batches' records), so it stays short.
constexpr int kRetentionEvery = 10;

void retain_store(Job* job, Millis checkpoint) {
  persistence::RetentionPolicy policy;
  for (const auto& [node, src] : job->sources)
    if (src->resumes_from_last_record()) policy.latest_record_streams.push_back(node);
  auto stats = persistence::retain(*job->store, checkpoint, policy);
  if (!stats) {
    // The store only grows until the next pass; recovery is unaffected.
    spdlog::warn("retention at {}: {}", to_string(checkpoint), stats.status().to_string());
    return;
  }
  spdlog::debug("retention at {}: {} records deleted, {} allocations compacted", to_string(checkpoint),
                stats->total(), stats->allocations_compacted);
  // A receiver's WAL on a worker goes to the same bound there.
  for (size_t i = 0; i < job->sources.size(); ++i)
    if (auto kept = stats->wal_kept_from.find(job->sources[i].first);
        kept != stats->wal_kept_from.end() && runs_elsewhere(*job, i))
      caf::anon_send(job->directory.get("builder", static_cast<int>(i)), trim_atom::value, kept->second);
}

// Kills the actors the fault injector picks for this phase of batch t (chaos tests). The kill
// lands when each victim next reads its mailbox: this driver too, after this handler.
void inject_kills(Job* job, Millis t, FaultPhase phase) {
  if (!job->faults) return;
  auto named = job->directory.named();
  std::vector<ActorRef> refs;
  for (const auto& [ref, handle] : named) refs.push_back(ref);
  for (const std::string& victim : job->faults->kills(t, phase, refs))
    for (const auto& [ref, handle] : named)
      if (ref.name == victim && handle) caf::anon_send_exit(handle, caf::exit_reason::kill);
}

// How long to wait before asking a restarted actor again: its supervisor's backoff.
constexpr auto kLostActorRetry = std::chrono::milliseconds(20);

void fail(Self* self, Job* job, const std::string& error) {
  auto& st = self->state;
  if (st.failed) return;
  st.failed = true;
  st.stopping = true;
  spdlog::error("job failed: {}", error);
  st.info.failure = error;
  job->status->batch_failed(st.info);
  job->status->terminate(error);
  for (auto& p : st.stop_promises) p.deliver(false);
  st.stop_promises.clear();
}

void schedule_tick(Self* self, Job* job) {
  caf::actor me = caf::actor_cast<caf::actor>(self);
  Millis t = self->state.next_tick;
  // On the clock's thread (a test's advance(), a timer thread): from outside the actors.
  job->clock->schedule(t, [me, t, pump = job->pump] {
    from_outside(pump.get(), [&me, t] { caf::anon_send(me, tick_atom::value, static_cast<int64_t>(t.count())); });
  });
}

// Backpressure: each rate-limited source gets the rate its estimator derives from this batch.
void adapt_rates(Job* job, const BatchInfo& info, const std::map<int, int64_t>& records) {
  for (auto& [node, estimator] : job->rate_estimators) {
    auto it = records.find(node);
    auto rate = estimator.compute(info.processing_end, it == records.end() ? 0 : it->second,
                                  info.processing_delay(), info.scheduling_delay());
    if (!rate) continue;
    double limit = job->max_rate > 0 ? std::min(*rate, job->max_rate) : *rate;
    for (size_t i = 0; i < job->sources.size(); ++i) {
      if (job->sources[i].first != node) continue;
      if (runs_elsewhere(*job, i))
        caf::anon_send(job->directory.get("builder", static_cast<int>(i)), rate_atom::value, limit);
      else
        job->sources[i].second->set_rate(limit);
    }
    spdlog::debug("backpressure: stream '{}' limited to {:.0f} records/s after batch {}", job->graph->node(node).name,
                  limit, to_string(info.batch_time));
  }
}

void complete_batch(Self* self, Job* job) {
  auto& st = self->state;
  Millis t = st.run->time();
  inject_kills(job, t, FaultPhase::before_completion);
  // A re-run of a batch that completed before the crash (its state was not checkpointed)
  // records nothing new.
  auto last = job->meta->last_completed();
  // Stateful tasks of a checkpoint batch wrote their snapshots before answering.
  bool checkpoint = st.checkpoint_batch;
  if (!last || *last < t) {
    const auto recording = std::chrono::steady_clock::now();
    if (Status s = job->meta->record_completion(t, checkpoint); !s) return fail(self, job, s.to_string());
    if (checkpoint) {
      // Tasks snapshot in parallel: the checkpoint took the slowest one plus this commit.
      st.checkpoint.batch_time = t;
      st.checkpoint.duration_ms +=
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - recording).count();
      job->status->checkpoint_completed(st.checkpoint);
    }
    if (checkpoint && ++st.since_retention >= kRetentionEvery) {
      st.since_retention = 0;
      retain_store(job, t);
    }
  }
  st.info.processing_end = job->clock->now();
  st.info.restarts = job->status->restarts() - st.restarts_at_start;
  spdlog::info("batch {} ms: {} records, scheduling delay {} ms, processing {} ms, total {} ms",
               t.count(), st.info.input_records, st.info.scheduling_delay().count(),
               st.info.processing_delay().count(), st.info.total_delay().count());
  // Freed before anyone hears of the completion: a waiter may cut the next batch at once,
  // and this batch's records (st.run holds its sources) would double the peak memory.
  st.run.reset();
  st.batch_sources.clear();
  st.after = t;
  if (checkpoint || !job->store) st.held.clear();  // nothing rolls back before t any more
  for (auto it = st.attempts.begin(); it != st.attempts.end();)
    it = std::get<0>(it->first) <= t.count() ? st.attempts.erase(it) : std::next(it);
  job->status->batch_completed(st.info);
  st.progressed();
  adapt_rates(job, st.info, st.source_records);
  maybe_start(self, job);
}

void roll_back(Self* self, Job* job, const std::string& why);

void run_outputs(Self* self, Job* job) {
  auto& st = self->state;
  const auto& outputs = job->graph->outputs();
  while (st.next_output < outputs.size()) {
    const OutputOp& op = outputs[st.next_output];
    std::vector<AnyPart> parts = st.run->node_parts(op.node);
    if (parts.empty()) {  // the stream did not produce at this time (not on its slide)
      ++st.next_output;
      continue;
    }
    caf::actor sink = job->directory.get("sink", op.id);
    if (st.info.outputs.empty() || st.info.outputs.back().id != op.id) {  // not a retry
      OutputOperationInfo out{st.run->time(), op.id, op.name, job->clock->now(), Millis{0}, std::nullopt};
      st.info.outputs.push_back(out);
      job->status->output_started(out);
    }
    self->request(sink, caf::infinite, output_atom::value, OutputRequest{op.id, st.run->time(), std::move(parts)})
        .then(
            [self, job, seq = st.run_seq](const OutputReply& r) {
              auto& s = self->state;
              if (s.failed || !s.run || s.run_seq != seq) return;
              OutputOperationInfo& out = s.info.outputs.back();
              out.end_time = job->clock->now();
              out.failure = r.error;
              job->status->output_completed(out);
              s.progressed();
              // A worker restarted since it computed a part this output writes there.
              if (r.lost) return roll_back(self, job, *r.error);
              if (r.error) return fail(self, job, *r.error);
              ++s.next_output;
              run_outputs(self, job);
            },
            [self, job, name = op.name, t = st.run->time(), seq = st.run_seq](caf::error& e) {
              // The sink actor died; its supervisor restarts it and the output runs again:
              // partitions it committed are skipped by their markers.
              auto& s = self->state;
              if (s.failed || !s.run || s.run_seq != seq) return;
              spdlog::warn("batch {}: output '{}' lost its sink ({}), running it again", to_string(t), name,
                           self->system().render(e));
              ++s.info.retried_tasks;
              self->delayed_send(self, kLostActorRetry, outputs_atom::value, seq);
            });
    return;
  }
  complete_batch(self, job);
}

void launch_ready(Self* self, Job* job);

bool stateful(const Job* job, int stage) {
  for (int id : job->plan->stages()[static_cast<size_t>(stage)].nodes)
    if (job->graph->node(id).make_state) return true;
  return false;
}

void send_task(Self* self, Job* job, int stage, int partition, int attempt) {
  auto& st = self->state;
  Millis t = st.run->time();
  if (job->faults) {
    Millis hold = job->faults->delay_task("stage-" + std::to_string(stage) + "-" + std::to_string(partition), t);
    if (hold.count() > 0) {
      self->delayed_send(self, hold, retry_atom::value, stage, partition, attempt, st.run_seq);
      return;
    }
  }
  TaskRequest req{stage,   partition,      t, job->zero, st.run->inputs(stage, partition),
                  st.base, st.task_after, st.checkpoint_batch};
  caf::actor worker = job->directory.get("stage", stage_index(stage, partition));
  self->request(worker, caf::infinite, run_atom::value, std::move(req))
      .then(
          [self, job, stage, partition, attempt, t, seq = st.run_seq](const TaskReply& r) {
            auto& s = self->state;
            if (s.failed || !s.run || s.run_seq != seq) return;
            if (s.run->completed(r.stage, r.partition)) return;  // a late duplicate answer
            if (!r.ok && (r.lost_input || r.stale_state)) {
              // A worker that held this task's shuffle input restarted (its stages' outputs
              // are gone), or the stage lost the state the batches since the checkpoint built:
              // the batches since the checkpoint run again. Outputs of this one have not run.
              ++s.info.retried_tasks;
              return roll_back(self, job, r.error.to_string());
            }
            if (!r.ok) {
              // A user function threw (or state could not be written): retry from the same
              // durable input (a stateful stage has reloaded its state), then give up.
              if (attempt + 1 >= job->max_attempts)
                return fail(self, job, r.error.to_string() + " (after " + std::to_string(attempt + 1) + " attempts)");
              if (job->store && s.task_after != s.base && stateful(job, stage)) {
                // The stage cannot reload the state this task needs: run the batches since
                // the checkpoint again, this task counting the attempt it used.
                s.attempts[{t.count(), stage, partition}] = attempt + 1;
                ++s.info.retried_tasks;
                return roll_back(self, job, r.error.to_string());
              }
              spdlog::warn("batch {}: {}; retrying (attempt {} of {})", to_string(t), r.error.to_string(),
                           attempt + 2, job->max_attempts);
              ++s.info.retried_tasks;
              self->delayed_send(self, std::chrono::milliseconds(20), retry_atom::value, stage, partition, attempt + 1,
                                 seq);
              return;
            }
            s.checkpoint.bytes += r.snapshot_bytes;
            s.checkpoint.keys += r.snapshot_keys;
            s.checkpoint.duration_ms = std::max(s.checkpoint.duration_ms, r.snapshot_ms);
            s.run->complete(r.stage, r.partition, r.result);
            s.progressed();
            launch_ready(self, job);
          },
          [self, job, stage, partition, attempt, t, seq = st.run_seq](caf::error& e) {
            // The stage actor died mid-task; its supervisor restarts it. A stateless stage
            // simply runs the task again; a stateful one first reloads its state as of the
            // last checkpoint (the batch before this one), which needs a checkpoint directory.
            // A lost actor is not the task's fault: it uses up no attempt (as Spark does not
            // count executor loss); a crash loop ends at its supervisor's restart intensity.
            auto& s = self->state;
            if (s.failed || !s.run || s.run_seq != seq) return;
            if (s.run->completed(stage, partition)) return;  // an earlier send answered
            bool stateless = !stateful(job, stage);
            std::string where = "stage " + std::to_string(stage) + " partition " + std::to_string(partition) +
                                " at batch time " + to_string(t);
            if (!stateless && job->store == nullptr)
              return fail(self, job, where + " failed: " + self->system().render(e) + " (operator state lost)");
            spdlog::warn("{}: task lost ({}), retrying", where, self->system().render(e));
            ++s.info.retried_tasks;
            self->delayed_send(self, kLostActorRetry, retry_atom::value, stage, partition, attempt, seq);
          });
}

void launch_ready(Self* self, Job* job) {
  auto& st = self->state;
  if (st.run->all_done()) {
    st.next_output = 0;
    inject_kills(job, st.run->time(), FaultPhase::outputs_start);
    return run_outputs(self, job);
  }
  for (int s : st.run->take_ready_stages())
    for (int p = 0; p < job->plan->stages()[static_cast<size_t>(s)].partitions; ++p) {
      auto used = st.attempts.find({st.run->time().count(), s, p});
      send_task(self, job, s, p, used == st.attempts.end() ? 0 : used->second);
    }
}

// Every stateful stage goes back to the checkpoint the current batch started from, and the
// batches since run again, in order, before the rest: from the inputs this driver holds, or
// (a driver actor that restarted since) from their recorded allocations. Their outputs skip
// what they committed (markers); completions are not recorded twice.
void roll_back(Self* self, Job* job, const std::string& why) {
  auto& st = self->state;
  Millis t = st.run->time();
  std::vector<Millis> times{t};
  if (job->store) {  // without one there is no checkpoint: no stage reloads, the batch re-runs
    auto allocated = job->meta->allocations_after(st.base.value_or(Millis::min()));
    if (!allocated) return fail(self, job, "batch " + to_string(t) + ": rollback: " + allocated.status().to_string());
    times.clear();
    for (auto& [at, blocks] : *allocated) {
      if (at <= job->zero || at > t || (st.base && at <= *st.base)) continue;
      times.push_back(at);
      if (st.held.count(at)) continue;
      st.reruns[at] = std::move(blocks);
      ++st.replays;
    }
  }
  spdlog::warn("batch {}: {}; rolling back to checkpoint {} and running {} batch(es) again", to_string(t), why,
               state_as_of(st.base), times.size());
  for (auto it = times.rbegin(); it != times.rend(); ++it) st.due.push_front(*it);
  st.after = st.base;
  st.checkpoint = {};
  st.run.reset();
  st.batch_sources.clear();
  st.progressed();
  maybe_start(self, job);
}

// A checkpoint every checkpoint_interval on the grid, and every batch of a graceful stop's
// drain: a stopped job restarts without re-running anything.
bool is_checkpoint(Self* self, const Job* job, Millis t) {
  if (!job->store) return false;
  return self->state.draining || (t - job->zero).count() % job->checkpoint_interval.count() == 0;
}

void allocate_and_run(Self* self, Job* job) {
  auto& st = self->state;
  Millis t = st.info.batch_time;
  if (!st.rerun) {
    if (Status s = job->meta->record_allocation(t, st.blocks); !s) return fail(self, job, s.to_string());
    failpoint("driver.after_allocation");
    for (const auto& b : st.blocks)
      if (!b.replay.empty()) st.last_recorded[b.stream] = b.replay;
  }
  inject_kills(job, t, FaultPhase::after_allocation);
  // Every stateful task of t starts from the state at the last checkpoint: a stage that
  // restarted, or ran t already for a driver that then died, reloads it first.
  st.base = job->meta->last_checkpoint();
  st.task_after = st.after;
  // A re-run of a batch completed before is no checkpoint: its completion is not recorded again.
  auto done = job->meta->last_completed();
  st.checkpoint_batch = is_checkpoint(self, job, t) && !(done && *done >= t);
  st.info.processing_start = job->clock->now();
  job->status->batch_submitted(st.info);
  st.batch_sources = std::move(st.source_parts);
  st.source_parts.clear();
  st.held[t] = {st.batch_sources, st.blocks, st.source_records};
  st.run.emplace(*job->plan, t, st.batch_sources);
  ++st.run_seq;
  job->status->batch_started(st.info);
  launch_ready(self, job);
}

// Asks source i's batch builder for its part of batch t: a fresh cut, or for a re-run the
// recorded one. A builder that dies first never touched its source (a kill cannot interrupt
// a handler), so asking its successor again is safe.
void cut_source(Self* self, Job* job, Millis t, size_t i) {
  auto& st = self->state;
  if (st.rerun && !job->sources[i].second->replayable()) {
    // A batch completed before a restart re-runs (its state was not checkpointed): a source
    // that cannot replay held its records in memory only, and they are gone. The batch runs
    // without them, not with records that arrived since (those go to the next new batch):
    // its outputs were committed already, and state must not take in other records.
    auto done = job->meta->last_completed();
    if (done && *done >= t) {
      const int node = job->sources[i].first;
      st.source_parts[node] = {};
      st.blocks.push_back({node, static_cast<uint64_t>(t.count()), 0, {}});
      if (--st.sources_waiting == 0) allocate_and_run(self, job);
      return;
    }
  }
  caf::actor builder = job->directory.get("builder", static_cast<int>(i));
  auto when = static_cast<int64_t>(t.count());
  auto request = [&] {
    if (!st.rerun && runs_elsewhere(*job, i))
      return self->request(builder, caf::infinite, take_atom::value, when, st.last_recorded[job->sources[i].first]);
    if (!st.rerun) return self->request(builder, caf::infinite, take_atom::value, when);
    std::string replay;
    for (const auto& b : st.recorded)
      if (b.stream == job->sources[i].first) replay = b.replay;
    return self->request(builder, caf::infinite, replay_atom::value, when, std::move(replay));
  };
  request().then(
      [self, job](SourceBatch& b) {
        auto& s = self->state;
        if (s.failed || s.run || s.info.batch_time != b.time || s.sources_waiting == 0) return;
        if (s.source_parts.count(b.node)) return;  // a late answer to an earlier ask
        if (b.error) return fail(self, job, "batch " + to_string(b.time) + ": " + *b.error);
        s.info.input_records += b.records;
        s.source_records[b.node] += b.records;
        s.blocks.push_back({b.node, b.block_seq, b.records, std::move(b.replay)});
        s.source_parts[b.node] = std::move(b.parts);
        s.progressed();
        if (--s.sources_waiting == 0) allocate_and_run(self, job);
      },
      [self, job, t, i](caf::error& e) {
        auto& s = self->state;
        if (s.failed || s.run || s.info.batch_time != t) return;
        spdlog::warn("batch {}: the batch builder of stream '{}' was lost ({}), asking again", to_string(t),
                     job->graph->node(job->sources[i].first).name, self->system().render(e));
        ++s.info.retried_tasks;
        self->delayed_send(self, kLostActorRetry, cut_atom::value, static_cast<int64_t>(t.count()),
                           static_cast<int>(i));
      });
}

void start_batch(Self* self, Job* job, Millis t) {
  auto& st = self->state;
  st.info = BatchInfo{};
  st.checkpoint = CheckpointInfo{};
  st.progressed();
  st.info.batch_time = t;
  st.source_records.clear();
  st.restarts_at_start = job->status->restarts();
  st.blocks.clear();
  st.recorded.clear();
  st.source_parts.clear();
  st.sources_waiting = job->sources.size();
  if (auto held = st.held.find(t); held != st.held.end()) {
    // Rolled back: this driver still holds the inputs it allocated.
    st.rerun = true;
    st.source_parts = held->second.sources;
    st.blocks = held->second.blocks;
    st.source_records = held->second.records;
    for (const auto& [node, n] : st.source_records) st.info.input_records += n;
    st.sources_waiting = 0;
    spdlog::info("running batch {} again from the inputs held since the checkpoint", to_string(t));
  } else if (auto it = st.reruns.find(t); it != st.reruns.end()) {
    st.rerun = true;
    st.recorded = std::move(it->second);
    st.reruns.erase(it);
    spdlog::info("replaying batch {}/{} ({}) from its recorded inputs", ++st.replayed, st.replays, to_string(t));
  } else {
    st.rerun = false;
  }
  st.info.rerun = st.rerun;
  // A grid batch was submitted when its time came, however long it then queued behind
  // others (Spark's scheduling delay); a recorded batch re-run after a restart, now.
  st.info.submission_time = st.rerun ? job->clock->now() : std::min(t, job->clock->now());
  inject_kills(job, t, FaultPhase::batch_start);
  if (st.sources_waiting == 0) return allocate_and_run(self, job);
  for (size_t i = 0; i < job->sources.size(); ++i) cut_source(self, job, t, i);
}

std::string stream_name(Job* job, size_t source) { return "'" + job->graph->node(job->sources[source].first).name + "'"; }

// Graceful stop: after receivers stopped, run batches at the next grid times without waiting
// for the clock until no source holds data, then report drained.
void drain_step(Self* self, Job* job) {
  auto remaining = std::make_shared<size_t>(job->sources.size());
  auto pending = std::make_shared<bool>(false);
  auto lost = std::make_shared<bool>(false);  // a builder was restarting: ask all again
  auto decide = [self, job, pending, lost] {
    auto& s = self->state;
    if (*lost) {
      self->delayed_send(self, kLostActorRetry, retry_atom::value, -1, -1, 0, int64_t{0});
      return;
    }
    // Batches since the last checkpoint would run again at the next start: one more (a
    // checkpoint, as every drained batch) saves their state.
    bool unsaved = job->store && s.after && s.after != job->meta->last_checkpoint();
    if (*pending || unsaved) {
      s.due.push_back(s.next_tick);
      s.next_tick += job->graph->interval();
      return maybe_start(self, job);
    }
    job->status->drained();
    for (auto& p : s.stop_promises) p.deliver(true);
    s.stop_promises.clear();
    s.draining = false;
  };
  if (*remaining == 0) return decide();
  for (size_t i = 0; i < job->sources.size(); ++i) {
    self->request(job->directory.get("builder", static_cast<int>(i)), caf::infinite, pending_atom::value)
        .then(
            [remaining, pending, decide](bool has) {
              *pending = *pending || has;
              if (--*remaining == 0) decide();
            },
            [self, job, i, remaining, lost, decide](caf::error& e) {
              spdlog::warn("drain: the batch builder of stream {} was lost ({}), asking again", stream_name(job, i),
                           self->system().render(e));
              *lost = true;
              if (--*remaining == 0) decide();
            });
  }
}

// True once every worker's handle is in the directory: right after a (re)start the
// supervisors may still be filling it in.
bool workers_ready(Job* job) {
  for (size_t i = 0; i < job->sources.size(); ++i)
    if (!job->directory.get("builder", static_cast<int>(i))) return false;
  for (const Stage& s : job->plan->stages())
    for (int p = 0; p < s.partitions; ++p)
      if (!job->directory.get("stage", stage_index(s.id, p))) return false;
  for (const OutputOp& op : job->graph->outputs())
    if (!job->directory.get("sink", op.id)) return false;
  return true;
}

void maybe_start(Self* self, Job* job) {
  auto& st = self->state;
  if (st.run || st.failed || st.sources_waiting > 0) return;
  if (!st.due.empty() && !workers_ready(job)) {
    self->delayed_send(self, std::chrono::milliseconds(5), retry_atom::value, -1, -1, 0, int64_t{0});
    return;
  }
  if (st.due.empty()) {
    if (st.draining) drain_step(self, job);
    return;
  }
  Millis t = st.due.front();
  st.due.pop_front();
  start_batch(self, job, t);
}

void stop_receivers(Self* self, Job* job, std::function<void()> then) {
  auto& st = self->state;
  for (size_t i = 0; i < job->sources.size(); ++i)
    if (job->sources[i].second->receiver_slot() != nullptr) st.receivers_stopping.insert(i);
  if (st.receivers_stopping.empty()) return then();
  st.progressed();
  for (size_t i : std::set<size_t>(st.receivers_stopping)) {
    auto stopped = [self, then, i] {
      auto& s = self->state;
      s.receivers_stopping.erase(i);
      s.progressed();
      if (s.receivers_stopping.empty()) then();
    };
    self->request(job->directory.get("receiver", static_cast<int>(i)), caf::infinite, stop_atom::value, true)
        .then([stopped](bool) { stopped(); },
              [stopped](caf::error&) { stopped(); });  // a dead receiver receives nothing either
  }
}


// What the driver waits on right now, for the slow-wait warning; empty when it waits on the clock.
std::string waiting_for(Self* self, Job* job) {
  auto& st = self->state;
  std::vector<std::string> what;
  auto list = [&] {
    std::string s;
    for (size_t i = 0; i < what.size() && i < 8; ++i) s += (i ? ", " : "") + what[i];
    if (what.size() > 8) s += " and " + std::to_string(what.size() - 8) + " more";
    return s;
  };
  if (!st.receivers_stopping.empty()) {
    for (size_t i : st.receivers_stopping) what.push_back(stream_name(job, i));
    return "stop: waiting for the receivers of " + list() + " to stop (a receiver thread that does not check "
           "is_stopped() blocks here)";
  }
  if (st.run) {
    std::string at = "batch " + to_string(st.run->time());
    if (st.run->all_done()) {
      const auto& outputs = job->graph->outputs();
      std::string name = st.next_output < outputs.size() ? outputs[st.next_output].name : "?";
      return at + ": waiting for output '" + name + "' (its sink, or the user function it runs)";
    }
    const auto& stages = job->plan->stages();
    for (size_t s = 0; s < stages.size(); ++s) {
      if (!st.run->launched(static_cast<int>(s))) continue;
      for (int p = 0; p < stages[s].partitions; ++p)
        if (!st.run->completed(static_cast<int>(s), p))
          what.push_back("stage " + std::to_string(s) + " partition " + std::to_string(p));
    }
    return at + ": waiting for " + list() + " (their operators, or a restarting actor)";
  }
  if (st.sources_waiting > 0) {
    for (size_t i = 0; i < job->sources.size(); ++i)
      if (!st.source_parts.count(job->sources[i].first)) what.push_back(stream_name(job, i));
    return "batch " + to_string(st.info.batch_time) + ": waiting for the input of " + list() +
           (st.rerun ? " (re-reading its recorded range)" : " (its batch builder)");
  }
  if (!st.due.empty() && !workers_ready(job))
    return "batch " + to_string(st.due.front()) + ": waiting for restarted actors to register";
  return {};
}

// Every long wait says what it waits for: after slow_wait_warning of real time without a step
// forward, the driver logs the tasks, outputs, builders or receivers it still waits on, and
// again each period while the wait lasts.
// How often the driver looks for a slow wait: a few times per warning period, never busily.
Millis slow_wait_check_period(const Job* job) { return std::max(Millis{1}, job->slow_wait_warning / 4); }

void check_slow_wait(Self* self, Job* job) {
  auto& st = self->state;
  if (st.failed) return;
  auto now = std::chrono::steady_clock::now();
  auto waited = std::chrono::duration_cast<Millis>(now - st.last_progress);
  if (waited >= job->slow_wait_warning) {
    std::string what = waiting_for(self, job);
    if (!what.empty()) {
      spdlog::warn("{} ms without progress; {}", waited.count(), what);
      st.last_progress = now;
    }
  }
  self->delayed_send(self, slow_wait_check_period(job), slow_atom::value);
}

caf::behavior driver_actor(Self* self, Job* job) {
  auto& st = self->state;
  // Recovery: re-run the allocated batches after the checkpoint, then go live on the grid
  // after the last allocated batch. After a process restart, grid times missed while down
  // are skipped as one range (what arrived meanwhile belongs to the first live batch). A
  // driver actor restarted inside a running process skips nothing: the grid times whose
  // ticks it missed are due at once, so batches stay what they would have been.
  const bool restarted = job->driver_starts.fetch_add(1) > 0;
  std::vector<persistence::Allocation> reruns = job->recovery.reruns;
  if (restarted) {
    Millis done = job->meta->last_completed().value_or(job->zero);
    auto after = job->meta->allocations_after(done);
    if (!after) {
      fail(self, job, "driver restart: " + after.status().to_string());
      return {[](tick_atom, int64_t) {}};
    }
    reruns.clear();
    for (auto& a : *after)
      if (a.first > job->zero) reruns.push_back(std::move(a));
    spdlog::warn("driver restarted: {} allocated batch(es) after {} to re-run", reruns.size(), to_string(done));
  }
  Millis interval = job->graph->interval();
  Millis last_allocated = job->zero;
  if (auto last = job->meta->last_completed()) last_allocated = std::max(last_allocated, *last);
  for (auto& [t, blocks] : reruns) {
    st.due.push_back(t);
    st.reruns[t] = blocks;
    last_allocated = std::max(last_allocated, t);
  }
  st.replays = st.reruns.size();
  if (!job->source_hosts.empty()) {  // where workers' receivers continue: the last recorded reads
    auto all = job->meta->allocations_after(Millis::min());
    if (!all) {
      fail(self, job, "driver start: " + all.status().to_string());
      return {[](tick_atom, int64_t) {}};
    }
    for (const auto& [t, blocks] : *all)
      for (const auto& b : blocks)
        if (!b.replay.empty()) st.last_recorded[b.stream] = b.replay;
  }
  // The stages' state is as of the checkpoint, or (a driver actor restarted in a running
  // process) as of the last batch completed: the re-runs continue from there.
  st.after = restarted ? job->meta->last_completed() : job->recovery.checkpoint;
  Millis first = last_allocated + interval;
  const Millis missed_from = first;
  Millis now = job->clock->now();
  if (restarted) {
    for (; first <= now; first += interval) st.due.push_back(first);
  } else {
    while (first < now) first += interval;  // the first grid time >= now
  }
  if (!restarted && first > missed_from && job->meta->last_completed()) {
    spdlog::info("down from batch {} to {}: {} batch times skipped", to_string(missed_from),
                 to_string(first - interval), (first - missed_from) / interval);
    if (Status s = job->meta->record_downtime(missed_from, first - interval); !s)
      spdlog::error("cannot record the downtime: {}", s.to_string());
  }
  st.next_tick = first;
  schedule_tick(self, job);
  job->status->ready();
  if (!st.due.empty()) self->send(self, retry_atom::value, -1, -1, 0, int64_t{0});  // start the due batches
  if (job->slow_wait_warning.count() > 0) self->delayed_send(self, slow_wait_check_period(job), slow_atom::value);
  return {
      [self, job](slow_atom) { check_slow_wait(self, job); },
      [self, job](tick_atom, int64_t t) {
        auto& s = self->state;
        if (s.stopping || Millis{t} != s.next_tick) return;
        s.due.push_back(Millis{t});
        s.next_tick += job->graph->interval();
        schedule_tick(self, job);
        maybe_start(self, job);
      },
      [self, job](cut_atom, int64_t t, int index) {
        auto& s = self->state;
        if (s.failed || s.run || s.info.batch_time != Millis{t} || s.sources_waiting == 0) return;
        cut_source(self, job, Millis{t}, static_cast<size_t>(index));
      },
      [self, job](outputs_atom, int64_t seq) {
        auto& s = self->state;
        if (s.failed || !s.run || s.run_seq != seq) return;
        run_outputs(self, job);
      },
      [self, job](retry_atom, int stage, int partition, int attempt, int64_t seq) {
        if (stage < 0) return maybe_start(self, job);
        if (self->state.run && self->state.run_seq == seq) send_task(self, job, stage, partition, attempt);
      },
      [self, job](stop_atom, bool graceful) -> caf::response_promise {
        auto& s = self->state;
        auto promise = self->make_response_promise();
        if (s.failed) {
          promise.deliver(false);
          return promise;
        }
        s.stopping = true;
        s.stop_promises.push_back(promise);
        stop_receivers(self, job, [self, job, graceful] {
          auto& s2 = self->state;
          if (!graceful) {
            for (auto& p : s2.stop_promises) p.deliver(true);
            s2.stop_promises.clear();
            return;
          }
          s2.draining = true;
          maybe_start(self, job);
        });
        return promise;
      },
  };
}

}  // namespace

caf::actor spawn_driver(caf::local_actor& parent, Job& job) { return parent.spawn(driver_actor, &job); }

}  // namespace rill::actors
