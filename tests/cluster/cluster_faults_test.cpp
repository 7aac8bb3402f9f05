// Suite cluster, faults inside a batch: a worker killed between shuffle stages or around a
// Sink write, a worker paused past the heartbeat timeout, and nodes refused at the handshake;
// outputs stay the single-process run's, and a refused node runs nothing.
#include <catch2/catch.hpp>

#include <signal.h>

#include <future>
#include <thread>

#include "tests/cluster/cluster_run.hpp"

using namespace rill::test;  // NOLINT: the suite's helpers

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
    Harness driver(c.driver(), kClockStart);
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
    Harness driver(c.driver(), kClockStart);
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
    Harness driver(c.driver(), kClockStart, std::chrono::seconds(4));
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
