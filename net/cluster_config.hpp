// The cluster config file (TOML): nodes, their roles and addresses, partition and receiver
// placement, storage, timing and security. A loaded ClusterConfig is a value: share freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataflow/time.hpp"

namespace rill::net {

/// What a node does: the driver allocates and tracks batches, workers own partitions.
enum class NodeRole { driver, worker };

/// "driver" or "worker".
const char* node_role_name(NodeRole role) noexcept;

/// One `[[node]]` table.
struct NodeConfig {
  std::string name;  ///< unique; letters, digits, '-', '_' and '.' (it names its store)
  std::string host;  ///< the address it listens on and peers connect to
  int port = 0;      ///< 1..65535; host:port is unique across nodes
  NodeRole role = NodeRole::worker;  ///< exactly one node is the driver
  /// The partitions it owns, ascending; empty for the driver. Across workers they cover
  /// 0..P-1 exactly once (a `partitions = N` count takes the next N in node order).
  std::vector<int> partitions;
  /// Streams whose receivers run here, each stream on one node only.
  std::vector<std::string> receivers;
  /// Its store (WAL, metadata, snapshots): `store_dir` of the node, else the top-level
  /// `store_dir` (default "rill-store") joined with the node's name. Relative paths in the file
  /// are resolved against the file's directory.
  std::string store_dir;
  int line = 0;  ///< the line of its `[[node]]` header, for messages
};

/// The `[tls]` table: TLS on the node-to-node links (caf-openssl). Each node presents its
/// certificate and accepts only peers whose certificate `ca` signed.
struct TlsConfig {
  bool enabled = false;  ///< default false
  std::string cert;      ///< PEM certificate (chain); required, and must exist, when enabled
  std::string key;       ///< PEM private key; required, and must exist, when enabled
  std::string ca;        ///< PEM CA certificate(s) peers must be signed by; required when enabled
};

/// A cluster as its config file describes it, validated (load_cluster_config).
struct ClusterConfig {
  std::string path;         ///< the file it was read from, as given
  std::string name;         ///< the cluster's name; nodes of another cluster are refused
  Millis batch_interval{};  ///< `batch_interval`, required ("1s", "100ms", ...)
  /// `checkpoint_interval`, a multiple of the batch interval. Default: the batch interval.
  /// Recorded only for now: the runtime checkpoints state every batch (DStream::checkpoint).
  Millis checkpoint_interval{};
  /// The shared secret nodes prove at the handshake: `secret` inline, or the contents of
  /// `secret_file` (trailing newlines dropped). Exactly one of the two; never empty.
  std::string secret;
  std::string secret_file;          ///< where the secret came from; empty when inline
  TlsConfig tls;                    ///< `[tls]`
  Millis heartbeat_interval{1000};  ///< `[heartbeat] interval`, default "1s"
  Millis heartbeat_timeout{10000};  ///< `[heartbeat] timeout`, default "10s"; > interval
  int replication = 1;              ///< copies of received blocks and snapshots: 1 or 2
  int partitions = 0;               ///< P: how many partitions the workers own in all
  std::vector<NodeConfig> nodes;    ///< in file order
  /// XXH3 of the normalized config (see fingerprint_text), compared at the handshake so that
  /// nodes started from different files refuse each other.
  uint64_t fingerprint = 0;

  /// The node named `name`, or null.
  const NodeConfig* find_node(std::string_view name) const;
  /// The worker that owns partition `partition` of every stage: the owner of partition
  /// `partition % partitions` (stages with more partitions than the workers own wrap around).
  /// REQUIRES: partitions > 0 and partition >= 0.
  const NodeConfig& owner_of(int partition) const;
  /// The driver node (there is exactly one).
  const NodeConfig& driver() const;
  /// "driver, worker-1, worker-2": the node names, for messages.
  std::string node_names() const;
};

/// Reads and validates the config file at `path`. Throws rill::ConfigError whose message
/// starts "PATH:LINE:COLUMN: KEY: " (e.g. `cluster.toml:12:8: node[1].role: expected "driver"
/// or "worker", got "wroker"`); node indexes count from 0 in file order. Unknown keys are
/// errors. Reads secret_file; checks that TLS files exist when TLS is enabled.
ClusterConfig load_cluster_config(const std::string& path);

/// As load_cluster_config, for `text` as if read from `path` (relative paths in it resolve
/// against path's directory).
ClusterConfig parse_cluster_config(std::string_view text, const std::string& path);

/// The normalized text the fingerprint hashes: one `key=value` line per setting that peers
/// must agree on, nodes in file order. The secret, TLS file paths and store directories are
/// left out: they are local to a machine, and the secret is proven separately.
std::string fingerprint_text(const ClusterConfig& config);

/// Parses a duration: an integer and a unit, ms, s, m or h ("100ms", "1s", "2m"); no sign,
/// fraction or space. Nothing when `text` is not one (or overflows).
std::optional<Millis> parse_duration(std::string_view text) noexcept;

}  // namespace rill::net
