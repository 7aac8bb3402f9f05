// rill-launch: line prefixes and the restart budget as pure pieces, then the built tool over a
// probe program (launch_probe.cpp) that crashes, exits or ignores SIGTERM when told to: every
// node started and prefixed, a crashed node restarted, restarts capped, and SIGTERM to
// rill-launch stopping every node with no process left behind.
#include "net/node_launcher.hpp"

#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include <catch2/catch.hpp>

#include "tests/cluster/cluster_files.hpp"
#include "tests/support/piped_child.hpp"

using namespace std::chrono_literals;
using rill::net::PrefixedLines;
using rill::net::RestartBudget;
using rill::test::kConfigHead;
using rill::test::node_table;
using rill::test::PipedChild;
using rill::test::process_gone;
using rill::test::TempDir;

namespace {

std::string env_path(const char* name) {
  const char* path = std::getenv(name);
  REQUIRE(path != nullptr);  // set by tests/cluster/meson.build
  return path;
}

// A driver and two workers, and the directory the probes read their orders from.
struct LaunchSetup {
  TempDir dir;
  std::string config =
      dir.write("cluster.toml", kConfigHead + node_table("driver", 7000, "driver") +
                                    node_table("worker-1", 7001, "worker", "partitions = [0]\n") +
                                    node_table("worker-2", 7002, "worker", "partitions = [1]\n"));

  void order(const std::string& file) const { dir.write(file, ""); }

  // rill-launch [options] CONFIG -- launch_probe
  std::unique_ptr<PipedChild> launch(std::vector<std::string> options) const {
    std::vector<std::string> argv{env_path("RILL_LAUNCH")};
    argv.insert(argv.end(), options.begin(), options.end());
    argv.insert(argv.end(), {config, "--", env_path("RILL_LAUNCH_PROBE")});
    return std::make_unique<PipedChild>(
        argv, std::map<std::string, std::string>{{"RILL_PROBE_DIR", dir.path.string()}});
  }

  // Every pid each node's probe recorded, in start order.
  std::map<std::string, std::vector<pid_t>> pids() const {
    std::map<std::string, std::vector<pid_t>> out;
    std::ifstream in(dir.path / "pids");
    std::string node;
    pid_t pid;
    while (in >> node >> pid) out[node].push_back(pid);
    return out;
  }
};

bool all_gone(const std::map<std::string, std::vector<pid_t>>& pids) {
  for (const auto& [node, list] : pids)
    for (pid_t pid : list)
      if (!process_gone(pid)) return false;
  return true;
}

}  // namespace

TEST_CASE("PrefixedLines: whole lines prefixed, partial lines held, long lines cut", "[launch]") {
  PrefixedLines lines("[w] ");
  CHECK(lines.feed("one\ntw") == "[w] one\n");
  CHECK(lines.feed("o\n\nthree") == "[w] two\n[w] \n");
  CHECK(lines.flush() == "[w] three\n");
  CHECK(lines.flush().empty());
  std::string huge(PrefixedLines::kMaxLine + 10, 'x');
  std::string out = lines.feed(huge + "\n");
  CHECK(out == "[w] " + std::string(PrefixedLines::kMaxLine, 'x') + "\n[w] " +
                   std::string(10, 'x') + "\n");
}

TEST_CASE("RestartBudget: at most N restarts within the sliding window", "[launch]") {
  RestartBudget budget(2, 1000ms);
  auto t0 = std::chrono::steady_clock::time_point{} + 1h;
  CHECK(budget.try_restart(t0));
  CHECK(budget.try_restart(t0 + 100ms));
  CHECK_FALSE(budget.try_restart(t0 + 900ms));
  CHECK(budget.used(t0 + 900ms) == 2);
  CHECK(budget.try_restart(t0 + 1000ms));  // the first left the window
  CHECK(budget.used(t0 + 1000ms) == 2);
  RestartBudget none(0, 1000ms);
  CHECK_FALSE(none.try_restart(t0));
}

TEST_CASE("rill-launch starts every node, prefixes its lines, SIGTERM stops them all", "[launch]") {
  LaunchSetup setup;
  auto launch = setup.launch({"--grace", "10s"});
  for (std::string node : {"driver", "worker-1", "worker-2"}) {
    REQUIRE(launch->wait_for("[" + node + "] " + node + " ready (pid ", 20s));
    REQUIRE(launch->wait_for("[" + node + "] " + node + " says hello on stderr\n", 5s));
  }
  CHECK_THAT(launch->out(), Catch::Contains("[worker-1] worker-1 ready"));  // stdout to stdout
  CHECK_THAT(launch->err(), Catch::Contains("[worker-1] worker-1 says hello on stderr"));
  auto pids = setup.pids();
  REQUIRE(pids.size() == 3);
  for (const auto& [node, list] : pids) CHECK(list.size() == 1);

  launch->signal(SIGTERM);
  auto code = launch->wait(20s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  for (std::string node : {"driver", "worker-1", "worker-2"})
    CHECK_THAT(launch->out(), Catch::Contains("[" + node + "] " + node + " stopping on SIGTERM"));
  CHECK_THAT(launch->err(), Catch::Contains("rill-launch: stopping every node (got SIGTERM): "
                                            "SIGTERM to driver first, then the others"));
  // The driver's graceful stop still needs the workers: they get SIGTERM once it has exited.
  const std::string& out = launch->out();
  size_t driver_stop = out.find("[driver] driver stopping on SIGTERM");
  for (std::string node : {"worker-1", "worker-2"})
    CHECK(driver_stop < out.find("[" + node + "] " + node + " stopping on SIGTERM"));
  CHECK(all_gone(pids));
}

TEST_CASE("rill-launch restarts a node that crashed", "[launch]") {
  LaunchSetup setup;
  setup.order("crash-once-worker-1");
  auto launch = setup.launch({"--restart-delay", "0ms"});
  REQUIRE(launch->wait_for("[worker-1] worker-1 crashing", 20s));
  REQUIRE(
      launch->wait_for("rill-launch: worker-1 was killed by signal 6 (Aborted); restarting it in "
                       "0 ms (restart 1 of 3 within 60000 ms)",
                       10s));
  REQUIRE(launch->wait_for("[worker-1] worker-1 ready", 20s));
  REQUIRE(launch->wait_for("[worker-2] worker-2 ready", 20s));
  REQUIRE(launch->wait_for("[driver] driver ready", 20s));
  auto pids = setup.pids();
  CHECK(pids["worker-1"].size() == 2);  // started twice
  CHECK(pids["worker-2"].size() == 1);  // the others were left alone
  CHECK(pids["driver"].size() == 1);
  CHECK(process_gone(pids["worker-1"][0]));

  launch->signal(SIGINT);
  auto code = launch->wait(20s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK(all_gone(pids));
}

TEST_CASE("rill-launch gives up after its restarts and stops every node, exit 1", "[launch]") {
  LaunchSetup setup;
  setup.order("crash-always-worker-2");
  auto launch =
      setup.launch({"--max-restarts", "2", "--restart-window", "1m", "--restart-delay", "0ms"});
  auto code = launch->wait(30s);  // it ends by itself
  REQUIRE(code.has_value());
  CHECK(*code == 1);
  INFO(launch->output());
  CHECK_THAT(launch->err(),
             Catch::Contains("rill-launch: worker-2 was killed by signal 6 (Aborted); "
                             "it was restarted 2 time(s) within 60000 ms already: giving up"));
  CHECK_THAT(launch->err(),
             Catch::Contains("stopping every node (worker-2 exhausted its restarts)"));
  auto pids = setup.pids();
  CHECK(pids["worker-2"].size() == 3);  // the first start and 2 restarts
  CHECK(all_gone(pids));
}

TEST_CASE("rill-launch: a node that ignores SIGTERM is killed after the grace period", "[launch]") {
  LaunchSetup setup;
  setup.order("ignore-term-worker-1");
  auto launch = setup.launch({"--grace", "500ms"});
  REQUIRE(launch->wait_for("[worker-1] worker-1 ready", 20s));
  REQUIRE(launch->wait_for("[worker-2] worker-2 ready", 20s));
  REQUIRE(launch->wait_for("[driver] driver ready", 20s));
  launch->signal(SIGTERM);
  auto code = launch->wait(20s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK_THAT(launch->err(),
             Catch::Contains("rill-launch: worker-1 did not stop within 500 ms: SIGKILL"));
  CHECK_THAT(launch->err(), Catch::Contains("worker-1 was killed by signal 9"));
  CHECK(all_gone(setup.pids()));
}

TEST_CASE("rill-launch: nodes that exit 0 end the launch", "[launch]") {
  LaunchSetup setup;
  for (std::string node : {"driver", "worker-1", "worker-2"}) setup.order("exit-ok-" + node);
  auto launch = setup.launch({});
  auto code = launch->wait(20s);
  REQUIRE(code.has_value());
  CHECK(*code == 0);
  CHECK_THAT(launch->out(), Catch::Contains("[worker-2] worker-2 done"));
}

TEST_CASE("rill-launch over a real application: its refusal (exit 2) is not restarted",
          "[launch]") {
  // rill::run refuses a receivers name that is not a receiver stream of the job; rill-launch
  // relays that and stops.
  LaunchSetup setup;
  std::string text;
  {
    std::ifstream in(setup.config);
    text.assign(std::istreambuf_iterator<char>(in), {});
  }
  text.replace(text.find("partitions = [1]\n"), 17, "partitions = [1]\nreceivers = [\"x\"]\n");
  setup.dir.write("cluster.toml", text);
  std::vector<std::string> argv{env_path("RILL_LAUNCH"), setup.config, "--",
                                env_path("RILL_SAMPLE_NETWORK_WORDCOUNT"), "--demo"};
  PipedChild launch(argv);
  auto code = launch.wait(30s);
  REQUIRE(code.has_value());
  CHECK(*code == 1);
  INFO(launch.output());
  CHECK_THAT(
      launch.err(),
      Catch::Contains("] network_wordcount: rill: " + setup.config +
                      ":15: node 'worker-2': receivers: 'x' is not a receiver stream of this job "
                      "(its receiver streams: 'lines')"));
  CHECK_THAT(launch.err(), Catch::Contains("exited with status 2: it refused its command line or "
                                           "config; a restart cannot help, not restarted"));
  CHECK_THAT(launch.err(), Catch::Contains(" started (pid ") && !Catch::Contains("start 2)"));
}

TEST_CASE("rill-launch: bad command lines and configs exit 2", "[launch]") {
  TempDir dir;
  std::string bad = dir.write("bad.toml", kConfigHead + node_table("d", 7000, "wroker"));
  auto r = rill::test::run_to_end({env_path("RILL_LAUNCH"), bad, "--", "/bin/true"}, 10s);
  CHECK(r.code == 2);
  CHECK(r.err == "rill-launch: rill: " + bad +
                     ":8:8: node[0].role: expected \"driver\" or \"worker\", got \"wroker\"\n");
  r = rill::test::run_to_end({env_path("RILL_LAUNCH"), bad}, 10s);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::StartsWith("rill-launch: no -- APP given"));
  r = rill::test::run_to_end({env_path("RILL_LAUNCH"), "--restarts", "3", bad, "--", "/bin/true"},
                             10s);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::StartsWith("rill-launch: unknown option --restarts"));
  r = rill::test::run_to_end({env_path("RILL_LAUNCH"), "--grace", "5", bad, "--", "/bin/true"},
                             10s);
  CHECK(r.code == 2);
  CHECK_THAT(r.err, Catch::StartsWith("rill-launch: --grace wants a duration"));
}

TEST_CASE("rill-launch: a command that cannot run is not restarted", "[launch]") {
  LaunchSetup setup;
  std::vector<std::string> argv{env_path("RILL_LAUNCH"), setup.config, "--", "/nonexistent/app"};
  PipedChild launch(argv);
  auto code = launch.wait(20s);
  REQUIRE(code.has_value());
  CHECK(*code == 1);
  CHECK_THAT(
      launch.err(),
      Catch::Contains("rill-launch: cannot run /nonexistent/app: No such file or directory"));
  CHECK_THAT(launch.err(),
             Catch::Contains(
                 "exited with status 127: its command could not be run; a restart cannot help"));
}
