// A worker's endpoint. Every peer opens sessions by the handshake, one per channel; only the
// driver's current task session may run tasks, any open session may fetch shuffle buckets, and
// the replica session of a node whose replica peer this is may ship and restore its store.
// Tasks and results of any other session are refused, so a driver declared dead (or a link
// that timed out while this node was paused) cannot have stale work run or counted.
#include <map>
#include <memory>
#include <random>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/cluster_actors.hpp"
#include "actors/cluster_runtime.hpp"
#include "actors/type_ids.hpp"
#include "dataflow/shuffle_outputs.hpp"
#include "net/task_frames.hpp"
#include "persistence/store_mirror.hpp"

namespace rill::actors {
namespace {

struct Greeting {  // a handshake in progress, by the greeting link
  std::string nonce;
  net::HelloStep hello;
};

struct Session {
  caf::actor link;
  uint64_t number = 0;
};

struct HeldTask {
  uint64_t session = 0;
  uint64_t id = 0;
  TaskRequest task;
};

struct HeldSource {
  uint64_t session = 0;
  uint64_t id = 0;
  net::SourceAsk ask;
};

struct EndpointState {
  std::map<caf::actor_addr, Greeting> greetings;
  std::map<std::string, Session> sessions;  // by session_key()
  bool ready = false;                       // the node's store is open: tasks may run
  std::vector<HeldTask> held;               // tasks that came before
  std::vector<HeldSource> held_sources;     // and the driver's questions about sources
  std::map<std::string, std::unique_ptr<persistence::StoreMirror>> mirrors;  // by origin node
  ShuffleOutputs outputs;                   // the buckets of the tasks run here
  std::map<std::string, caf::actor> links;  // to the other workers, for fetches
  std::optional<Millis> checkpoint;         // the latest base a task named
  caf::actor recorder;                      // records it (checkpoint_recorder)
  uint64_t incarnation = std::random_device{}() * uint64_t{0x100000001};  // this process's
  static inline const char* name = "node-endpoint";
};

using Self = caf::stateful_actor<EndpointState>;

std::string session_key(const std::string& node, const std::string& channel) {
  return node + "/" + channel;
}

void answer(Self* self, net::Frame frame) {
  if (auto to = caf::actor_cast<caf::actor>(self->current_sender()))
    self->send(to, frame_atom::value, std::move(frame));
}

void refuse(Self* self, Job* job, const std::string& from, const std::string& reason) {
  spdlog::error("node {}: refused node '{}': {}", job->node->name, from, reason);
  answer(self, net::encode_refusal(reason));
}

// The open session `sender` belongs to, as (session key, session), or null.
const std::pair<const std::string, Session>* session_of(Self* self,
                                                        const caf::strong_actor_ptr& sender) {
  if (!sender) return nullptr;
  for (const auto& entry : self->state.sessions)
    if (entry.second.link.address() == sender->address()) return &entry;
  return nullptr;
}

std::string driver_key(Job* job) { return session_key(job->cluster->driver().name, "tasks"); }

bool driver_session_is(Self* self, Job* job, uint64_t session) {
  auto it = self->state.sessions.find(driver_key(job));
  return it != self->state.sessions.end() && it->second.number == session;
}

// True when the message being handled came over the driver's open task session `session`.
bool from_driver(Self* self, Job* job, uint64_t session) {
  const auto* from = session_of(self, self->current_sender());
  return from && from->first == driver_key(job) && from->second.number == session;
}

// Sends the frame encode() makes over the driver's session `session`; an answer whose session
// is over is dropped, and logged naming what() it answered.
template <class Encode, class What>
void to_driver(Self* self, Job* job, uint64_t session, Encode encode, What what) {
  if (!driver_session_is(self, job, session)) {
    spdlog::warn("node {}: {} dropped: its session {} is over", job->node->name, what(), session);
    return;
  }
  self->send(self->state.sessions[driver_key(job)].link, frame_atom::value, encode());
}

void send_to_driver(Self* self, Job* job, uint64_t session, uint64_t id, const TaskReply& reply) {
  to_driver(
      self, job, session, [&] { return net::encode_task_done(*job->graph, session, id, reply); },
      [&] {
        return "result of stage " + std::to_string(reply.stage) + " partition " +
               std::to_string(reply.partition) + " at " + to_string(reply.time);
      });
}

// With every answer goes how the stream's receiver fares here, as of the moment it is sent
// (answers reach the driver in order): the driver's status shows it.
void send_sourced(Self* self, Job* job, uint64_t session, uint64_t id, net::SourceAnswer a) {
  to_driver(
      self, job, session,
      [&] {
        a.receiver = job->status->receiver(job->graph->node(a.stream).name);
        if (a.receiver) a.receiver->node = job->node->name;
        a.incarnation = self->state.incarnation;
        return net::encode_sourced(*job->graph, session, id, a);
      },
      [&] {
        return "answer about stream " + std::to_string(a.stream) + " at " + to_string(a.time);
      });
}

caf::actor recorder_of(Self* self, Job* job);

// The driver's question about a stream whose receiver runs here, for its batch builder or
// receiver actor; one that is restarting is asked again shortly.
void serve_source(Self* self, Job* job, uint64_t session, uint64_t id, net::SourceAsk ask) {
  net::SourceAnswer out;
  out.stream = ask.stream;
  out.time = ask.time;
  int index = -1;
  for (size_t i = 0; i < job->sources.size(); ++i)
    if (job->sources[i].first == ask.stream) index = static_cast<int>(i);
  if (index < 0) {
    out.error = "stream '" + job->graph->node(ask.stream).name + "' has no receiver on node " +
                job->node->name;
    return send_sourced(self, job, session, id, out);
  }
  auto again = [self, session, id, ask](const caf::error&) {
    self->delayed_send(self, std::chrono::milliseconds(20), source_atom::value, session, id, ask);
  };
  auto answer_cut = [self, job, session, id, out](SourceBatch& b) mutable {
    out.records = b.records;
    out.parts = std::move(b.parts);
    out.replay = std::move(b.replay);
    out.error = std::move(b.error);
    send_sourced(self, job, session, id, out);
  };
  using Kind = net::SourceAsk::Kind;
  if (ask.kind == Kind::set_rate) {
    job->sources[static_cast<size_t>(index)].second->set_rate(ask.rate);
    return send_sourced(self, job, session, id, out);
  }
  if (ask.kind == Kind::trim_wal) {
    // The driver's retention: no batch after its checkpoint reads these. On the recorder: with
    // replication the commit waits for the replica peer, whose endpoint may wait for this one.
    if (job->store) self->send(recorder_of(self, job), trim_atom::value, ask.stream, ask.below);
    return send_sourced(self, job, session, id, out);
  }
  if (ask.kind == Kind::stop &&
      job->sources[static_cast<size_t>(index)].second->receiver_slot() == nullptr)
    return send_sourced(self, job, session, id, out);
  caf::actor actor = job->directory.get(ask.kind == Kind::stop ? "receiver" : "builder", index);
  if (!actor) return again(caf::error{});
  switch (ask.kind) {
    case Kind::take:
      self->request(actor, caf::infinite, take_atom::value, static_cast<int64_t>(ask.time.count()),
                    ask.recorded)
          .then(answer_cut, again);
      return;
    case Kind::replay:
      self->request(actor, caf::infinite, replay_atom::value,
                    static_cast<int64_t>(ask.time.count()), ask.recorded)
          .then(answer_cut, again);
      return;
    case Kind::pending:
      self->request(actor, caf::infinite, pending_atom::value)
          .then(
              [self, job, session, id, out](bool pending) mutable {
                out.pending = pending;
                send_sourced(self, job, session, id, out);
              },
              again);
      return;
    case Kind::stop:
      self->request(actor, caf::infinite, stop_atom::value, ask.graceful)
          .then([self, job, session, id, out](bool) { send_sourced(self, job, session, id, out); },
                again);
      return;
    case Kind::set_rate:
    case Kind::trim_wal:
      return;
  }
}

// Runs the task on this node's stage actor; a stage that died mid-task is restarted by its
// supervisor, and the task goes to the new one.
void run_task(Self* self, Job* job, uint64_t session, uint64_t id, TaskRequest task) {
  caf::actor stage = job->directory.get("stage", stage_index(task.stage, task.partition));
  if (!stage) {
    self->delayed_send(self, std::chrono::milliseconds(20), run_atom::value, session, id,
                       std::move(task));
    return;
  }
  self->request(stage, caf::infinite, run_atom::value, task)
      .then(
          [self, job, session, id](TaskReply& reply) {
            if (reply.ok) {
              std::vector<std::pair<int, AnyPart>> held;  // the frame says only where they are
              for (const auto& [node, part] : reply.result.exported)
                if (job->graph->written_where_computed(node)) held.emplace_back(node, part);
              self->state.outputs.put(reply.time, reply.stage, reply.partition,
                                      reply.result.buckets, std::move(held));
            }
            send_to_driver(self, job, session, id, reply);
          },
          [self, session, id, task](caf::error&) mutable {
            self->delayed_send(self, std::chrono::milliseconds(20), run_atom::value, session, id,
                               std::move(task));
          });
}

void send_output_done(Self* self, Job* job, uint64_t session, uint64_t id,
                      const net::OutputDone& done) {
  to_driver(
      self, job, session, [&] { return net::encode_output_done(session, id, done); },
      [&] {
        return "the write of output " + std::to_string(done.output) + " partition " +
               std::to_string(done.partition) + " at " + to_string(done.time);
      });
}

// Writes a part this node computed and holds to its output's Sink, on this node's sink actor
// for that output (restarting: asked again shortly). A part no longer held (this process
// started after its task ran) is answered not found, for the driver to roll back, unless the
// driver's log has its commit already. An ask repeated in a new session (the answer was lost)
// gets the hash this process committed, without a second write.
void serve_output(Self* self, Job* job, uint64_t session, uint64_t id, net::OutputAsk ask) {
  const OutputOp& op = job->graph->outputs()[static_cast<size_t>(ask.output)];
  const int stage = job->plan->stage_of(op.node);
  net::OutputDone done{ask.output, ask.time, ask.partition, true, 0, std::nullopt};
  auto& outputs = self->state.outputs;
  if (auto hash = outputs.written(ask.time, stage, ask.partition, ask.output)) {
    done.hash = *hash;
    return send_output_done(self, job, session, id, done);
  }
  auto part = outputs.held(ask.time, stage, ask.partition, op.node);
  if (!part && ask.logged) {  // written by an earlier run: nothing left to do
    done.hash = *ask.logged;
    return send_output_done(self, job, session, id, done);
  }
  if (!part) {
    done.found = false;
    done.error = "node " + job->node->name + " does not hold partition " +
                 std::to_string(ask.partition) + " of stream '" + job->graph->node(op.node).name +
                 "' at " + to_string(ask.time) + " (restarted since its task ran?)";
    return send_output_done(self, job, session, id, done);
  }
  caf::actor sink = job->directory.get("sink", op.id);
  auto again = [self, session, id, ask](const caf::error&) {
    self->delayed_send(self, std::chrono::milliseconds(20), output_atom::value, session, id, ask);
  };
  if (!sink) return again(caf::error{});
  self->request(sink, caf::infinite, output_atom::value,
                PartOutputRequest{ask.output, ask.time, ask.partition, *part, ask.logged})
      .then(
          [self, job, session, id, stage, done](PartOutputReply& r) mutable {
            done.hash = r.hash;
            done.error = std::move(r.error);
            done.differed = r.differed;
            if (!done.error)
              self->state.outputs.note_written(done.time, stage, done.partition, done.output,
                                               done.hash);
            send_output_done(self, job, session, id, done);
          },
          again);
}

caf::actor link_to(Self* self, Job* job, const std::string& node) {
  auto& link = self->state.links[node];
  if (!link) {
    link = spawn_node_link(*self, *job, *job->cluster->find_node(node), "fetch");
    self->link_to(link);  // it stops with the endpoint (and the node)
  }
  return link;
}

// A task's base is a checkpoint every node holds its state at: recovery never goes back
// further, so the worker records it, and its retention deletes the snapshots before it (the
// driver's retention covers only the driver's store).
caf::actor recorder_of(Self* self, Job* job) {
  auto& st = self->state;
  if (!st.recorder) {
    st.recorder = spawn_checkpoint_recorder(*self, *job);
    self->link_to(st.recorder);
  }
  return st.recorder;
}

void note_checkpoint(Self* self, Job* job, std::optional<Millis> base) {
  auto& st = self->state;
  if (!base || !job->store || (st.checkpoint && *base <= *st.checkpoint)) return;
  st.checkpoint = base;
  self->send(recorder_of(self, job), tick_atom::value, base->count());
}

// A task's exchange inputs arrive as references: fetch every bucket (from this node's own
// outputs or from the worker that holds it), then run. A bucket whose holder no longer has it
// (it restarted) fails the task with lost_input: the driver runs the whole batch again.
void gather_and_run(Self* self, Job* job, uint64_t session, uint64_t id, TaskRequest task) {
  struct Gathering {
    TaskRequest task;
    int waiting = 0;
    std::string lost;
  };
  auto g = std::make_shared<Gathering>(Gathering{std::move(task), 0, {}});
  auto finish = [self, job, session, id, g] {
    if (g->lost.empty()) return run_task(self, job, session, id, std::move(g->task));
    TaskReply reply;
    reply.stage = g->task.stage;
    reply.partition = g->task.partition;
    reply.time = g->task.time;
    reply.ok = false;
    reply.lost_input = true;
    reply.error = TaskError{
        "stage-" + std::to_string(g->task.stage) + "-" + std::to_string(g->task.partition),
        g->task.time, "shuffle input lost: " + g->lost};
    send_to_driver(self, job, session, id, reply);
  };
  auto& inputs = g->task.inputs;
  for (size_t i = 0; i < inputs.size(); ++i)
    for (size_t q = 0; q < inputs[i].buckets.size(); ++q) {
      if (!inputs[i].buckets[q]) continue;
      const net::BucketRef ref = net::bucket_ref_of(inputs[i].buckets[q]);
      net::FetchRequest fetch{g->task.time,   ref.stage,      ref.partition,
                              inputs[i].node, inputs[i].edge, g->task.partition};
      std::string what = "bucket " + std::to_string(fetch.bucket) + " of stage " +
                         std::to_string(ref.stage) + " partition " + std::to_string(ref.partition) +
                         " on node " + ref.holder + " at " + to_string(fetch.time);
      if (ref.holder == job->node->name) {
        auto part = self->state.outputs.get(fetch.time, fetch.stage, fetch.partition, fetch.node,
                                            fetch.edge, fetch.bucket);
        if (part)
          inputs[i].buckets[q] = *part;
        else
          g->lost = what + ": this node no longer has it";
        continue;
      }
      // The holder comes from a frame: a name outside the config's workers is refused here,
      // not looked up.
      const net::NodeConfig* holder = job->cluster->find_node(ref.holder);
      if (holder == nullptr || holder->role != net::NodeRole::worker) {
        spdlog::error(
            "node {}: a task names '{}' as the holder of {}: not a worker of this cluster",
            job->node->name, ref.holder, what);
        g->lost = what + ": no such worker";
        continue;
      }
      ++g->waiting;
      self->request(link_to(self, job, ref.holder), caf::infinite, fetch_atom::value, fetch)
          .then(
              [g, i, q, what, finish](net::FetchReply& r) {
                if (r.found)
                  g->task.inputs[i].buckets[q] = std::move(r.part);
                else if (g->lost.empty())
                  g->lost = what + ": " + r.error;
                if (--g->waiting == 0) finish();
              },
              [g, what, finish](caf::error& e) {
                if (g->lost.empty()) g->lost = what + ": " + to_string(e);
                if (--g->waiting == 0) finish();
              });
    }
  if (g->waiting == 0) finish();
}

// A task of the driver's open session, once this node's store is open.
void start_task(Self* self, Job* job, uint64_t session, uint64_t id, TaskRequest task) {
  note_checkpoint(self, job, task.base);
  gather_and_run(self, job, session, id, std::move(task));
}

void on_hello(Self* self, Job* job, const net::Envelope& env) {
  auto& st = self->state;
  if (auto reason = net::refusal_reason(job->identity, env.hello, ""); !reason.empty())
    return refuse(self, job, env.hello.from, reason);
  if (!self->current_sender()) return;
  Greeting& g = st.greetings[self->current_sender()->address()];
  g = Greeting{net::make_nonce(), env.hello};
  answer(self, net::encode_hello(net::EnvelopeKind::welcome,
                                 net::make_step(job->identity, env.hello.from, env.hello.session,
                                                g.nonce, env.hello.nonce, env.hello.channel)));
}

void on_proof(Self* self, Job* job, const net::Envelope& env) {
  auto& st = self->state;
  auto it = self->current_sender() ? st.greetings.find(self->current_sender()->address())
                                   : st.greetings.end();
  if (it == st.greetings.end()) return refuse(self, job, env.hello.from, "a proof without a hello");
  Greeting g = std::move(it->second);
  st.greetings.erase(it);
  std::string reason = net::refusal_reason(job->identity, env.hello, g.nonce);
  if (reason.empty() && (env.hello.session != g.hello.session || env.hello.from != g.hello.from ||
                         env.hello.channel != g.hello.channel))
    reason = "the proof does not match its hello";
  if (!reason.empty()) return refuse(self, job, env.hello.from, reason);
  Session& s = st.sessions[session_key(env.hello.from, env.hello.channel)];
  if (s.link) self->demonitor(s.link);
  s.link = caf::actor_cast<caf::actor>(self->current_sender());
  s.number = env.hello.session;
  self->monitor(s.link);
  spdlog::info("node {}: {} session {} with node {} open", job->node->name, env.hello.channel,
               s.number, env.hello.from);
}

// The copy of `origin`'s store kept here, opened on first use beside this node's store.
persistence::StoreMirror* mirror_of(Self* self, Job* job, const std::string& origin,
                                    std::string& error) {
  auto& m = self->state.mirrors[origin];
  if (m) return m.get();
  std::string dir = persistence::mirror_dir(job->node->store_dir, origin);
  persistence::StoreOptions options;
  options.sync = job->store_sync;
  auto opened = persistence::StoreMirror::open(dir, options);
  if (!opened) {
    error = "node " + job->node->name + " cannot open the copy of node " + origin + "'s store in " +
            dir + ": " + opened.status().to_string();
    return nullptr;
  }
  m = std::move(*opened);
  return m.get();
}

// A commit to apply or a copy to hand back, from a node whose replica peer this is, over its
// replica session. The mirror writes synchronously (the scheduler has a thread to spare).
void on_replica(Self* self, Job* job, net::Envelope& env) {
  const auto* from = session_of(self, self->current_sender());
  const std::string origin = from ? from->first.substr(0, from->first.rfind('/')) : "";
  const net::NodeConfig* origin_node = job->cluster->find_node(origin);
  if (!from || from->first != session_key(origin, "replica") ||
      from->second.number != env.session || origin_node == nullptr ||
      replica_peer(*job->cluster, *origin_node) != job->node) {
    spdlog::warn(
        "node {}: refused a {} frame: not from the open replica session of a node whose copy "
        "this node keeps",
        job->node->name, net::envelope_kind_name(env.kind));
    return;
  }
  net::ReplicaReply reply;
  std::string error;
  persistence::StoreMirror* mirror = mirror_of(self, job, origin, error);
  if (env.kind == net::EnvelopeKind::restore) {
    if (mirror == nullptr) {
      reply.error = error;
    } else if (auto contents = mirror->contents(); !contents) {
      reply.error = contents.status().to_string();
    } else if (*contents) {
      reply.found = true;
      reply.contents = to_wire(std::move(**contents));
      spdlog::info("node {}: handing node {} its store back from {} ({} entries)", job->node->name,
                   origin, mirror->dir(), reply.contents.ops.size());
    }
    if (!reply.error.empty())
      spdlog::error("node {}: restore of node {}: {}", job->node->name, origin, reply.error);
    return answer(self, net::encode_restored(env.session, env.id, reply));
  }
  const net::StoreCopy& commit = *env.replica.commit;
  reply.seq = commit.seq;
  if (mirror == nullptr) {
    reply.outcome = net::ReplicaReply::Outcome::failed;
    reply.error = error;
  } else {
    persistence::ReplicaAck ack = mirror->apply(from_wire(commit));
    static_assert(static_cast<int>(persistence::ReplicaAck::Outcome::failed) ==
                  static_cast<int>(net::ReplicaReply::Outcome::failed));
    reply.outcome = static_cast<net::ReplicaReply::Outcome>(ack.outcome);
    reply.error = ack.error;
  }
  answer(self, net::encode_replicated(env.session, env.id, reply));
}

void on_frame(Self* self, Job* job, const net::Frame& frame) {
  auto& st = self->state;
  auto env = net::decode_envelope(frame, *job->graph, net::DecodeLimits{});
  if (!env) {
    spdlog::error("node {}: malformed frame refused: {}", job->node->name,
                  env.status().to_string());
    answer(self, net::encode_refusal("malformed frame: " + env.status().message()));
    return;
  }
  switch (env->kind) {
    case net::EnvelopeKind::hello:
      return on_hello(self, job, *env);
    case net::EnvelopeKind::proof:
      return on_proof(self, job, *env);
    case net::EnvelopeKind::refusal:
      spdlog::error("node {}: refused by a peer: {}", job->node->name, env->refusal);
      return;
    case net::EnvelopeKind::task: {
      const auto& t = env->task;
      if (!from_driver(self, job, env->session)) {
        spdlog::warn(
            "node {}: refused stage {} partition {} at {}: session {} is not the driver's open one",
            job->node->name, t.stage, t.partition, to_string(t.time), env->session);
        return;
      }
      const auto& stages = job->plan->stages();
      if (t.stage < 0 || static_cast<size_t>(t.stage) >= stages.size() || t.partition < 0 ||
          t.partition >= stages[static_cast<size_t>(t.stage)].partitions ||
          !runs_partition(*job, t.partition)) {
        spdlog::error(
            "node {}: refused a task for stage {} partition {}: not in this job, or not placed "
            "here",
            job->node->name, t.stage, t.partition);
        return;
      }
      if (!st.ready) {
        st.held.push_back({env->session, env->id, std::move(env->task)});
        return;
      }
      return start_task(self, job, env->session, env->id, std::move(env->task));
    }
    case net::EnvelopeKind::source: {
      if (!from_driver(self, job, env->session)) {
        spdlog::warn(
            "node {}: refused a question about stream {}: session {} is not the driver's open one",
            job->node->name, env->source.stream, env->session);
        return;
      }
      if (!st.ready) {
        st.held_sources.push_back({env->session, env->id, std::move(env->source)});
        return;
      }
      return serve_source(self, job, env->session, env->id, std::move(env->source));
    }
    case net::EnvelopeKind::output: {
      const auto& ask = env->output;
      if (!from_driver(self, job, env->session) || !runs_partition(*job, ask.partition)) {
        spdlog::warn(
            "node {}: refused to write output {} partition {} at {}: not from the driver's open "
            "session, or not placed here",
            job->node->name, ask.output, ask.partition, to_string(ask.time));
        return;
      }
      return serve_output(self, job, env->session, env->id, ask);
    }
    case net::EnvelopeKind::replicate:
    case net::EnvelopeKind::restore:
      return on_replica(self, job, *env);
    case net::EnvelopeKind::fetch: {
      const auto* from = session_of(self, self->current_sender());
      if (!from || from->second.number != env->session) {
        spdlog::warn("node {}: refused a fetch: session {} is not open", job->node->name,
                     env->session);
        return;
      }
      const auto& f = env->fetch;
      net::FetchReply reply;
      auto part = st.outputs.get(f.time, f.stage, f.partition, f.node, f.edge, f.bucket);
      if (part) {
        reply.found = true;
        reply.part = *part;
      } else {
        reply.error = "node " + job->node->name + " does not hold that output (restarted since?)";
      }
      answer(self, net::encode_fetched(*job->graph, env->session, env->id, f, reply));
      return;
    }
    default:
      spdlog::warn("node {}: unexpected {} frame ignored", job->node->name,
                   net::envelope_kind_name(env->kind));
  }
}

caf::behavior node_endpoint(Self* self, Job* job) {
  self->set_down_handler([self, job](caf::down_msg& m) {
    auto& sessions = self->state.sessions;
    for (auto it = sessions.begin(); it != sessions.end(); ++it)
      if (it->second.link.address() == m.source) {
        spdlog::warn("node {}: node {}'s link is gone ({}); waiting for a new session",
                     job->node->name, it->first, self->system().render(m.reason));
        sessions.erase(it);
        return;
      }
  });
  return {
      [self, job](frame_atom, const net::Frame& frame) { on_frame(self, job, frame); },
      [self, job](run_atom, uint64_t session, uint64_t id, TaskRequest& task) {
        if (driver_session_is(self, job, session))
          run_task(self, job, session, id, std::move(task));
      },
      [self, job](output_atom, uint64_t session, uint64_t id, net::OutputAsk& ask) {
        if (driver_session_is(self, job, session)) serve_output(self, job, session, id, ask);
      },
      [self, job](source_atom, uint64_t session, uint64_t id, net::SourceAsk& ask) {
        if (driver_session_is(self, job, session))
          serve_source(self, job, session, id, std::move(ask));
      },
      [self, job](ready_atom) {
        auto& st = self->state;
        st.ready = true;
        for (auto& h : std::exchange(st.held_sources, {}))
          if (driver_session_is(self, job, h.session))
            serve_source(self, job, h.session, h.id, std::move(h.ask));
        auto held = std::move(st.held);
        for (auto& h : held) {
          if (driver_session_is(self, job, h.session))  // else its session is over
            start_task(self, job, h.session, h.id, std::move(h.task));
        }
      },
  };
}

}  // namespace

caf::actor spawn_node_endpoint(caf::actor_system& system, Job& job) {
  return system.spawn(node_endpoint, &job);
}

}  // namespace rill::actors
