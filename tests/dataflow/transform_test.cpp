// Exact output of DStream's per-batch transformations (map, flat_map, filter, map_partitions,
// union, repartition, count, count_by_value, reduce, transform, transform_with) run through the
// actor runtime on the manual clock. Expected values are worked out by hand from Spark's semantics.
#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER
#include <algorithm>
#include <catch2/catch.hpp>
#include <numeric>
#include <string>
#include <vector>

#include "tests/support/manual_run.hpp"

using namespace std::chrono_literals;
using rill::Millis;
using rill::test::Collector;
using rill::test::ManualRun;
using rill::test::sorted;

namespace {

using Ints = std::vector<int>;
using Longs = std::vector<int64_t>;
using Strings = std::vector<std::string>;

template <class T>
std::shared_ptr<rill::BatchQueue<T>> queue_of(std::vector<std::vector<T>> batches) {
  auto q = std::make_shared<rill::BatchQueue<T>>();
  for (auto& b : batches) q->push(std::move(b));
  return q;
}

}  // namespace

TEST_CASE("batch times are zero + k * interval on a fresh manual clock") {
  ManualRun run(1000ms);
  auto s = run.ssc.queue_stream(queue_of<int>({{1}, {2}}));
  Collector<int> all(s);
  run.ssc.start();
  CHECK(run.step() == 1000ms);
  CHECK(run.step() == 2000ms);
  CHECK(run.step() == 3000ms);
  CHECK(all.batch_count() == 3);
  CHECK(all.at(1000) == Ints{1});
  CHECK(all.at(2000) == Ints{2});
  CHECK(all.has(3000));  // an empty queue still gives a batch, with no records
  CHECK(all.at(3000).empty());
}

TEST_CASE("map, flat_map and filter transform every record of every batch") {
  ManualRun run(1000ms);
  auto s = run.ssc.queue_stream(queue_of<int>({{1, 2, 3}, {4, 5}, {}}));
  Collector<int> tens(s.map([](int x) { return x * 10; }));
  Collector<std::string> texts(s.map([](int x) { return "n" + std::to_string(x); }));
  // x repeated (x % 3) times: 1 -> {1}, 2 -> {2, 2}, 3 -> {}, 4 -> {4}, 5 -> {5, 5}.
  Collector<int> repeated(s.flat_map([](int x) { return Ints(static_cast<size_t>(x % 3), x); }));
  Collector<int> even(s.filter([](int x) { return x % 2 == 0; }));
  CHECK(s.filter([](int) { return true; }).partitions() == 2);
  run.ssc.start();
  run.steps(3);

  CHECK(sorted(tens.at(1000)) == Ints{10, 20, 30});
  CHECK(sorted(tens.at(2000)) == Ints{40, 50});
  CHECK(tens.has(3000));
  CHECK(tens.at(3000).empty());
  CHECK(sorted(texts.at(1000)) == Strings{"n1", "n2", "n3"});
  CHECK(sorted(texts.at(2000)) == Strings{"n4", "n5"});
  CHECK(sorted(repeated.at(1000)) == Ints{1, 2, 2});
  CHECK(sorted(repeated.at(2000)) == Ints{4, 5, 5});
  CHECK(repeated.at(3000).empty());
  CHECK(even.at(1000) == Ints{2});
  CHECK(even.at(2000) == Ints{4});
  CHECK(even.at(3000).empty());
  CHECK(even.batch_count() == 3);
}

TEST_CASE("map_partitions on one partition sees the whole batch in order") {
  ManualRun run(1000ms, 1);
  auto s = run.ssc.queue_stream(queue_of<int>({{1, 2, 3, 4}, {5}}));
  Collector<int> prefix(s.map_partitions([](const Ints& part) {
    Ints out;
    int sum = 0;
    for (int x : part) out.push_back(sum += x);
    return out;
  }));
  run.ssc.start();
  run.steps(2);
  CHECK(prefix.at(1000) == Ints{1, 3, 6, 10});  // one partition: the order is defined
  CHECK(prefix.at(2000) == Ints{5});
}

TEST_CASE("map_partitions runs once per partition") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<int>({{1, 2, 3, 4, 5}, {}}));
  auto sizes =
      s.map_partitions([](const Ints& part) { return Longs{static_cast<int64_t>(part.size())}; });
  CHECK(sizes.partitions() == 2);
  Collector<int64_t> seen(sizes);
  run.ssc.start();
  run.steps(2);
  auto b1 = seen.at(1000);
  REQUIRE(b1.size() == 2);  // one record per partition
  CHECK(b1[0] + b1[1] == 5);
  CHECK(seen.at(2000) == Longs{0, 0});  // empty partitions are still called
}

TEST_CASE("union_with gives both streams' records, matching partition counts") {
  ManualRun run(1000ms, 2);
  auto a = run.ssc.queue_stream(queue_of<int>({{1, 2}, {3}, {}}));
  auto b = run.ssc.queue_stream(queue_of<int>({{10}, {}, {30, 40}}));
  auto u = a.union_with(b);
  auto wide = b.repartition(3);
  auto u3 = a.union_with(wide);
  CHECK(u.partitions() == 2);
  CHECK(u3.partitions() == 2);
  Collector<int> both(u);
  Collector<int> both3(u3);
  Collector<int> self(a.union_with(a));
  run.ssc.start();
  run.steps(3);
  CHECK(sorted(both.at(1000)) == Ints{1, 2, 10});
  CHECK(sorted(both.at(2000)) == Ints{3});
  CHECK(sorted(both.at(3000)) == Ints{30, 40});
  CHECK(sorted(both3.at(1000)) == Ints{1, 2, 10});
  CHECK(sorted(both3.at(3000)) == Ints{30, 40});
  CHECK(sorted(self.at(1000)) == Ints{1, 1, 2, 2});
  CHECK(sorted(self.at(2000)) == Ints{3, 3});
}

TEST_CASE("two branches of one stream can meet again (a diamond)") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<int>({{1, 2, 3, 4}, {5}}));
  auto odd_tens = s.filter([](int x) { return x % 2 == 1; }).map([](int x) { return x * 10; });
  auto even = s.filter([](int x) { return x % 2 == 0; });
  Collector<int> merged(odd_tens.union_with(even));
  Collector<int64_t> counted(odd_tens.union_with(even).union_with(s).count());
  run.ssc.start();
  run.steps(2);
  CHECK(sorted(merged.at(1000)) == Ints{2, 4, 10, 30});
  CHECK(merged.at(2000) == Ints{50});
  CHECK(counted.at(1000) == Longs{8});
  CHECK(counted.at(2000) == Longs{2});
}

TEST_CASE("repartition changes the partition count and keeps every record") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<int>({{1, 2, 3, 4, 5, 6, 7}, {8}}));
  auto r = s.repartition(3);
  auto one = s.repartition(1);
  CHECK(r.partitions() == 3);
  CHECK(one.partitions() == 1);
  CHECK(r.map([](int x) { return x; }).partitions() == 3);
  Collector<int> records(r);
  Collector<int> records1(one);
  Collector<int64_t> sizes(
      r.map_partitions([](const Ints& p) { return Longs{static_cast<int64_t>(p.size())}; }));
  run.ssc.start();
  run.steps(2);
  CHECK(sorted(records.at(1000)) == Ints{1, 2, 3, 4, 5, 6, 7});
  CHECK(records.at(2000) == Ints{8});
  CHECK(sorted(records1.at(1000)) == Ints{1, 2, 3, 4, 5, 6, 7});
  auto s1 = sizes.at(1000);
  REQUIRE(s1.size() == 3);
  CHECK(std::accumulate(s1.begin(), s1.end(), int64_t{0}) == 7);
  // Round robin spreads 7 records over 3 partitions: none holds more than 7 - 2 * 2.
  CHECK(*std::max_element(s1.begin(), s1.end()) <= 4);
  CHECK(*std::min_element(s1.begin(), s1.end()) >= 2);
}

TEST_CASE("count gives one record per batch, 0 for an empty batch") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<std::string>({{"a", "b", "c"}, {}, {"x"}}));
  auto c = s.count();
  CHECK(c.partitions() == 1);
  Collector<int64_t> counts(c);
  Collector<int64_t> even_counts(s.filter([](const std::string& w) { return w == "b"; }).count());
  run.ssc.start();
  run.steps(3);
  CHECK(counts.at(1000) == Longs{3});
  CHECK(counts.at(2000) == Longs{0});
  CHECK(counts.at(3000) == Longs{1});
  CHECK(even_counts.at(1000) == Longs{1});
  CHECK(even_counts.at(3000) == Longs{0});
}

TEST_CASE("count_by_value counts each distinct record in the batch") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<std::string>({{"a", "b", "a", "c", "a"}, {}, {"b", "b"}}));
  using Counts = std::vector<std::pair<std::string, int64_t>>;
  auto c = s.count_by_value();
  auto c3 = s.count_by_value(3);
  CHECK(c3.partitions() == 3);
  Collector<std::pair<std::string, int64_t>> counts(c);
  Collector<std::pair<std::string, int64_t>> counts3(c3);
  run.ssc.start();
  run.steps(3);
  CHECK(sorted(counts.at(1000)) == Counts{{"a", 3}, {"b", 1}, {"c", 1}});
  CHECK(counts.has(2000));
  CHECK(counts.at(2000).empty());
  CHECK(counts.at(3000) == Counts{{"b", 2}});
  CHECK(sorted(counts3.at(1000)) == Counts{{"a", 3}, {"b", 1}, {"c", 1}});
}

TEST_CASE("reduce folds a batch into one record, nothing for an empty batch") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<int>({{1, 2, 3, 4}, {}, {7}, {5, 9, 2}}));
  auto sum = s.reduce([](int a, int b) { return a + b; });
  CHECK(sum.partitions() == 1);
  Collector<int> sums(sum);
  Collector<int> maxima(s.reduce([](int a, int b) { return std::max(a, b); }));
  run.ssc.start();
  run.steps(4);
  CHECK(sums.at(1000) == Ints{10});
  CHECK(sums.at(2000).empty());
  CHECK(sums.at(3000) == Ints{7});
  CHECK(sums.at(4000) == Ints{16});
  CHECK(maxima.at(1000) == Ints{4});
  CHECK(maxima.at(2000).empty());
  CHECK(maxima.at(4000) == Ints{9});
}

TEST_CASE("transform runs a function of the whole batch and its time") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<int>({{3, 1, 2, 3}, {}, {5}}));
  using Pairs = std::vector<std::pair<int64_t, int64_t>>;
  auto sized = s.transform([](const Ints& batch, Millis t) {
    return Pairs{{t.count(), static_cast<int64_t>(batch.size())}};
  });
  CHECK(sized.partitions() == 1);
  Collector<std::pair<int64_t, int64_t>> sizes(sized);
  // Sorting inside the function defines the order: the whole batch is on one partition.
  Collector<int> distinct(s.transform([](const Ints& batch, Millis) {
    Ints out = batch;
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }));
  run.ssc.start();
  run.steps(3);
  CHECK(sizes.at(1000) == Pairs{{1000, 4}});
  CHECK(sizes.at(2000) == Pairs{{2000, 0}});  // called for an empty batch too
  CHECK(sizes.at(3000) == Pairs{{3000, 1}});
  CHECK(distinct.at(1000) == Ints{1, 2, 3});
  CHECK(distinct.at(2000).empty());
  CHECK(distinct.at(3000) == Ints{5});
}

TEST_CASE("transform_with sees both streams' whole batches at the same time") {
  ManualRun run(1000ms, 2);
  auto a = run.ssc.queue_stream(queue_of<int>({{1, 2, 3, 4}, {4}, {}}));
  auto b = run.ssc.queue_stream(queue_of<std::string>({{"2", "4"}, {}, {"9"}}));
  // a minus the numbers named in b, then the batch time.
  auto diff = a.transform_with(b, [](const Ints& xs, const Strings& ys, Millis t) {
    Ints out;
    for (int x : xs)
      if (std::find(ys.begin(), ys.end(), std::to_string(x)) == ys.end()) out.push_back(x);
    std::sort(out.begin(), out.end());
    out.push_back(static_cast<int>(t.count()));
    return out;
  });
  CHECK(diff.partitions() == 1);
  Collector<int> seen(diff);
  run.ssc.start();
  run.steps(3);
  CHECK(seen.at(1000) == Ints{1, 3, 1000});
  CHECK(seen.at(2000) == Ints{4, 2000});
  CHECK(seen.at(3000) == Ints{3000});
}

TEST_CASE("queue_stream with one_at_a_time false takes every queued batch at once") {
  ManualRun run(1000ms, 2);
  auto q = queue_of<int>({{1}, {2, 3}, {4}});
  Collector<int> all(run.ssc.queue_stream(q, false));
  run.ssc.start();
  run.step();
  q->push({5});
  run.step();
  run.step();
  CHECK(sorted(all.at(1000)) == Ints{1, 2, 3, 4});
  CHECK(all.at(2000) == Ints{5});
  CHECK(all.at(3000).empty());
}

TEST_CASE("queue_stream one at a time takes one pushed batch per interval") {
  ManualRun run(1000ms, 2);
  auto q = queue_of<int>({{1, 2}, {3}});
  Collector<int> all(run.ssc.queue_stream(q));
  run.ssc.start();
  run.step();
  CHECK(q->size() == 1);
  run.step();
  q->push({4});
  q->push({5});
  run.steps(3);
  CHECK(sorted(all.at(1000)) == Ints{1, 2});
  CHECK(all.at(2000) == Ints{3});
  CHECK(all.at(3000) == Ints{4});
  CHECK(all.at(4000) == Ints{5});
  CHECK(all.at(5000).empty());
}

TEST_CASE("the order inside a batch is the same on every run of the same program") {
  auto run_once = [] {
    ManualRun run(1000ms, 3);
    auto s =
        run.ssc.queue_stream(queue_of<std::string>({{"b", "a", "c", "a", "d", "e", "b", "f"}}));
    auto one = [](const std::string& w) { return std::pair{w, int64_t{1}}; };
    Collector<std::pair<std::string, int64_t>> c(
        s.repartition(2).map(one).reduce_by_key(std::plus<>{}, 3));
    run.ssc.start();
    run.step();
    return c.at(1000);
  };
  auto first = run_once();
  CHECK(first.size() == 6);
  CHECK(run_once() == first);  // not sorted: byte-identical order
}
