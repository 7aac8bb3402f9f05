// The crash harness on file_wordcount: fault-free runs are identical batch by batch, a
// failpoint kill is reported at its step, and (with recovery, hidden) a restarted run matches.
#include "tests/support/crash_harness.hpp"

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
#include <random>
#include <thread>
#include <string>
#include <vector>

using rill::test::ChildOptions;
using rill::test::Harness;
using rill::test::OutputTree;
using rill::test::Step;
using rill::test::TempTree;
namespace fs = std::filesystem;

namespace {

constexpr int kSteps = 6;
constexpr long long kBatchMs = 1000;

// What is published before each step's advance; step 3 gets nothing (an empty batch).
const char* const kInputs[kSteps] = {
    "the quick brown fox\njumps over the lazy dog\n",
    "the dog sleeps\nthe fox runs\nthe end\n",
    nullptr,
    "alpha beta gamma\nbeta gamma\ngamma\n",
    "one two three four five six seven eight nine ten\n",
    "the the the\nfox\n",
};

std::string sample_binary() {
  const char* p = std::getenv("RILL_SAMPLE_FILE_WORDCOUNT");
  if (!p || !*p) FAIL("RILL_SAMPLE_FILE_WORDCOUNT is not set (meson test sets it)");
  return p;
}

// A run's directories: in/ (watched), out/counts-<ms>/ (save_as_text_files), child.log.
ChildOptions wordcount(const TempTree& tmp, std::map<std::string, std::string> env = {}) {
  fs::create_directories(tmp / "in");
  fs::create_directories(tmp / "out");
  return ChildOptions{
      .binary = sample_binary(),
      .args = {(tmp / "in").string(), "--batch-ms", std::to_string(kBatchMs), "--partitions", "2",
               "--out", (tmp / "out" / "counts").string(), "--log-level", "info",
               "--checkpoint", (tmp / "ckpt").string(), "--totals"},
      .env = std::move(env),
      .log_file = tmp / "child.log"};
}

std::string child_log(const TempTree& tmp) {
  std::ifstream in(tmp / "child.log");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Publishes step i's input (if any), then advances one batch.
Step step(Harness& h, const TempTree& tmp, int i) {
  if (kInputs[i]) rill::test::publish_file(tmp / "in", "input-" + std::to_string(i), kInputs[i]);
  return h.advance(kBatchMs);
}

OutputTree fault_free_run(const TempTree& tmp) {
  Harness h(wordcount(tmp), 0);
  for (int i = 0; i < kSteps; ++i) {
    Step s = step(h, tmp, i);
    INFO(child_log(tmp));
    REQUIRE(s.ok());
    CHECK(s.now_ms == (i + 1) * kBatchMs);
  }
  Step s = h.stop();
  INFO(child_log(tmp));
  REQUIRE(s.ok());
  return rill::test::read_output_tree(tmp / "out");
}

}  // namespace

TEST_CASE("two fault-free runs of file_wordcount produce identical batches") {
  TempTree a("rill-crash-a"), b("rill-crash-b");
  OutputTree first = fault_free_run(a);
  OutputTree second = fault_free_run(b);
  REQUIRE(first.size() == 3 * kSteps);  // counts, running totals, window, per batch
  CHECK(first == second);
  CHECK_THAT(first["counts-totals-6000"], Catch::Matchers::VectorContains(std::string("(the,8)")));
  CHECK_THAT(first["counts-totals-6000"], Catch::Matchers::VectorContains(std::string("(fox,3)")));
  CHECK_THAT(first["counts-window-6000"], Catch::Matchers::VectorContains(std::string("(gamma,3)")));
  CHECK_THAT(first["counts-window-6000"], Catch::Matchers::VectorContains(std::string("(dog,0)")));
  CHECK(first["counts-1000"] == std::vector<std::string>{"(brown,1)", "(dog,1)", "(fox,1)",
                                                         "(jumps,1)", "(lazy,1)", "(over,1)",
                                                         "(quick,1)", "(the,2)"});
  CHECK(first["counts-3000"].empty());
  CHECK(first["counts-6000"] == std::vector<std::string>{"(fox,1)", "(the,3)"});
}

TEST_CASE("a child killed at a failpoint is reported as SIGKILL at that step") {
  // --partitions 2 and three text outputs: every batch renames six part files (empty
  // partitions too), the word counts' two first.
  auto [hit, dies_at] = GENERATE(table<int, int>({{2, 1}, {14, 3}}));
  TempTree tmp;
  std::string spec = "text_output.after_part_rename:" + std::to_string(hit);
  Harness h(wordcount(tmp, {{"RILL_FAILPOINTS", spec}}), 0);
  for (int i = 1; i < dies_at; ++i) {
    Step s = step(h, tmp, i - 1);
    INFO(child_log(tmp));
    REQUIRE(s.ok());
  }
  Step s = step(h, tmp, dies_at - 1);
  INFO(s.describe() << "\n" << child_log(tmp));
  REQUIRE(s.died_by(SIGKILL));
  CHECK(h.now_ms() == (dies_at - 1) * kBatchMs);  // the last clock the child acknowledged
  CHECK_THAT(child_log(tmp),
             Catch::Matchers::Contains("failpoint " + spec.substr(0, spec.find(':')) + " hit " +
                                       std::to_string(hit)));
  OutputTree out = rill::test::read_output_tree(tmp / "out");
  std::string cut = "counts-" + std::to_string(dies_at * kBatchMs) + " (incomplete)";
  CHECK(out.count(cut) == 1);  // the parts were renamed, _SUCCESS never came
  CHECK(out.count("counts-" + std::to_string((dies_at - 1) * kBatchMs)) == (dies_at > 1 ? 1u : 0u));
}

// Restarts a run that died during step `dies_at` (its input already published) at the clock
// it last acknowledged, finishes the steps, and returns the output.
OutputTree restart_and_finish(const TempTree& tmp, long long resume_at, int dies_at) {
  Harness h(wordcount(tmp), resume_at);
  // The input of the step that died was published already: its batch is re-run or is the
  // first live one.
  Step s = h.advance(kBatchMs);
  INFO(s.describe() << "\n" << child_log(tmp));
  REQUIRE(s.ok());
  for (int i = dies_at; i < kSteps; ++i) {
    s = step(h, tmp, i);
    INFO(s.describe() << "\n" << child_log(tmp));
    REQUIRE(s.ok());
  }
  REQUIRE(h.stop().ok());
  return rill::test::read_output_tree(tmp / "out");
}

TEST_CASE("a run killed at a failpoint and restarted matches the fault-free run") {
  TempTree reference_dir("rill-crash-ref");
  OutputTree reference = fault_free_run(reference_dir);
  // Each point where a crash loses something different; hit counts chosen to land mid-run.
  auto [spec, max_step] = GENERATE(table<std::string, int>({
      {"text_output.after_part_rename:5", kSteps},  // batch output half renamed, no _SUCCESS
      {"driver.after_allocation:3", kSteps},        // allocated, nothing run
      {"stage.mid_batch:9", kSteps},                // a task ran, its state not yet written
      {"checkpoint.mid_write:4", kSteps},           // between two partitions' snapshots
      {"checkpoint.mid_compaction:3", kSteps},      // first full snapshots of a partition
      {"store.after_commit:40", kSteps},            // durable, callers not yet told
      {"sink.after_commit:20", kSteps},             // an output committed, the batch incomplete
  }));
  (void)max_step;
  INFO("RILL_FAILPOINTS=" << spec);
  TempTree tmp;
  long long resume_at = 0;
  int dies_at = 0;
  {
    Harness h(wordcount(tmp, {{"RILL_FAILPOINTS", spec}}), 0);
    for (int i = 0; i < kSteps; ++i) {
      Step s = step(h, tmp, i);
      INFO(s.describe() << "\n" << child_log(tmp));
      if (s.ok()) continue;
      REQUIRE(s.died_by(SIGKILL));
      dies_at = i + 1;
      break;
    }
    REQUIRE(dies_at > 0);  // the failpoint must fire during the run, or the case tests nothing
    resume_at = h.now_ms();
  }
  CHECK(restart_and_finish(tmp, resume_at, dies_at) == reference);
}

TEST_CASE("runs killed at seeded random moments and restarted match the fault-free run") {
  TempTree reference_dir("rill-crash-ref");
  OutputTree reference = fault_free_run(reference_dir);
  const int seeds = std::getenv("RILL_CRASH_SEEDS") ? std::atoi(std::getenv("RILL_CRASH_SEEDS")) : 20;
  for (int seed = 1; seed <= seeds; ++seed) {
    std::mt19937 rng(static_cast<unsigned>(seed));
    int dies_at = std::uniform_int_distribution<int>(1, kSteps)(rng);
    int delay_us = std::uniform_int_distribution<int>(0, 20000)(rng);
    INFO("seed " << seed << ": kill " << delay_us << " us into step " << dies_at);
    TempTree tmp;
    long long resume_at = 0;
    {
      Harness h(wordcount(tmp), 0);
      for (int i = 0; i + 1 < dies_at; ++i) REQUIRE(step(h, tmp, i).ok());
      if (kInputs[dies_at - 1])
        rill::test::publish_file(tmp / "in", "input-" + std::to_string(dies_at - 1), kInputs[dies_at - 1]);
      // Fault injection, not synchronisation: the kill lands anywhere in the batch (or
      // after it); every outcome must recover to the same output.
      REQUIRE(h.child().send("advance " + std::to_string(kBatchMs)));
      std::this_thread::sleep_for(std::chrono::microseconds(delay_us));
      h.kill();
      resume_at = h.now_ms();
    }
    OutputTree out = restart_and_finish(tmp, resume_at, dies_at);
    for (const auto& [dir, lines] : reference) {
      INFO("batch dir " << dir);
      CHECK(out[dir] == lines);
    }
    CHECK(out.size() == reference.size());
  }
}
