#include <catch2/catch.hpp>

#include <algorithm>
#include <sstream>

#include "dataflow/streaming_context.hpp"
#include "tests/support/local_run.hpp"

using namespace std::chrono_literals;
using rill::Millis;

TEST_CASE("word count on the local executor gives exact counts and Spark's print format") {
  std::ostringstream out;
  rill::StreamingContext ssc(1000ms, {.partitions = 2, .print_to = &out});
  auto q = std::make_shared<rill::BatchQueue<std::string>>();
  q->push({"a b a", "c"});
  q->push({});
  auto counts = ssc.queue_stream(q)
                    .flat_map([](const std::string& l) { return rill::split(l, ' '); })
                    .map([](const std::string& w) { return std::pair{w, int64_t{1}}; })
                    .reduce_by_key(std::plus<>{});
  std::vector<std::vector<std::pair<std::string, int64_t>>> seen;
  counts.foreach_batch([&](const auto& batch, Millis) {
    auto b = batch;
    std::sort(b.begin(), b.end());
    seen.push_back(b);
  });
  counts.filter([](const auto& kv) { return kv.first == "a"; }).print();
  rill::test::LocalRun run(ssc);
  run.steps(2);
  REQUIRE(seen.size() == 2);
  CHECK(seen[0] == std::vector<std::pair<std::string, int64_t>>{{"a", 2}, {"b", 1}, {"c", 1}});
  CHECK(seen[1].empty());
  CHECK(out.str() ==
        "-------------------------------------------\nTime: 1000 ms\n"
        "-------------------------------------------\n(a,2)\n\n"
        "-------------------------------------------\nTime: 2000 ms\n"
        "-------------------------------------------\n\n");
}
