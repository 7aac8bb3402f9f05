// Driver actor. Batches run one at a time, in time order (Spark's default): a tick (or a
// recovery's re-run, or a graceful stop's drain) starts the next one, driver_batch.cpp runs it.
// Work is asynchronous requests; nothing blocks; a long wait says what it waits for.
#include "actors/driver.hpp"

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/cluster_runtime.hpp"
#include "actors/driver_state.hpp"
#include "actors/type_ids.hpp"

namespace rill::actors {

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

namespace {

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

}  // namespace

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

namespace {

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
