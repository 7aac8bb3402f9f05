// Suite chaos: a job with word counts (of generated lines and of files arriving in a directory),
// an inverse window, running totals and a join runs under
// rill::chaos::Monkey, which kills every kind of actor ~3 times a batch and fails, delays and
// pauses tasks; its outputs must equal a fault-free run's exactly. RILL_CHAOS_SEEDS=N for more,
// RILL_CHAOS_SEED=S to replay one. Three seeds in four run on the deterministic scheduler (a
// failing one replays exactly), the rest threaded (real races); RILL_CHAOS_SCHED=deterministic
// or threaded runs every seed on one.
#include <catch2/catch.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <vector>

#include "dataflow/chaos_monkey.hpp"
#include "dataflow/sink.hpp"
#include "dataflow/streaming_context.hpp"
#include "dataflow/text_output.hpp"
#include "tests/support/manual_run.hpp"
#include "tests/support/memory_sink.hpp"
#include "tests/support/running_total.hpp"

using namespace rill;
using KV = std::pair<std::string, int64_t>;
using Committed = std::map<std::string, std::vector<std::string>>;
using test::MemorySink;

namespace {

constexpr Millis kInterval{1000};
constexpr int kBatches = 30;

// Lines of words w0..w29 per (batch time, partition): the same for every run.
std::vector<std::string> lines(Millis t, int partition) {
  std::mt19937 rng(static_cast<unsigned>(t.count() / 1000 * 31 + partition));
  std::uniform_int_distribution<int> word(0, 29);
  std::vector<std::string> out;
  for (int l = 0; l < 8; ++l) {
    std::string line;
    for (int w = 0; w < 5; ++w) line += (w ? " w" : "w") + std::to_string(word(rng));
    out.push_back(line);
  }
  return out;
}

// A second input keyed like the words, joined with the per-batch counts.
std::vector<KV> weights(Millis t, int partition) {
  std::vector<KV> out;
  for (int k = partition; k < 30; k += 2)
    if ((k + t.count() / 1000) % 3 == 0) out.emplace_back("w" + std::to_string(k), k * 10 + t.count() / 1000);
  return out;
}

// Counts restarts and retried batches, and records what the job did, one line per event in the
// order heard: the trace two runs of a seed on the deterministic scheduler must share.
struct Events : StreamingListener {
  std::mutex mu;
  int restarts = 0;
  int retried_batches = 0;
  std::vector<std::string> trace;
  void on_actor_restarted(const std::string& kind, const std::string& name, const std::string& why) override {
    std::lock_guard lock(mu);
    ++restarts;
    trace.push_back("restart " + kind + " " + name + ": " + why);
  }
  void on_batch_started(const BatchInfo& info) override {
    std::lock_guard lock(mu);
    trace.push_back("start " + to_string(info.batch_time) + (info.rerun ? " (re-run)" : ""));
  }
  void on_output_operation_completed(const OutputOperationInfo& out) override {
    std::lock_guard lock(mu);
    trace.push_back("output " + to_string(out.batch_time) + " " + out.name + (out.failure ? " failed" : ""));
  }
  void on_checkpoint_completed(const CheckpointInfo& c) override {
    std::lock_guard lock(mu);
    trace.push_back("checkpoint " + to_string(c.batch_time) + " keys=" + std::to_string(c.keys));
  }
  void on_batch_completed(const BatchInfo& info) override {
    std::lock_guard lock(mu);
    if (info.retried_tasks > 0 || info.rerun) ++retried_batches;
    trace.push_back("done " + to_string(info.batch_time) + " records=" + std::to_string(info.input_records) +
                    " retried=" + std::to_string(info.retried_tasks) + " restarts=" + std::to_string(info.restarts));
  }
};

struct Outcome {
  Committed outputs;
  std::string stats;  // the monkey's summary
  int restarts = 0;
  int retried_batches = 0;
  double slowest_batch_ms = 0;  // wall time from a clock step to its batch's completion
  std::vector<std::string> trace;  // the monkey's fault log, then the listener's events
  uint64_t stray_wakeups = 0;      // deterministic scheduler: sends that bypassed its pump
};

const char* name_of(Scheduler s) { return s == Scheduler::deterministic ? "deterministic" : "threaded"; }

// Runs kBatches batches on a manual clock, under a monkey when given one, snapshotting state
// every `checkpoint_every`.
Outcome run_job(std::shared_ptr<chaos::Monkey> monkey, Scheduler scheduler, Millis checkpoint_every = kInterval) {
  test::ScratchDir dir;
  auto clock = std::make_shared<ManualClock>();
  auto counts = std::make_shared<Events>();
  StreamingContext ssc(kInterval, ContextOptions{.clock = clock, .partitions = 2, .scheduler = scheduler,
                                                 .checkpoint_dir = dir.path + "/ckpt", .checkpoint_fsync = false,
                                                 .checkpoint_interval = checkpoint_every,
                                                 .supervisor_max_restarts = 10000,
                                                 .restart_backoff_min = Millis{1}, .restart_backoff_max = Millis{20},
                                                 .fault_injector = monkey});
  ssc.add_listener(counts);
  auto out = std::make_shared<test::CommittedRows>();
  auto words = ssc.generator_stream<std::string>(lines).name("lines")
                   .flat_map([](const std::string& l) { return split(l, ' '); })
                   .map([](const std::string& w) { return KV{w, 1}; });
  auto counted = words.reduce_by_key(std::plus<>{});
  counted.output_to(std::make_shared<MemorySink<KV>>(out), "counts");
  words.reduce_by_key_and_window(std::plus<>{}, std::minus<>{}, kInterval * 3, kInterval)
      .output_to(std::make_shared<MemorySink<KV>>(out), "window");
  counted
      .update_state_by_key(rill::test::running_total)
      .output_to(std::make_shared<MemorySink<KV>>(out), "totals");
  counted.join(ssc.generator_stream<KV>(weights).name("weights"))
      .output_to(std::make_shared<MemorySink<std::pair<std::string, std::pair<int64_t, int64_t>>>>(out), "joined");
  // A source that consumes what it reads (a directory): a cut whose answer is lost must not
  // lose its files.
  const std::string in = dir.path + "/in";
  std::filesystem::create_directories(in);
  ssc.text_file_stream(in)
      .name("files")
      .flat_map([](const std::string& l) { return split(l, ' '); })
      .map([](const std::string& w) { return KV{w, 1}; })
      .reduce_by_key(std::plus<>{})
      .output_to(std::make_shared<MemorySink<KV>>(out), "file_counts");
  ssc.start();
  double slowest = 0;
  for (int i = 1; i <= kBatches; ++i) {
    {
      std::string tmp = in + "/.f" + std::to_string(i);
      std::ofstream(tmp) << lines(Millis{i * 7000}, 0)[0] << '\n' << lines(Millis{i * 7000}, 1)[0] << '\n';
      std::filesystem::rename(tmp, in + "/f" + std::to_string(i));
    }
    auto begun = std::chrono::steady_clock::now();
    clock->advance(kInterval);
    INFO("batch " << clock->now().count() << (monkey ? " under " + monkey->stats().summary() : ""));
    REQUIRE(ssc.await_batch(clock->now(), Millis{60000}));
    std::chrono::duration<double, std::milli> took = std::chrono::steady_clock::now() - begun;
    slowest = std::max(slowest, took.count());
  }
  if (monkey) monkey->set_enabled(false);
  ssc.stop(/*stop_gracefully=*/true);
  Outcome o;
  o.outputs = out->snapshot();
  if (monkey) o.stats = monkey->stats().summary();
  if (monkey) o.trace = monkey->fault_log();
  std::lock_guard lock(counts->mu);
  o.restarts = counts->restarts;
  o.retried_batches = counts->retried_batches;
  o.slowest_batch_ms = slowest;
  o.trace.insert(o.trace.end(), counts->trace.begin(), counts->trace.end());
  o.stray_wakeups = ssc.stray_wakeups();
  return o;
}

// The first line where two traces differ, or "" when they agree.
std::string first_difference(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  for (size_t i = 0; i < std::max(a.size(), b.size()); ++i) {
    std::string x = i < a.size() ? a[i] : "(end)";
    std::string y = i < b.size() ? b[i] : "(end)";
    if (x != y) return "line " + std::to_string(i + 1) + ": '" + x + "' vs '" + y + "'";
  }
  return "";
}

std::shared_ptr<chaos::Monkey> monkey_for(int seed) {
  return std::make_shared<chaos::Monkey>(chaos::MonkeyOptions{
      .seed = static_cast<uint64_t>(seed), .kills_per_batch = 3, .task_failure_rate = 0.05,
      .delay_rate = 0.05, .max_delay = Millis{30}, .pause_rate = 0.05, .max_pause = Millis{30}});
}

// Seeds where seed % 4 != 0 run on the deterministic scheduler; RILL_CHAOS_SCHED overrides.
Scheduler scheduler_for(int seed) {
  const char* forced = std::getenv("RILL_CHAOS_SCHED");
  if (forced && std::string(forced) == "deterministic") return Scheduler::deterministic;
  if (forced && std::string(forced) == "threaded") return Scheduler::threaded;
  return seed % 4 != 0 ? Scheduler::deterministic : Scheduler::threaded;
}

// The first key whose records differ, or "" when the runs agree.
std::string first_difference(const Committed& a, const Committed& b) {
  for (const auto& [key, rows] : a) {
    auto it = b.find(key);
    if (it == b.end()) return key + " is missing";
    if (it->second != rows) return key + " differs";
  }
  for (const auto& [key, rows] : b)
    if (!a.count(key)) return key + " is extra";
  return "";
}

// Runs the seeds (RILL_CHAOS_SEEDS=N: 1..N, default `seeds`; RILL_CHAOS_SEED=S: S alone) with a
// checkpoint every `checkpoint_every`, each against one fault-free reference run.
void check_seeds(int seeds, Millis checkpoint_every) {
  Outcome reference = run_job(nullptr, Scheduler::threaded, checkpoint_every);
  REQUIRE(reference.outputs.size() > 4 * kBatches);  // every output, most partitions, every batch
  if (const char* n = std::getenv("RILL_CHAOS_SEEDS")) seeds = std::atoi(n);
  const int only = std::getenv("RILL_CHAOS_SEED") ? std::atoi(std::getenv("RILL_CHAOS_SEED")) : 0;
  for (int seed = only ? only : 1; seed <= (only ? only : seeds); ++seed) {
    auto monkey = monkey_for(seed);
    const Scheduler scheduler = scheduler_for(seed);
    Outcome o = run_job(monkey, scheduler, checkpoint_every);
    std::string diff = first_difference(reference.outputs, o.outputs);
    std::printf("seed=%d sched=%s checkpoint_every=%lldms %s restarts=%d retried_batches=%d slowest_batch_ms=%.0f "
                "output=%s\n",
                seed, name_of(scheduler), static_cast<long long>(checkpoint_every.count()), o.stats.c_str(),
                o.restarts, o.retried_batches, o.slowest_batch_ms,
                diff.empty() ? "identical" : ("DIFFERENT (" + diff + ")").c_str());
    std::fflush(stdout);
    INFO("seed " << seed << " sched=" << name_of(scheduler) << ": " << o.stats);
    CHECK(diff == "");
    CHECK(monkey->stats().kills >= 50);  // about 90 a run (Poisson): below 50 is a broken schedule
    CHECK(o.stray_wakeups == 0);  // every outside send went through the deterministic pump
  }
}

}  // namespace

TEST_CASE("under seeded chaos every output equals the fault-free run's") { check_seeds(20, kInterval); }

// Between checkpoints state changes in memory only: a killed stage, a function that threw or a
// lost shuffle input rolls every stage back to the checkpoint and re-runs the batches since.
TEST_CASE("with a checkpoint every 4 batches, under seeded chaos every output equals the fault-free run's") {
  check_seeds(8, 4 * kInterval);
}

// What makes a failing seed replay: on the deterministic scheduler two runs of one seed inject
// the same faults and hear the same events in the same order (restarts and their reasons,
// retried tasks, checkpoints). RILL_CHAOS_TRACE_SEED picks the seed; RILL_CHAOS_TRACE_OUT=file
// writes the trace, to compare runs in separate processes.
TEST_CASE("a chaos seed replays exactly on the deterministic scheduler") {
  const int seed = std::getenv("RILL_CHAOS_TRACE_SEED") ? std::atoi(std::getenv("RILL_CHAOS_TRACE_SEED")) : 3;
  Outcome first = run_job(monkey_for(seed), Scheduler::deterministic);
  Outcome second = run_job(monkey_for(seed), Scheduler::deterministic);
  std::printf("seed=%d sched=deterministic twice: %zu trace lines, %d restarts, %s\n", seed, first.trace.size(),
              first.restarts, first.trace == second.trace ? "identical" : "DIFFERENT");
  if (const char* out = std::getenv("RILL_CHAOS_TRACE_OUT")) {
    std::ofstream file(out);
    for (const auto& line : first.trace) file << line << '\n';
  }
  REQUIRE(first.restarts > 20);  // a trace with faults in it, not an empty one
  INFO("first difference: " << first_difference(first.trace, second.trace));
  CHECK(first.trace == second.trace);
  CHECK(first.outputs == second.outputs);
}

// Not run by default (Catch2's hidden tag): shows that on the threaded scheduler the same seed
// gives another order of events from run to run, which is why failing threaded seeds are
// replayed on the deterministic one. Run: chaos_test "[.threaded-trace]".
TEST_CASE("a chaos seed's trace varies on the threaded scheduler", "[.threaded-trace]") {
  const int seed = std::getenv("RILL_CHAOS_TRACE_SEED") ? std::atoi(std::getenv("RILL_CHAOS_TRACE_SEED")) : 3;
  Outcome first = run_job(monkey_for(seed), Scheduler::threaded);
  for (int run = 2; run <= 4; ++run) {
    Outcome again = run_job(monkey_for(seed), Scheduler::threaded);
    std::string diff = first_difference(first.trace, again.trace);
    std::printf("seed=%d sched=threaded run 1 vs %d: %zu vs %zu trace lines, %s\n", seed, run, first.trace.size(),
                again.trace.size(), diff.empty() ? "identical" : ("first difference at " + diff).c_str());
  }
}
