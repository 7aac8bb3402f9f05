// A node's store commits on their way to its replica peer. Commits wait here until the peer
// says it holds them; a gap (the peer lost its copy, or this is a new incarnation it has not
// seen whole) asks the store writer for the whole store, whose answer settles every commit
// before it.
#include <chrono>
#include <map>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/caller_actor.hpp"
#include "actors/cluster_actors.hpp"
#include "actors/type_ids.hpp"

namespace rill::actors::replica {

// One commit until the replica answers; dropped unanswered (the node is stopping), it tells
// its waiters so rather than leaving them blocked.
struct Shipment {
  uint64_t seq = 0;
  std::shared_ptr<const net::StoreCopy> copy;
  std::function<void(Status)> done;
  Shipment() = default;
  Shipment(const Shipment&) = delete;
  ~Shipment() {
    if (done) done(Status(Errc::stopped, "the node stopped before its replica confirmed a commit"));
  }
  void finish(Status s) {
    auto d = std::move(done);
    done = nullptr;
    if (d) d(std::move(s));
  }
};
using ShipmentPtr = std::shared_ptr<Shipment>;

}  // namespace rill::actors::replica

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(rill::actors::replica::ShipmentPtr)

namespace rill::actors {
namespace {

using replica::ShipmentPtr;
using restore_atom = caf::atom_constant<caf::atom("rill_rstor")>;

struct ShipperState {
  const net::NodeConfig* peer = nullptr;
  caf::actor link;
  std::map<uint64_t, ShipmentPtr> waiting;  // by seq
  std::function<void()> resync;
  uint64_t resync_asked_at = 0;  // the last seq shipped when the whole store was asked for
  uint64_t last_seq = 0;
  static inline const char* name = "replica-shipper";
};

using Self = caf::stateful_actor<ShipperState>;

void settle(Self* self, uint64_t upto, const Status& s) {
  auto& waiting = self->state.waiting;
  while (!waiting.empty() && waiting.begin()->first <= upto) {
    waiting.begin()->second->finish(s);
    waiting.erase(waiting.begin());
  }
}

void send(Self* self, const ShipmentPtr& s) {
  net::ReplicaRequest request{false, s->copy};
  self->request(self->state.link, caf::infinite, replicate_atom::value, std::move(request))
      .then(
          [self](net::ReplicaReply& r) {
            auto& st = self->state;
            switch (r.outcome) {
              case net::ReplicaReply::Outcome::applied:
                return settle(self, r.seq, Status::ok());
              case net::ReplicaReply::Outcome::gap:
                // One whole copy answers every gap reported before it was asked for.
                if (r.seq > st.resync_asked_at) {
                  st.resync_asked_at = st.last_seq;
                  spdlog::info(
                      "replica on node {} lacks commits before {}: sending the whole store",
                      st.peer->name, r.seq);
                  st.resync();
                }
                return;
              case net::ReplicaReply::Outcome::failed:
                spdlog::error("replica on node {} could not store commit {}: {}", st.peer->name,
                              r.seq, r.error);
                return settle(
                    self, r.seq,
                    Status(Errc::io_error, "replica on node " + st.peer->name + ": " + r.error));
            }
          },
          [self, s](caf::error& e) {
            // The link went away with the request: ask again once a new link is up.
            spdlog::warn("replica on node {}: commit {} unanswered ({}); sending it again",
                         self->state.peer->name, s->seq, self->system().render(e));
            self->delayed_send(self, std::chrono::milliseconds(250), replicate_atom::value, s->seq);
          });
}

caf::behavior shipper(Self* self, Job* job, const net::NodeConfig* peer,
                      std::function<void()> resync) {
  auto& st = self->state;
  st.peer = peer;
  st.resync = std::move(resync);
  st.link = spawn_node_link(self->system(), *job, *peer, "replica");
  self->link_to(st.link);  // the link retries on its own; it stops with the shipper
  return {
      [self](replicate_atom, ShipmentPtr& s) {
        auto& st = self->state;
        st.last_seq = s->seq;
        st.waiting.emplace(s->seq, s);
        send(self, s);
      },
      [self](replicate_atom, uint64_t seq) {
        auto it = self->state.waiting.find(seq);
        if (it != self->state.waiting.end()) send(self, it->second);
      },
      [self](restore_atom) {
        return self->delegate(self->state.link, replicate_atom::value,
                              net::ReplicaRequest{true, nullptr});
      },
  };
}

}  // namespace

net::StoreCopy to_wire(persistence::ReplicaCommit&& c) {
  net::StoreCopy out{c.incarnation, c.seq, c.reset, c.more, {}};
  out.ops.reserve(c.ops.size());
  for (auto& op : c.ops)
    out.ops.push_back({static_cast<uint8_t>(op.kind), static_cast<uint8_t>(op.db),
                       std::move(op.key), std::move(op.value)});
  return out;
}

persistence::ReplicaCommit from_wire(net::StoreCopy c) {
  static_assert(static_cast<int>(persistence::WriteBatch::Kind::clear) + 1 == net::kStoreOpKinds);
  static_assert(persistence::kDbCount == net::kStoreDbs);
  persistence::ReplicaCommit out{c.incarnation, c.seq, c.reset, c.more, {}};
  out.ops.reserve(c.ops.size());
  for (auto& op : c.ops)
    out.ops.push_back({static_cast<persistence::WriteBatch::Kind>(op.kind),
                       static_cast<persistence::Db>(op.db), std::move(op.key),
                       std::move(op.value)});
  return out;
}

ReplicaShipper::ReplicaShipper(caf::actor_system& system, Job& job, const net::NodeConfig& peer,
                               std::function<void()> resync)
    : system_(system), actor_(system.spawn(shipper, &job, &peer, std::move(resync))) {}

ReplicaShipper::~ReplicaShipper() { close(); }

void ReplicaShipper::close() {
  caf::actor actor;
  {
    std::lock_guard lock(mu_);
    actor = std::move(actor_);
    actor_ = nullptr;
  }
  if (actor) caf::anon_send_exit(actor, caf::exit_reason::user_shutdown);
}

void ReplicaShipper::ship(persistence::ReplicaCommit commit, std::function<void(Status)> done) {
  auto s = std::make_shared<replica::Shipment>();
  s->seq = commit.seq;
  s->copy = std::make_shared<const net::StoreCopy>(to_wire(std::move(commit)));
  s->done = std::move(done);
  std::lock_guard lock(mu_);
  if (actor_) caf::anon_send(actor_, replicate_atom::value, std::move(s));
  // else: closed; s goes here and tells its waiters
}

Result<std::optional<persistence::ReplicaCommit>> ReplicaShipper::restore() {
  caf::actor actor;
  {
    std::lock_guard lock(mu_);
    actor = actor_;
  }
  if (!actor) return Status(Errc::stopped, "the replica shipper is closed");
  CallerActor self{system_};
  Result<std::optional<persistence::ReplicaCommit>> out =
      std::optional<persistence::ReplicaCommit>();
  self->request(actor, caf::infinite, restore_atom::value)
      .receive(
          [&](net::ReplicaReply& r) {
            if (!r.error.empty())
              out = Status(Errc::io_error, "the replica could not read its copy: " + r.error);
            else if (r.found)
              out = std::optional<persistence::ReplicaCommit>(from_wire(std::move(r.contents)));
          },
          [&](caf::error& e) {
            out = Status(Errc::io_error, "no answer from the replica: " + system_.render(e));
          });
  return out;
}

}  // namespace rill::actors
