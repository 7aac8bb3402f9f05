// Suite cluster, execution: a driver and two workers on loopback run word counts, running
// totals, an inverse window and a Sink output over the same files as one process does; every
// output directory equals the single-process run's, also when a worker or the driver is
// SIGKILLed mid-run and restarted, with or without its store, and with checkpoints every 3 s.
#include <catch2/catch.hpp>

#include <signal.h>

#include "tests/cluster/cluster_run.hpp"

using namespace rill::test;  // NOLINT: the suite's helpers

// Both workers, then a driver that runs every batch: the outputs must be the single-process
// run's. The workers stop at the end.
static void run_exact(Cluster& c) {
  const OutputTree one = single_process_run();
  ChildProcess w1(c.worker("worker-1"));
  ChildProcess w2(c.worker("worker-2"));
  {
    Harness driver(c.driver(), kClockStart);
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
  ChildProcess driver(c.driver(false));
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
    Harness driver(c.driver(), kClockStart);
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
  const ChildOptions driver_options = c.driver();
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
