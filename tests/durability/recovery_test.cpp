// Recovery from a checkpoint directory, in process: state continues after a restart, a long
// downtime is one range, a changed DAG and a damaged store are refused with clear errors.
#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/config_error.hpp"
#include "persistence/checkpoint_store.hpp"
#include "tests/support/manual_run.hpp"
#include "tests/support/running_total.hpp"

using namespace rill;
using namespace std::chrono_literals;
using test::Collector;
using test::ScratchDir;
using test::sorted;
using KV = std::pair<std::string, int64_t>;
namespace fs = std::filesystem;

namespace {

constexpr Millis kInterval{1000};

// A context on its own manual clock starting at `start`, checkpointing to dir.
struct Run {
  Run(const std::string& dir, Millis start)
      : clock(std::make_shared<ManualClock>(start)),
        ssc(kInterval, ContextOptions{.clock = clock, .partitions = 2, .checkpoint_dir = dir,
                                      .checkpoint_fsync = false}) {}
  Millis step() {
    clock->advance(kInterval);
    Millis t = clock->now();
    if (!ssc.await_batch(t, Millis{20000})) throw std::runtime_error("batch " + to_string(t) + " did not complete");
    return t;
  }
  std::shared_ptr<ManualClock> clock;
  StreamingContext ssc;
};

// Per batch: one record per key k0..k2 with value t/1000, on partition 0 only.
std::vector<KV> generate(Millis t, int partition) {
  if (partition != 0) return {};
  std::vector<KV> out;
  for (int k = 0; k < 3; ++k) out.emplace_back("k" + std::to_string(k), t.count() / 1000);
  return out;
}

// Running totals per key (update_state_by_key) and a 3-batch windowed sum with an inverse.
struct TotalsJob {
  explicit TotalsJob(StreamingContext& ssc)
      : input(ssc.generator_stream<KV>(generate).name("input")),
        totals(input
                   .update_state_by_key(rill::test::running_total)
                   .name("totals")),
        window(input.reduce_by_key_and_window(std::plus<>{}, std::minus<>{}, 3 * kInterval, kInterval)
                   .name("window")),
        totals_seen(totals),
        window_seen(window) {}
  DStream<KV> input, totals, window;
  Collector<KV> totals_seen, window_seen;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

}  // namespace

TEST_CASE("a restarted job continues from its checkpointed state, as if it never stopped") {
  ScratchDir reference_dir, dir;
  std::vector<KV> expected_totals, expected_window;
  {
    Run ref(reference_dir.path + "/ckpt", Millis{0});
    TotalsJob job(ref.ssc);
    ref.ssc.start();
    for (int i = 0; i < 6; ++i) ref.step();
    expected_totals = sorted(job.totals_seen.at(6000));
    expected_window = sorted(job.window_seen.at(6000));
    ref.ssc.stop();
  }
  REQUIRE(expected_totals == std::vector<KV>{{"k0", 21}, {"k1", 21}, {"k2", 21}});
  REQUIRE(expected_window == std::vector<KV>{{"k0", 15}, {"k1", 15}, {"k2", 15}});
  {
    Run first(dir.path + "/ckpt", Millis{0});
    TotalsJob job(first.ssc);
    first.ssc.start();
    CHECK_FALSE(first.ssc.recovered());
    for (int i = 0; i < 4; ++i) first.step();
    CHECK(sorted(job.totals_seen.at(4000)) == std::vector<KV>{{"k0", 10}, {"k1", 10}, {"k2", 10}});
    first.ssc.stop();
  }
  Run second(dir.path + "/ckpt", Millis{4000});
  TotalsJob job(second.ssc);
  second.ssc.start();
  CHECK(second.ssc.recovered());
  second.step();
  second.step();
  CHECK(sorted(job.totals_seen.at(6000)) == expected_totals);
  CHECK(sorted(job.window_seen.at(6000)) == expected_window);
  CHECK_FALSE(job.totals_seen.has(4000));  // nothing before the restart runs again
}

TEST_CASE("a long downtime is recorded as one range and windows see it as empty") {
  ScratchDir dir;
  const std::string ckpt = dir.path + "/ckpt";
  {
    Run first(ckpt, Millis{0});
    TotalsJob job(first.ssc);
    first.ssc.start();
    for (int i = 0; i < 3; ++i) first.step();
    first.ssc.stop();
  }
  {
    // Down from 4000 to 9000: the first batch after the restart is 10000.
    Run second(ckpt, Millis{9500});
    TotalsJob job(second.ssc);
    second.ssc.start();
    second.clock->advance(Millis{500});
    REQUIRE(second.ssc.await_batch(Millis{10000}, Millis{20000}));
    // The window (7000, 10000] holds only batch 10000: 8000 and 9000 were down.
    CHECK(sorted(job.window_seen.at(10000)) == std::vector<KV>{{"k0", 10}, {"k1", 10}, {"k2", 10}});
    // Running totals kept 1 + 2 + 3 from before, plus 10.
    CHECK(sorted(job.totals_seen.at(10000)) == std::vector<KV>{{"k0", 16}, {"k1", 16}, {"k2", 16}});
    for (int64_t t = 4000; t < 10000; t += 1000) CHECK_FALSE(job.totals_seen.has(t));
    second.ssc.stop();
  }
  auto store = persistence::CheckpointStore::open(ckpt, {});
  REQUIRE(store.is_ok());
  auto downtimes = (*store)->meta().downtimes();
  REQUIRE(downtimes.size() == 1);
  CHECK(downtimes[0] == std::pair{Millis{4000}, Millis{9000}});
}

TEST_CASE("a DAG whose state no longer fits is refused, listing the change; a new output is not") {
  ScratchDir dir;
  const std::string ckpt = dir.path + "/ckpt";
  {
    Run first(ckpt, Millis{0});
    TotalsJob job(first.ssc);
    first.ssc.start();
    first.step();
    first.ssc.stop();
  }
  {
    Run changed(ckpt, Millis{1000});
    auto input = changed.ssc.generator_stream<KV>(generate).name("input");
    // "totals" is now a windowed reduce: its stored state would be read as something else.
    input.reduce_by_key_and_window(std::plus<>{}, std::minus<>{}, 2 * kInterval, kInterval).name("totals").print();
    try {
      changed.ssc.start();
      FAIL("start() accepted a changed DAG");
    } catch (const ConfigError& e) {
      std::string what = e.what();
      CHECK_THAT(what, Catch::Matchers::Contains(ckpt));
      CHECK_THAT(what, Catch::Matchers::Contains("totals"));
      CHECK_THAT(what, Catch::Matchers::Contains("start fresh"));
    }
  }
  Run grown(ckpt, Millis{1000});
  TotalsJob job(grown.ssc);
  std::ostringstream printed;
  job.totals.map([](const KV& kv) { return kv.first; }).name("keys").foreach_batch([](const std::vector<std::string>&, Millis) {});
  grown.ssc.start();
  CHECK(grown.ssc.recovered());
  grown.step();
  CHECK(sorted(job.totals_seen.at(2000)) == std::vector<KV>{{"k0", 3}, {"k1", 3}, {"k2", 3}});
  grown.ssc.stop();
}

TEST_CASE("a damaged store stops start() with an error naming it, and is left as it was") {
  ScratchDir dir;
  const std::string ckpt = dir.path + "/ckpt";
  {
    Run first(ckpt, Millis{0});
    TotalsJob job(first.ssc);
    first.ssc.start();
    first.step();
    first.ssc.stop();
  }
  const fs::path data = fs::path(ckpt) / "data.mdb";
  std::string bytes = read_file(data);
  REQUIRE(bytes.size() > 8192);
  // Flip bytes inside the first meta page's header: the file no longer reads as a store.
  for (size_t i = 16; i < 64; ++i) bytes[i] = static_cast<char>(~bytes[i]);
  for (size_t i = 4096 + 16; i < 4096 + 64; ++i) bytes[i] = static_cast<char>(~bytes[i]);
  { std::ofstream(data, std::ios::binary | std::ios::trunc) << bytes; }
  Run second(ckpt, Millis{1000});
  TotalsJob job(second.ssc);
  try {
    second.ssc.start();
    FAIL("start() accepted a damaged store");
  } catch (const ConfigError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains(ckpt));
  }
  CHECK(read_file(data) == bytes);
}

TEST_CASE("stateful operators without a checkpoint directory are refused at start, as in Spark") {
  auto clock = std::make_shared<ManualClock>();
  StreamingContext ssc(kInterval, ContextOptions{.clock = clock, .partitions = 2});
  auto input = ssc.generator_stream<KV>(generate);
  input.update_state_by_key([](const std::vector<int64_t>&, const std::optional<int64_t>& s) { return s; })
      .name("running")
      .print();
  try {
    ssc.start();
    FAIL("start() ran update_state_by_key without a checkpoint directory");
  } catch (const ConfigError& e) {
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("'running'"));
    CHECK_THAT(std::string(e.what()), Catch::Matchers::Contains("ssc.checkpoint(dir)"));
  }
}

TEST_CASE("files that arrive while the job is down are counted once, by the first batch") {
  ScratchDir dir;
  const std::string in = dir.path + "/in", ckpt = dir.path + "/ckpt";
  fs::create_directories(in);
  auto publish = [&](const std::string& name, const std::string& text) {
    { std::ofstream(in + "/." + name) << text; }
    fs::rename(in + "/." + name, in + "/" + name);
  };
  auto define = [&](Run& r) {
    return Collector<std::string>(r.ssc.text_file_stream(in).name("lines"));
  };
  {
    Run first(ckpt, Millis{0});
    auto seen = define(first);
    first.ssc.start();
    publish("a", "one\ntwo\n");
    first.step();
    CHECK(sorted(seen.at(1000)) == std::vector<std::string>{"one", "two"});
    first.ssc.stop();
  }
  publish("b", "three\n");
  Run second(ckpt, Millis{5500});  // down since 2000: the first batch is 6000
  auto seen = define(second);
  second.ssc.start();
  second.clock->advance(Millis{500});
  REQUIRE(second.ssc.await_batch(Millis{6000}, Millis{20000}));
  CHECK(seen.at(6000) == std::vector<std::string>{"three"});
  second.step();
  CHECK(seen.at(7000).empty());
}

TEST_CASE("retention keeps the store bounded, and a restart after it still recovers") {
  ScratchDir dir;
  const std::string ckpt = dir.path + "/ckpt";
  {
    Run first(ckpt, Millis{0});
    TotalsJob job(first.ssc);
    first.ssc.start();
    for (int i = 0; i < 45; ++i) first.step();
    first.ssc.stop();
  }
  {
    auto store = persistence::CheckpointStore::open(ckpt, {});
    REQUIRE(store.is_ok());
    auto allocations = (*store)->meta().allocations_after(Millis::min());
    REQUIRE(allocations.is_ok());
    // Retention ran at batches 10, 20, 30 and 40: at most the 5 batches since, the zero
    // time's start record and one allocation holding each stream's latest record are left of 45.
    CHECK(allocations->size() <= 7);
    CHECK((*store)->state().usage("totals", 0).first <= 12);
  }
  Run second(ckpt, Millis{45000});
  TotalsJob job(second.ssc);
  second.ssc.start();
  second.step();
  second.step();
  // Running totals are 1 + 2 + ... + 47 whatever retention deleted.
  CHECK(sorted(job.totals_seen.at(47000)) == std::vector<KV>{{"k0", 1128}, {"k1", 1128}, {"k2", 1128}});
}
