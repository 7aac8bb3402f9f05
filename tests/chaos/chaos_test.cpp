// Suite chaos: a job with word counts (of generated lines and of files arriving in a directory),
// an inverse window, running totals and a join runs under
// rill::chaos::Monkey, which kills every kind of actor ~3 times a batch and fails, delays and
// pauses tasks; its outputs must equal a fault-free run's exactly. RILL_CHAOS_SEEDS=N for more,
// RILL_CHAOS_SEED=S to replay one.
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

struct Counts : StreamingListener {
  std::mutex mu;
  int restarts = 0;
  int retried_batches = 0;
  void on_actor_restarted(const std::string&, const std::string&, const std::string&) override {
    std::lock_guard lock(mu);
    ++restarts;
  }
  void on_batch_completed(const BatchInfo& info) override {
    std::lock_guard lock(mu);
    if (info.retried_tasks > 0 || info.rerun) ++retried_batches;
  }
};

struct Outcome {
  Committed outputs;
  std::string stats;  // the monkey's summary
  int restarts = 0;
  int retried_batches = 0;
  double slowest_batch_ms = 0;  // wall time from a clock step to its batch's completion
};

// Runs kBatches batches on a manual clock, under a monkey when given one.
Outcome run_job(std::shared_ptr<chaos::Monkey> monkey) {
  test::ScratchDir dir;
  auto clock = std::make_shared<ManualClock>();
  auto counts = std::make_shared<Counts>();
  StreamingContext ssc(kInterval, ContextOptions{.clock = clock, .partitions = 2,
                                                 .checkpoint_dir = dir.path + "/ckpt", .checkpoint_fsync = false,
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
      .update_state_by_key([](const std::vector<int64_t>& added, const std::optional<int64_t>& total) {
        int64_t sum = total.value_or(0);
        for (int64_t n : added) sum += n;
        return std::optional<int64_t>(sum);
      })
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
  std::lock_guard lock(counts->mu);
  o.restarts = counts->restarts;
  o.retried_batches = counts->retried_batches;
  o.slowest_batch_ms = slowest;
  return o;
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

}  // namespace

TEST_CASE("under seeded chaos every output equals the fault-free run's") {
  Outcome reference = run_job(nullptr);
  REQUIRE(reference.outputs.size() > 4 * kBatches);  // every output, most partitions, every batch
  const int seeds = std::getenv("RILL_CHAOS_SEEDS") ? std::atoi(std::getenv("RILL_CHAOS_SEEDS")) : 20;
  // RILL_CHAOS_SEED=S replays seed S alone.
  const int only = std::getenv("RILL_CHAOS_SEED") ? std::atoi(std::getenv("RILL_CHAOS_SEED")) : 0;
  for (int seed = only ? only : 1; seed <= (only ? only : seeds); ++seed) {
    auto monkey = std::make_shared<chaos::Monkey>(chaos::MonkeyOptions{
        .seed = static_cast<uint64_t>(seed), .kills_per_batch = 3, .task_failure_rate = 0.05,
        .delay_rate = 0.05, .max_delay = Millis{30}, .pause_rate = 0.05, .max_pause = Millis{30}});
    Outcome o = run_job(monkey);
    std::string diff = first_difference(reference.outputs, o.outputs);
    std::printf("seed=%d %s restarts=%d retried_batches=%d slowest_batch_ms=%.0f output=%s\n", seed,
                o.stats.c_str(), o.restarts, o.retried_batches, o.slowest_batch_ms,
                diff.empty() ? "identical" : ("DIFFERENT (" + diff + ")").c_str());
    std::fflush(stdout);
    INFO("seed " << seed << ": " << o.stats);
    CHECK(diff == "");
    CHECK(monkey->stats().kills >= 50);  // about 90 a run (Poisson): below 50 is a broken schedule
  }
}
