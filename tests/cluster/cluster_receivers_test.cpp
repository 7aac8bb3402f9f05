// Suite cluster, receivers placed on a worker by the config: the stream is received and
// batched there, counted exactly, also when that worker is SIGKILLed and its WAL reloads.
#include <catch2/catch.hpp>

#include <signal.h>

#include "tests/cluster/cluster_run.hpp"

using namespace rill::test;  // NOLINT: the suite's helpers

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
    Harness driver(c.driver(), now.count());
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
  // The driver knows of it from the worker's answers (its status page lists it), across the
  // worker's restart.
  CHECK(c.log("driver").find("stream rx: its receiver on node worker-1 started (start 1)") !=
        std::string::npos);
  if (kill_host)
    CHECK(c.log("driver").find("stream rx: its receiver on node worker-1 started (start 2)") !=
          std::string::npos);
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
