// Suite cluster, execution: a driver and two workers on loopback run word counts, running
// totals and an inverse window over the same files as one process does, on a manual clock the
// test advances; every output directory equals the single-process run's, also when a worker
// is SIGKILLed mid-run and restarted. Nodes that cannot prove the secret or run another job
// are refused, and nothing runs on them.
#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/cluster_files.hpp"
#include "tests/support/crash_harness.hpp"
#include "tests/support/piped_child.hpp"

namespace fs = std::filesystem;
using rill::test::ChildOptions;
using rill::test::ChildProcess;
using rill::test::Harness;
using rill::test::OutputTree;
using rill::test::TempDir;

namespace {

constexpr long long kClockStart = 1'700'000'000'500;
constexpr int kBatches = 6;

std::string app() {
  const char* path = std::getenv("RILL_CLUSTER_WORDCOUNT");
  REQUIRE(path != nullptr);
  return path;
}

// A port nothing listens on now (the kernel's pick; another process could take it first, which
// the test would show as a failure to listen, naming the port).
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Batch i's file: words w0..w11, a different mix each batch.
std::string file_text(int i) {
  std::ostringstream out;
  for (int line = 0; line < 5; ++line) {
    for (int w = 0; w < 6; ++w) out << (w ? " w" : "w") << (i * 7 + line * 3 + w * w) % 12;
    out << "\n";
  }
  return out.str();
}

struct Cluster {
  TempDir tmp;
  std::vector<int> ports{free_port(), free_port(), free_port()};
  std::string config;

  std::string heartbeat_timeout;
  std::string interval;
  int replication;
  std::string checkpoint_interval;
  std::string worker1_extra;           // more lines of worker-1's [[node]] table
  std::vector<std::string> app_extra;  // more arguments for every node's process

  explicit Cluster(std::string heartbeat = "10s", std::string batch = "1s", int copies = 1,
                   std::string checkpoint_every = "")
      : heartbeat_timeout(std::move(heartbeat)),
        interval(std::move(batch)),
        replication(copies),
        checkpoint_interval(std::move(checkpoint_every)) {
    fs::create_directories(tmp.path / "in");
    fs::create_directories(tmp.path / "out");
    config = write_config("cluster.toml", "test-secret");
  }
  std::string write_config(const std::string& name, const std::string& secret,
                           const std::string& tls = "") {
    return tmp.write(
        name, "name = \"test\"\nbatch_interval = \"" + interval + "\"\n" +
                  (checkpoint_interval.empty()
                       ? ""
                       : "checkpoint_interval = \"" + checkpoint_interval + "\"\n") +
                  "secret = \"" + secret +
                  "\"\nstore_dir = \"store\"\nreplication = " + std::to_string(replication) +
                  "\n[heartbeat]\ninterval = \"200ms\"\n"
                  "timeout = \"" +
                  heartbeat_timeout + "\"\n" + tls +
                  rill::test::node_table("driver", ports[0], "driver") +
                  rill::test::node_table("worker-1", ports[1], "worker",
                                         "partitions = [0, 1]\n" + worker1_extra) +
                  rill::test::node_table("worker-2", ports[2], "worker", "partitions = [2, 3]\n"));
  }
  std::vector<std::string> args(const std::string& config_file, const std::string& node) const {
    std::vector<std::string> a{(tmp.path / "in").string(),
                               "--out",
                               (tmp.path / "out" / "counts").string(),
                               "--config",
                               config_file,
                               "--node",
                               node,
                               "--log-level",
                               "info"};
    a.insert(a.end(), app_extra.begin(), app_extra.end());
    return a;
  }
  ChildOptions worker(const std::string& node, const std::string& config_file = "",
                      std::vector<std::string> extra = {}) const {
    auto a = args(config_file.empty() ? config : config_file, node);
    a.insert(a.end(), extra.begin(), extra.end());
    return ChildOptions{app(), a, {}, false, tmp.path / (node + ".log")};
  }
  std::string log(const std::string& node) const {
    std::ifstream in(tmp.path / (node + ".log"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

// Publishes batch i's file, then advances one batch; `between` runs after batch `at`, and the
// time from its start to the next batch's completion is printed (a figure, not a check).
void run_batches(Harness& driver, const fs::path& in, int at = -1,
                 const std::function<void()>& between = {}) {
  std::chrono::steady_clock::time_point fault;
  for (int i = 0; i < kBatches + 3; ++i) {  // three more: the window empties
    if (i < kBatches) rill::test::publish_file(in, "f" + std::to_string(i) + ".txt", file_text(i));
    auto step = driver.advance(1000);
    INFO(step.describe());
    REQUIRE(step.ok());
    if (i == at + 1 && between)
      std::printf(
          "fault after batch %d: the next batch completed %.0f ms later\n", at,
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - fault)
              .count());
    if (i == at && between) {
      fault = std::chrono::steady_clock::now();
      between();
    }
  }
  REQUIRE(driver.stop().ok());
}

// The same job as one process, on the same files and batch times.
OutputTree single_process_run() {
  TempDir tmp;
  fs::create_directories(tmp.path / "in");
  std::vector<std::string> args{(tmp.path / "in").string(), "--out",
                                (tmp.path / "out" / "counts").string(), "--checkpoint",
                                (tmp.path / "ck").string()};
  Harness one(ChildOptions{app(), args, {}, true, tmp.path / "one.log"}, kClockStart);
  run_batches(one, tmp.path / "in");
  return rill::test::read_output_tree(tmp.path / "out");
}

void expect_equal_trees(const OutputTree& cluster, const OutputTree& one) {
  REQUIRE(cluster.size() == one.size());
  REQUIRE(one.size() >= 3 * kBatches);
  for (const auto& [dir, lines] : one) {
    INFO("output directory " << dir);
    REQUIRE(cluster.count(dir) == 1);
    CHECK(cluster.at(dir) == lines);
  }
}

// Every directory the Sink output (DirectorySink) committed was written by the worker that
// owns its partition (worker-1: 0 and 1, worker-2: 2 and 3), never by the driver. On the
// manual clock every batch has input: 4 partitions of each.
void check_sink_writers(const fs::path& out, int at_least = 4 * kBatches) {
  int dirs = 0;
  for (const auto& d : fs::directory_iterator(out)) {
    const std::string name = d.path().filename().string();
    if (name.rfind("counts-db-", 0) != 0 || name.find(".tmp") != std::string::npos) continue;
    const int partition = name.back() - '0';
    std::ifstream marker(d.path() / "_SUCCESS");
    std::string hash, writer;
    std::getline(marker, hash);
    std::getline(marker, writer);
    INFO("Sink directory " << name);
    CHECK(writer == (partition < 2 ? "worker-1" : "worker-2"));
    ++dirs;
  }
  CHECK(dirs >= at_least);
}

// Waits (at most 30 s) until `node`'s log has `text`.
void wait_for_log(const Cluster& c, const std::string& node, const std::string& text) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (c.log(node).find(text) == std::string::npos) {
    INFO(node << "'s log never said: " << text);
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

void stop_worker(ChildProcess& w) {
  ::kill(w.pid(), SIGTERM);
  auto status = w.wait(std::chrono::seconds(30));
  REQUIRE(status);
  CHECK(status->exited);
  CHECK(status->code == 0);
}

}  // namespace

// Both workers, then a driver that runs every batch: the outputs must be the single-process
// run's. The workers stop at the end.
static void run_exact(Cluster& c) {
  const OutputTree one = single_process_run();
  ChildProcess w1(c.worker("worker-1"));
  ChildProcess w2(c.worker("worker-2"));
  {
    Harness driver(
        ChildOptions{app(), c.args(c.config, "driver"), {}, true, c.tmp.path / "driver.log"},
        kClockStart);
    run_batches(driver, c.tmp.path / "in");
  }
  expect_equal_trees(rill::test::read_output_tree(c.tmp.path / "out"), one);
  check_sink_writers(c.tmp.path / "out");
  stop_worker(w1);
  stop_worker(w2);
}

TEST_CASE("a driver and two workers produce exactly the single-process outputs") {
  Cluster c;
  run_exact(c);
  CHECK(c.log("driver").find("node worker-1: session") != std::string::npos);
  CHECK(c.log("worker-2").find("with node driver open") != std::string::npos);
}

TEST_CASE("[tls] on: the nodes talk over TLS with certificates from the CA, exactly") {
  Cluster c;
  c.config = c.write_config("tls.toml", "test-secret", rill::test::make_tls_files(c.tmp.path, ""));
  run_exact(c);
  CHECK(c.log("worker-1").find("listening on 127.0.0.1:" + std::to_string(c.ports[1]) + " (TLS)") !=
        std::string::npos);
}

TEST_CASE("[tls] on: a node whose certificate another CA signed is never reached") {
  Cluster c;
  c.config = c.write_config("tls.toml", "test-secret", rill::test::make_tls_files(c.tmp.path, ""));
  // Same cluster, secret and job; only its certificate comes from elsewhere.
  std::string rogue =
      c.write_config("rogue.toml", "test-secret", rill::test::make_tls_files(c.tmp.path, "rogue-"));
  ChildProcess w1(c.worker("worker-1", rogue));
  wait_for_log(c, "worker-1", "(TLS)");  // listening: a failure to reach it is TLS's
  ChildProcess driver(
      ChildOptions{app(), c.args(c.config, "driver"), {}, false, c.tmp.path / "driver.log"});
  wait_for_log(c, "driver", "node worker-1: cannot reach 127.0.0.1:" + std::to_string(c.ports[1]));
  driver.kill();  // a graceful stop would wait for its batches, which need worker-1
  REQUIRE(driver.wait(std::chrono::seconds(30)));
  CHECK(c.log("worker-1").find("session") == std::string::npos);  // no handshake ever began
  stop_worker(w1);
}

// Worker-1 SIGKILLed after batch `kill_after` (default 2) and restarted at once (as rill-launch or
// systemd would); batch 3's tasks wait on the driver until it is back. With `lose_store` its store
// is deleted first: its state (running totals, window slices) then lives on only in worker-2's
// copy, which it asks for before it opens its store. Every output must be the single-process run's.
static void worker_restart_run(Cluster& c, bool lose_store, int kill_after = 2) {
  const OutputTree one = single_process_run();
  auto w1 = std::make_unique<ChildProcess>(c.worker("worker-1"));
  ChildProcess w2(c.worker("worker-2"));
  {
    Harness driver(
        ChildOptions{app(), c.args(c.config, "driver"), {}, true, c.tmp.path / "driver.log"},
        kClockStart);
    run_batches(driver, c.tmp.path / "in", kill_after, [&] {
      w1->kill();
      w1->wait(std::chrono::seconds(10));
      if (lose_store) REQUIRE(fs::remove_all(c.tmp.path / "store" / "worker-1") > 0);
      w1 = std::make_unique<ChildProcess>(c.worker("worker-1"));
    });
  }
  expect_equal_trees(rill::test::read_output_tree(c.tmp.path / "out"), one);
  check_sink_writers(c.tmp.path / "out");
  stop_worker(*w1);
  stop_worker(w2);
}

TEST_CASE("a worker SIGKILLed mid-run and restarted leaves every output exact") {
  Cluster c;
  worker_restart_run(c, false);
  CHECK(c.log("driver").find("node worker-1 lost") != std::string::npos);
}

TEST_CASE("replication = 2: a worker back without its store is rebuilt from its replica, exactly") {
  Cluster c("10s", "1s", 2);
  worker_restart_run(c, true);
  CHECK(c.log("worker-2").find("handing node worker-1 its store back") != std::string::npos);
  CHECK(c.log("worker-1").find("rebuilt from its replica") != std::string::npos);
  // Each node's copy is on its peer: the driver's and worker-2's on worker-1, worker-1's on
  // worker-2.
  const fs::path store = c.tmp.path / "store";
  CHECK(fs::exists(store / "worker-1.replica-of-driver" / "data.mdb"));
  CHECK(fs::exists(store / "worker-2.replica-of-worker-1" / "data.mdb"));
  CHECK(fs::exists(store / "worker-1.replica-of-worker-2" / "data.mdb"));
}

// The driver killed after batch `kill_at`'s file is published, and restarted; with `lose_store`
// its store is deleted first and comes back from worker-1's copy (replication = 2).
static void driver_restart_run(Cluster& c, bool lose_store, int kill_at = 3) {
  ChildOptions driver_options{
      app(), c.args(c.config, "driver"), {}, true, c.tmp.path / "driver.log"};
  auto driver = std::make_unique<Harness>(driver_options, kClockStart);
  for (int i = 0; i < kBatches + 3; ++i) {
    if (i < kBatches)
      rill::test::publish_file(c.tmp.path / "in", "f" + std::to_string(i) + ".txt", file_text(i));
    if (i == kill_at) {
      // Killed with the batch's file published: the restarted driver recovers from its store
      // and the workers, which kept running, join its new sessions and reload their state.
      long long now = driver->now_ms();
      driver->kill();
      if (lose_store) REQUIRE(fs::remove_all(c.tmp.path / "store" / "driver") > 0);
      driver = std::make_unique<Harness>(driver_options, now);
    }
    auto step = driver->advance(1000);
    INFO(step.describe());
    REQUIRE(step.ok());
  }
  REQUIRE(driver->stop().ok());
}

TEST_CASE("the driver SIGKILLed mid-run and restarted leaves every output exact") {
  const OutputTree one = single_process_run();
  Cluster c;
  ChildProcess w1(c.worker("worker-1"));
  ChildProcess w2(c.worker("worker-2"));
  driver_restart_run(c, false);
  expect_equal_trees(rill::test::read_output_tree(c.tmp.path / "out"), one);
  CHECK(c.log("driver").find("recovering from") != std::string::npos);
  stop_worker(w1);
  stop_worker(w2);
}

TEST_CASE(
    "replication = 2: the driver back without its store is rebuilt from its replica, exactly") {
  const OutputTree one = single_process_run();
  Cluster c("10s", "1s", 2);
  ChildProcess w1(c.worker("worker-1"));
  ChildProcess w2(c.worker("worker-2"));
  driver_restart_run(c, true);
  expect_equal_trees(rill::test::read_output_tree(c.tmp.path / "out"), one);
  std::string log = c.log("driver");
  CHECK(log.find("rebuilt from its replica") != std::string::npos);
  CHECK(log.find("recovering from") != std::string::npos);
  CHECK(c.log("worker-1").find("handing node driver its store back") != std::string::npos);
  stop_worker(w1);
  stop_worker(w2);
}

// The last batch's output of `prefix` (its directory with the greatest batch time).
std::vector<std::string> last_output(const OutputTree& tree, const std::string& prefix) {
  std::string last;
  for (const auto& [dir, lines] : tree)
    if (dir.rfind(prefix, 0) == 0 && dir.size() >= last.size() && dir > last) last = dir;
  INFO("no output directory starts with " << prefix);
  REQUIRE(!last.empty());
  return tree.at(last);
}

// A stream whose receiver the config places on worker-1: it runs there, its batch builder
// answers the driver's cuts over worker-1's link, and the totals equal one process's. With
// `kill_host`, worker-1 is SIGKILLed after the first batch took every line and restarted: its
// write-ahead log reloads blocks the driver has recorded as taken, which the next cut must
// skip (the receiver itself resumes after its last durable block).
static void receiver_run(bool kill_host) {
  const std::vector<std::string> rx{"--receiver-lines", "700"};
  OutputTree one;
  {
    TempDir tmp;
    fs::create_directories(tmp.path / "in");
    std::vector<std::string> args{(tmp.path / "in").string(), "--out",
                                  (tmp.path / "out" / "counts").string(), "--checkpoint",
                                  (tmp.path / "ck").string()};
    args.insert(args.end(), rx.begin(), rx.end());
    Harness h(ChildOptions{app(), args, {}, true, tmp.path / "one.log"}, kClockStart);
    for (int i = 0; i < 4; ++i) REQUIRE(h.advance(1000).ok());
    REQUIRE(h.stop().ok());
    one = rill::test::read_output_tree(tmp.path / "out");
  }
  Cluster c;
  c.worker1_extra = "receivers = [\"rx\"]\n";
  c.app_extra = rx;
  c.config = c.write_config("cluster.toml", "test-secret");
  auto w1 = std::make_unique<ChildProcess>(c.worker("worker-1"));
  ChildProcess w2(c.worker("worker-2"));
  wait_for_log(c, "worker-1", "receiver rx started");
  {
    // The receiver stamps its records with worker-1's clock: the driver's starts at the real time.
    auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::system_clock::now().time_since_epoch());
    Harness driver(
        ChildOptions{app(), c.args(c.config, "driver"), {}, true, c.tmp.path / "driver.log"},
        now.count());
    for (int i = 0; i < 4; ++i) {
      auto step = driver.advance(1000);
      INFO(step.describe());
      REQUIRE(step.ok());
      if (i == 0 && kill_host) {
        w1->kill();
        w1->wait(std::chrono::seconds(10));
        w1 = std::make_unique<ChildProcess>(c.worker("worker-1"));
      }
    }
    REQUIRE(driver.stop().ok());
  }
  const auto totals =
      last_output(rill::test::read_output_tree(c.tmp.path / "out"), "counts-rx-totals");
  CHECK(totals.size() == 7);
  CHECK(totals == last_output(one, "counts-rx-totals"));
  CHECK(c.log("driver").find("receiver rx started") == std::string::npos);
  stop_worker(*w1);
  stop_worker(w2);
}

TEST_CASE("receivers = [\"rx\"] on a worker: the stream is received there and counted exactly") {
  receiver_run(false);
}

TEST_CASE(
    "a worker running a receiver with the WAL, SIGKILLed and restarted, counts each line once") {
  receiver_run(true);
}

// checkpoint_interval = 3 s: batches between checkpoints change the workers' state in memory
// only. A restarted worker's stages can load only the last checkpoint, so the whole cluster
// rolls back to it and re-runs the batches since; a restarted driver re-runs them from its
// store. Outputs stay exact either way.
TEST_CASE("checkpoint_interval = 3 s: a worker SIGKILLed between checkpoints rolls back, exactly") {
  Cluster c("10s", "1s", 1, "3s");
  worker_restart_run(c, false, 3);  // after batch 4 s: its state is in worker-1's memory only
  CHECK(c.log("driver").find("rolling back to checkpoint") != std::string::npos);
}

TEST_CASE("checkpoint_interval = 3 s: the driver SIGKILLed between checkpoints re-runs, exactly") {
  const OutputTree one = single_process_run();
  Cluster c("10s", "1s", 1, "3s");
  ChildProcess w1(c.worker("worker-1"));
  ChildProcess w2(c.worker("worker-2"));
  driver_restart_run(c, false, 5);
  expect_equal_trees(rill::test::read_output_tree(c.tmp.path / "out"), one);
  CHECK(c.log("driver").find("2 batch(es) to re-run") != std::string::npos);
  stop_worker(w1);
  stop_worker(w2);
}

// Worker-2 runs with RILL_FAILPOINTS=`failpoint` and dies there (SIGKILL); it is restarted at
// once, as rill-launch would. Every output must still be the single-process run's, and the
// driver's log must say `why` it ran a batch again.
static void failpoint_restart_run(const std::string& failpoint, const std::string& why) {
  const OutputTree one = single_process_run();
  Cluster c;
  ChildProcess w1(c.worker("worker-1"));
  ChildOptions failing = c.worker("worker-2");
  failing.env["RILL_FAILPOINTS"] = failpoint;
  auto w2 = std::make_unique<ChildProcess>(failing);
  bool restarted = false;
  {
    Harness driver(
        ChildOptions{app(), c.args(c.config, "driver"), {}, true, c.tmp.path / "driver.log"},
        kClockStart);
    for (int i = 0; i < kBatches + 3; ++i) {
      if (i < kBatches)
        rill::test::publish_file(c.tmp.path / "in", "f" + std::to_string(i) + ".txt", file_text(i));
      auto step = std::async(std::launch::async, [&driver] { return driver.advance(1000); });
      while (step.wait_for(std::chrono::milliseconds(50)) != std::future_status::ready)
        if (!restarted && w2->wait(std::chrono::milliseconds(0))) {
          REQUIRE(w2->status()->killed_by(SIGKILL));
          w2 = std::make_unique<ChildProcess>(c.worker("worker-2"));  // as rill-launch would
          restarted = true;
        }
      auto done = step.get();
      INFO(done.describe());
      REQUIRE(done.ok());
    }
    REQUIRE(driver.stop().ok());
  }
  REQUIRE(restarted);
  expect_equal_trees(rill::test::read_output_tree(c.tmp.path / "out"), one);
  check_sink_writers(c.tmp.path / "out");
  CHECK(c.log("driver").find(why) != std::string::npos);
  CHECK(c.log("driver").find("running 1 batch(es) again") != std::string::npos);
  stop_worker(w1);
  stop_worker(*w2);
}

TEST_CASE("a worker killed between a batch's shuffle stages makes the batch run again, exactly") {
  // Its third stage task is in batch 1's second stage: it dies after its first-stage tasks
  // answered, so the buckets they cut die with it. The consumers then cannot fetch them, and
  // the driver runs batch 1 again from its inputs once the worker is back.
  failpoint_restart_run("stage.mid_batch:3", "shuffle input lost");
}

TEST_CASE("a worker killed before writing its part of a Sink output makes the batch run again") {
  // The driver asks worker-2 to write its first partition of batch 1's counts to the Sink; it
  // dies first, and the parts it held die with it. The restarted worker answers that it does
  // not hold them, and the driver runs the batch again: the parts are computed and written anew.
  failpoint_restart_run("sink.before_part_write:1", "does not hold partition");
}

TEST_CASE("a worker killed after committing a Sink part, before answering, writes it once") {
  // The commit is in the Sink; the driver never heard of it. The batch runs again, and the
  // worker finds the Sink's own marker: it skips the write (a second commit would throw).
  failpoint_restart_run("sink.after_part_commit:1", "does not hold partition");
}

TEST_CASE("a worker paused past the heartbeat timeout is dropped, then rejoins in a new session") {
  const OutputTree one = single_process_run();
  Cluster c("2s");
  ChildProcess w1(c.worker("worker-1"));
  ChildProcess w2(c.worker("worker-2"));
  {
    Harness driver(
        ChildOptions{app(), c.args(c.config, "driver"), {}, true, c.tmp.path / "driver.log"},
        kClockStart);
    for (int i = 0; i < kBatches + 3; ++i) {
      if (i < kBatches)
        rill::test::publish_file(c.tmp.path / "in", "f" + std::to_string(i) + ".txt", file_text(i));
      if (i != 2) {
        auto step = driver.advance(1000);
        INFO(step.describe());
        REQUIRE(step.ok());
        continue;
      }
      // Batch 2's tasks reach a stopped worker. The driver declares it lost after the
      // heartbeat timeout and holds the tasks; after SIGCONT the worker joins a new session
      // and they run again there. Whatever it had queued from the old session is refused.
      ::kill(w1.pid(), SIGSTOP);
      auto step = std::async(std::launch::async, [&driver] { return driver.advance(1000); });
      auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (c.log("driver").find("node worker-1 lost") == std::string::npos) {
        REQUIRE(std::chrono::steady_clock::now() < deadline);
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
      }
      CHECK(step.wait_for(std::chrono::milliseconds(0)) != std::future_status::ready);
      ::kill(w1.pid(), SIGCONT);
      auto done = step.get();
      INFO(done.describe());
      REQUIRE(done.ok());
    }
    REQUIRE(driver.stop().ok());
  }
  expect_equal_trees(rill::test::read_output_tree(c.tmp.path / "out"), one);
  std::string log = c.log("worker-1");
  size_t first = log.find("with node driver open");
  REQUIRE(first != std::string::npos);
  CHECK(log.find("with node driver open", first + 1) != std::string::npos);  // a second session
  stop_worker(w1);
  stop_worker(w2);
}

TEST_CASE("a worker without the secret, or running another job, is refused and runs nothing") {
  Cluster c;
  std::string wrong = c.write_config("wrong-secret.toml", "not-the-secret");
  ChildProcess w1(c.worker("worker-1", wrong));
  ChildProcess w2(c.worker("worker-2", "", {"--extra-output"}));
  {
    Harness driver(
        ChildOptions{app(), c.args(c.config, "driver"), {}, true, c.tmp.path / "driver.log"},
        kClockStart, std::chrono::seconds(4));
    rill::test::publish_file(c.tmp.path / "in", "f0.txt", file_text(0));
    auto step = driver.advance(1000);
    CHECK(!step.ok());  // the batch cannot complete: no worker may run its tasks
  }
  const std::string wrong_secret =
      "node 'worker-1' could not prove the cluster secret (wrong secret)";
  CHECK(c.log("driver").find("node worker-1: handshake refused: " + wrong_secret) !=
        std::string::npos);
  CHECK(c.log("worker-1").find("refused by a peer: " + wrong_secret) != std::string::npos);
  CHECK(c.log("worker-2")
            .find("refused node 'driver': node 'driver' runs another job (DAG fingerprint") !=
        std::string::npos);
  CHECK(c.log("driver").find("node worker-2 refused this node: node 'driver' runs another job") !=
        std::string::npos);
  for (const char* w : {"worker-1", "worker-2"})
    CHECK(c.log(w).find("with node driver open") == std::string::npos);
  CHECK(rill::test::read_output_tree(c.tmp.path / "out").empty());
  stop_worker(w1);
  stop_worker(w2);
}

namespace {

using Counts = std::map<std::string, int64_t>;

Counts input_counts(int files) {
  Counts out;
  for (int i = 0; i < files; ++i) {
    std::istringstream in(file_text(i));
    for (std::string w; in >> w;) ++out[w];
  }
  return out;
}

// Lines "(word,n)" summed by word.
void add_lines(const std::vector<std::string>& lines, Counts& into) {
  for (const auto& l : lines) {
    auto comma = l.rfind(',');
    into[l.substr(1, comma - 1)] += std::stoll(l.substr(comma + 1, l.size() - comma - 2));
  }
}

// The running totals of the last complete batch, and the per-batch counts summed over all;
// with `sink`, those the Sink output wrote (counts-db-*) summed over all.
std::pair<Counts, Counts> totals_and_sums(const fs::path& out, Counts* sink = nullptr) {
  Counts totals, sums;
  long long last = -1;
  for (const auto& [dir, lines] : rill::test::read_output_tree(out)) {
    if (dir.find("(incomplete)") != std::string::npos) continue;
    if (dir.rfind("counts-totals-", 0) == 0) {
      long long t = std::stoll(dir.substr(14));
      if (t > last) {
        last = t;
        totals.clear();
        add_lines(lines, totals);
      }
    } else if (dir.rfind("counts-db-", 0) == 0) {
      if (sink) add_lines(lines, *sink);
    } else if (dir.rfind("counts-window-", 0) != 0) {
      add_lines(lines, sums);
    }
  }
  for (auto it = totals.begin(); it != totals.end();)
    it = it->second == 0 ? totals.erase(it) : std::next(it);
  return {totals, sums};
}

}  // namespace

TEST_CASE(
    "rill-launch runs the nodes on the real clock; a worker SIGKILLed is restarted, totals exact") {
  const char* launcher = std::getenv("RILL_LAUNCH");
  REQUIRE(launcher != nullptr);
  Cluster c("10s", "500ms");  // the window (3 s, sliding 1 s) needs a divisor of 1 s
  // The nodes' own arguments; rill-launch adds --config and --node.
  std::vector<std::string> argv{launcher,
                                c.config,
                                "--",
                                app(),
                                (c.tmp.path / "in").string(),
                                "--out",
                                (c.tmp.path / "out" / "counts").string(),
                                "--log-level",
                                "info"};
  rill::test::PipedChild launch(argv);
  // Files count only once the driver's sources started (new files only, as in Spark).
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);;) {
    const std::string& o = launch.output();
    bool started = false;
    for (size_t p = o.find("started, batch interval"); p != std::string::npos && !started;
         p = o.find("started, batch interval", p + 1)) {
      size_t line = o.rfind('\n', p);
      started = o.compare(line == std::string::npos ? 0 : line + 1, 9, "[driver] ") == 0;
    }
    if (started) break;
    INFO(o);
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    launch.wait_for("\n", std::chrono::milliseconds(100), o.size());
  }
  auto wait_for_totals = [&](int files) {
    Counts expected = input_counts(files);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (totals_and_sums(c.tmp.path / "out").first != expected) {
      INFO(launch.output());
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      launch.wait_for("\n", std::chrono::milliseconds(100), launch.output().size());
    }
  };
  for (int i = 0; i < 3; ++i)
    rill::test::publish_file(c.tmp.path / "in", "f" + std::to_string(i) + ".txt", file_text(i));
  wait_for_totals(3);
  // worker-1's pid, from rill-launch's "worker-1 started (pid N, start 1 ...)".
  const std::string& log = launch.output();
  size_t at = log.find("worker-1 started (pid ");
  REQUIRE(at != std::string::npos);
  pid_t pid = static_cast<pid_t>(std::stol(log.substr(at + 22)));
  ::kill(pid, SIGKILL);
  REQUIRE(launch.wait_for("worker-1 started (pid ", std::chrono::seconds(30), at + 10));
  for (int i = 3; i < kBatches; ++i)
    rill::test::publish_file(c.tmp.path / "in", "f" + std::to_string(i) + ".txt", file_text(i));
  wait_for_totals(kBatches);
  Counts sink;
  auto [totals, sums] = totals_and_sums(c.tmp.path / "out", &sink);
  CHECK(totals == input_counts(kBatches));
  CHECK(sums == input_counts(kBatches));  // every word counted in exactly one batch
  CHECK(sink == sums);                    // and written to the Sink once, by the workers
  check_sink_writers(c.tmp.path / "out", 4);
  launch.signal(SIGTERM);
  auto code = launch.wait(std::chrono::seconds(60));
  INFO(launch.output());
  REQUIRE(code);
  CHECK(*code == 0);
}
