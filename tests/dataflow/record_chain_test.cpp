// Push chains of per-record operators (dataflow/record_step.hpp): Plan::run_task runs flat_map
// → map → filter → a map-side combine in one pass. Outputs, buckets and errors must be what the
// node-by-node run gives; parts read elsewhere are still built.
#include <algorithm>
#include <catch2/catch.hpp>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dataflow/ops/exchange.hpp"
#include "dataflow/plan.hpp"
#include "dataflow/streaming_context.hpp"
#include "dataflow/text_output.hpp"

using namespace std::chrono_literals;
using rill::AnyPart;
using rill::Millis;
using Pair = std::pair<std::string, int64_t>;

namespace {

// Runs the stage holding the source once, over `lines`.
bool run_source_stage(const rill::Plan& plan, int source, std::vector<std::string> lines,
                      rill::TaskResult& result, rill::TaskError& error) {
  const int stage = plan.stage_of(source);
  rill::StageStates states = plan.make_states(stage);
  const rill::TaskContext ctx{.time = Millis{1000}, .interval = 1000ms, .partitions = 1};
  const std::vector<rill::TaskInput> in{{source, -1, rill::make_part(std::move(lines))}};
  return plan.run_task(stage, ctx, in, states, result, error);
}

std::vector<Pair> bucket(const rill::TaskResult& r, size_t b) {
  REQUIRE(r.buckets.size() == 1);
  return rill::part_cast<Pair>(r.buckets[0].buckets.at(b));
}

}  // namespace

TEST_CASE("split drops empty tokens and keeps every other byte") {
  using V = std::vector<std::string>;
  CHECK(rill::split("") == V{});
  CHECK(rill::split("   ") == V{});
  CHECK(rill::split("a") == V{"a"});
  CHECK(rill::split("  to be  or not   ") == V{"to", "be", "or", "not"});
  CHECK(rill::split("a,,b,", ',') == V{"a", "b"});
  std::string many;  // more words than split reserves room for at first
  for (int i = 0; i < 300; ++i) many += "w" + std::to_string(i) + " ";
  const V words = rill::split(many);
  REQUIRE(words.size() == 300);
  CHECK(words.front() == "w0");
  CHECK(words.back() == "w299");
}

TEST_CASE("a flat_map → map → filter chain combines into buckets without exporting its parts") {
  rill::StreamingContext ssc(1000ms, {.partitions = 1});
  auto lines =
      ssc.generator_stream<std::string>([](Millis, int) { return std::vector<std::string>{}; });
  auto counts = lines.flat_map([](const std::string& l) { return rill::split(l, ' '); })
                    .filter([](const std::string& w) { return w != "skip"; })
                    .map([](const std::string& w) {
                      return Pair{w, 1};
                    })
                    .reduce_by_key(std::plus<>{}, 2);
  counts.foreach_batch([](const std::vector<Pair>&, Millis) {});
  ssc.graph().validate();
  const rill::Plan plan(ssc.graph());
  rill::TaskResult result;
  rill::TaskError error;
  REQUIRE(run_source_stage(plan, lines.id(), {"b a skip b", "c a b"}, result, error));
  // The combined pairs in first-appearance order, cut by the stable key hash as before fusion.
  std::vector<Pair> all;
  for (size_t b = 0; b < 2; ++b)
    for (const Pair& kv : bucket(result, b)) {
      CHECK(rill::ops::bucket_of(kv.first, 2) == static_cast<int>(b));
      all.push_back(kv);
    }
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<Pair>{{"a", 2}, {"b", 3}, {"c", 1}});
  // Only buckets leave the stage: the pairs are never a part the batch holds on to.
  CHECK(result.exported.empty());
}

TEST_CASE("a part read by an output is still built, and its reader's chain still runs") {
  rill::StreamingContext ssc(1000ms, {.partitions = 1});
  auto lines =
      ssc.generator_stream<std::string>([](Millis, int) { return std::vector<std::string>{}; });
  auto words = lines.flat_map([](const std::string& l) { return rill::split(l, ' '); });
  words.foreach_batch([](const std::vector<std::string>&, Millis) {});
  words.map([](const std::string& w) {
         return Pair{w, 1};
       })
      .reduce_by_key(std::plus<>{}, 1)
      .foreach_batch([](const std::vector<Pair>&, Millis) {});
  ssc.graph().validate();
  const rill::Plan plan(ssc.graph());
  rill::TaskResult result;
  rill::TaskError error;
  REQUIRE(run_source_stage(plan, lines.id(), {"x y x"}, result, error));
  REQUIRE(result.exported.size() == 1);
  CHECK(result.exported[0].first == words.id());
  CHECK(rill::part_cast<std::string>(result.exported[0].second) ==
        std::vector<std::string>{"x", "y", "x"});
  CHECK(bucket(result, 0) == std::vector<Pair>{{"x", 2}, {"y", 1}});
}

TEST_CASE("a throw inside a chain names the operator whose function threw") {
  rill::StreamingContext ssc(1000ms, {.partitions = 1});
  auto lines =
      ssc.generator_stream<std::string>([](Millis, int) { return std::vector<std::string>{}; });
  lines.flat_map([](const std::string& l) { return rill::split(l, ' '); })
      .map([](const std::string& w) {
        if (w == "bad") throw std::invalid_argument("no bad words");
        return w + "!";
      })
      .name("shout")
      .map([](const std::string& w) {
        return Pair{w, 1};
      })
      .reduce_by_key(std::plus<>{}, 1)
      .foreach_batch([](const std::vector<Pair>&, Millis) {});
  ssc.graph().validate();
  const rill::Plan plan(ssc.graph());
  rill::TaskResult result;
  rill::TaskError error;
  CHECK_FALSE(run_source_stage(plan, lines.id(), {"good bad"}, result, error));
  CHECK(error.node == "shout");
  CHECK(error.cause == "no bad words");
}

TEST_CASE("a task merges the shuffle buckets it is given, in parent order, before its chain runs") {
  rill::StreamingContext ssc(1000ms, {.partitions = 1});
  auto words =
      ssc.generator_stream<std::string>([](Millis, int) { return std::vector<std::string>{}; });
  auto upper = words.repartition(1).map([](const std::string& w) { return w + "!"; });
  upper.foreach_batch([](const std::vector<std::string>&, Millis) {});
  ssc.graph().validate();
  const rill::Plan plan(ssc.graph());
  const int stage = plan.stage_of(upper.id());
  REQUIRE(stage != plan.stage_of(words.id()));
  // The task gets each upstream partition's bucket for its partition (one absent), as the
  // driver (or, across nodes, the worker's fetches) hands them over: unmerged.
  int reader = -1;
  for (int id : plan.stages()[static_cast<size_t>(stage)].nodes)
    if (!ssc.graph().node(id).inputs.empty() &&
        ssc.graph().node(id).inputs[0].kind == rill::Edge::Kind::exchange)
      reader = id;
  REQUIRE(reader >= 0);
  std::vector<rill::TaskInput> in{{reader,
                                   0,
                                   nullptr,
                                   {rill::make_part(std::vector<std::string>{"b", "a"}), nullptr,
                                    rill::make_part(std::vector<std::string>{"c"})}}};
  rill::StageStates states = plan.make_states(stage);
  const rill::TaskContext ctx{.time = Millis{1000}, .interval = 1000ms, .partitions = 1};
  rill::TaskResult result;
  rill::TaskError error;
  REQUIRE(plan.run_task(stage, ctx, in, states, result, error));
  AnyPart out;
  for (const auto& [node, part] : result.exported)
    if (node == upper.id()) out = part;
  REQUIRE(out != nullptr);
  CHECK(rill::part_cast<std::string>(out) == std::vector<std::string>{"b!", "a!", "c!"});
}
