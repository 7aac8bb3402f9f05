// Sink actor: runs one output operation per batch, in batch order, and records a commit with
// the output hash per (output, batch, partition), so a re-run of the batch skips what was
// already written and reports output that differs from the committed run (NONDETERMINISM).
#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include <stdexcept>

#include "actors/cluster_runtime.hpp"
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
bool check_same_output(Job& job, const OutputOp& op, Millis t, int partition, uint64_t recorded,
                       uint64_t now) {
  if (recorded == 0 || now == 0 || recorded == now) return false;
  spdlog::warn("NONDETERMINISM: {} was committed with output hash {:016x} but its re-run produced "
               "{:016x}; the committed output is kept. Check operators for nondeterminism "
               "(unordered iteration, clocks, randomness).",
               where(job, op, t, partition), recorded, now);
  job.status->nondeterministic_output();
  return true;
}

uint64_t hash_of(const OutputOp& op, const AnyPart& part) { return op.hash ? op.hash(part) : 0; }

void record(Job& job, const OutputOp& op, Millis t, int partition, uint64_t hash) {
  if (Status s = job.meta->record_commit(op.id, t, partition, hash); !s)
    throw OutputFailure(where(job, op, t, partition) + ": cannot record commit: " + s.to_string());
  failpoint("sink.after_commit");  // committed, the batch not yet complete
}

void open_once(SinkState& state, Job& job, const OutputOp& op, Millis t) {
  if (state.opened) return;
  const Node& node = job.graph->node(op.node);
  try {
    op.sink->open(SinkContext{op.name, node.name, node.partitions, job.node ? job.node->name : ""});
  } catch (const std::exception& e) {
    throw OutputFailure(where(job, op, t) + ": cannot open the sink: " + e.what());
  }
  state.opened = true;
}

// Writes one partition unless an earlier run committed it (the sink's own marker first: it is
// written in one transaction with the data; then `logged`, the driver's log of commits).
// Returns the hash of the commit to log, or nullopt when `logged` holds it already; `differed`
// says whether this run's output differed from the committed one (NONDETERMINISM).
std::optional<uint64_t> write_partition(SinkState& state, Job& job, const OutputOp& op, Millis t,
                                        int p, const AnyPart& part, std::optional<uint64_t> logged,
                                        bool& differed) {
  open_once(state, job, op, t);
  Sink& sink = *op.sink;
  const uint64_t h = hash_of(op, part);
  try {
    std::optional<uint64_t> own = sink.committed(t, p);
    if (own || logged) {
      differed = check_same_output(job, op, t, p, own ? *own : *logged, h);
      // Committed by the sink but not yet logged: a crash fell between the two.
      if (logged) return std::nullopt;
      return *own;
    }
    sink.write(t, p, part);
    sink.commit(t, p, h);
  } catch (const std::exception& e) {
    throw OutputFailure(where(job, op, t, p) + " failed: " + e.what());
  }
  return h;
}

// A Sink output, partition by partition: write, commit, log.
void run_sink(SinkState& state, Job& job, const OutputOp& op, const OutputRequest& req) {
  for (size_t i = 0; i < req.parts.size(); ++i) {
    const int p = static_cast<int>(i);
    auto logged = job.meta->commit_hash(op.id, req.time, p);
    bool differed = false;
    if (auto h = write_partition(state, job, op, req.time, p, req.parts[i], logged, differed))
      record(job, op, req.time, p, *h);
  }
}

// One output's answers being gathered from the workers, answering the driver once.
struct Gathering {
  OutputReply reply;
  size_t waiting = 0;
  caf::response_promise promise;
  std::optional<caf::error> link_lost;
  bool answered = false;
  void answer() {
    if (link_lost && !reply.error) return abandon(std::move(*link_lost));
    if (answered) return;
    answered = true;
    promise.deliver(std::move(reply));
  }
  // Answers with an error: the driver runs the output again.
  void abandon(caf::error e) {
    if (answered) return;
    answered = true;
    promise.deliver(std::move(e));
  }
};
using OpenGatherings = std::vector<std::shared_ptr<Gathering>>;

// On a cluster's driver, a Sink output whose stream stays on the workers: each worker that
// computed a partition writes it (asked over its link); the driver logs the commits. A worker
// that lost its part (it restarted) answers not found: the reply says lost, and the driver
// rolls back. A link that died answers an error: the driver runs the output again.
caf::result<OutputReply> run_on_workers(caf::event_based_actor* self, Job& job, const OutputOp& op,
                                        const OutputRequest& req, OpenGatherings& open) {
  auto g = std::make_shared<Gathering>();
  g->reply = OutputReply{op.id, req.time, std::nullopt, false};
  g->waiting = req.parts.size();
  g->promise = self->make_response_promise<OutputReply>();
  std::erase_if(open, [](const auto& o) { return o->answered; });
  open.push_back(g);
  auto finish = [g] {
    if (--g->waiting == 0) g->answer();
  };
  auto fail = [g](std::string why, bool lost) {
    if (g->reply.error && (g->reply.lost || !lost)) return;  // keep the first, a loss first
    g->reply.error = std::move(why);
    g->reply.lost = lost;
  };
  for (size_t i = 0; i < req.parts.size(); ++i) {
    const int p = static_cast<int>(i);
    const net::NodeConfig& owner = job.cluster->owner_of(p);
    net::OutputAsk ask{op.id, req.time, p, job.meta->commit_hash(op.id, req.time, p)};
    caf::actor link = job.directory.get("link", node_index(*job.cluster, owner));
    if (!link) {  // restarting with its supervisor
      g->link_lost = caf::make_error(caf::sec::request_receiver_down);
      finish();
      continue;
    }
    self->request(link, caf::infinite, output_atom::value, ask)
        .then(
            [&job, &op, ask, g, fail, finish, worker = owner.name](net::OutputDone& d) {
              const std::string at = where(job, op, ask.time, ask.partition) + " on node " + worker;
              if (!d.found) {
                fail(at + ": " + d.error.value_or("the worker no longer holds it"), true);
              } else if (d.error) {
                fail(*d.error + " (on node " + worker + ")", false);
              } else {
                if (d.differed) {  // logged in full on the worker
                  spdlog::warn("NONDETERMINISM: {}: a re-run's output differed from the committed one",
                               at);
                  job.status->nondeterministic_output();
                }
                if (ask.logged) return finish();
                try {
                  record(job, op, ask.time, ask.partition, d.hash);
                } catch (const std::exception& e) {
                  fail(e.what(), false);
                }
              }
              finish();
            },
            [g, finish](caf::error& e) {
              if (!g->link_lost) g->link_lost = std::move(e);
              finish();
            });
  }
  if (req.parts.empty()) g->answer();
  return g->promise;
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
  const OutputOp& op = job->graph->outputs()[static_cast<size_t>(output)];
  self->state.name = "sink-" + op.name;
  // Killed while workers write (a promise is no answer once its actor is gone): the driver
  // hears of it and runs the output again on the restarted sink.
  auto open = std::make_shared<OpenGatherings>();
  self->attach_functor([open] {
    for (auto& g : *open) g->abandon(caf::make_error(caf::sec::request_receiver_down));
  });
  return {
      [self, job, &op, open](output_atom, const OutputRequest& req) -> caf::result<OutputReply> {
        if (job->cluster && op.sink && job->graph->written_where_computed(op.node))
          return run_on_workers(self, *job, op, req, *open);
        OutputReply reply{op.id, req.time, std::nullopt, false};
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
      [self, job, &op](output_atom, const PartOutputRequest& req) {
        PartOutputReply reply;
        failpoint("sink.before_part_write");  // on a worker: the driver asked, nothing written
        try {
          auto written = write_partition(self->state, *job, op, req.time, req.partition,
                                         req.part, req.logged, reply.differed);
          reply.hash = written ? *written : req.logged.value_or(0);
          failpoint("sink.after_part_commit");  // committed, the driver not yet told
        } catch (const std::exception& e) {
          reply.error = e.what();
        } catch (...) {
          reply.error = where(*job, op, req.time, req.partition) +
                        " failed with a non-standard exception";
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
