// The actors that join nodes: a driver's link to each worker, and a worker's endpoint that
// the driver's link reaches. Both speak net/task_frames.hpp envelopes through CAF's middleman.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include <caf/fwd.hpp>

#include "actors/job.hpp"
#include "persistence/replica_channel.hpp"

namespace rill::actors {

/// On the driver node: stands in for every stage partition `peer` owns. Connects to the
/// worker's endpoint, opens a session (the handshake), sends each task as a frame and answers
/// with the worker's reply. Holds tasks while the worker is unreachable and sends them again,
/// in a new session, once it is back; replies of an older session are refused. `channel` says
/// what its sessions carry: "tasks" (the driver's), "fetch" (shuffle buckets between workers)
/// or "replica" (store commits and restores, to this node's replica peer).
caf::actor spawn_node_link(caf::local_actor& parent, Job& job, const net::NodeConfig& peer,
                           const std::string& channel = "tasks");
caf::actor spawn_node_link(caf::actor_system& system, Job& job, const net::NodeConfig& peer,
                           const std::string& channel);

/// On a cluster's driver: stands in for the batch builder and the receiver actor of source
/// `source_index`, whose receiver runs on a worker (Job::source_hosts). Answers take, replay,
/// pending and stop by asking that worker over its link; rate_atom sets the stream's rate there,
/// trim_atom trims its WAL there.
caf::actor spawn_remote_source(caf::local_actor& parent, Job& job, int source_index);

/// On a worker node, beside its endpoint: records the checkpoint each task names as its base
/// (tick_atom, base ms) and runs the worker's retention every few; trim_atom (stream, seq)
/// trims that stream's receiver WAL below seq. An actor of its own because, with replication,
/// its commits wait for the replica peer, whose endpoint may at that moment wait for this
/// node's.
caf::actor spawn_checkpoint_recorder(caf::local_actor& parent, Job& job);

/// On a worker node: answers the handshakes of its peers, runs the tasks of the driver's open
/// session on this node's stage actors (held until the node's store is open: send it
/// ready_atom), serves shuffle buckets, and keeps the store copies of the nodes whose replica
/// peer it is. Published on the node's port by the runtime.
caf::actor spawn_node_endpoint(caf::actor_system& system, Job& job);

/// The ReplicaChannel a node's store writer ships its commits through, over a link of its own
/// to `peer`; restore() asks the peer for its copy of this node's store, waiting as long as it
/// takes to reach the peer. Thread-safe.
class ReplicaShipper : public persistence::ReplicaChannel {
 public:
  /// `resync` asks the store writer for the whole store (the peer answered with a gap).
  ReplicaShipper(caf::actor_system& system, Job& job, const net::NodeConfig& peer,
                 std::function<void()> resync);
  ~ReplicaShipper() override;
  void ship(persistence::ReplicaCommit commit, std::function<void(Status)> done) override;
  /// The peer's copy of this node's store, as a reset commit; nullopt when it holds none.
  Result<std::optional<persistence::ReplicaCommit>> restore();
  /// Stops shipping: commits waiting for the peer, and any shipped later, end with
  /// Errc::stopped. Call before the actor system goes.
  void close();

 private:
  caf::actor_system& system_;
  std::mutex mu_;
  caf::actor actor_;  // guarded by mu_; null once closed
};

/// Store commits between persistence's form and the wire's.
net::StoreCopy to_wire(persistence::ReplicaCommit&& commit);
persistence::ReplicaCommit from_wire(net::StoreCopy copy);

}  // namespace rill::actors
