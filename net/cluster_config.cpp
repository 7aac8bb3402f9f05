// Every rule of the config file in one place (past STYLE's 400 lines, on purpose: the rules
// refer to each other, and a reader checking what a config may say wants them together). The
// typed, positioned reads are TomlFields (toml_fields.hpp).
#include "net/cluster_config.hpp"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include <xxhash.h>

#include "dataflow/config_error.hpp"
#include "net/toml_fields.hpp"

namespace rill::net {
namespace {

namespace fs = std::filesystem;

// Partition numbers beyond this are surely a typo, and a count would allocate them all.
constexpr int64_t kMaxPartitions = 65536;

bool valid_node_name(std::string_view name) {
  return !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
  });
}

// Reads one parsed file into a ClusterConfig. Every error goes through TomlFields::fail, so
// each names the file, the line and column toml++ recorded, and the key.
class ConfigReader : private TomlFields {
 public:
  explicit ConfigReader(const std::string& path) : TomlFields(path) {}

  ClusterConfig read(const toml::table& root);

 private:
  // The source positions of one node's values, for errors found across nodes.
  struct NodeSource {
    const toml::table* table = nullptr;
    const toml::node* name = nullptr;
    const toml::node* port = nullptr;
    const toml::node* role = nullptr;
    const toml::node* partitions = nullptr;
    const toml::node* receivers = nullptr;
  };

  void read_secret(const toml::table& root, ClusterConfig& c) const;
  void read_tls(const toml::table& root, ClusterConfig& c) const;
  void read_heartbeat(const toml::table& root, ClusterConfig& c) const;
  NodeConfig read_node(const toml::table& t, size_t i, NodeSource& src) const;
  void check_nodes(ClusterConfig& c, const std::vector<NodeSource>& src) const;
  void place_partitions(ClusterConfig& c, const std::vector<NodeSource>& src) const;
  void place_receivers(ClusterConfig& c, const std::vector<NodeSource>& src) const;
};

std::string node_key(size_t i, std::string_view key) {
  return "node[" + std::to_string(i) + "]." + std::string(key);
}

ClusterConfig ConfigReader::read(const toml::table& root) {
  check_keys(root, "",
             {"name", "batch_interval", "checkpoint_interval", "store_dir", "secret", "secret_file",
              "replication", "tls", "heartbeat", "node"});
  ClusterConfig c;
  c.path = path();
  c.name = required_text(root, "name", "name", "the cluster's name");
  auto batch = duration(root, "batch_interval", "batch_interval");
  if (!batch) fail(root.source(), "batch_interval", "missing (e.g. batch_interval = \"1s\")");
  c.batch_interval = *batch;
  c.checkpoint_interval =
      duration(root, "checkpoint_interval", "checkpoint_interval").value_or(*batch);
  if (c.checkpoint_interval.count() % batch->count() != 0)
    fail(root.get("checkpoint_interval")->source(), "checkpoint_interval",
         to_string(c.checkpoint_interval) + " is not a multiple of batch_interval " +
             to_string(*batch));
  if (auto r = integer(root, "replication", "replication")) {
    if (*r != 1 && *r != 2)
      fail(root.get("replication")->source(), "replication",
           "expected 1 or 2, got " + std::to_string(*r));
    c.replication = static_cast<int>(*r);
  }
  read_secret(root, c);
  read_tls(root, c);
  read_heartbeat(root, c);

  const toml::node* nodes = root.get("node");
  if (!nodes) fail(root.source(), "node", "no [[node]] tables (a cluster needs one driver)");
  const toml::array* arr = nodes->as_array();
  if (!arr || arr->empty() || !arr->is_array_of_tables())
    fail(nodes->source(), "node", "expected [[node]] tables, got " + describe(*nodes));
  std::string store_root = resolve(text(root, "store_dir", "store_dir").value_or("rill-store"));
  std::vector<NodeSource> src(arr->size());
  for (size_t i = 0; i < arr->size(); ++i) {
    c.nodes.push_back(read_node(*(*arr)[i].as_table(), i, src[i]));
    NodeConfig& n = c.nodes.back();
    if (n.store_dir.empty()) n.store_dir = (fs::path(store_root) / n.name).string();
  }
  check_nodes(c, src);
  place_partitions(c, src);
  place_receivers(c, src);
  std::string normalized = fingerprint_text(c);
  c.fingerprint = XXH3_64bits(normalized.data(), normalized.size());
  return c;
}

void ConfigReader::read_secret(const toml::table& root, ClusterConfig& c) const {
  const toml::node* inline_secret = root.get("secret");
  const toml::node* file = root.get("secret_file");
  if (inline_secret && file) {
    bool file_later = file->source().begin > inline_secret->source().begin;
    const toml::node* later = file_later ? file : inline_secret;
    const toml::node* earlier = file_later ? inline_secret : file;
    fail(later->source(), file_later ? "secret_file" : "secret",
         std::string("secret and secret_file are both set (the other at line ") +
             std::to_string(earlier->source().begin.line) + "); give exactly one");
  }
  if (!inline_secret && !file)
    fail(root.source(), "secret",
         "missing: set secret = \"...\" or secret_file = \"PATH\" (the secret nodes share)");
  if (inline_secret) {
    c.secret = required_text(root, "secret", "secret", "the secret nodes share");
    return;
  }
  c.secret_file =
      resolve(required_text(root, "secret_file", "secret_file", "a file holding the secret"));
  std::ifstream in(c.secret_file, std::ios::binary);
  if (!in)
    fail(file->source(), "secret_file",
         "cannot read " + c.secret_file + ": " + std::strerror(errno));
  std::ostringstream contents;
  contents << in.rdbuf();
  c.secret = contents.str();
  while (!c.secret.empty() && (c.secret.back() == '\n' || c.secret.back() == '\r'))
    c.secret.pop_back();
  if (c.secret.empty()) fail(file->source(), "secret_file", c.secret_file + " is empty");
}

void ConfigReader::read_tls(const toml::table& root, ClusterConfig& c) const {
  const toml::table* tls = table(root, "tls");
  if (!tls) return;
  check_keys(*tls, "tls.", {"enabled", "cert", "key", "ca"});
  c.tls.enabled = boolean(*tls, "enabled", "tls.enabled").value_or(false);
  for (auto [key, out] :
       {std::pair{"cert", &c.tls.cert}, std::pair{"key", &c.tls.key}, std::pair{"ca", &c.tls.ca}}) {
    std::string full = std::string("tls.") + key;
    auto v = text(*tls, key, full);
    if (v) *out = resolve(*v);
    if (!c.tls.enabled) continue;
    if (!v) fail(tls->source(), full, "missing (a PEM file, required when tls.enabled = true)");
    if (!fs::is_regular_file(*out))
      fail(tls->get(key)->source(), full, *out + " does not exist or is not a file");
  }
}

void ConfigReader::read_heartbeat(const toml::table& root, ClusterConfig& c) const {
  const toml::table* hb = table(root, "heartbeat");
  if (!hb) return;
  check_keys(*hb, "heartbeat.", {"interval", "timeout"});
  c.heartbeat_interval =
      duration(*hb, "interval", "heartbeat.interval").value_or(c.heartbeat_interval);
  c.heartbeat_timeout = duration(*hb, "timeout", "heartbeat.timeout").value_or(c.heartbeat_timeout);
  if (c.heartbeat_timeout <= c.heartbeat_interval) {
    const toml::node* at = hb->get("timeout") ? hb->get("timeout") : hb->get("interval");
    fail(at->source(), "heartbeat.timeout",
         to_string(c.heartbeat_timeout) + " must be longer than heartbeat.interval " +
             to_string(c.heartbeat_interval) +
             " (a peer is dead after timeout without heartbeats)");
  }
}

NodeConfig ConfigReader::read_node(const toml::table& t, size_t i, NodeSource& src) const {
  check_keys(t, node_key(i, ""),
             {"name", "host", "port", "role", "partitions", "receivers", "store_dir"});
  src = {&t, t.get("name"), t.get("port"), t.get("role"), t.get("partitions"), t.get("receivers")};
  NodeConfig n;
  n.line = static_cast<int>(t.source().begin.line);
  n.name = required_text(t, "name", node_key(i, "name"), "the node's name");
  if (!valid_node_name(n.name))
    fail(src.name->source(), node_key(i, "name"),
         in_quotes(n.name) +
             ": use letters, digits, '-', '_' and '.' only (it names the node's store)");
  n.host = required_text(t, "host", node_key(i, "host"), "the address the node listens on");
  auto port = integer(t, "port", node_key(i, "port"));
  if (!port) fail(t.source(), node_key(i, "port"), "missing (the port the node listens on)");
  if (*port < 1 || *port > 65535)
    fail(src.port->source(), node_key(i, "port"),
         "expected 1..65535, got " + std::to_string(*port));
  n.port = static_cast<int>(*port);
  std::string role = required_text(t, "role", node_key(i, "role"), "\"driver\" or \"worker\"");
  if (role != "driver" && role != "worker")
    fail(src.role->source(), node_key(i, "role"),
         "expected \"driver\" or \"worker\", got " + in_quotes(role));
  n.role = role == "driver" ? NodeRole::driver : NodeRole::worker;
  if (src.partitions && !src.partitions->is_integer() && !src.partitions->is_array())
    fail(src.partitions->source(), node_key(i, "partitions"),
         "expected a list of partitions ([0, 1]) or a count (2), got " + describe(*src.partitions));
  if (src.receivers) {
    const toml::array* list = src.receivers->as_array();
    if (!list)
      fail(src.receivers->source(), node_key(i, "receivers"),
           "expected a list of stream names, got " + describe(*src.receivers));
    for (const toml::node& r : *list) {
      if (!r.is_string() || r.as_string()->get().empty())
        fail(r.source(), node_key(i, "receivers"), "expected a stream name, got " + describe(r));
      n.receivers.push_back(r.as_string()->get());
    }
  }
  if (auto dir = text(t, "store_dir", node_key(i, "store_dir"))) n.store_dir = resolve(*dir);
  return n;
}

void ConfigReader::check_nodes(ClusterConfig& c, const std::vector<NodeSource>& src) const {
  std::map<std::string, size_t> names, addresses;
  const NodeConfig* driver = nullptr;
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    const NodeConfig& n = c.nodes[i];
    auto [name_at, fresh_name] = names.emplace(n.name, i);
    if (!fresh_name)
      fail(src[i].name->source(), node_key(i, "name"),
           in_quotes(n.name) + " is already node[" + std::to_string(name_at->second) + "] (line " +
               std::to_string(c.nodes[name_at->second].line) + "); node names are unique");
    std::string address = n.host + ":" + std::to_string(n.port);
    auto [addr_at, fresh_addr] = addresses.emplace(address, i);
    if (!fresh_addr)
      fail(src[i].port->source(), node_key(i, "port"),
           address + " is already the address of node[" + std::to_string(addr_at->second) + "] " +
               in_quotes(c.nodes[addr_at->second].name) + "; host:port is unique");
    if (n.role != NodeRole::driver) continue;
    if (driver)
      fail(src[i].role->source(), node_key(i, "role"),
           "a second driver: " + in_quotes(driver->name) + " (line " +
               std::to_string(driver->line) + ") is one already; exactly one node is the driver");
    driver = &n;
    if (src[i].partitions)
      fail(src[i].partitions->source(), node_key(i, "partitions"),
           "the driver owns no partitions; give them to the workers");
  }
  if (!driver)
    fail(src[0].table->source(), "node", "no node has role = \"driver\"; exactly one must");
  size_t workers = c.nodes.size() - 1;
  if (c.replication == 2 && workers < 2)
    fail(src[0].table->source(), "replication",
         "2 copies need at least 2 workers, the config has " + std::to_string(workers));
}

// Lists name each worker's partitions; counts take the next N in node order. The two do not
// mix: with counts a partition's owner depends on the order of every worker above it.
void ConfigReader::place_partitions(ClusterConfig& c, const std::vector<NodeSource>& src) const {
  const toml::node* first_count = nullptr;
  const toml::node* first_list = nullptr;
  std::map<int64_t, std::pair<size_t, const toml::node*>> owner;  // partition -> (node, element)
  int64_t next = 0;
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    const toml::node* p = src[i].partitions;
    if (!p) continue;
    std::string key = node_key(i, "partitions");
    const toml::node*& first_of_kind = p->is_integer() ? first_count : first_list;
    if (!first_of_kind) first_of_kind = p;
    if (first_count && first_list)
      fail(p->source(), key,
           std::string(p->is_integer() ? "a count here, but a list" : "a list here, but a count") +
               " at line " +
               std::to_string((p->is_integer() ? first_list : first_count)->source().begin.line) +
               "; give every worker a list or every worker a count");
    if (p->is_integer()) {
      int64_t n = p->as_integer()->get();
      if (n < 1 || next + n > kMaxPartitions)
        fail(p->source(), key,
             "a count of 1.." + std::to_string(kMaxPartitions - next) + " expected, got " +
                 std::to_string(n));
      for (int64_t k = 0; k < n; ++k) c.nodes[i].partitions.push_back(static_cast<int>(next++));
      continue;
    }
    for (const toml::node& e : *p->as_array()) {
      if (!e.is_integer() || e.as_integer()->get() < 0 || e.as_integer()->get() >= kMaxPartitions)
        fail(e.source(), key,
             "expected a partition number 0.." + std::to_string(kMaxPartitions - 1) + ", got " +
                 describe(e));
      int64_t k = e.as_integer()->get();
      auto [at, fresh] = owner.emplace(k, std::pair{i, &e});
      if (!fresh)
        fail(e.source(), key,
             at->second.first == i
                 ? "partition " + std::to_string(k) + " is listed twice"
                 : "partition " + std::to_string(k) + " is already owned by node[" +
                       std::to_string(at->second.first) + "] " +
                       in_quotes(c.nodes[at->second.first].name) + " (line " +
                       std::to_string(at->second.second->source().begin.line) +
                       "); each partition has one owner");
      c.nodes[i].partitions.push_back(static_cast<int>(k));
    }
    std::sort(c.nodes[i].partitions.begin(), c.nodes[i].partitions.end());
  }
  if (!owner.empty()) {
    auto [highest, where] = *owner.rbegin();
    for (int64_t k = 0; k <= highest; ++k)
      if (!owner.count(k))
        fail(where.second->source(), node_key(where.first, "partitions"),
             "partition " + std::to_string(k) + " is owned by no worker; workers must own 0.." +
                 std::to_string(highest) + " exactly once (a gap)");
    next = highest + 1;
  }
  c.partitions = static_cast<int>(next);
  if (c.partitions == 0 && c.nodes.size() > 1) {
    size_t first_worker = c.nodes[0].role == NodeRole::driver ? 1 : 0;
    fail(src[first_worker].table->source(), node_key(first_worker, "partitions"),
         "no worker owns a partition: give workers partitions = [0, 1] or a count");
  }
}

void ConfigReader::place_receivers(ClusterConfig& c, const std::vector<NodeSource>& src) const {
  std::map<std::string, std::pair<size_t, int>> placed;  // stream -> (node, line)
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    if (!src[i].receivers) continue;
    size_t k = 0;
    for (const toml::node& e : *src[i].receivers->as_array()) {
      const std::string& stream = c.nodes[i].receivers[k++];
      auto [at, fresh] =
          placed.emplace(stream, std::pair{i, static_cast<int>(e.source().begin.line)});
      if (!fresh)
        fail(e.source(), node_key(i, "receivers"),
             "stream " + in_quotes(stream) + " already has its receiver on node[" +
                 std::to_string(at->second.first) + "] " +
                 in_quotes(c.nodes[at->second.first].name) + " (line " +
                 std::to_string(at->second.second) + "); a stream's receiver runs on one node");
    }
  }
}

// key=<length>:<value> lines: unambiguous whatever the values hold.
void add_line(std::string& out, const std::string& key, const std::string& value) {
  out += key + "=" + std::to_string(value.size()) + ":" + value + "\n";
}

}  // namespace

const char* node_role_name(NodeRole role) noexcept {
  return role == NodeRole::driver ? "driver" : "worker";
}

const NodeConfig* ClusterConfig::find_node(std::string_view name) const {
  for (const auto& n : nodes)
    if (n.name == name) return &n;
  return nullptr;
}

const NodeConfig& ClusterConfig::owner_of(int partition) const {
  int p = partition % partitions;
  for (const auto& n : nodes)
    for (int owned : n.partitions)
      if (owned == p) return n;
  throw ConfigError(path + ": no worker owns partition " + std::to_string(p));  // validated
}

const NodeConfig& ClusterConfig::driver() const {
  for (const auto& n : nodes)
    if (n.role == NodeRole::driver) return n;
  throw ConfigError(path + ": no driver node");  // load_cluster_config never returns one
}

std::string ClusterConfig::node_names() const {
  std::string out;
  for (const auto& n : nodes) out += (out.empty() ? "" : ", ") + n.name;
  return out;
}

std::string fingerprint_text(const ClusterConfig& c) {
  std::string out;
  add_line(out, "format", "1");
  add_line(out, "name", c.name);
  add_line(out, "batch_interval_ms", std::to_string(c.batch_interval.count()));
  add_line(out, "checkpoint_interval_ms", std::to_string(c.checkpoint_interval.count()));
  add_line(out, "heartbeat_interval_ms", std::to_string(c.heartbeat_interval.count()));
  add_line(out, "heartbeat_timeout_ms", std::to_string(c.heartbeat_timeout.count()));
  add_line(out, "replication", std::to_string(c.replication));
  add_line(out, "tls", c.tls.enabled ? "1" : "0");
  add_line(out, "partitions", std::to_string(c.partitions));
  for (size_t i = 0; i < c.nodes.size(); ++i) {
    const NodeConfig& n = c.nodes[i];
    std::string p = "node." + std::to_string(i) + ".";
    add_line(out, p + "name", n.name);
    add_line(out, p + "address", n.host + ":" + std::to_string(n.port));
    add_line(out, p + "role", node_role_name(n.role));
    std::string parts, receivers;
    for (int k : n.partitions) parts += std::to_string(k) + " ";
    for (const auto& r : n.receivers) receivers += std::to_string(r.size()) + ":" + r;
    add_line(out, p + "partitions", parts);
    add_line(out, p + "receivers", receivers);
  }
  return out;
}

std::optional<Millis> parse_duration(std::string_view text) noexcept {
  size_t digits = 0;
  int64_t value = 0;
  while (digits < text.size() && text[digits] >= '0' && text[digits] <= '9') {
    if (value > (int64_t{1} << 40)) return std::nullopt;  // ~35 years in ms: surely a typo
    value = value * 10 + (text[digits++] - '0');
  }
  if (digits == 0) return std::nullopt;
  std::string_view unit = text.substr(digits);
  static constexpr std::pair<std::string_view, int64_t> kUnits[] = {
      {"ms", 1}, {"s", 1000}, {"m", 60'000}, {"h", 3'600'000}};
  for (auto [name, ms] : kUnits)
    if (unit == name) return Millis(value * ms);
  return std::nullopt;
}

ClusterConfig parse_cluster_config(std::string_view text, const std::string& path) {
  return ConfigReader(path).read(parse_toml(text, path));
}

ClusterConfig load_cluster_config(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw ConfigError(path + ": cannot read the cluster config: " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  return parse_cluster_config(text.str(), path);
}

}  // namespace rill::net
