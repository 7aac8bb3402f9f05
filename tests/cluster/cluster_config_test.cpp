// The cluster config file: a valid file read back field by field, the fingerprint, and every
// kind of error with the exact file:line:column and key it names.
#include "net/cluster_config.hpp"
#include "net/tls_files.hpp"

#include <catch2/catch.hpp>

#include "dataflow/config_error.hpp"
#include "tests/cluster/cluster_files.hpp"

using namespace std::chrono_literals;
using rill::net::ClusterConfig;
using rill::net::load_cluster_config;
using rill::net::NodeRole;
using rill::test::kConfigHead;
using rill::test::node_table;
using rill::test::TempDir;

namespace {

const char* kValid = R"(# word count on three processes
name = "wordcount"
batch_interval = "500ms"
checkpoint_interval = "1s"
secret = "s3cret-for-tests"
replication = 2
store_dir = "stores"

[heartbeat]
interval = "200ms"
timeout = "2s"

[[node]]
name = "driver"
host = "127.0.0.1"
port = 7100
role = "driver"
receivers = ["lines"]

[[node]]
name = "worker-1"
host = "127.0.0.1"
port = 7101
role = "worker"
partitions = [0, 2]
store_dir = "/var/tmp/rill-w1"

[[node]]
name = "worker-2"
host = "127.0.0.1"
port = 7102
role = "worker"
partitions = [3, 1]
)";

// The ConfigError's message for `text` saved as cluster.toml, minus the "rill: <dir>/" prefix.
std::string error_of(const std::string& text) {
  TempDir dir;
  std::string path = dir.write("cluster.toml", text);
  try {
    load_cluster_config(path);
  } catch (const rill::ConfigError& e) {
    std::string what = e.what();
    std::string prefix = "rill: " + dir.path.string() + "/";
    REQUIRE(what.rfind(prefix, 0) == 0);
    return what.substr(prefix.size());
  }
  FAIL("no ConfigError for:\n" << text);
  return {};
}

// A driver (lines 4-8) and one worker (lines 9-13, then `worker_extra`).
std::string two_nodes(const std::string& worker_extra = "partitions = [0]\n") {
  return node_table("driver", 7000, "driver") +
         node_table("worker-1", 7001, "worker", worker_extra);
}

}  // namespace

TEST_CASE("a valid config reads back field by field", "[cluster_config]") {
  TempDir dir;
  std::string path = dir.write("cluster.toml", kValid);
  ClusterConfig c = load_cluster_config(path);
  CHECK(c.path == path);
  CHECK(c.name == "wordcount");
  CHECK(c.batch_interval == 500ms);
  CHECK(c.checkpoint_interval == 1s);
  CHECK(c.secret == "s3cret-for-tests");
  CHECK(c.secret_file.empty());
  CHECK(c.replication == 2);
  CHECK(c.heartbeat_interval == 200ms);
  CHECK(c.heartbeat_timeout == 2s);
  CHECK_FALSE(c.tls.enabled);
  CHECK(c.partitions == 4);
  REQUIRE(c.nodes.size() == 3);
  CHECK(c.driver().name == "driver");
  CHECK(c.node_names() == "driver, worker-1, worker-2");

  const auto& d = c.nodes[0];
  CHECK(d.role == NodeRole::driver);
  CHECK(d.host == "127.0.0.1");
  CHECK(d.port == 7100);
  CHECK(d.partitions.empty());
  CHECK(d.receivers == std::vector<std::string>{"lines"});
  CHECK(d.store_dir == (dir.path / "stores" / "driver").string());  // relative to the file
  CHECK(d.line == 13);
  CHECK(c.nodes[1].partitions == std::vector<int>{0, 2});
  CHECK(c.nodes[1].store_dir == "/var/tmp/rill-w1");
  CHECK(c.nodes[2].partitions == std::vector<int>{1, 3});  // sorted
  CHECK(c.nodes[2].role == NodeRole::worker);
  CHECK(c.find_node("worker-2") == &c.nodes[2]);
  CHECK(c.find_node("worker-3") == nullptr);
}

TEST_CASE("defaults: checkpoint interval, heartbeat, replication, store dir", "[cluster_config]") {
  TempDir dir;
  ClusterConfig c =
      load_cluster_config(dir.write("c.toml", kConfigHead + node_table("solo", 7000, "driver")));
  CHECK(c.checkpoint_interval == 1s);  // the batch interval
  CHECK(c.heartbeat_interval == 1s);
  CHECK(c.heartbeat_timeout == 10s);
  CHECK(c.replication == 1);
  CHECK(c.partitions == 0);  // no workers: the application's own partition count
  CHECK(c.nodes[0].store_dir == (dir.path / "rill-store" / "solo").string());
}

TEST_CASE("partition counts take the next partitions in node order", "[cluster_config]") {
  TempDir dir;
  ClusterConfig c = load_cluster_config(
      dir.write("c.toml", kConfigHead + node_table("driver", 7000, "driver") +
                              node_table("a", 7001, "worker", "partitions = 2\n") +
                              node_table("b", 7002, "worker", "partitions = 3\n")));
  CHECK(c.partitions == 5);
  CHECK(c.nodes[1].partitions == std::vector<int>{0, 1});
  CHECK(c.nodes[2].partitions == std::vector<int>{2, 3, 4});
}

TEST_CASE("secret_file is read relative to the config, trailing newline dropped",
          "[cluster_config]") {
  TempDir dir;
  dir.write("secret.txt", "from-a-file\n");
  std::string text = "name = \"c\"\nbatch_interval = \"1s\"\nsecret_file = \"secret.txt\"\n" +
                     node_table("solo", 7000, "driver");
  ClusterConfig c = load_cluster_config(dir.write("c.toml", text));
  CHECK(c.secret == "from-a-file");
  CHECK(c.secret_file == (dir.path / "secret.txt").string());
}

TEST_CASE("tls: enabled with existing files", "[cluster_config]") {
  TempDir dir;
  dir.write("node.pem", "cert");
  dir.write("node.key", "key");
  dir.write("ca.pem", "ca");
  ClusterConfig c = load_cluster_config(dir.write(
      "c.toml",
      kConfigHead +
          "[tls]\nenabled = true\ncert = \"node.pem\"\nkey = \"node.key\"\nca = \"ca.pem\"\n" +
          node_table("solo", 7000, "driver")));
  CHECK(c.tls.enabled);
  CHECK(c.tls.cert == (dir.path / "node.pem").string());
  CHECK(c.tls.key == (dir.path / "node.key").string());
  CHECK(c.tls.ca == (dir.path / "ca.pem").string());
  // Without the CA no peer could be verified.
  CHECK_THROWS_WITH(
      load_cluster_config(dir.write(
          "no_ca.toml", kConfigHead +
                            "[tls]\nenabled = true\ncert = \"node.pem\"\nkey = \"node.key\"\n" +
                            node_table("solo", 7000, "driver"))),
      Catch::EndsWith(
          "no_ca.toml:4:1: tls.ca: missing (a PEM file, required when tls.enabled = true)"));
}

TEST_CASE("the fingerprint ignores layout, comments, secret and local paths", "[cluster_config]") {
  TempDir dir;
  auto fingerprint = [&](const std::string& text) {
    return load_cluster_config(dir.write("c.toml", text)).fingerprint;
  };
  uint64_t base = fingerprint(kValid);
  CHECK(base != 0);
  // The same cluster written differently: keys reordered, comments, another secret and store.
  std::string same = R"(
name="wordcount"   # renamed? no: same name
replication = 2
checkpoint_interval = "1000ms"
batch_interval = "500ms"
secret = "another-secret"
store_dir = "/elsewhere"
heartbeat = { timeout = "2s", interval = "200ms" }
[[node]]
role = "driver"
name = "driver"
port = 7100
host = "127.0.0.1"
receivers = ["lines"]
[[node]]
name = "worker-1"
host = "127.0.0.1"
port = 7101
role = "worker"
partitions = [2, 0]
[[node]]
name = "worker-2"
host = "127.0.0.1"
port = 7102
role = "worker"
partitions = [1, 3]
)";
  CHECK(fingerprint(same) == base);
  std::string other_port = kValid;
  other_port.replace(other_port.find("7102"), 4, "7103");
  CHECK(fingerprint(other_port) != base);
  std::string other_interval = kValid;
  other_interval.replace(other_interval.find("500ms"), 5, "250ms");
  CHECK(fingerprint(other_interval) != base);
}

TEST_CASE("durations", "[cluster_config]") {
  using rill::net::parse_duration;
  CHECK(parse_duration("100ms") == 100ms);
  CHECK(parse_duration("1s") == 1s);
  CHECK(parse_duration("2m") == 2min);
  CHECK(parse_duration("1h") == 1h);
  CHECK(parse_duration("0s") == 0ms);
  for (const char* bad : {"", "1", "s", "1 s", "1.5s", "-1s", "1sec", "1S", "99999999999999h"})
    CHECK_FALSE(parse_duration(bad).has_value());
}

// --- Errors: each names file:line:column, then the key ----------------------------------------

TEST_CASE("error: a value of the wrong type", "[cluster_config]") {
  std::string text = kConfigHead + node_table("driver", 7000, "driver");
  text.replace(text.find("port = 7000"), 11, "port = \"7000\"");
  CHECK(error_of(text) ==
        "cluster.toml:7:8: node[0].port: expected an integer, got a string \"7000\"");
}

TEST_CASE("error: an unknown key, top level and in a node", "[cluster_config]") {
  CHECK(error_of(kConfigHead + "bach_interval = \"1s\"\n" + node_table("d", 7000, "driver")) ==
        "cluster.toml:4:1: bach_interval: unknown key (known here: name, batch_interval, "
        "checkpoint_interval, store_dir, secret, secret_file, replication, tls, heartbeat, node)");
  CHECK_THAT(error_of(kConfigHead + node_table("d", 7000, "driver", "prot = 1\n")),
             Catch::StartsWith("cluster.toml:9:1: node[0].prot: unknown key (known here: name,"));
  CHECK_THAT(error_of(kConfigHead + "[heartbeat]\ninterval = \"1s\"\ntimout = \"5s\"\n" +
                      node_table("d", 7000, "driver")),
             Catch::StartsWith("cluster.toml:6:1: heartbeat.timout: unknown key"));
}

TEST_CASE("error: a role that is neither driver nor worker", "[cluster_config]") {
  CHECK(error_of(kConfigHead + node_table("driver", 7000, "driver") +
                 node_table("w", 7001, "wroker")) ==
        "cluster.toml:13:8: node[1].role: expected \"driver\" or \"worker\", got \"wroker\"");
}

TEST_CASE("error: no driver, two drivers", "[cluster_config]") {
  CHECK(error_of(kConfigHead + node_table("a", 7000, "worker", "partitions = [0]\n")) ==
        "cluster.toml:4:1: node: no node has role = \"driver\"; exactly one must");
  CHECK(error_of(kConfigHead + node_table("a", 7000, "driver") + node_table("b", 7001, "driver")) ==
        "cluster.toml:13:8: node[1].role: a second driver: \"a\" (line 4) is one already; "
        "exactly one node is the driver");
}

TEST_CASE("error: a duplicate node name or address", "[cluster_config]") {
  CHECK(error_of(kConfigHead + two_nodes() + node_table("worker-1", 7002, "worker")) ==
        "cluster.toml:16:8: node[2].name: \"worker-1\" is already node[1] (line 9); node names are "
        "unique");
  CHECK(error_of(kConfigHead + two_nodes() + node_table("worker-2", 7001, "worker")) ==
        "cluster.toml:18:8: node[2].port: 127.0.0.1:7001 is already the address of node[1] "
        "\"worker-1\"; host:port is unique");
}

TEST_CASE("error: a bad duration", "[cluster_config]") {
  std::string text = kConfigHead + node_table("d", 7000, "driver");
  std::string sec = text, zero = text;
  sec.replace(sec.find("\"1s\""), 4, "\"1 sec\"");
  CHECK(
      error_of(sec) ==
      "cluster.toml:2:18: batch_interval: \"1 sec\" is not a duration (an integer and ms, s, m or "
      "h: \"100ms\", \"1s\")");
  zero.replace(zero.find("\"1s\""), 4, "\"0ms\"");
  CHECK(error_of(zero) == "cluster.toml:2:18: batch_interval: must be longer than 0, got \"0ms\"");
  CHECK(error_of(kConfigHead + "checkpoint_interval = \"1500ms\"\n" +
                 node_table("d", 7000, "driver")) ==
        "cluster.toml:4:23: checkpoint_interval: 1500 ms is not a multiple of batch_interval 1000 "
        "ms");
  CHECK(error_of(kConfigHead + "[heartbeat]\ninterval = \"2s\"\ntimeout = \"2s\"\n" +
                 node_table("d", 7000, "driver")) ==
        "cluster.toml:6:11: heartbeat.timeout: 2000 ms must be longer than heartbeat.interval 2000 "
        "ms "
        "(a peer is dead after timeout without heartbeats)");
}

TEST_CASE("error: partitions with a gap, an overlap, a repeat, mixed forms", "[cluster_config]") {
  std::string head = kConfigHead + two_nodes("partitions = [0, 1]\n");  // lines 1-14
  CHECK(error_of(head + node_table("worker-2", 7002, "worker", "partitions = [3]\n")) ==
        "cluster.toml:20:15: node[2].partitions: partition 2 is owned by no worker; workers must "
        "own 0..3 exactly once (a gap)");
  CHECK(error_of(head + node_table("worker-2", 7002, "worker", "partitions = [2, 1]\n")) ==
        "cluster.toml:20:18: node[2].partitions: partition 1 is already owned by node[1] "
        "\"worker-1\" (line 14); each partition has one owner");
  CHECK(error_of(kConfigHead + two_nodes("partitions = [0, 0]\n")) ==
        "cluster.toml:14:18: node[1].partitions: partition 0 is listed twice");
  CHECK(error_of(head + node_table("worker-2", 7002, "worker", "partitions = 2\n")) ==
        "cluster.toml:20:14: node[2].partitions: a count here, but a list at line 14; give every "
        "worker a list or every worker a count");
  CHECK(error_of(kConfigHead + two_nodes("partitions = [-1]\n")) ==
        "cluster.toml:14:15: node[1].partitions: expected a partition number 0..65535, got an "
        "integer -1");
  CHECK(error_of(kConfigHead + two_nodes("")) ==
        "cluster.toml:9:1: node[1].partitions: no worker owns a partition: give workers "
        "partitions = [0, 1] or a count");
  CHECK(error_of(kConfigHead + node_table("d", 7000, "driver", "partitions = [0]\n")) ==
        "cluster.toml:9:14: node[0].partitions: the driver owns no partitions; give them to the "
        "workers");
}

TEST_CASE("error: secret and secret_file, or neither, or an unreadable file", "[cluster_config]") {
  std::string nodes = node_table("d", 7000, "driver");
  CHECK(error_of(kConfigHead + "secret_file = \"s.txt\"\n" + nodes) ==
        "cluster.toml:4:15: secret_file: secret and secret_file are both set (the other at line "
        "3); give exactly one");
  std::string no_secret = "name = \"c\"\nbatch_interval = \"1s\"\n" + nodes;
  CHECK_THAT(
      error_of(no_secret),
      Catch::StartsWith("cluster.toml:1:1: secret: missing: set secret = \"...\" or secret_file"));
  CHECK_THAT(
      error_of("name = \"c\"\nbatch_interval = \"1s\"\nsecret_file = \"nope.txt\"\n" + nodes),
      Catch::StartsWith("cluster.toml:3:15: secret_file: cannot read /") &&
          Catch::EndsWith("/nope.txt: No such file or directory"));
  CHECK(error_of("name = \"c\"\nbatch_interval = \"1s\"\nsecret = \"\"\n" + nodes) ==
        "cluster.toml:3:10: secret: must not be empty (the secret nodes share)");
}

TEST_CASE("error: tls files missing when tls is on", "[cluster_config]") {
  std::string nodes = node_table("d", 7000, "driver");
  CHECK_THAT(error_of(kConfigHead +
                      "[tls]\nenabled = true\ncert = \"missing.pem\"\nkey = \"k.pem\"\n" + nodes),
             Catch::StartsWith("cluster.toml:6:8: tls.cert: /") &&
                 Catch::EndsWith("/missing.pem does not exist or is not a file"));
  CHECK(error_of(kConfigHead + "[tls]\nenabled = true\n" + nodes) ==
        "cluster.toml:4:1: tls.cert: missing (a PEM file, required when tls.enabled = true)");
  // Off: the paths are not checked.
  TempDir dir;
  CHECK_NOTHROW(load_cluster_config(dir.write(
      "c.toml", kConfigHead + "[tls]\nenabled = false\ncert = \"missing.pem\"\n" + nodes)));
}

TEST_CASE("error: replication, receivers, names, ports, missing keys", "[cluster_config]") {
  std::string nodes = two_nodes();
  CHECK(error_of(kConfigHead + "replication = 3\n" + nodes) ==
        "cluster.toml:4:15: replication: expected 1 or 2, got 3");
  CHECK(error_of(kConfigHead + "replication = 2\n" + nodes) ==
        "cluster.toml:5:1: replication: 2 copies need at least 2 workers, the config has 1");
  CHECK(
      error_of(
          kConfigHead + node_table("driver", 7000, "driver", "receivers = [\"lines\"]\n") +
          node_table("worker-1", 7001, "worker", "partitions = [0]\nreceivers = [\"lines\"]\n")) ==
      "cluster.toml:16:14: node[1].receivers: stream \"lines\" already has its receiver on node[0] "
      "\"driver\" (line 9); a stream's receiver runs on one node");
  CHECK(error_of(kConfigHead + node_table("no spaces", 7000, "driver")) ==
        "cluster.toml:5:8: node[0].name: \"no spaces\": use letters, digits, '-', '_' and '.' only "
        "(it names the node's store)");
  CHECK(error_of(kConfigHead + node_table("d", 70000, "driver")) ==
        "cluster.toml:7:8: node[0].port: expected 1..65535, got 70000");
  CHECK(error_of(kConfigHead + "[[node]]\nname = \"d\"\nhost = \"h\"\nrole = \"driver\"\n") ==
        "cluster.toml:4:1: node[0].port: missing (the port the node listens on)");
  CHECK(error_of(kConfigHead) ==
        "cluster.toml:1:1: node: no [[node]] tables (a cluster needs one driver)");
  CHECK(error_of("batch_interval = \"1s\"\nsecret = \"x\"\n" + node_table("d", 7000, "driver")) ==
        "cluster.toml:1:1: name: missing (the cluster's name)");
}

TEST_CASE("error: TOML syntax, and a file that cannot be read", "[cluster_config]") {
  CHECK_THAT(error_of(kConfigHead + "[[node]]\nname = \"d\nport = 1\n"),
             Catch::StartsWith("cluster.toml:5:"));
  CHECK_THROWS_WITH(
      load_cluster_config("/nonexistent/cluster.toml"),
      "rill: /nonexistent/cluster.toml: cannot read the cluster config: No such file or directory");
}

TEST_CASE(
    "tls files: a key of another certificate, another CA, or no PEM are refused, naming the file",
    "[cluster_config]") {
  TempDir dir;
  rill::test::make_tls_files(dir.path, "");
  rill::test::make_tls_files(dir.path, "other-");
  auto path = [&](const char* f) { return (dir.path / f).string(); };
  rill::net::TlsConfig tls{true, path("node.pem"), path("node.key"), path("ca.pem")};
  CHECK(rill::net::tls_files_problem(tls).empty());
  auto wrong = tls;
  wrong.key = path("other-node.key");
  CHECK(rill::net::tls_files_problem(wrong) ==
        "tls.key " + wrong.key + " does not belong to the certificate in " + tls.cert);
  wrong = tls;
  wrong.ca = path("other-ca.pem");
  CHECK_THAT(rill::net::tls_files_problem(wrong),
             Catch::StartsWith("tls.cert " + tls.cert + " is not signed by the CA in " + wrong.ca));
  wrong = tls;
  wrong.cert = dir.write("text.pem", "not a certificate");
  CHECK_THAT(rill::net::tls_files_problem(wrong),
             Catch::StartsWith("tls.cert " + wrong.cert + ": not a PEM certificate"));
}
