// The crash harness on file_wordcount: fault-free runs are identical batch by batch (files,
// SQLite and PostgreSQL tables), and a run killed anywhere and restarted matches them.
// Runs under tests/support/pg_server.sh, which starts the PostgreSQL server the sinks write to.
#include "tests/support/crash_harness.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <csignal>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <iterator>
#include <map>
#include <random>
#include <thread>
#include <string>
#include <vector>

#include "tests/persistence/pg_test_server.hpp"

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

// Each run writes its PostgreSQL tables into a schema of its own, named after its directory.
std::string pg_schema(const TempTree& tmp) {
  return "run_" + std::to_string(std::hash<std::string>{}(tmp.path().string()) % 1000000007);
}

std::string pg_conninfo(const TempTree& tmp) {
  static const rill::test::PgServer server = rill::test::PgServer::from_env();
  rill::test::Psql(server.conninfo).exec("CREATE SCHEMA IF NOT EXISTS " + pg_schema(tmp));
  return server.conninfo + " options='-c search_path=" + pg_schema(tmp) + "'";
}

// A run's directories: in/ (watched), out/counts-<ms>/ (save_as_text_files), db.sqlite,
// child.log; its tables word_counts and word_totals in SQLite and PostgreSQL.
// chaos_seed > 0 runs the sample under rill::chaos::Monkey too: actor kills inside the process.
ChildOptions wordcount(const TempTree& tmp, std::map<std::string, std::string> env = {}, int chaos_seed = 0) {
  fs::create_directories(tmp / "in");
  fs::create_directories(tmp / "out");
  ChildOptions options{
      .binary = sample_binary(),
      .args = {(tmp / "in").string(), "--batch-ms", std::to_string(kBatchMs), "--partitions", "2",
               "--out", (tmp / "out" / "counts").string(), "--log-level", "info",
               "--checkpoint", (tmp / "ckpt").string(), "--totals",
               "--sqlite", (tmp / "db.sqlite").string(), "--postgres", pg_conninfo(tmp)},
      .env = std::move(env),
      .log_file = tmp / "child.log"};
  if (chaos_seed > 0) {
    options.args.push_back("--chaos");
    options.args.push_back(std::to_string(chaos_seed));
  }
  return options;
}

// Everything a run wrote: its batch directories, plus each table's sorted rows under
// "sqlite <table>" and "postgres <table>". word_counts has no key, so a batch written
// twice shows as duplicate rows.
OutputTree read_outputs(const TempTree& tmp) {
  OutputTree out = rill::test::read_output_tree(tmp / "out");
  rill::test::Psql psql(pg_conninfo(tmp));
  for (const char* table : {"word_counts", "word_totals"}) {
    std::string select = std::string("SELECT * FROM ") + table;
    out[std::string("sqlite ") + table] = rill::test::sqlite_rows(tmp / "db.sqlite", select);
    std::vector<std::string> rows = psql.rows(select);
    std::sort(rows.begin(), rows.end());
    out[std::string("postgres ") + table] = rows;
  }
  return out;
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
  return read_outputs(tmp);
}

// CHECKs that two runs wrote the same, naming each batch directory or table that differs.
void check_same_outputs(const OutputTree& out, const OutputTree& reference) {
  for (const auto& [name, lines] : reference) {
    INFO("output " << name);
    auto it = out.find(name);
    CHECK(it != out.end());
    if (it != out.end()) CHECK(it->second == lines);
  }
  for (const auto& [name, lines] : out) {
    INFO("output " << name << " is not in the fault-free run");
    CHECK(reference.count(name) == 1);
  }
}

}  // namespace

TEST_CASE("two fault-free runs of file_wordcount produce identical batches") {
  TempTree a("rill-crash-a"), b("rill-crash-b");
  OutputTree first = fault_free_run(a);
  OutputTree second = fault_free_run(b);
  REQUIRE(first.size() == 3 * kSteps + 4);  // counts, totals, window per batch; 4 tables
  check_same_outputs(second, first);
  for (const char* db : {"sqlite", "postgres"}) {
    INFO(db);
    CHECK(first[std::string(db) + " word_counts"].size() == 29);  // one row per word per batch
    CHECK_THAT(first[std::string(db) + " word_counts"], Catch::Matchers::VectorContains(std::string("the|3")));
    CHECK(first[std::string(db) + " word_totals"].size() == 24);  // one row per distinct word
    CHECK_THAT(first[std::string(db) + " word_totals"], Catch::Matchers::VectorContains(std::string("the|8")));
  }
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
OutputTree restart_and_finish(const TempTree& tmp, long long resume_at, int dies_at, int chaos_seed = 0) {
  Harness h(wordcount(tmp, {}, chaos_seed), resume_at);
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
  return read_outputs(tmp);
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
  check_same_outputs(restart_and_finish(tmp, resume_at, dies_at), reference);
}

TEST_CASE("runs killed at seeded random moments and restarted match the fault-free run") {
  TempTree reference_dir("rill-crash-ref");
  OutputTree reference = fault_free_run(reference_dir);
  const int seeds = std::getenv("RILL_CRASH_SEEDS") ? std::atoi(std::getenv("RILL_CRASH_SEEDS")) : 20;
  for (int seed = 1; seed <= seeds; ++seed) {
    std::mt19937 rng(static_cast<unsigned>(seed));
    int dies_at = std::uniform_int_distribution<int>(1, kSteps)(rng);
    int delay_us = std::uniform_int_distribution<int>(0, 20000)(rng);
    // Odd seeds also run the monkey inside the process, before and after the SIGKILL.
    const int chaos_seed = seed % 2 == 1 ? seed : 0;
    INFO("seed " << seed << ": kill " << delay_us << " us into step " << dies_at
                 << (chaos_seed ? ", under the chaos monkey" : ""));
    TempTree tmp;
    long long resume_at = 0;
    {
      Harness h(wordcount(tmp, {}, chaos_seed), 0);
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
    check_same_outputs(restart_and_finish(tmp, resume_at, dies_at, chaos_seed), reference);
  }
}

namespace {

using WordTotals = std::map<std::string, long long>;

// Seeded input for the real-clock run: `files` files of words drawn from 40, and their totals.
struct RealClockInput {
  std::vector<std::string> files;
  WordTotals totals;
};

RealClockInput real_clock_input(unsigned seed, int files) {
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> word(0, 39);
  RealClockInput in;
  for (int f = 0; f < files; ++f) {
    std::string text;
    for (int line = 0; line < 10; ++line) {
      for (int w = 0; w < 6; ++w) {
        std::string token = "w" + std::to_string(word(rng));
        in.totals[token] += 1;
        text += (w ? " " : "") + token;
      }
      text += '\n';
    }
    in.files.push_back(std::move(text));
  }
  return in;
}

// Waits (at most timeout) until the child's log contains `text`.
bool await_log(const TempTree& tmp, const std::string& text, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (child_log(tmp).find(text) == std::string::npos) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return true;
}

// "word=n" lines, which Catch prints when a comparison fails.
std::vector<std::string> lines_of(const WordTotals& totals) {
  std::vector<std::string> lines;
  for (const auto& [word, n] : totals) lines.push_back(word + "=" + std::to_string(n));
  return lines;
}

std::vector<std::string> sum_rows(const std::vector<std::string>& rows) {
  WordTotals sums;
  for (const std::string& row : rows) {
    size_t bar = row.find('|');
    sums[row.substr(0, bar)] += std::stoll(row.substr(bar + 1));
  }
  return lines_of(sums);
}

// Sums the per-batch word counts of every complete batch directory; counts incomplete ones.
std::vector<std::string> sum_text_counts(const OutputTree& tree, int* incomplete) {
  WordTotals sums;
  for (const auto& [dir, lines] : tree) {
    if (dir.find("(incomplete)") != std::string::npos) {
      ++*incomplete;
      continue;
    }
    if (dir.rfind("counts-", 0) != 0 || dir.find("totals") != std::string::npos ||
        dir.find("window") != std::string::npos)
      continue;
    for (const std::string& line : lines) {  // "(word,n)"
      size_t comma = line.rfind(',');
      sums[line.substr(1, comma - 1)] += std::stoll(line.substr(comma + 1, line.size() - comma - 2));
    }
  }
  return lines_of(sums);
}

}  // namespace

TEST_CASE("a real-clock run killed and restarted keeps totals and outputs exact") {
  // Batch boundaries fall wherever the real clock puts them, so compare what does not depend
  // on them: final running totals, and the per-batch counts summed over all batches.
  const int seeds = std::getenv("RILL_REALCLOCK_SEEDS") ? std::atoi(std::getenv("RILL_REALCLOCK_SEEDS")) : 2;
  for (int seed = 1; seed <= seeds; ++seed) {
    std::mt19937 rng(static_cast<unsigned>(seed) * 7919u);
    const int files = 30;
    RealClockInput input = real_clock_input(static_cast<unsigned>(seed), files);
    int kill_after = std::uniform_int_distribution<int>(3, 12)(rng);
    int restart_after = kill_after + std::uniform_int_distribution<int>(0, 8)(rng);
    INFO("seed " << seed << ": SIGKILL after file " << kill_after << ", restart after file " << restart_after);
    TempTree tmp("rill-realclock");
    ChildOptions options = wordcount(tmp);
    options.control = false;
    std::vector<std::string>& args = options.args;
    args[std::find(args.begin(), args.end(), "--batch-ms") - args.begin() + 1] = "100";
    // Fault injection, not synchronisation: files arrive spread over batches, the kill and
    // the restart land wherever they land; every outcome must give the same totals.
    auto publish = [&](int f) {
      rill::test::publish_file(tmp / "in", "input-" + std::to_string(f), input.files[f]);
      std::this_thread::sleep_for(std::chrono::milliseconds(std::uniform_int_distribution<int>(0, 60)(rng)));
    };
    int next = 0;
    {
      rill::test::ChildProcess first(options);
      REQUIRE(await_log(tmp, "watching", std::chrono::seconds(30)));
      for (; next < kill_after; ++next) publish(next);
      first.kill();
      REQUIRE(first.wait(std::chrono::seconds(10)));
    }
    for (; next < restart_after; ++next) publish(next);  // while it is down
    rill::test::ChildProcess second(options);
    for (; next < files; ++next) publish(next);
    // Explicit wait with a timeout: until the running totals in SQLite reach the input's.
    std::vector<std::string> expected;
    for (const auto& [word, n] : input.totals) expected.push_back(word + "|" + std::to_string(n));
    std::sort(expected.begin(), expected.end());
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    std::vector<std::string> totals;
    while (std::chrono::steady_clock::now() < deadline) {
      try {
        totals = rill::test::sqlite_rows(tmp / "db.sqlite", "SELECT word, total FROM word_totals");
      } catch (const std::runtime_error&) {
        totals.clear();  // the table may not exist yet
      }
      if (totals == expected) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    INFO(child_log(tmp));
    REQUIRE(totals == expected);
    ::kill(second.pid(), SIGTERM);  // graceful stop: every received record processed
    auto status = second.wait(std::chrono::seconds(30));
    REQUIRE(status);
    CHECK(status->exited);
    CHECK(status->code == 0);
    OutputTree out = read_outputs(tmp);
    CHECK(out["postgres word_totals"] == expected);
    const std::vector<std::string> want = lines_of(input.totals);
    CHECK(sum_rows(out["sqlite word_counts"]) == want);
    CHECK(sum_rows(out["postgres word_counts"]) == want);
    int incomplete = 0;
    CHECK(sum_text_counts(out, &incomplete) == want);
    CHECK(incomplete == 0);
  }
}
