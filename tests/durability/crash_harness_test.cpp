// The crash harness on file_wordcount: fault-free runs are identical batch by batch, a
// failpoint kill is reported at its step, and (with recovery, hidden) a restarted run matches.
#include "tests/support/crash_harness.hpp"

#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <map>
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
               "--out", (tmp / "out" / "counts").string(), "--log-level", "info"},
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
  REQUIRE(first.size() == kSteps);
  CHECK(first == second);
  CHECK(first["counts-1000"] == std::vector<std::string>{"(brown,1)", "(dog,1)", "(fox,1)",
                                                         "(jumps,1)", "(lazy,1)", "(over,1)",
                                                         "(quick,1)", "(the,2)"});
  CHECK(first["counts-3000"].empty());
  CHECK(first["counts-6000"] == std::vector<std::string>{"(fox,1)", "(the,3)"});
}

TEST_CASE("a child killed at a failpoint is reported as SIGKILL at that step") {
  // --partitions 2: every batch renames two part files (empty partitions too).
  auto [hit, dies_at] = GENERATE(table<int, int>({{2, 1}, {5, 3}}));
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
  CHECK(out.size() == static_cast<size_t>(dies_at));
}

// Needs checkpoint recovery in the runtime (the durable MetaLog and replayable file lists):
// hidden until it lands. Run with: crash_harness_test "[.recovery]"
TEST_CASE("a run killed mid-batch and restarted matches the fault-free run", "[.recovery]") {
  TempTree reference_dir("rill-crash-ref");
  OutputTree reference = fault_free_run(reference_dir);

  auto [hit, dies_at] = GENERATE(table<int, int>({{2, 1}, {5, 3}, {9, 5}}));
  TempTree tmp;
  std::string spec = "text_output.after_part_rename:" + std::to_string(hit);
  long long resume_at = 0;
  {
    Harness h(wordcount(tmp, {{"RILL_FAILPOINTS", spec}}), 0);
    for (int i = 0; i < dies_at; ++i) {
      Step s = step(h, tmp, i);
      INFO(s.describe() << "\n" << child_log(tmp));
      if (i + 1 < dies_at)
        REQUIRE(s.ok());
      else
        REQUIRE(s.died_by(SIGKILL));
    }
    resume_at = h.now_ms();
  }
  // TODO(recovery): pass the sample's store/checkpoint directory flag once it exists.
  Harness h(wordcount(tmp), resume_at);
  // The input of the step that died was published already; its batch is re-run.
  Step s = h.advance(kBatchMs);
  INFO(s.describe() << "\n" << child_log(tmp));
  REQUIRE(s.ok());
  for (int i = dies_at; i < kSteps; ++i) {
    s = step(h, tmp, i);
    INFO(s.describe() << "\n" << child_log(tmp));
    REQUIRE(s.ok());
  }
  REQUIRE(h.stop().ok());
  CHECK(rill::test::read_output_tree(tmp / "out") == reference);
}
