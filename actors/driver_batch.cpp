// One batch on the driver: cut its inputs, record the allocation, run stage tasks as their
// inputs complete, roll back to the last checkpoint when a stage lost its state or input, run
// the outputs one after another, record completion.
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/cluster_runtime.hpp"
#include "actors/driver_state.hpp"
#include "actors/type_ids.hpp"
#include "dataflow/failpoint.hpp"
#include "persistence/retention.hpp"

namespace rill::actors {

// Retention runs on the driver between batches, every few checkpoints: each pass deletes
// what the last ones left (a few batches' records), so it stays short.
constexpr int kRetentionEvery = 10;

static void retain_store(Job* job, Millis checkpoint) {
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



// Backpressure: each rate-limited source gets the rate its estimator derives from this batch.
static void adapt_rates(Job* job, const BatchInfo& info, const std::map<int, int64_t>& records) {
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

static void complete_batch(Self* self, Job* job) {
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

static void roll_back(Self* self, Job* job, const std::string& why);

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

static void launch_ready(Self* self, Job* job);

static bool stateful(const Job* job, int stage) {
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

static void launch_ready(Self* self, Job* job) {
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
static void roll_back(Self* self, Job* job, const std::string& why) {
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
static bool is_checkpoint(Self* self, const Job* job, Millis t) {
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


}  // namespace rill::actors
