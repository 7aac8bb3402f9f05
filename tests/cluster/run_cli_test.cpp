// rill::run's command line, through the network_wordcount sample run as a child process:
// --check with good and bad configs, --node, unknown options, the refusal of a multi-node
// config, and a one-node config run for real.
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

#include "tests/cluster/cluster_files.hpp"
#include "tests/support/piped_child.hpp"

using namespace std::chrono_literals;
using rill::test::kConfigHead;
using rill::test::node_table;
using rill::test::run_to_end;
using rill::test::TempDir;

namespace {

std::string sample() {
  const char* path = std::getenv("RILL_SAMPLE_NETWORK_WORDCOUNT");
  REQUIRE(path != nullptr);  // set by tests/cluster/meson.build
  return path;
}

// A driver and two workers: lines 4-8, 9-14, 15-20.
std::string three_nodes() {
  return kConfigHead + node_table("driver", 7000, "driver") +
         node_table("worker-1", 7001, "worker", "partitions = [0, 1]\n") +
         node_table("worker-2", 7002, "worker", "partitions = [2, 3]\n");
}

}  // namespace

TEST_CASE("--check: OK with exit 0, or the error with exit 2", "[run_cli]") {
  TempDir dir;
  std::string good = dir.write("cluster.toml", three_nodes());
  auto ok = run_to_end({sample(), "--demo", "--config", good, "--check"}, 30s);
  CHECK(ok.code == 0);
  CHECK_THAT(ok.out,
             Catch::StartsWith("OK " + good +
                               ": cluster \"test\", 3 node(s) (driver, "
                               "worker-1, worker-2), 4 partition(s), batch interval 1000 ms"));
  CHECK(ok.err.empty());

  auto node =
      run_to_end({sample(), "--demo", "--config", good, "--node", "worker-2", "--check"}, 30s);
  CHECK(node.code == 0);
  CHECK_THAT(node.out, Catch::Contains("node worker-2: worker at 127.0.0.1:7002, partitions 2 3, "
                                       "receivers -, store " +
                                       (dir.path / "rill-store/worker-2").string()));

  auto unknown =
      run_to_end({sample(), "--demo", "--config", good, "--node", "worker-9", "--check"}, 30s);
  CHECK(unknown.code == 2);
  CHECK(unknown.err == "network_wordcount: --node worker-9: " + good +
                           " has no such node (its nodes: driver, worker-1, worker-2)\n");

  std::string text = three_nodes();
  text.replace(text.find("role = \"worker\""), 15, "role = \"wroker\"");
  std::string bad = dir.write("bad.toml", text);
  auto broken = run_to_end({sample(), "--demo", "--config", bad, "--check"}, 30s);
  CHECK(broken.code == 2);
  CHECK(broken.out.empty());
  CHECK(broken.err ==
        "network_wordcount: rill: " + bad +
            ":13:8: node[1].role: expected \"driver\" or \"worker\", got \"wroker\"\n");
}

TEST_CASE("the shipped samples/cluster/wordcount.toml passes --check", "[run_cli]") {
  const char* config = std::getenv("RILL_SAMPLE_CLUSTER_CONFIG");
  REQUIRE(config != nullptr);
  auto r = run_to_end(
      {sample(), "localhost", "9999", "--config", config, "--node", "worker-1", "--check"}, 30s);
  CHECK(r.code == 0);
  CHECK_THAT(r.out, Catch::StartsWith("OK ") &&
                        Catch::Contains("3 node(s) (driver, worker-1, worker-2)") &&
                        Catch::Contains("node worker-1: worker at 127.0.0.1:7701, partitions 0 1"));
}

TEST_CASE("command line errors exit 2 naming the argument", "[run_cli]") {
  auto bogus = run_to_end({sample(), "--demo", "--bogus"}, 30s);
  CHECK(bogus.code == 2);
  CHECK_THAT(bogus.err, Catch::StartsWith("network_wordcount: unknown option --bogus"));
  auto check_alone = run_to_end({sample(), "--demo", "--check"}, 30s);
  CHECK(check_alone.code == 2);
  CHECK_THAT(check_alone.err, Catch::Contains("--check needs --config FILE"));
  auto missing =
      run_to_end({sample(), "--demo", "--config", "/nonexistent/c.toml", "--check"}, 30s);
  CHECK(missing.code == 2);
  CHECK_THAT(missing.err, Catch::Contains("/nonexistent/c.toml: cannot read the cluster config"));
  auto positionals = run_to_end({sample(), "localhost"}, 30s);
  CHECK(positionals.code == 2);
  CHECK_THAT(positionals.err, Catch::Contains("expected 2 argument(s), got 1"));
  auto level = run_to_end({sample(), "--demo", "--log-level", "loud"}, 30s);
  CHECK(level.code == 2);
  CHECK_THAT(level.err, Catch::Contains("--log-level loud: unknown level"));
  auto help = run_to_end({sample(), "--help"}, 30s);
  CHECK(help.code == 0);
  CHECK_THAT(help.out, Catch::StartsWith("usage: network_wordcount HOST PORT") &&
                           Catch::Contains("--config FILE") && Catch::Contains("--http-port N"));
}

TEST_CASE("a multi-node config needs --node; a receivers name must be a receiver stream",
          "[run_cli]") {
  TempDir dir;
  std::string config = dir.write("cluster.toml", three_nodes());
  auto no_node = run_to_end({sample(), "--demo", "--config", config}, 30s);
  CHECK(no_node.code == 2);
  CHECK(no_node.err == "network_wordcount: --node NAME is needed: " + config +
                           " has 3 nodes (driver, worker-1, worker-2)\n");
  std::string text = three_nodes();
  text.replace(text.find("partitions = [2, 3]\n"), 20,
               "partitions = [2, 3]\nreceivers = [\"words\"]\n");
  std::string placed = dir.write("placed.toml", text);
  auto r = run_to_end({sample(), "--demo", "--config", placed, "--node", "driver"}, 30s);
  CHECK(r.code == 2);
  CHECK(r.err == "network_wordcount: rill: " + placed +
                     ":15: node 'worker-2': receivers: 'words' is not a receiver stream of this "
                     "job (its receiver streams: 'lines')\n");
}

TEST_CASE("a one-node config runs as one machine: its interval, its store", "[run_cli]") {
  TempDir dir;
  std::string text = kConfigHead + node_table("solo", 7000, "driver");
  text.replace(text.find("\"1s\""), 4, "\"200ms\"");
  std::string config = dir.write("solo.toml", text);
  // --batch-ms is the config's business now; --duration-s still bounds the run.
  auto r = run_to_end(
      {sample(), "--demo", "--duration-s", "2", "--config", config, "--node", "solo"}, 60s);
  CHECK(r.code == 0);
  INFO(r.err);
  CHECK_THAT(r.out, Catch::Contains("Time: ") && Catch::Contains("00 ms\n"));
  CHECK(std::filesystem::exists(dir.path / "rill-store" / "solo" / "data.mdb"));
}

TEST_CASE("SIGTERM stops a running application gracefully, exit 0", "[run_cli]") {
  rill::test::PipedChild app({sample(), "--demo", "--batch-ms", "200"});
  REQUIRE(app.wait_for("Time: ", 30s));  // batches are running
  app.signal(SIGTERM);
  auto code = app.wait(30s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
}

TEST_CASE("the sample's own options still work without a config", "[run_cli]") {
  TempDir dir;
  auto r = run_to_end({sample(), "--demo", "--batch-ms", "200", "--duration-s", "1", "--out",
                       (dir.path / "counts").string()},
                      60s);
  CHECK(r.code == 0);
  INFO(r.err);
  CHECK_THAT(r.out, Catch::Contains("Time: "));
  bool saved = false;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path))
    saved = saved || entry.path().filename().string().rfind("counts-", 0) == 0;
  CHECK(saved);
}

TEST_CASE("--log-level wins over RILL_LOG, which wins over the app's default", "[run_cli]") {
  auto logged = [](const rill::test::RunResult& r, const std::string& level) {
    return (r.out + r.err).find("[" + level + "]") != std::string::npos;
  };
  auto flag = run_to_end(
      {sample(), "--demo", "--batch-ms", "200", "--duration-s", "1", "--log-level", "error"}, 60s,
      {{"RILL_LOG", "debug"}});
  CHECK(flag.code == 0);
  CHECK_FALSE(logged(flag, "info"));
  CHECK_FALSE(logged(flag, "debug"));
  auto env = run_to_end({sample(), "--demo", "--batch-ms", "200", "--duration-s", "1"}, 60s,
                        {{"RILL_LOG", "info"}});
  CHECK(env.code == 0);
  CHECK(logged(env, "info"));
}
