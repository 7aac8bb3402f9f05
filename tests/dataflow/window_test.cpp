// Exact output of DStream's windows (window, count_by_window, reduce_by_window with and without
// inverse, count_by_value_and_window, reduce_by_key_and_window, group_by_key_and_window) and of a
// custom receiver, through the actor runtime on the manual clock. Expected values by hand.
#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER
#include <algorithm>
#include <catch2/catch.hpp>
#include <optional>
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
using KV = std::pair<std::string, int>;
using KVs = std::vector<KV>;

template <class T>
std::shared_ptr<rill::BatchQueue<T>> queue_of(std::vector<std::vector<T>> batches) {
  auto q = std::make_shared<rill::BatchQueue<T>>();
  for (auto& b : batches) q->push(std::move(b));
  return q;
}

// Batches at 1000..6000 ms: {1}, {2}, {} (empty inside the windows), {4}, {5}, {6}; then empty.
std::shared_ptr<rill::BatchQueue<int>> numbers() {
  return queue_of<int>({{1}, {2}, {}, {4}, {5}, {6}});
}

// Batches at 1000..4000 ms: {(a,1),(b,2)}, {(a,3)}, {}, {(b,4),(c,5)}; then empty.
std::shared_ptr<rill::BatchQueue<KV>> pairs() {
  return queue_of<KV>({{{"a", 1}, {"b", 2}}, {{"a", 3}}, {}, {{"b", 4}, {"c", 5}}});
}

}  // namespace

TEST_CASE("window(L) at t holds the batches in (t - L, t], the first windows shorter") {
  ManualRun run(1000ms, 2);
  auto w = run.ssc.queue_stream(numbers()).window(3000ms);
  CHECK(w.slide() == 1000ms);
  CHECK(w.partitions() == 2);
  Collector<int> seen(w);
  run.ssc.start();
  run.steps(9);
  CHECK(seen.at(1000) == Ints{1});
  CHECK(sorted(seen.at(2000)) == Ints{1, 2});
  CHECK(sorted(seen.at(3000)) == Ints{1, 2});
  CHECK(sorted(seen.at(4000)) == Ints{2, 4});
  CHECK(sorted(seen.at(5000)) == Ints{4, 5});
  CHECK(sorted(seen.at(6000)) == Ints{4, 5, 6});
  CHECK(sorted(seen.at(7000)) == Ints{5, 6});
  CHECK(seen.at(8000) == Ints{6});
  CHECK(seen.has(9000));
  CHECK(seen.at(9000).empty());
  CHECK(seen.batch_count() == 9);
}

TEST_CASE("window(L, S) is emitted only at times on the slide grid") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(numbers());
  auto sliding = s.window(4000ms, 2000ms);
  auto tumbling = s.window(2000ms, 2000ms);
  CHECK(sliding.slide() == 2000ms);
  Collector<int> slid(sliding);
  Collector<int> tumbled(tumbling);
  run.ssc.start();
  run.steps(9);
  CHECK(sorted(slid.at(2000)) == Ints{1, 2});
  CHECK(sorted(slid.at(4000)) == Ints{1, 2, 4});
  CHECK(sorted(slid.at(6000)) == Ints{4, 5, 6});
  CHECK(sorted(slid.at(8000)) == Ints{5, 6});
  for (int64_t t : {1000, 3000, 5000, 7000, 9000}) {
    CHECK_FALSE(slid.has(t));
    CHECK_FALSE(tumbled.has(t));
  }
  CHECK(slid.batch_count() == 4);
  CHECK(sorted(tumbled.at(2000)) == Ints{1, 2});
  CHECK(tumbled.at(4000) == Ints{4});
  CHECK(sorted(tumbled.at(6000)) == Ints{5, 6});
  CHECK(tumbled.has(8000));
  CHECK(tumbled.at(8000).empty());
}

TEST_CASE("a window of a window uses the parent's slices") {
  ManualRun run(1000ms, 2);
  auto tumbling = run.ssc.queue_stream(numbers()).window(2000ms, 2000ms);
  auto outer = tumbling.window(4000ms, 2000ms);
  Collector<int> seen(outer);
  Collector<int64_t> counted(outer.count());
  run.ssc.start();
  run.steps(8);
  CHECK(sorted(seen.at(2000)) == Ints{1, 2});
  CHECK(sorted(seen.at(4000)) == Ints{1, 2, 4});
  CHECK(sorted(seen.at(6000)) == Ints{4, 5, 6});
  CHECK(sorted(seen.at(8000)) == Ints{5, 6});
  CHECK_FALSE(seen.has(3000));
  CHECK(counted.at(4000) == Longs{3});
  CHECK_FALSE(counted.has(5000));
}

TEST_CASE("count_by_window counts the records of each window, 0 for an empty one") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(numbers());
  Collector<int64_t> every(s.count_by_window(3000ms));
  Collector<int64_t> sliding(s.count_by_window(4000ms, 2000ms));
  run.ssc.start();
  run.steps(9);
  const Longs expected[] = {{1}, {2}, {2}, {2}, {2}, {3}, {2}, {1}, {0}};
  for (int k = 1; k <= 9; ++k) {
    INFO("batch " << k * 1000);
    CHECK(every.at(k * 1000) == expected[k - 1]);
  }
  CHECK(sliding.at(2000) == Longs{2});
  CHECK(sliding.at(4000) == Longs{3});
  CHECK(sliding.at(6000) == Longs{3});
  CHECK(sliding.at(8000) == Longs{2});
  CHECK_FALSE(sliding.has(1000));
  CHECK_FALSE(sliding.has(7000));
}

TEST_CASE("reduce_by_window without inverse: nothing for an empty window") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(numbers());
  auto sum = s.reduce_by_window([](int a, int b) { return a + b; }, 3000ms);
  CHECK(sum.partitions() == 1);
  Collector<int> sums(sum);
  Collector<int> sliding(s.reduce_by_window([](int a, int b) { return a + b; }, 4000ms, 2000ms));
  run.ssc.start();
  run.steps(9);
  const Ints expected[] = {{1}, {3}, {3}, {6}, {9}, {15}, {11}, {6}, {}};
  for (int k = 1; k <= 9; ++k) {
    INFO("batch " << k * 1000);
    CHECK(sums.at(k * 1000) == expected[k - 1]);
  }
  CHECK(sliding.at(2000) == Ints{3});
  CHECK(sliding.at(4000) == Ints{7});
  CHECK(sliding.at(6000) == Ints{15});
  CHECK(sliding.at(8000) == Ints{11});
  CHECK_FALSE(sliding.has(5000));
}

TEST_CASE("reduce_by_window with inverse: as Spark, an emptied window keeps the zero") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(numbers());
  auto plus = [](int a, int b) { return a + b; };
  auto minus = [](int a, int b) { return a - b; };
  Collector<int> sums(s.reduce_by_window(plus, minus, 3000ms));
  Collector<int> sliding(s.reduce_by_window(plus, minus, 4000ms, 2000ms));
  run.ssc.start();
  run.steps(9);
  // Spark maps every record to one key and runs the keyed inverse window with no filter, so
  // once the values have left, the key stays with the value 0.
  const Ints expected[] = {{1}, {3}, {3}, {6}, {9}, {15}, {11}, {6}, {0}};
  for (int k = 1; k <= 9; ++k) {
    INFO("batch " << k * 1000);
    CHECK(sums.at(k * 1000) == expected[k - 1]);
  }
  CHECK(sliding.at(2000) == Ints{3});
  CHECK(sliding.at(4000) == Ints{7});
  CHECK(sliding.at(6000) == Ints{15});
  CHECK(sliding.at(8000) == Ints{11});
  CHECK_FALSE(sliding.has(3000));
}

TEST_CASE("count_by_value_and_window drops values whose count falls to 0") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<std::string>({{"a", "b"}, {"a"}, {}, {"b", "c", "c"}}));
  using Counts = std::vector<std::pair<std::string, int64_t>>;
  auto c = s.count_by_value_and_window(2000ms);
  auto c3 = s.count_by_value_and_window(2000ms, 1000ms, 3);
  CHECK(c3.partitions() == 3);
  Collector<std::pair<std::string, int64_t>> counts(c);
  Collector<std::pair<std::string, int64_t>> counts3(c3);
  run.ssc.start();
  run.steps(6);
  CHECK(sorted(counts.at(1000)) == Counts{{"a", 1}, {"b", 1}});
  CHECK(sorted(counts.at(2000)) == Counts{{"a", 2}, {"b", 1}});
  CHECK(counts.at(3000) == Counts{{"a", 1}});
  CHECK(sorted(counts.at(4000)) == Counts{{"b", 1}, {"c", 2}});
  CHECK(sorted(counts.at(5000)) == Counts{{"b", 1}, {"c", 2}});
  CHECK(counts.has(6000));
  CHECK(counts.at(6000).empty());
  CHECK(sorted(counts3.at(2000)) == Counts{{"a", 2}, {"b", 1}});
  CHECK(counts3.at(6000).empty());
}

TEST_CASE("reduce_by_key_and_window without inverse reduces each key over the window") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(pairs());
  Collector<KV> every(s.reduce_by_key_and_window(std::plus<>{}, 2000ms));
  Collector<KV> sliding(s.reduce_by_key_and_window(std::plus<>{}, 4000ms, 2000ms, 3));
  run.ssc.start();
  run.steps(8);
  CHECK(sorted(every.at(1000)) == KVs{{"a", 1}, {"b", 2}});
  CHECK(sorted(every.at(2000)) == KVs{{"a", 4}, {"b", 2}});
  CHECK(every.at(3000) == KVs{{"a", 3}});
  CHECK(sorted(every.at(4000)) == KVs{{"b", 4}, {"c", 5}});
  CHECK(sorted(every.at(5000)) == KVs{{"b", 4}, {"c", 5}});
  CHECK(every.has(6000));
  CHECK(every.at(6000).empty());
  CHECK(sorted(sliding.at(2000)) == KVs{{"a", 4}, {"b", 2}});
  CHECK(sorted(sliding.at(4000)) == KVs{{"a", 4}, {"b", 6}, {"c", 5}});
  CHECK(sorted(sliding.at(6000)) == KVs{{"b", 4}, {"c", 5}});
  CHECK(sliding.at(8000).empty());
  CHECK_FALSE(sliding.has(3000));
}

TEST_CASE("reduce_by_key_and_window with inverse and no filter keeps keys at the zero") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(pairs());
  auto w = s.reduce_by_key_and_window(std::plus<>{}, std::minus<>{}, 2000ms);
  CHECK(w.slide() == 1000ms);
  Collector<KV> every(w);
  Collector<KV> sliding(
      s.reduce_by_key_and_window(std::plus<>{}, std::minus<>{}, 4000ms, 2000ms, 3));
  run.ssc.start();
  run.steps(8);
  CHECK(sorted(every.at(1000)) == KVs{{"a", 1}, {"b", 2}});
  CHECK(sorted(every.at(2000)) == KVs{{"a", 4}, {"b", 2}});
  CHECK(sorted(every.at(3000)) == KVs{{"a", 3}, {"b", 0}});
  CHECK(sorted(every.at(4000)) == KVs{{"a", 0}, {"b", 4}, {"c", 5}});
  CHECK(sorted(every.at(5000)) == KVs{{"a", 0}, {"b", 4}, {"c", 5}});
  CHECK(sorted(every.at(6000)) == KVs{{"a", 0}, {"b", 0}, {"c", 0}});
  CHECK(sorted(sliding.at(2000)) == KVs{{"a", 4}, {"b", 2}});
  CHECK(sorted(sliding.at(4000)) == KVs{{"a", 4}, {"b", 6}, {"c", 5}});
  CHECK(sorted(sliding.at(6000)) == KVs{{"a", 0}, {"b", 4}, {"c", 5}});
  CHECK(sorted(sliding.at(8000)) == KVs{{"a", 0}, {"b", 0}, {"c", 0}});
  CHECK_FALSE(sliding.has(5000));
}

TEST_CASE("reduce_by_key_and_window with inverse and a keep filter drops keys") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(pairs());
  auto nonzero = [](const KV& kv) { return kv.second != 0; };
  Collector<KV> every(
      s.reduce_by_key_and_window(std::plus<>{}, std::minus<>{}, 2000ms, 0ms, 0, nonzero));
  Collector<KV> sliding(
      s.reduce_by_key_and_window(std::plus<>{}, std::minus<>{}, 4000ms, 2000ms, 3, nonzero));
  run.ssc.start();
  run.steps(8);
  CHECK(sorted(every.at(1000)) == KVs{{"a", 1}, {"b", 2}});
  CHECK(sorted(every.at(2000)) == KVs{{"a", 4}, {"b", 2}});
  CHECK(every.at(3000) == KVs{{"a", 3}});
  CHECK(sorted(every.at(4000)) == KVs{{"b", 4}, {"c", 5}});  // b comes back after it was dropped
  CHECK(sorted(every.at(5000)) == KVs{{"b", 4}, {"c", 5}});
  CHECK(every.has(6000));
  CHECK(every.at(6000).empty());
  CHECK(sorted(sliding.at(4000)) == KVs{{"a", 4}, {"b", 6}, {"c", 5}});
  CHECK(sorted(sliding.at(6000)) == KVs{{"b", 4}, {"c", 5}});
  CHECK(sliding.at(8000).empty());
}

TEST_CASE("group_by_key_and_window groups each key's values over the window") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(pairs());
  using Groups = std::vector<std::pair<std::string, std::vector<int>>>;
  auto normalized = [](Groups g) {
    for (auto& kv : g) std::sort(kv.second.begin(), kv.second.end());
    return sorted(std::move(g));
  };
  auto g = s.group_by_key_and_window(2000ms);
  auto g3 = s.group_by_key_and_window(4000ms, 2000ms, 3);
  CHECK(g3.partitions() == 3);
  CHECK(g3.slide() == 2000ms);
  Collector<std::pair<std::string, std::vector<int>>> every(g);
  Collector<std::pair<std::string, std::vector<int>>> sliding(g3);
  run.ssc.start();
  run.steps(8);
  CHECK(normalized(every.at(1000)) == Groups{{"a", {1}}, {"b", {2}}});
  CHECK(normalized(every.at(2000)) == Groups{{"a", {1, 3}}, {"b", {2}}});
  CHECK(every.at(3000) == Groups{{"a", {3}}});
  CHECK(normalized(every.at(4000)) == Groups{{"b", {4}}, {"c", {5}}});
  CHECK(every.at(6000).empty());
  CHECK(normalized(sliding.at(4000)) == Groups{{"a", {1, 3}}, {"b", {2, 4}}, {"c", {5}}});
  CHECK(normalized(sliding.at(6000)) == Groups{{"b", {4}}, {"c", {5}}});
  CHECK(sliding.at(8000).empty());
  CHECK_FALSE(sliding.has(7000));
}

TEST_CASE("a window length need not be a multiple of its slide") {
  ManualRun run(1000ms, 2);
  auto w = run.ssc.queue_stream(numbers()).window(3000ms, 2000ms);
  auto p = run.ssc.queue_stream(pairs());
  Collector<int> seen(w);
  Collector<KV> inverse(p.reduce_by_key_and_window(std::plus<>{}, std::minus<>{}, 3000ms, 2000ms));
  Collector<KV> direct(p.reduce_by_key_and_window(std::plus<>{}, 3000ms, 2000ms));
  run.ssc.start();
  run.steps(8);
  CHECK(sorted(seen.at(2000)) == Ints{1, 2});
  CHECK(sorted(seen.at(4000)) == Ints{2, 4});  // (1000, 4000]
  CHECK(sorted(seen.at(6000)) == Ints{4, 5, 6});
  CHECK(seen.at(8000) == Ints{6});
  CHECK(sorted(inverse.at(2000)) == KVs{{"a", 4}, {"b", 2}});
  CHECK(sorted(inverse.at(4000)) == KVs{{"a", 3}, {"b", 4}, {"c", 5}});
  CHECK(sorted(inverse.at(6000)) == KVs{{"a", 0}, {"b", 4}, {"c", 5}});
  CHECK(sorted(inverse.at(8000)) == KVs{{"a", 0}, {"b", 0}, {"c", 0}});
  CHECK(sorted(direct.at(4000)) == KVs{{"a", 3}, {"b", 4}, {"c", 5}});
  CHECK(sorted(direct.at(6000)) == KVs{{"b", 4}, {"c", 5}});
  CHECK(direct.at(8000).empty());
  CHECK_FALSE(inverse.has(5000));
}

TEST_CASE("a stateful stream after a window updates only at the window's slide times") {
  ManualRun run(1000ms, 2);
  auto w = run.ssc.queue_stream(pairs()).window(2000ms, 2000ms);
  auto totals = w.update_state_by_key(
      [](const std::vector<int>& vs, const std::optional<int>& st) -> std::optional<int> {
        int sum = st.value_or(0);
        for (int v : vs) sum += v;
        return sum;
      });
  CHECK(totals.slide() == 2000ms);
  Collector<KV> seen(totals);
  run.ssc.start();
  run.steps(6);
  CHECK(sorted(seen.at(2000)) == KVs{{"a", 4}, {"b", 2}});
  CHECK(sorted(seen.at(4000)) == KVs{{"a", 4}, {"b", 6}, {"c", 5}});
  CHECK(sorted(seen.at(6000)) == KVs{{"a", 4}, {"b", 6}, {"c", 5}});
  CHECK(seen.batch_count() == 3);
}

TEST_CASE("windowed streams with the same slide join per window") {
  ManualRun run(1000ms, 2);
  auto left = run.ssc.queue_stream(pairs()).window(2000ms);
  auto right = run.ssc.queue_stream(
      queue_of<std::pair<std::string, std::string>>({{{"a", "x"}}, {}, {{"b", "y"}}}));
  using J = std::pair<std::string, std::pair<int, std::string>>;
  Collector<J> seen(left.join(right.window(2000ms)));
  run.ssc.start();
  run.steps(5);
  CHECK(seen.at(1000) == std::vector<J>{{"a", {1, "x"}}});
  CHECK(sorted(seen.at(2000)) == std::vector<J>{{"a", {1, "x"}}, {"a", {3, "x"}}});
  CHECK(seen.at(3000).empty());  // a's right value left the window
  CHECK(seen.at(4000) == std::vector<J>{{"b", {4, "y"}}});
  CHECK(seen.at(5000).empty());
}

namespace {

using Reading = std::pair<int, int64_t>;

// The seed's example receiver: a counter and the clock time, every 5 s of the context's clock.
class DummySource : public rill::Receiver<Reading> {
 public:
  void on_start() override {
    start_thread([this] { receive(); });
  }
  void on_stop() override {}

 private:
  void receive() {
    int counter = 0;
    while (!is_stopped()) {
      store({counter, now().count()});
      counter += 1;
      if (!sleep_for(5000ms)) break;
    }
  }
};

}  // namespace

// Exact only because start() waits until every receiver started and the manual clock lets a
// receiver's new thread run to its first sleep before time moves (a race before that: the first
// store() could be stamped 30000 ms and every batch shifted by one).
TEST_CASE("a custom receiver's records land in the batch of the time they were stored") {
  ManualRun run(30000ms, 2);
  auto readings = run.ssc.receiver_stream<Reading>([] { return std::make_unique<DummySource>(); });
  Collector<Reading> batches(readings);
  Collector<Reading> windows(readings.window(60000ms));
  run.ssc.start();
  run.steps(3);
  auto expected = [](int from, int to) {
    std::vector<Reading> v;
    for (int i = from; i < to; ++i) v.emplace_back(i, int64_t{i} * 5000);
    return v;
  };
  CHECK(sorted(batches.at(30000)) == expected(0, 6));  // stored at 0, 5000, ..., 25000
  CHECK(sorted(batches.at(60000)) == expected(6, 12));
  CHECK(sorted(batches.at(90000)) == expected(12, 18));
  CHECK(sorted(windows.at(30000)) == expected(0, 6));  // the first window is shorter
  CHECK(sorted(windows.at(60000)) == expected(0, 12));
  CHECK(sorted(windows.at(90000)) == expected(6, 18));
}
