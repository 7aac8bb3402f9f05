// Exact output of DStream's keyed transformations (reduce/group/combine by key, map_values,
// joins, cogroup, update_state_by_key, map_with_state) through the actor runtime on the manual
// clock. Expected values are worked out by hand from Spark's semantics.
#define CATCH_CONFIG_ENABLE_PAIR_STRINGMAKER
#define CATCH_CONFIG_ENABLE_OPTIONAL_STRINGMAKER
#include <algorithm>
#include <atomic>
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

using KV = std::pair<std::string, int>;
using KVs = std::vector<KV>;
using Groups = std::vector<std::pair<std::string, std::vector<int>>>;

template <class T>
std::shared_ptr<rill::BatchQueue<T>> queue_of(std::vector<std::vector<T>> batches) {
  auto q = std::make_shared<rill::BatchQueue<T>>();
  for (auto& b : batches) q->push(std::move(b));
  return q;
}

// Groups compare after sorting each group's values and then the groups: the order of values
// from different partitions is deterministic but not meaningful (as in Spark).
template <class K, class V>
std::vector<std::pair<K, std::vector<V>>> normalized(
    std::vector<std::pair<K, std::vector<V>>> groups) {
  for (auto& g : groups) std::sort(g.second.begin(), g.second.end());
  return sorted(std::move(groups));
}

}  // namespace

TEST_CASE("reduce_by_key reduces each batch's values per key, with no memory between batches") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(
      queue_of<KV>({{{"a", 1}, {"b", 2}, {"a", 3}, {"c", 4}, {"b", 5}}, {}, {{"a", 10}}}));
  auto sums = s.reduce_by_key(std::plus<>{});
  auto maxima = s.reduce_by_key([](int x, int y) { return std::max(x, y); }, 3);
  CHECK(sums.partitions() == 2);
  CHECK(maxima.partitions() == 3);
  Collector<KV> sum(sums);
  Collector<KV> max(maxima);
  run.ssc.start();
  run.steps(3);
  CHECK(sorted(sum.at(1000)) == KVs{{"a", 4}, {"b", 7}, {"c", 4}});
  CHECK(sum.has(2000));
  CHECK(sum.at(2000).empty());
  CHECK(sum.at(3000) == KVs{{"a", 10}});
  CHECK(sorted(max.at(1000)) == KVs{{"a", 3}, {"b", 5}, {"c", 4}});
  CHECK(max.at(3000) == KVs{{"a", 10}});
}

TEST_CASE("group_by_key gathers every value of a key") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(
      queue_of<KV>({{{"a", 1}, {"b", 2}, {"a", 3}, {"c", 4}, {"b", 5}, {"a", 1}}, {}}));
  auto g = s.group_by_key();
  auto g3 = s.group_by_key(3);
  CHECK(g3.partitions() == 3);
  Collector<std::pair<std::string, std::vector<int>>> groups(g);
  Collector<std::pair<std::string, std::vector<int>>> groups3(g3);
  run.ssc.start();
  run.steps(2);
  CHECK(normalized(groups.at(1000)) == Groups{{"a", {1, 1, 3}}, {"b", {2, 5}}, {"c", {4}}});
  CHECK(normalized(groups3.at(1000)) == Groups{{"a", {1, 1, 3}}, {"b", {2, 5}}, {"c", {4}}});
  CHECK(groups.has(2000));
  CHECK(groups.at(2000).empty());
}

TEST_CASE("combine_by_key computes a per-key average through (sum, count) combiners") {
  ManualRun run(1000ms, 2);
  // Two partitions: {(a,1),(b,2),(a,4)} and {(b,3),(b,7)}, so b's combiners are merged.
  auto s = run.ssc.queue_stream(
      queue_of<KV>({{{"a", 1}, {"b", 2}, {"a", 4}, {"b", 3}, {"b", 7}}, {{"c", 5}}}));
  using SumCount = std::pair<int, int>;
  auto create = [](int v) { return SumCount{v, 1}; };
  auto merge_value = [](SumCount c, int v) { return SumCount{c.first + v, c.second + 1}; };
  auto merge_combiners = [](SumCount x, SumCount y) {
    return SumCount{x.first + y.first, x.second + y.second};
  };
  auto combined = s.combine_by_key(create, merge_value, merge_combiners);
  auto combined3 = s.combine_by_key(create, merge_value, merge_combiners, 3);
  CHECK(combined3.partitions() == 3);
  Collector<std::pair<std::string, SumCount>> combiners3(combined3);
  Collector<std::pair<std::string, SumCount>> combiners(combined);
  Collector<std::pair<std::string, double>> averages(combined.map_values(
      [](const SumCount& c) { return static_cast<double>(c.first) / c.second; }));
  run.ssc.start();
  run.steps(2);
  using Combined = std::vector<std::pair<std::string, SumCount>>;
  using Averages = std::vector<std::pair<std::string, double>>;
  CHECK(sorted(combiners.at(1000)) == Combined{{"a", {5, 2}}, {"b", {12, 3}}});
  CHECK(sorted(combiners3.at(1000)) == Combined{{"a", {5, 2}}, {"b", {12, 3}}});
  CHECK(sorted(averages.at(1000)) == Averages{{"a", 2.5}, {"b", 4.0}});
  CHECK(averages.at(2000) == Averages{{"c", 5.0}});
}

TEST_CASE("map_values and flat_map_values keep the keys") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<KV>({{{"a", 1}, {"b", 2}, {"a", 3}}, {}}));
  Collector<std::pair<std::string, std::string>> texts(
      s.map_values([](int v) { return std::string(static_cast<size_t>(v), '*'); }));
  Collector<KV> spread(s.flat_map_values([](int v) { return std::vector<int>{v, v + 100}; }));
  Collector<KV> none(s.flat_map_values([](int) { return std::vector<int>{}; }));
  run.ssc.start();
  run.steps(2);
  using Texts = std::vector<std::pair<std::string, std::string>>;
  CHECK(sorted(texts.at(1000)) == Texts{{"a", "*"}, {"a", "***"}, {"b", "**"}});
  CHECK(sorted(spread.at(1000)) ==
        KVs{{"a", 1}, {"a", 3}, {"a", 101}, {"a", 103}, {"b", 2}, {"b", 102}});
  CHECK(none.has(1000));
  CHECK(none.at(1000).empty());
  CHECK(texts.at(2000).empty());
}

namespace {

using Word = std::pair<std::string, std::string>;

struct JoinInputs {
  ManualRun run{1000ms, 2};
  // Batch 1: keys a (left only), b (both, two left values), c (right only).
  // Batch 2: key d on both sides, two right values. Batch 3: only the right side has data.
  rill::DStream<KV> left =
      run.ssc.queue_stream(queue_of<KV>({{{"a", 1}, {"b", 2}, {"b", 3}}, {{"d", 4}}, {}}));
  rill::DStream<Word> right = run.ssc.queue_stream(
      queue_of<Word>({{{"b", "x"}, {"c", "y"}}, {{"d", "z"}, {"d", "w"}}, {{"e", "q"}}}));
};

}  // namespace

TEST_CASE("join pairs every left value with every right value of a key") {
  JoinInputs in;
  using J = std::pair<std::string, std::pair<int, std::string>>;
  auto joined = in.left.join(in.right);
  CHECK(in.left.join(in.right, 3).partitions() == 3);
  Collector<J> seen(joined);
  in.run.ssc.start();
  in.run.steps(3);
  CHECK(sorted(seen.at(1000)) == std::vector<J>{{"b", {2, "x"}}, {"b", {3, "x"}}});
  CHECK(sorted(seen.at(2000)) == std::vector<J>{{"d", {4, "w"}}, {"d", {4, "z"}}});
  CHECK(seen.has(3000));
  CHECK(seen.at(3000).empty());
}

TEST_CASE("left_outer_join keeps left keys without a match, with nullopt") {
  JoinInputs in;
  using J = std::pair<std::string, std::pair<int, std::optional<std::string>>>;
  Collector<J> seen(in.left.left_outer_join(in.right));
  in.run.ssc.start();
  in.run.steps(3);
  CHECK(sorted(seen.at(1000)) ==
        std::vector<J>{{"a", {1, std::nullopt}}, {"b", {2, "x"}}, {"b", {3, "x"}}});
  CHECK(sorted(seen.at(2000)) == std::vector<J>{{"d", {4, "w"}}, {"d", {4, "z"}}});
  CHECK(seen.at(3000).empty());
}

TEST_CASE("right_outer_join keeps right keys without a match, with nullopt") {
  JoinInputs in;
  using J = std::pair<std::string, std::pair<std::optional<int>, std::string>>;
  Collector<J> seen(in.left.right_outer_join(in.right));
  in.run.ssc.start();
  in.run.steps(3);
  CHECK(sorted(seen.at(1000)) ==
        std::vector<J>{{"b", {2, "x"}}, {"b", {3, "x"}}, {"c", {std::nullopt, "y"}}});
  CHECK(sorted(seen.at(2000)) == std::vector<J>{{"d", {4, "w"}}, {"d", {4, "z"}}});
  CHECK(seen.at(3000) == std::vector<J>{{"e", {std::nullopt, "q"}}});
}

TEST_CASE("full_outer_join keeps unmatched keys of both sides") {
  JoinInputs in;
  using J = std::pair<std::string, std::pair<std::optional<int>, std::optional<std::string>>>;
  Collector<J> seen(in.left.full_outer_join(in.right));
  in.run.ssc.start();
  in.run.steps(3);
  CHECK(sorted(seen.at(1000)) == std::vector<J>{{"a", {1, std::nullopt}},
                                                {"b", {2, "x"}},
                                                {"b", {3, "x"}},
                                                {"c", {std::nullopt, "y"}}});
  CHECK(sorted(seen.at(2000)) == std::vector<J>{{"d", {4, "w"}}, {"d", {4, "z"}}});
  CHECK(seen.at(3000) == std::vector<J>{{"e", {std::nullopt, "q"}}});
}

TEST_CASE("cogroup gives each key's values from both sides") {
  JoinInputs in;
  using C = std::pair<std::string, std::pair<std::vector<int>, std::vector<std::string>>>;
  auto normalize = [](std::vector<C> v) {
    for (auto& c : v) {
      std::sort(c.second.first.begin(), c.second.first.end());
      std::sort(c.second.second.begin(), c.second.second.end());
    }
    return sorted(std::move(v));
  };
  auto cg = in.left.cogroup(in.right);
  Collector<C> seen(cg);
  in.run.ssc.start();
  in.run.steps(3);
  CHECK(normalize(seen.at(1000)) ==
        std::vector<C>{{"a", {{1}, {}}}, {"b", {{2, 3}, {"x"}}}, {"c", {{}, {"y"}}}});
  CHECK(normalize(seen.at(2000)) == std::vector<C>{{"d", {{4}, {"w", "z"}}}});
  CHECK(seen.at(3000) == std::vector<C>{{"e", {{}, {"q"}}}});
}

TEST_CASE("update_state_by_key emits every key's state every batch; nullopt drops a key") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<KV>(
      {{{"a", 1}, {"b", 2}, {"a", 3}}, {{"c", 5}}, {{"a", 0}, {"b", 1}}, {}, {{"a", 7}}}));
  // Running sum; a value of 0 drops the key.
  auto sums = s.update_state_by_key(
      [](const std::vector<int>& vs, const std::optional<int>& st) -> std::optional<int> {
        int sum = st.value_or(0);
        for (int v : vs) {
          if (v == 0) return std::nullopt;
          sum += v;
        }
        return sum;
      });
  // How often the function ran per key: every batch once the key exists, values or not.
  auto calls = s.update_state_by_key(
      [](const std::vector<int>&, const std::optional<int>& st) -> std::optional<int> {
        return st.value_or(0) + 1;
      },
      3);
  CHECK(calls.partitions() == 3);
  // State lives only while new values come: the function sees an empty vector otherwise.
  auto latest = s.update_state_by_key(
      [](const std::vector<int>& vs, const std::optional<int>& st) -> std::optional<int> {
        if (vs.empty()) return std::nullopt;
        int sum = st.value_or(0);
        for (int v : vs) sum += v;
        return sum;
      });
  Collector<KV> sum(sums);
  Collector<KV> call(calls);
  Collector<KV> last(latest);
  run.ssc.start();
  run.steps(5);
  CHECK(sorted(sum.at(1000)) == KVs{{"a", 4}, {"b", 2}});
  CHECK(sorted(sum.at(2000)) == KVs{{"a", 4}, {"b", 2}, {"c", 5}});
  CHECK(sorted(sum.at(3000)) == KVs{{"b", 3}, {"c", 5}});
  CHECK(sorted(sum.at(4000)) == KVs{{"b", 3}, {"c", 5}});
  CHECK(sorted(sum.at(5000)) == KVs{{"a", 7}, {"b", 3}, {"c", 5}});
  CHECK(sorted(call.at(1000)) == KVs{{"a", 1}, {"b", 1}});
  CHECK(sorted(call.at(2000)) == KVs{{"a", 2}, {"b", 2}, {"c", 1}});
  CHECK(sorted(call.at(3000)) == KVs{{"a", 3}, {"b", 3}, {"c", 2}});
  CHECK(sorted(call.at(4000)) == KVs{{"a", 4}, {"b", 4}, {"c", 3}});
  CHECK(sorted(call.at(5000)) == KVs{{"a", 5}, {"b", 5}, {"c", 4}});
  CHECK(sorted(last.at(1000)) == KVs{{"a", 4}, {"b", 2}});
  CHECK(last.at(2000) == KVs{{"c", 5}});
  CHECK(sorted(last.at(3000)) == KVs{{"a", 0}, {"b", 1}});
  CHECK(last.has(4000));
  CHECK(last.at(4000).empty());
  CHECK(last.at(5000) == KVs{{"a", 7}});
}

namespace {

// map_with_state's function in these tests: a running sum per key, emitted per record; a value
// of 0 removes the key's state and emits nothing; a timing-out key emits ("<key>:timeout", sum).
struct RunningSum {
  std::shared_ptr<std::atomic<int>> calls = std::make_shared<std::atomic<int>>(0);
  std::shared_ptr<std::atomic<int>> bad = std::make_shared<std::atomic<int>>(0);
  std::optional<KV> operator()(const std::string& key, const std::optional<int>& value,
                               rill::State<int>& state) const {
    ++*calls;
    if (state.is_timing_out()) {
      if (value || !state.exists()) ++*bad;  // a timing-out call has state and no value
      return KV{key + ":timeout", state.get()};
    }
    if (!value) {
      ++*bad;
      return std::nullopt;
    }
    if (*value == 0) {
      state.remove();
      return std::nullopt;
    }
    int sum = (state.exists() ? state.get() : 0) + *value;
    state.update(sum);
    return KV{key, sum};
  }
};

}  // namespace

TEST_CASE("map_with_state calls the function per record and offers state snapshots") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<KV>(
      {{{"a", 1}, {"a", 2}, {"b", 5}}, {{"b", 1}}, {{"a", 0}, {"c", 2}}, {}, {{"a", 4}}}));
  RunningSum fn;
  auto mapped = s.map_with_state(rill::state_spec(fn));
  Collector<KV> out(mapped);
  Collector<KV> snapshots(mapped.state_snapshots());
  run.ssc.start();
  run.steps(5);
  CHECK(sorted(out.at(1000)) == KVs{{"a", 1}, {"a", 3}, {"b", 5}});  // one call per record
  CHECK(sorted(snapshots.at(1000)) == KVs{{"a", 3}, {"b", 5}});
  CHECK(out.at(2000) == KVs{{"b", 6}});
  CHECK(sorted(snapshots.at(2000)) == KVs{{"a", 3}, {"b", 6}});
  CHECK(out.at(3000) == KVs{{"c", 2}});  // a's record removed its state and emitted nothing
  CHECK(sorted(snapshots.at(3000)) == KVs{{"b", 6}, {"c", 2}});
  CHECK(out.has(4000));
  CHECK(out.at(4000).empty());
  CHECK(sorted(snapshots.at(4000)) == KVs{{"b", 6}, {"c", 2}});  // state persists without data
  CHECK(out.at(5000) == KVs{{"a", 4}});                          // a starts afresh
  CHECK(sorted(snapshots.at(5000)) == KVs{{"a", 4}, {"b", 6}, {"c", 2}});
  CHECK(*fn.calls == 7);
  CHECK(*fn.bad == 0);
}

TEST_CASE("map_with_state times out a key idle for longer than the timeout, with one last call") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<KV>(
      {{{"a", 1}, {"b", 1}, {"c", 1}}, {}, {{"b", 1}}, {{"c", 1}}, {}, {}, {{"a", 5}}}));
  RunningSum fn;
  auto mapped = s.map_with_state(rill::state_spec(fn, 2000ms));
  Collector<KV> out(mapped);
  Collector<KV> snapshots(mapped.state_snapshots());
  run.ssc.start();
  run.steps(7);
  CHECK(sorted(out.at(1000)) == KVs{{"a", 1}, {"b", 1}, {"c", 1}});
  CHECK(sorted(snapshots.at(1000)) == KVs{{"a", 1}, {"b", 1}, {"c", 1}});
  CHECK(out.at(2000).empty());
  CHECK(sorted(snapshots.at(2000)) == KVs{{"a", 1}, {"b", 1}, {"c", 1}});
  CHECK(out.at(3000) == KVs{{"b", 2}});  // a and c idle for 2000 ms: not longer than the timeout
  CHECK(sorted(snapshots.at(3000)) == KVs{{"a", 1}, {"b", 2}, {"c", 1}});
  // a idle 3000 ms > 2000 ms: one last call. c would have timed out too, but has data.
  CHECK(sorted(out.at(4000)) == KVs{{"a:timeout", 1}, {"c", 2}});
  CHECK(sorted(snapshots.at(4000)) == KVs{{"b", 2}, {"c", 2}});
  CHECK(out.at(5000).empty());
  CHECK(sorted(snapshots.at(5000)) == KVs{{"b", 2}, {"c", 2}});
  CHECK(out.at(6000) == KVs{{"b:timeout", 2}});
  CHECK(snapshots.at(6000) == KVs{{"c", 2}});
  CHECK(sorted(out.at(7000)) == KVs{{"a", 5}, {"c:timeout", 2}});  // a timed out: it starts afresh
  CHECK(snapshots.at(7000) == KVs{{"a", 5}});
  CHECK(*fn.calls == 9);  // six records and three timeouts
  CHECK(*fn.bad == 0);
}

TEST_CASE("map_with_state: a record after a remove() in the same batch starts from no state") {
  ManualRun run(1000ms, 1);
  auto s =
      run.ssc.queue_stream(queue_of<KV>({{{"a", 1}, {"a", 0}, {"a", 5}, {"b", 2}, {"b", 0}}, {}}));
  RunningSum fn;
  auto mapped = s.map_with_state(rill::state_spec(fn));
  Collector<KV> out(mapped);
  Collector<KV> snapshots(mapped.state_snapshots());
  run.ssc.start();
  run.steps(2);
  CHECK(out.at(1000) == KVs{{"a", 1}, {"a", 5}, {"b", 2}});  // one partition: record order
  CHECK(snapshots.at(1000) == KVs{{"a", 5}});
  CHECK(snapshots.at(2000) == KVs{{"a", 5}});
  CHECK(*fn.bad == 0);
}

TEST_CASE("a stream joined with itself pairs every two values of a key") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<KV>({{{"a", 1}, {"a", 2}, {"b", 3}}}));
  using J = std::pair<std::string, std::pair<int, int>>;
  Collector<J> seen(s.join(s, 3));
  run.ssc.start();
  run.step();
  CHECK(sorted(seen.at(1000)) ==
        std::vector<J>{{"a", {1, 1}}, {"a", {1, 2}}, {"a", {2, 1}}, {"a", {2, 2}}, {"b", {3, 3}}});
}

TEST_CASE("map_with_state can return records directly and keep state on its own partitions") {
  ManualRun run(1000ms, 2);
  auto s = run.ssc.queue_stream(queue_of<KV>({{{"x", 2}, {"y", 3}, {"x", 4}}, {{"y", 1}}}));
  // Emits (key, number of records so far), never optional.
  auto counted = s.map_with_state(
      rill::state_spec([](const std::string& k, const std::optional<int>&, rill::State<int>& st) {
        st.update(st.exists() ? st.get() + 1 : 1);
        return std::pair<std::string, int>{k, st.get()};
      }),
      3);
  CHECK(counted.partitions() == 3);
  Collector<KV> out(counted);
  Collector<KV> snapshots(counted.state_snapshots());
  run.ssc.start();
  run.steps(2);
  CHECK(sorted(out.at(1000)) == KVs{{"x", 1}, {"x", 2}, {"y", 1}});
  CHECK(out.at(2000) == KVs{{"y", 2}});
  CHECK(sorted(snapshots.at(2000)) == KVs{{"x", 2}, {"y", 2}});
}
