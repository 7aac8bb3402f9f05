// The crash harness on samples/thermostat reading a real nats-server with JetStream: a run
// SIGKILLed at failpoints and at seeded random moments, restarted from its checkpoint
// directory, writes exactly the fault-free run's output (each reading once, none lost).
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/crash_harness.hpp"
#include "tests/support/nats_server.hpp"

using rill::test::ChildOptions;
using rill::test::Harness;
using rill::test::OutputTree;
using rill::test::Step;
using rill::test::TempTree;

namespace {

constexpr int kSteps = 7;
constexpr long long kBatchMs = 1000;

// Readings published before each step's advance; step 3 gets none, step 5 a malformed one.
const std::vector<std::vector<std::string>> kReadings = {
    {"kitchen 21.5", "bedroom 19.0", "kitchen 22.0"},
    {"garage 12.5", "kitchen 21.0"},
    {},
    {"bedroom 18.5", "bedroom 19.5", "garage 11.0", "kitchen 23.5"},
    {"kitchen warm", "garage 13.0"},
    {"kitchen 20.0"},
    {"bedroom 20.5", "garage 12.0", "kitchen 21.5"},
};

// One server for the whole test program; each run reads a stream of its own.
rill::test::NatsServer& server() {
  static TempTree dir("rill-jetstream-crash");
  static rill::test::NatsServer s(dir / "nats");
  return s;
}

// A run: its stream RUN<n> (subject run<n>.readings), out/avg-<ms>/, ckpt/, child.log.
struct Run {
  explicit Run(const std::string& prefix) : tmp(prefix) {
    static int runs = 0;
    ++runs;
    stream = "RUN" + std::to_string(runs);
    subject = "run" + std::to_string(runs) + ".readings";
    rill::test::JetStreamClient(server().url()).add_stream(stream, {subject});
  }
  ChildOptions options(std::map<std::string, std::string> env = {}) const {
    const char* binary = std::getenv("RILL_SAMPLE_THERMOSTAT");
    if (!binary || !*binary) FAIL("RILL_SAMPLE_THERMOSTAT is not set (meson test sets it)");
    return ChildOptions{.binary = binary,
                        .args = {"--url", server().url(), "--stream", stream, "--subject", subject,
                                 "--batch-ms", std::to_string(kBatchMs), "--window-ms", "3000",
                                 "--partitions", "2", "--out", (tmp / "out" / "avg").string(),
                                 "--checkpoint", (tmp / "ckpt").string(), "--log-level", "info"},
                        .env = std::move(env),
                        .log_file = tmp / "child.log"};
  }
  void publish(int step) const {
    rill::test::JetStreamClient client(server().url());
    for (const auto& r : kReadings[static_cast<size_t>(step)]) client.publish(subject, r);
  }
  // Publishes step i's readings, then advances one batch.
  Step step(Harness& h, int i) const {
    publish(i);
    return h.advance(kBatchMs);
  }
  std::string log() const {
    std::ifstream in(tmp / "child.log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  TempTree tmp;
  std::string stream, subject;
};

OutputTree fault_free_run() {
  Run run("rill-thermo-ref");
  Harness h(run.options(), 0);
  for (int i = 0; i < kSteps; ++i) {
    Step s = run.step(h, i);
    INFO(s.describe() << "\n" << run.log());
    REQUIRE(s.ok());
  }
  REQUIRE(h.stop().ok());
  return rill::test::read_output_tree(run.tmp / "out");
}

// Restarts a run that died during step dies_at (its readings published) at the clock it last
// acknowledged, finishes the steps, and returns the output.
OutputTree restart_and_finish(const Run& run, long long resume_at, int dies_at) {
  Harness h(run.options(), resume_at);
  Step s = h.advance(kBatchMs);
  INFO(s.describe() << "\n" << run.log());
  REQUIRE(s.ok());
  for (int i = dies_at; i < kSteps; ++i) {
    s = run.step(h, i);
    INFO(s.describe() << "\n" << run.log());
    REQUIRE(s.ok());
  }
  REQUIRE(h.stop().ok());
  return rill::test::read_output_tree(run.tmp / "out");
}

}  // namespace

TEST_CASE(
    "thermostat over JetStream: SIGKILLed runs restarted from the checkpoint match the fault-free "
    "run") {
  OutputTree reference = fault_free_run();
  REQUIRE(reference.size() == kSteps);
  // Sliding 3 s averages, two decimals; the malformed "kitchen warm" is a dead letter.
  CHECK(reference["avg-1000"] == std::vector<std::string>{"(bedroom,19.00)", "(kitchen,21.75)"});
  CHECK(reference["avg-3000"] ==
        std::vector<std::string>{"(bedroom,19.00)", "(garage,12.50)", "(kitchen,21.50)"});
  CHECK(reference["avg-5000"] ==
        std::vector<std::string>{"(bedroom,19.00)", "(garage,12.00)", "(kitchen,23.50)"});

  SECTION("killed at failpoints") {
    for (std::string spec : {"driver.after_allocation:4", "stage.mid_batch:7",
                             "text_output.after_part_rename:7", "store.after_commit:34"}) {
      INFO("RILL_FAILPOINTS=" << spec);
      Run run("rill-thermo-fp");
      long long resume_at = 0;
      int dies_at = 0;
      {
        Harness h(run.options({{"RILL_FAILPOINTS", spec}}), 0);
        for (int i = 0; i < kSteps; ++i) {
          Step s = run.step(h, i);
          INFO(s.describe() << "\n" << run.log());
          if (s.ok()) continue;
          REQUIRE(s.died_by(SIGKILL));
          dies_at = i + 1;
          break;
        }
        REQUIRE(dies_at > 0);  // the failpoint must fire, or the case tests nothing
        resume_at = h.now_ms();
      }
      CHECK(restart_and_finish(run, resume_at, dies_at) == reference);
    }
  }
  SECTION("killed at seeded random moments") {
    for (int seed = 1; seed <= 4; ++seed) {
      std::mt19937 rng(static_cast<unsigned>(seed));
      int dies_at = std::uniform_int_distribution<int>(1, kSteps)(rng);
      int delay_us = std::uniform_int_distribution<int>(0, 20000)(rng);
      INFO("seed " << seed << ": kill " << delay_us << " us into step " << dies_at);
      Run run("rill-thermo-rnd");
      long long resume_at = 0;
      {
        Harness h(run.options(), 0);
        for (int i = 0; i + 1 < dies_at; ++i) REQUIRE(run.step(h, i).ok());
        run.publish(dies_at - 1);
        // Fault injection, not synchronisation: the kill lands anywhere in the batch or after.
        REQUIRE(h.child().send("advance " + std::to_string(kBatchMs)));
        std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
        h.kill();
        resume_at = h.now_ms();
      }
      CHECK(restart_and_finish(run, resume_at, dies_at) == reference);
    }
  }
}
