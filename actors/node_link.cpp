// The driver's link to one worker. A lost worker costs no task attempt: its tasks wait here
// until the worker is back (restarted by rill-launch or systemd), then run again in a new
// session; the worker's stages reload their state as of each task's base, as after any restart.
#include <chrono>
#include <map>
#include <set>
#include <variant>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>

#include "actors/cluster_actors.hpp"
#include "actors/type_ids.hpp"
#include "net/task_frames.hpp"

namespace rill::actors {
namespace {

enum class Phase { idle, connecting, greeting, open };

struct LinkState {
  const net::NodeConfig* peer = nullptr;
  std::string channel;  // what this link's sessions carry (HelloStep::channel)
  Phase phase = Phase::idle;
  caf::actor remote;  // the worker's endpoint, while connected
  std::string nonce;  // this handshake's
  uint64_t session = 0;
  uint64_t next_id = 1;
  // A task (from the driver) or a fetch (from a worker's endpoint), sent again in each new
  // session until answered.
  struct Pending {
    std::variant<TaskRequest, net::FetchRequest, net::ReplicaRequest, net::SourceAsk,
                 net::OutputAsk>
        request;
    caf::response_promise promise;
  };
  std::map<uint64_t, Pending> pending;
  int failed_connects = 0;  // in a row, for the log
  // Failed connects and sessions that ended before any answer (a frame refused as malformed
  // every time): each doubles the wait before the next attempt. An answer resets it.
  int backoff = 0;
  bool answered = false;  // an answer came in the current connection
  static inline const char* name = "node-link";
};

using Self = caf::stateful_actor<LinkState>;

// A lost peer is tried again soon (a restarted worker listens within tens of ms, and every
// batch waits for it), then less and less often while it stays away.
constexpr auto kReconnectFirst = std::chrono::milliseconds(20);
constexpr auto kReconnectMax = std::chrono::milliseconds(250);
constexpr auto kAfterRefusal = std::chrono::seconds(2);

// Later sessions get larger numbers, also across driver restarts (the clock moves on).
uint64_t new_session(uint64_t previous) {
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return std::max(previous + 1, static_cast<uint64_t>(now) << 8);
}

std::string peer_name(Self* self) { return self->state.peer->name; }

// 20, 40, 80, 160, then 250 ms between attempts, by the attempts that failed in a row.
caf::timespan reconnect_delay(const LinkState& st) {
  auto delay = kReconnectFirst * (1 << std::min(st.backoff, 4));
  return std::min<caf::timespan>(delay, kReconnectMax);
}

void send_request(Self* self, Job* job, uint64_t id, const LinkState::Pending& p) {
  auto& st = self->state;
  if (auto* task = std::get_if<TaskRequest>(&p.request))
    self->send(st.remote, frame_atom::value, net::encode_task(*job->graph, st.session, id, *task));
  else if (auto* fetch = std::get_if<net::FetchRequest>(&p.request))
    self->send(st.remote, frame_atom::value, net::encode_fetch(st.session, id, *fetch));
  else if (auto* ask = std::get_if<net::SourceAsk>(&p.request))
    self->send(st.remote, frame_atom::value, net::encode_source(st.session, id, *ask));
  else if (auto* out = std::get_if<net::OutputAsk>(&p.request))
    self->send(st.remote, frame_atom::value, net::encode_output(st.session, id, *out));
  else if (auto* r = std::get_if<net::ReplicaRequest>(&p.request); r->restore)
    self->send(st.remote, frame_atom::value, net::encode_restore(st.session, id));
  else
    self->send(st.remote, frame_atom::value, net::encode_replicate(st.session, id, *r->commit));
}

uint64_t add_pending(Self* self, Job* job, LinkState::Pending p) {
  auto& st = self->state;
  uint64_t id = st.next_id++;
  if (st.phase == Phase::open) send_request(self, job, id, p);
  st.pending.emplace(id, std::move(p));
  return id;
}

// Drops the connection; a new one (and session) follows after `delay`.
void disconnect(Self* self, caf::timespan delay) {
  auto& st = self->state;
  if (st.remote) self->demonitor(st.remote);
  st.remote = nullptr;
  st.phase = Phase::idle;
  self->delayed_send(self, delay, link_atom::value);
}

void connect(Self* self, Job* job) {
  auto& st = self->state;
  if (st.phase != Phase::idle) return;
  st.phase = Phase::connecting;
  auto mm = job->cluster->tls.enabled ? self->system().openssl_manager().actor_handle()
                                      : self->system().middleman().actor_handle();
  // A peer that is stopped (SIGSTOP) accepts the TCP connection and never answers: time out.
  auto limit =
      std::chrono::milliseconds(std::max<int64_t>(2000, job->cluster->heartbeat_timeout.count()));
  self->request(mm, limit, caf::connect_atom::value, st.peer->host,
                static_cast<uint16_t>(st.peer->port))
      .then(
          [self, job](const caf::node_id&, caf::strong_actor_ptr& ptr,
                      const std::set<std::string>&) {
            auto& s = self->state;
            if (!ptr) {
              ++s.failed_connects;
              ++s.backoff;
              return disconnect(self, reconnect_delay(s));
            }
            s.remote = caf::actor_cast<caf::actor>(ptr);
            s.answered = false;
            self->monitor(s.remote);
            s.nonce = net::make_nonce();
            s.session = new_session(s.session);
            s.phase = Phase::greeting;
            if (s.failed_connects > 0)
              spdlog::info("node {}: reached after {} attempt(s)", peer_name(self),
                           s.failed_connects + 1);
            s.failed_connects = 0;
            self->send(s.remote, frame_atom::value,
                       net::encode_hello(net::EnvelopeKind::hello,
                                         net::make_step(job->identity, s.peer->name, s.session,
                                                        s.nonce, "", s.channel)));
          },
          [self](caf::error& e) {
            auto& s = self->state;
            // Said once, then every 40 attempts (about 10 s): a worker starting up is no error.
            ++s.backoff;
            if (s.failed_connects++ % 40 == 0)
              spdlog::warn("node {}: cannot reach {}:{} ({}); {} task(s) wait, retrying",
                           peer_name(self), s.peer->host, s.peer->port, self->system().render(e),
                           s.pending.size());
            disconnect(self, reconnect_delay(s));
          });
}

// Hands an answer to the request it answers (its promise was made for that answer's type).
void deliver_answer(caf::response_promise& promise, net::Envelope& env) {
  switch (env.kind) {
    case net::EnvelopeKind::task_done:
      return promise.deliver(std::move(env.done));
    case net::EnvelopeKind::fetched:
      return promise.deliver(std::move(env.fetched));
    case net::EnvelopeKind::sourced:
      return promise.deliver(std::move(env.sourced));
    case net::EnvelopeKind::output_done:
      return promise.deliver(std::move(env.output_done));
    default:  // replicated, restored
      return promise.deliver(std::move(env.replica_reply));
  }
}

void on_frame(Self* self, Job* job, const net::Frame& frame) {
  auto& st = self->state;
  if (!st.remote || self->current_sender() != st.remote.address()) return;  // a stale link
  auto env = net::decode_envelope(frame, *job->graph, net::DecodeLimits{}, st.peer->name);
  if (!env) {
    spdlog::error("node {}: malformed frame, link closed: {}", peer_name(self),
                  env.status().to_string());
    self->send(st.remote, frame_atom::value,
               net::encode_refusal("malformed frame: " + env.status().message()));
    ++st.backoff;
    return disconnect(self, reconnect_delay(st));
  }
  switch (env->kind) {
    case net::EnvelopeKind::welcome: {
      if (st.phase != Phase::greeting) break;
      std::string reason = net::refusal_reason(job->identity, env->hello, st.nonce);
      if (reason.empty() && env->hello.session != st.session)
        reason = "the welcome names another session";
      if (!reason.empty()) {
        spdlog::error("node {}: handshake refused: {}", peer_name(self), reason);
        self->send(st.remote, frame_atom::value, net::encode_refusal(reason));
        return disconnect(self, kAfterRefusal);
      }
      self->send(st.remote, frame_atom::value,
                 net::encode_hello(net::EnvelopeKind::proof,
                                   net::make_step(job->identity, st.peer->name, st.session,
                                                  st.nonce, env->hello.nonce, st.channel)));
      st.phase = Phase::open;
      spdlog::info("node {}: session {} open; sending {} waiting task(s)", peer_name(self),
                   st.session, st.pending.size());
      for (const auto& [id, p] : st.pending) send_request(self, job, id, p);
      return;
    }
    case net::EnvelopeKind::refusal:
      spdlog::error("node {} refused this node: {}", peer_name(self), env->refusal);
      return disconnect(self, kAfterRefusal);
    case net::EnvelopeKind::task_done:
    case net::EnvelopeKind::fetched:
    case net::EnvelopeKind::sourced:
    case net::EnvelopeKind::output_done:
    case net::EnvelopeKind::replicated:
    case net::EnvelopeKind::restored: {
      if (st.phase != Phase::open || env->session != st.session) {  // asked again since
        if (env->kind == net::EnvelopeKind::task_done)
          spdlog::warn(
              "node {}: refused the result of stage {} partition {} at {}: session {} is over "
              "(now {})",
              peer_name(self), env->done.stage, env->done.partition, to_string(env->done.time),
              env->session, st.session);
        return;
      }
      auto it = st.pending.find(env->id);
      if (it == st.pending.end()) return;  // answered before a reconnect sent it again
      deliver_answer(it->second.promise, *env);
      st.pending.erase(it);
      st.backoff = 0;
      st.answered = true;
      return;
    }
    default:
      break;
  }
  spdlog::warn("node {}: unexpected {} frame ignored", peer_name(self),
               net::envelope_kind_name(env->kind));
}

caf::behavior node_link(Self* self, Job* job, const net::NodeConfig* peer, std::string channel) {
  self->state.peer = peer;
  self->state.channel = std::move(channel);
  self->set_down_handler([self](caf::down_msg& m) {
    auto& st = self->state;
    if (m.source != st.remote.address()) return;
    spdlog::warn("node {} lost ({}); {} task(s) wait until it is back", peer_name(self),
                 self->system().render(m.reason), st.pending.size());
    st.remote = nullptr;             // already down: nothing to demonitor
    if (!st.answered) ++st.backoff;  // it died before answering anything: do not spin
    disconnect(self, reconnect_delay(st));
  });
  self->send(self, link_atom::value);
  return {
      [self, job](link_atom) { connect(self, job); },
      [self, job](frame_atom, const net::Frame& frame) { on_frame(self, job, frame); },
      [self, job](run_atom, TaskRequest& task) -> caf::result<TaskReply> {
        auto& st = self->state;
        auto promise = self->make_response_promise<TaskReply>();
        // A newer request for the same task supersedes an older one (its driver died, or gave
        // up on it): the old one must not run after it and reload older state.
        for (auto it = st.pending.begin(); it != st.pending.end();) {
          auto* old = std::get_if<TaskRequest>(&it->second.request);
          if (old && old->stage == task.stage && old->partition == task.partition) {
            it->second.promise.deliver(caf::make_error(caf::sec::request_receiver_down));
            it = st.pending.erase(it);
          } else {
            ++it;
          }
        }
        add_pending(self, job, LinkState::Pending{std::move(task), promise});
        return promise;
      },
      [self, job](fetch_atom, net::FetchRequest& fetch) -> caf::result<net::FetchReply> {
        auto promise = self->make_response_promise<net::FetchReply>();
        add_pending(self, job, LinkState::Pending{std::move(fetch), promise});
        return promise;
      },
      [self, job](source_atom, net::SourceAsk& ask) -> caf::result<net::SourceAnswer> {
        auto promise = self->make_response_promise<net::SourceAnswer>();
        add_pending(self, job, LinkState::Pending{std::move(ask), promise});
        return promise;
      },
      [self, job](output_atom, net::OutputAsk& ask) -> caf::result<net::OutputDone> {
        auto promise = self->make_response_promise<net::OutputDone>();
        add_pending(self, job, LinkState::Pending{std::move(ask), promise});
        return promise;
      },
      [self, job](replicate_atom, net::ReplicaRequest& r) -> caf::result<net::ReplicaReply> {
        auto promise = self->make_response_promise<net::ReplicaReply>();
        add_pending(self, job, LinkState::Pending{std::move(r), promise});
        return promise;
      },
  };
}

}  // namespace

caf::actor spawn_node_link(caf::local_actor& parent, Job& job, const net::NodeConfig& peer,
                           const std::string& channel) {
  return parent.spawn(node_link, &job, &peer, channel);
}

caf::actor spawn_node_link(caf::actor_system& system, Job& job, const net::NodeConfig& peer,
                           const std::string& channel) {
  return system.spawn(node_link, &job, &peer, channel);
}

}  // namespace rill::actors
