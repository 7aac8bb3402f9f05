// Sink actor: runs one output operation per batch, in batch order, and records a commit with
// the output hash per (output, batch, partition), so a re-run of the batch skips what was
// already written and reports output that differs from the committed run (NONDETERMINISM).
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "actors/type_ids.hpp"
#include "dataflow/failpoint.hpp"
#include "actors/workers.hpp"
#include "dataflow/sink.hpp"

namespace rill::actors {

namespace {

struct SinkState {
  std::string name;
  bool opened = false;  // open() runs once per actor instance, again after a restart
};

// An output failure that already names where it happened.
struct OutputFailure : std::runtime_error {
  using std::runtime_error::runtime_error;
};

std::string where(const Job& job, const OutputOp& op, Millis t) {
  return "output '" + op.name + "' (stream '" + job.graph->node(op.node).name + "') at batch time " +
         to_string(t);
}

std::string where(const Job& job, const OutputOp& op, Millis t, int partition) {
  return where(job, op, t) + " partition " + std::to_string(partition);
}

// A re-run that produced other records than the committed run: the committed output stays
// (it may have been read), and the difference is reported. 0 on either side is unknown.
void check_same_output(Job& job, const OutputOp& op, Millis t, int partition, uint64_t recorded,
                       uint64_t now) {
  if (recorded == 0 || now == 0 || recorded == now) return;
  spdlog::warn("NONDETERMINISM: {} was committed with output hash {:016x} but its re-run produced "
               "{:016x}; the committed output is kept. Check operators for nondeterminism "
               "(unordered iteration, clocks, randomness).",
               where(job, op, t, partition), recorded, now);
  job.status->nondeterministic_output();
}

uint64_t hash_of(const OutputOp& op, const AnyPart& part) { return op.hash ? op.hash(part) : 0; }

void record(Job& job, const OutputOp& op, Millis t, int partition, uint64_t hash) {
  if (Status s = job.meta->record_commit(op.id, t, partition, hash); !s)
    throw OutputFailure(where(job, op, t, partition) + ": cannot record commit: " + s.to_string());
  failpoint("sink.after_commit");  // committed, the batch not yet complete
}

// A Sink output, partition by partition: skip what an earlier run committed (the sink's own
// marker first: it is written in one transaction with the data), else write, commit, log.
void run_sink(SinkState& state, Job& job, const OutputOp& op, const OutputRequest& req) {
  Sink& sink = *op.sink;
  if (!state.opened) {
    const Node& node = job.graph->node(op.node);
    try {
      sink.open(SinkContext{op.name, node.name, node.partitions});
    } catch (const std::exception& e) {
      throw OutputFailure(where(job, op, req.time) + ": cannot open the sink: " + e.what());
    }
    state.opened = true;
  }
  for (size_t i = 0; i < req.parts.size(); ++i) {
    const int p = static_cast<int>(i);
    const uint64_t h = hash_of(op, req.parts[i]);
    try {
      std::optional<uint64_t> own = sink.committed(req.time, p);
      std::optional<uint64_t> logged = job.meta->commit_hash(op.id, req.time, p);
      if (own || logged) {
        check_same_output(job, op, req.time, p, own ? *own : *logged, h);
        // Committed by the sink but not yet logged: a crash fell between the two.
        if (!logged) record(job, op, req.time, p, *own);
        continue;
      }
      sink.write(req.time, p, req.parts[i]);
      sink.commit(req.time, p, h);
    } catch (const OutputFailure&) {
      throw;
    } catch (const std::exception& e) {
      throw OutputFailure(where(job, op, req.time, p) + " failed: " + e.what());
    }
    record(job, op, req.time, p, h);
  }
}

// A whole-batch output (print, foreach_batch, save_as_text_files): runs unless every
// partition was committed, told which were; then logs each new partition's commit.
void run_whole(Job& job, const OutputOp& op, const OutputRequest& req) {
  std::vector<uint64_t> hashes;
  std::vector<bool> done;
  bool all_done = true;
  for (size_t i = 0; i < req.parts.size(); ++i) {
    const int p = static_cast<int>(i);
    hashes.push_back(hash_of(op, req.parts[i]));
    std::optional<uint64_t> logged = job.meta->commit_hash(op.id, req.time, p);
    if (logged) check_same_output(job, op, req.time, p, *logged, hashes.back());
    done.push_back(logged.has_value());
    all_done = all_done && logged.has_value();
  }
  if (all_done) return;
  auto committed = [&done](int p) { return done.at(static_cast<size_t>(p)); };
  try {
    op.run(OutputContext{req.time, committed}, req.parts);
  } catch (const std::exception& e) {
    throw OutputFailure(where(job, op, req.time) + " failed: " + e.what());
  }
  for (size_t i = 0; i < req.parts.size(); ++i)
    if (!done[i]) record(job, op, req.time, static_cast<int>(i), hashes[i]);
}

caf::behavior sink_actor(caf::stateful_actor<SinkState>* self, Job* job, int output) {
  self->state.name = "sink-" + job->graph->outputs()[static_cast<size_t>(output)].name;
  return {
      [self, job, output](output_atom, const OutputRequest& req) -> OutputReply {
        const OutputOp& op = job->graph->outputs()[static_cast<size_t>(output)];
        OutputReply reply{output, req.time, std::nullopt};
        try {
          if (op.sink)
            run_sink(self->state, *job, op, req);
          else
            run_whole(*job, op, req);
        } catch (const std::exception& e) {
          reply.error = e.what();
        } catch (...) {  // user code may throw anything; the batch still fails with a name
          reply.error = where(*job, op, req.time) + " failed with a non-standard exception";
        }
        return reply;
      },
  };
}

}  // namespace

caf::actor spawn_sink(caf::local_actor& parent, Job& job, int output) {
  return parent.spawn(sink_actor, &job, output);
}

}  // namespace rill::actors
