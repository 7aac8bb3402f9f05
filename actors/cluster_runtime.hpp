// What ContextRuntime does differently on a node of a cluster: reads the config, sets up the
// middleman, places stage partitions and publishes a worker's endpoint.
#pragma once

#include <caf/fwd.hpp>

#include "actors/job.hpp"
#include "dataflow/streaming_context.hpp"

namespace rill::actors {

/// Reads options.cluster_config and fills job.cluster, job.node and job.identity. Throws
/// ConfigError naming the file, node or stream when the job cannot run on that cluster.
/// REQUIRES: job.graph is set.
void join_cluster(Job& job, const ContextOptions& options);

/// True on a worker node: it runs stage partitions and the receivers placed on it (no driver
/// or outputs).
inline bool is_worker(const Job& job) {
  return job.node != nullptr && job.node->role == net::NodeRole::worker;
}

/// True on a cluster's driver for a source whose receiver a worker runs (Job::source_hosts).
inline bool runs_elsewhere(const Job& job, size_t source) {
  return source < job.source_hosts.size() && job.source_hosts[source] != nullptr;
}

/// A node's place in its config's node list: the directory's key for the driver's link to it.
inline int node_index(const net::ClusterConfig& cluster, const net::NodeConfig& node) {
  return static_cast<int>(&node - cluster.nodes.data());
}

/// True when this node runs partition `partition` of every stage itself: always on one
/// machine, never on the driver of a cluster, and on a worker for the partitions it owns.
bool runs_partition(const Job& job, int partition);

/// The node that keeps the copy of `node`'s store when the config asks for 2 copies, else
/// null: the driver's goes to the first worker, each worker's to the next worker in file order
/// (the last's to the first).
const net::NodeConfig* replica_peer(const net::ClusterConfig& cluster, const net::NodeConfig& node);

/// Loads the middleman with the cluster's heartbeat settings and registers the frame type.
void configure_middleman(caf::actor_system_config& config, const net::ClusterConfig& cluster);

/// Closes the endpoint's port. Call before the endpoint exits.
void unpublish_endpoint(caf::actor_system& system, const Job& job, const caf::actor& endpoint);

/// Spawns the worker's endpoint and publishes it on the node's host and port. Throws
/// ConfigError when the port cannot be opened.
caf::actor publish_endpoint(caf::actor_system& system, Job& job);

}  // namespace rill::actors
