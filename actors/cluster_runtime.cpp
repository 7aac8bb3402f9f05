#include "actors/cluster_runtime.hpp"

#include <map>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "actors/caller_actor.hpp"
#include "actors/cluster_actors.hpp"
#include "actors/type_ids.hpp"
#include "dataflow/config_error.hpp"
#include "dataflow/fingerprint.hpp"
#include "net/task_frames.hpp"
#include "net/tls_files.hpp"

namespace rill::actors {

namespace {

// Each stream a node's `receivers` names must be a receiver stream of this job. The driver
// keeps every source and notes where each runs; a worker keeps only the ones placed on it.
void place_sources(Job& job, const net::ClusterConfig& cluster, const net::NodeConfig& self) {
  std::map<std::string, const net::NodeConfig*> placed;
  for (const auto& n : cluster.nodes)
    for (const std::string& stream : n.receivers) placed[stream] = &n;
  std::string receivers;  // this job's receiver streams, for the message
  for (const auto& [node, src] : job.sources)
    if (src->receiver_slot())
      receivers += (receivers.empty() ? "'" : ", '") + job.graph->node(node).name + "'";
  for (const auto& [stream, at] : placed) {
    bool found = false;
    for (const auto& [node, src] : job.sources)
      found = found || (job.graph->node(node).name == stream && src->receiver_slot() != nullptr);
    if (!found)
      throw ConfigError(cluster.path + ":" + std::to_string(at->line) + ": node '" + at->name +
                        "': receivers: '" + stream +
                        "' is not a receiver stream of this job (its receiver streams: " +
                        (receivers.empty() ? std::string("none") : receivers) + ")");
  }
  auto host_of = [&](int node) -> const net::NodeConfig* {
    auto it = placed.find(job.graph->node(node).name);
    return it == placed.end() ? &cluster.driver() : it->second;
  };
  if (self.role == net::NodeRole::worker) {
    std::erase_if(job.sources, [&](const auto& s) { return host_of(s.first) != &self; });
    return;
  }
  for (const auto& [node, src] : job.sources) {
    const net::NodeConfig* host = host_of(node);
    job.source_hosts.push_back(host == &self ? nullptr : host);
  }
}

}  // namespace

void join_cluster(Job& job, const ContextOptions& options) {
  auto cluster =
      std::make_shared<net::ClusterConfig>(net::load_cluster_config(options.cluster_config));
  const net::NodeConfig* node = cluster->find_node(options.cluster_node);
  if (node == nullptr)
    throw ConfigError("cluster_node '" + options.cluster_node + "': " + cluster->path +
                      " has no such node (its nodes: " + cluster->node_names() + ")");
  place_sources(job, *cluster, *node);
  if (cluster->tls.enabled)
    if (std::string problem = net::tls_files_problem(cluster->tls); !problem.empty())
      throw ConfigError(cluster->path + ": [tls]: " + problem);
  if (std::string s = net::stream_without_codec(*job.graph); !s.empty())
    throw ConfigError("stream " + s +
                      " cannot cross nodes: its records must be rill records "
                      "(arithmetic, std::string, pairs, tuples, vectors, optionals, or RILL_RECORD "
                      "structs) to run on a cluster");
  net::NodeIdentity& id = job.identity;
  id.cluster = cluster->name;
  id.node = node->name;
  id.dag_fingerprint = DagSignature::of(*job.graph).fingerprint();
  id.config_fingerprint = cluster->fingerprint;
  id.secret = cluster->secret;
  for (const auto& n : cluster->nodes) id.known_nodes.push_back(n.name);
  job.node = node;
  job.cluster = std::move(cluster);
}

const net::NodeConfig* replica_peer(const net::ClusterConfig& cluster,
                                    const net::NodeConfig& node) {
  if (cluster.replication < 2) return nullptr;
  std::vector<const net::NodeConfig*> workers;
  for (const auto& n : cluster.nodes)
    if (n.role == net::NodeRole::worker) workers.push_back(&n);
  if (workers.size() < 2) return nullptr;  // the config refuses this
  if (node.role == net::NodeRole::driver) return workers.front();
  for (size_t i = 0; i < workers.size(); ++i)
    if (workers[i] == &node) return workers[(i + 1) % workers.size()];
  return nullptr;
}

bool runs_partition(const Job& job, int partition) {
  if (!job.cluster) return true;
  return is_worker(job) && &job.cluster->owner_of(partition) == job.node;
}

void configure_middleman(caf::actor_system_config& config, const net::ClusterConfig& cluster) {
  config.load<caf::io::middleman>();
  config.add_message_type<net::Frame>("rill::net::Frame");
  if (cluster.tls.enabled) {
    // caf-openssl's middleman actor connects and publishes over TLS; with certificate, key and
    // CA set, both sides present a certificate and verify the other's against the CA.
    config.load<caf::openssl::manager>();
    config.openssl_certificate = cluster.tls.cert;
    config.openssl_key = cluster.tls.key;
    config.openssl_cafile = cluster.tls.ca;
  }
  // On every node, or a silent peer is never detected (and one-sided timeouts give false
  // downs): a hung node counts as dead after the timeout.
  config.set("middleman.heartbeat-interval",
             caf::timespan{std::chrono::milliseconds(cluster.heartbeat_interval)});
  config.set("middleman.connection-timeout",
             caf::timespan{std::chrono::milliseconds(cluster.heartbeat_timeout)});
  // Incoming messages are deserialized on the I/O thread, not by BASP workers on the
  // scheduler: a stage blocked on its store's commit waits for the replica's answer, and with
  // every scheduler thread so blocked no worker would be left to deserialize it.
  config.set("middleman.workers", size_t{0});
}

caf::actor publish_endpoint(caf::actor_system& system, Job& job) {
  caf::actor endpoint = spawn_node_endpoint(system, job);
  const auto port_number = static_cast<uint16_t>(job.node->port);
  auto port = job.cluster->tls.enabled
                  ? caf::openssl::publish(endpoint, port_number, job.node->host.c_str(), true)
                  : system.middleman().publish(endpoint, port_number, job.node->host.c_str(), true);
  if (!port) {
    caf::anon_send_exit(endpoint, caf::exit_reason::user_shutdown);
    throw ConfigError(job.cluster->path + ":" + std::to_string(job.node->line) + ": node '" +
                      job.node->name + "': cannot listen on " + job.node->host + ":" +
                      std::to_string(job.node->port) + ": " + system.render(port.error()));
  }
  spdlog::info("node {}: worker of cluster {} listening on {}:{}{}", job.node->name,
               job.cluster->name, job.node->host, *port, job.cluster->tls.enabled ? " (TLS)" : "");
  return endpoint;
}

}  // namespace rill::actors

namespace rill::actors {

void unpublish_endpoint(caf::actor_system& system, const Job& job, const caf::actor& endpoint) {
  // caf::openssl::unpublish does not compile in 0.17: ask either middleman actor directly.
  auto mm = job.cluster->tls.enabled ? system.openssl_manager().actor_handle()
                                     : system.middleman().actor_handle();
  CallerActor self{system};
  self->request(mm, std::chrono::seconds(10), caf::unpublish_atom::value, endpoint.address(),
                static_cast<uint16_t>(job.node->port))
      .receive([] {},
               [&](caf::error& e) {
                 spdlog::warn("node {}: cannot unpublish the endpoint: {}", job.node->name,
                              system.render(e));
               });
}

}  // namespace rill::actors
