// Incremental NodeState snapshots of every stateful operator, without actors: a state restored
// from its last full snapshot plus the later deltas must behave exactly as the original did.
#include <bit>
#include <catch2/catch.hpp>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataflow/ops/state.hpp"
#include "dataflow/ops/window.hpp"
#include "dataflow/part_codec.hpp"
#include "dataflow/record_columns.hpp"
#include "dataflow/streaming_context.hpp"
#include "tests/support/running_total.hpp"

using namespace std::chrono_literals;
using rill::DecodeColumns;
using rill::EncodeColumns;
using rill::Millis;
using rill::NodeState;

namespace app {
// A state with no operator==: every live key counts as changed.
struct Tally {
  int64_t n = 0;
};
RILL_RECORD(Tally, n)
// Not a record: states over it cannot be snapshot.
struct Opaque {
  int64_t n = 0;
};
}  // namespace app

namespace {

using KV = std::pair<std::string, int>;

struct Snapshot {
  size_t entries = 0;
  DecodeColumns columns;
};

// What the runtime does: snapshot, then read back the columns the frame would hold.
Snapshot take(NodeState& state, bool full) {
  EncodeColumns out;
  const size_t n = state.snapshot(full, out);
  CHECK(out.record_count <= n);  // n weighs a window slice by its records
  return {n, rill::columns_of(out)};
}

bool same(const Snapshot& a, const Snapshot& b) {
  if (a.entries != b.entries || a.columns.record_count != b.columns.record_count) return false;
  if (a.entries == 0) return true;
  const auto& x = a.columns;
  const auto& y = b.columns;
  if (x.type_tag != y.type_tag || x.ints != y.ints || x.shape != y.shape) return false;
  if (x.strings.size() != y.strings.size() || x.floats.size() != y.floats.size()) return false;
  for (size_t i = 0; i < x.strings.size(); ++i)
    if (x.strings[i] != y.strings[i]) return false;
  for (size_t i = 0; i < x.floats.size(); ++i)
    if (std::bit_cast<uint64_t>(x.floats[i]) != std::bit_cast<uint64_t>(y.floats[i])) return false;
  return true;
}

// Runs batches 1..total on an original state, snapshotting full after `full_at` and a delta
// every `every` batches up to `restore_at`; restores a fresh state from those; then runs the
// remaining batches on both, which must give the same outputs and the same further snapshots.
template <class State, class Step>
void check_resume(Step step, int total, int full_at, int restore_at, int every = 1) {
  REQUIRE((restore_at - full_at) % every == 0);  // restore from the last snapshot written
  State original;
  std::vector<Snapshot> written;
  for (int i = 1; i <= restore_at; ++i) {
    step(original, i);
    if (i == full_at) written.push_back(take(original, true));
    if (i > full_at && (i - full_at) % every == 0) {
      Snapshot delta = take(original, false);
      if (delta.entries > 0) written.push_back(std::move(delta));  // as the runtime does
    }
  }
  State restored;
  for (const Snapshot& s : written) {
    const rill::Status status = restored.restore(s.columns);
    INFO(status.to_string());
    REQUIRE(status.is_ok());
  }
  CHECK(restored.live_entries() == original.live_entries());
  for (int i = restore_at + 1; i <= total; ++i) {
    INFO("batch " << i);
    CHECK(step(original, i) == step(restored, i));
    CHECK(same(take(original, false), take(restored, false)));
  }
  CHECK(same(take(original, true), take(restored, true)));
}

// Deterministic batches: a few keys out of 12, values 0..9 (0 drops a key below).
std::vector<KV> batch_of(int i) {
  std::vector<KV> out;
  uint32_t x = static_cast<uint32_t>(i) * 2654435761u;
  for (int r = 0; r < 6; ++r) {
    x = x * 1103515245u + 12345u;
    out.emplace_back("k" + std::to_string((x >> 16) % 12), static_cast<int>((x >> 8) % 10));
  }
  return out;
}

// Sum of the values; a key is dropped when its batch holds a 0 or the sum passes 60.
std::optional<int> running_sum(const std::vector<int>& values, const std::optional<int>& old) {
  int sum = old.value_or(0);
  for (int v : values) {
    if (v == 0) return std::nullopt;
    sum += v;
  }
  if (sum > 60) return std::nullopt;
  return sum;
}

using Keyed = rill::ops::KeyedState<std::string, int>;
using Mapped = rill::ops::MappedState<std::string, int>;

std::vector<std::pair<std::string, int>> keyed_step(Keyed& st, int i) {
  return rill::ops::update_state_step<std::string, int, int>(st, batch_of(i), running_sum);
}

// map_with_state: emits "key=state"; a 0 removes the key; keys idle over 3 s time out.
const auto kSpec = rill::state_spec(
    [](const std::string& key, std::optional<int> v, rill::State<int>& state) -> std::string {
      if (state.is_timing_out()) return key + " timed out";
      if (*v == 0) {
        state.remove();
        return key + " removed";
      }
      state.update(state.get_option().value_or(0) + *v);
      return key + "=" + std::to_string(state.get());
    },
    3000ms);

auto mapped_step(Mapped& st, int i) {
  const auto out = rill::ops::map_with_state_step<std::string, int, int, std::string>(
      st, i % 5 == 0 ? std::vector<KV>{} : batch_of(i), Millis{1000 * i}, kSpec);  // idle: timeouts
  std::vector<std::pair<std::optional<std::string>, std::optional<std::pair<std::string, int>>>> v;
  for (const auto& o : out) v.emplace_back(o.mapped, o.snapshot);
  return v;
}

}  // namespace

TEST_CASE("update_state_by_key resumes from a full snapshot plus deltas, tombstones included") {
  check_resume<Keyed>(keyed_step, 40, 3, 20);
  check_resume<Keyed>(keyed_step, 40, 1, 25, 4);  // deltas spanning several batches
  check_resume<Keyed>(keyed_step, 10, 10, 10);    // a full snapshot alone

  // The delta names the dropped key with no state.
  Keyed st;
  rill::ops::update_state_step<std::string, int, int>(st, {{"a", 1}, {"b", 2}}, running_sum);
  take(st, true);
  rill::ops::update_state_step<std::string, int, int>(st, {{"a", 0}}, running_sum);
  const Snapshot delta = take(st, false);
  auto records = rill::decode_records<Keyed::Record>(delta.columns, 100);
  REQUIRE(records.is_ok());
  CHECK(*records == std::vector<Keyed::Record>{{"a", std::nullopt}});
  CHECK(take(st, false).entries == 0);  // nothing changed since
}

TEST_CASE("a key dropped and re-added between snapshots keeps its new place after restore") {
  Keyed original;
  const auto step = [](Keyed& st, std::vector<KV> batch) {
    return rill::ops::update_state_step<std::string, int, int>(st, batch, running_sum);
  };
  step(original, {{"a", 1}, {"b", 1}, {"c", 1}});
  Keyed restored;
  REQUIRE(restored.restore(take(original, true).columns).is_ok());
  step(original, {{"a", 0}});          // a dropped...
  step(original, {{"d", 1}, {"a", 5}});  // ...and back after d
  const Snapshot delta = take(original, false);
  CHECK(delta.entries == 3);  // a's tombstone, then d and a in map order (b, c unchanged)
  REQUIRE(restored.restore(delta.columns).is_ok());
  CHECK(step(original, {}) == step(restored, {}));
  CHECK(restored.states.entries() == std::vector<std::pair<std::string, int>>{
                                         {"b", 1}, {"c", 1}, {"d", 1}, {"a", 5}});
}

TEST_CASE("a delta holds only the keys that changed") {
  rill::ops::KeyedState<int64_t, int64_t> keyed;
  rill::ops::MappedState<int64_t, int64_t> mapped;
  const auto count = rill::state_spec([](int64_t, std::optional<int64_t> v, rill::State<int64_t>& s) {
    s.update(s.get_option().value_or(0) + v.value_or(0));
    return s.get();
  });
  std::vector<std::pair<int64_t, int64_t>> all;
  for (int64_t k = 0; k < 1000; ++k) all.emplace_back(k, 1);
  rill::ops::update_state_step<int64_t, int64_t, int64_t>(keyed, all, rill::test::running_total);
  rill::ops::map_with_state_step<int64_t, int64_t, int64_t, int64_t>(mapped, all, 1000ms, count);
  CHECK(take(keyed, true).entries == 1000);
  CHECK(take(mapped, true).entries == 1000);
  CHECK(keyed.live_entries() == 1000);

  const std::vector<std::pair<int64_t, int64_t>> three = {{7, 1}, {500, 2}, {999, 0}};
  rill::ops::update_state_step<int64_t, int64_t, int64_t>(keyed, three, rill::test::running_total);
  rill::ops::map_with_state_step<int64_t, int64_t, int64_t, int64_t>(mapped, three, 2000ms, count);
  // Key 999 got a 0: its state did not change, so update_state_by_key writes 2 entries;
  // map_with_state counts every touched key (its last-seen time moved).
  CHECK(take(keyed, false).entries == 2);
  const Snapshot mapped_delta = take(mapped, false);
  CHECK(mapped_delta.entries == 3);
  CHECK(mapped_delta.columns.ints.size() == 3 * 3);  // key, state, time per entry
}

TEST_CASE("a state without operator== writes every live key in each delta") {
  using St = rill::ops::KeyedState<std::string, app::Tally>;
  const auto fn = [](const std::vector<int>& values, const std::optional<app::Tally>& old) {
    app::Tally t = old.value_or(app::Tally{});
    for (int v : values) t.n += v;
    return t.n > 40 ? std::nullopt : std::optional<app::Tally>(t);
  };
  const auto step = [&fn](St& st, int i) {
    std::vector<std::pair<std::string, int64_t>> out;
    for (const auto& [k, t] : rill::ops::update_state_step<std::string, int, app::Tally>(st, batch_of(i), fn))
      out.emplace_back(k, t.n);
    return out;
  };
  check_resume<St>(step, 30, 2, 15);
  St st;
  step(st, 1);
  take(st, true);
  step(st, 2);
  CHECK(take(st, false).entries >= st.live_entries());
}

TEST_CASE("map_with_state resumes with removals, timeouts and last-seen times") {
  check_resume<Mapped>(mapped_step, 40, 2, 18);
  check_resume<Mapped>(mapped_step, 40, 4, 22, 3);

  Mapped st;
  mapped_step(st, 1);
  take(st, true);
  const size_t live = st.live_entries();
  mapped_step(st, 5);  // empty, 4 s after batch 1: every key times out
  auto records = rill::decode_records<Mapped::Record>(take(st, false).columns, 1000);
  REQUIRE(records.is_ok());
  size_t tombstones = 0;
  for (const auto& [k, s] : *records) tombstones += !s;
  CHECK(tombstones == live);
}

TEST_CASE("window slices resume: slices added since the last snapshot, times dropped") {
  using T = KV;
  using St = rill::ops::WindowSlices<T>;
  const auto step = [](St& st, int i) {
    const rill::TaskContext ctx{.time = Millis{1000 * i}, .interval = 1000ms};
    rill::AnyPart in = i % 4 == 3 ? nullptr : rill::make_part(batch_of(i));
    rill::AnyPart out = rill::ops::window_step<T>(st, ctx, in, 3000ms, 2000ms);
    return out ? std::optional(rill::part_cast<T>(out)) : std::nullopt;
  };
  check_resume<St>(step, 30, 2, 11);
  check_resume<St>(step, 30, 3, 18, 5);  // more batches between snapshots than the window holds
}

TEST_CASE("the inverse window restores its running float aggregate bit for bit") {
  using St = rill::ops::InverseWindowState<std::string, double>;
  using T = std::pair<std::string, double>;
  const auto step = [](St& st, int i) {
    const rill::TaskContext ctx{.time = Millis{1000 * i}, .interval = 1000ms};
    std::vector<T> in;
    for (const auto& [k, v] : batch_of(i)) in.emplace_back(k, k < "k5" ? v : v * 0.1 + 1e-7 * i);
    const auto keep = [](const T& kv) { return kv.second != 0.0; };  // prunes exact zeros
    rill::AnyPart out = rill::ops::inverse_window_step(
        st, ctx, i % 6 == 5 ? nullptr : rill::make_part(in), 4000ms, 2000ms, std::plus<>{},
        std::minus<>{}, keep);
    std::vector<std::pair<std::string, uint64_t>> bits;  // compare doubles bit for bit
    if (out)
      for (const auto& [k, v] : rill::part_cast<T>(out)) bits.emplace_back(k, std::bit_cast<uint64_t>(v));
    return bits;
  };
  check_resume<St>(step, 40, 2, 17);
  check_resume<St>(step, 40, 3, 27, 4);

  // The filter's pruning is a tombstone in the delta.
  St st;
  const auto plain = [&st](int t, std::vector<T> in) {
    rill::ops::inverse_window_step(st, {.time = Millis{t}, .interval = 1000ms}, rill::make_part(in),
                                   2000ms, 1000ms, std::plus<>{}, std::minus<>{},
                                   [](const T& kv) { return kv.second != 0.0; });
  };
  plain(1000, {{"a", 1.5}, {"b", 0.25}});
  take(st, true);
  plain(2000, {{"b", 0.5}});
  plain(3000, {});  // a's slice leaves: a is 0 and pruned
  auto records = rill::decode_records<St::Record>(take(st, false).columns, 100);
  REQUIRE(records.is_ok());
  std::vector<St::KeyRecord> keys;
  for (const auto& r : *records)
    if (r.second) keys.push_back(*r.second);
  CHECK(keys == std::vector<St::KeyRecord>{{"a", std::nullopt}, {"b", 0.5}});
}

// The runtime's compaction rule (actors/stage.cpp snapshot()): a full snapshot once the
// entries written since the last full one pass live_entries() (and 1024).
TEST_CASE("a window's entries weigh each slice by its records, so a long window compacts rarely") {
  using St = rill::ops::InverseWindowState<int64_t, int64_t>;
  constexpr int kLength = 300, kKeys = 500;
  St st;
  size_t since_full = 0, fulls = 0;
  for (int i = 1; i <= kLength + 150; ++i) {
    std::vector<std::pair<int64_t, int64_t>> in;
    for (int64_t k = 0; k < kKeys; ++k) in.emplace_back(k, i);
    rill::ops::inverse_window_step(st, {.time = Millis{1000 * i}, .interval = 1000ms}, rill::make_part(in),
                                   Millis{1000 * kLength}, 1000ms, std::plus<>{}, std::minus<>{},
                                   [](const auto&) { return true; });
    const bool full = i == 1 || (since_full > 1024 && since_full > st.live_entries());
    const size_t written = take(st, full).entries;
    since_full = full ? 0 : since_full + written;
    if (i > kLength) fulls += full;  // the window is full from here
  }
  CHECK(st.live_entries() == size_t{kLength} * kKeys + kKeys);
  // A delta is one slice and the keys it touched (about 2 × 500 entries), the state 300 slices
  // of 500: one full snapshot in 150 batches. Counting a slice as one entry made it every
  // other batch (75 of them).
  CHECK(fulls <= 1);

  rill::ops::WindowSlices<KV> plain;
  for (int i = 1; i <= 10; ++i) plain.step(Millis{1000 * i}, rill::make_part(batch_of(i)), 5000ms);
  CHECK(plain.live_entries() == 5 * batch_of(1).size());
  CHECK(take(plain, true).entries == plain.live_entries());
}

TEST_CASE("restoring a snapshot of another type names both") {
  Keyed ints;
  keyed_step(ints, 1);
  const Snapshot s = take(ints, true);
  rill::ops::KeyedState<std::string, double> doubles;
  const rill::Status wrong = doubles.restore(s.columns);
  CHECK(wrong.code() == rill::Errc::corrupt);
  CHECK_THAT(wrong.message(), Catch::Contains("state snapshot of pair<string,optional<f64>>") &&
                                  Catch::Contains("type tag mismatch"));
  CHECK(doubles.states.empty());

  // Untagged columns of another shape fail on their contents instead.
  DecodeColumns untagged = s.columns;
  untagged.type_tag = 0;
  Mapped mapped;
  const rill::Status malformed = mapped.restore(untagged);
  CHECK(malformed.code() == rill::Errc::corrupt);
  CHECK_THAT(malformed.message(), Catch::StartsWith("state snapshot of pair<string,optional<pair<i32,i64>>>: "));
  CHECK(keyed_step(ints, 2) == [&] {
    Keyed again;
    REQUIRE(again.restore(s.columns).is_ok());
    return keyed_step(again, 2);
  }());
}

TEST_CASE("states over non-record types refuse snapshots") {
  rill::ops::KeyedState<std::string, app::Opaque> st;
  CHECK_FALSE(st.can_snapshot());
  CHECK(st.snapshot_type().empty());
  EncodeColumns out;
  CHECK(st.snapshot(true, out) == 0);
  CHECK_FALSE(st.restore(DecodeColumns{}).is_ok());
  CHECK(Keyed().can_snapshot());
  CHECK(Keyed().snapshot_type() == "pair<string,optional<i32>>");
  CHECK(rill::ops::WindowSlices<app::Opaque>().can_snapshot() == false);
}

TEST_CASE("every node carries its output's codec, and stateful nodes snapshot") {
  rill::StreamingContext ssc(1000ms, {.partitions = 2});
  auto q = std::make_shared<rill::BatchQueue<KV>>();
  auto src = ssc.queue_stream(q);
  auto totals = src.update_state_by_key(running_sum);
  auto opaque = src.map([](const KV& kv) { return app::Opaque{kv.second}; });
  auto halves = src.map([](const KV& kv) { return std::pair<std::string, double>{kv.first, kv.second / 2.0}; });
  const auto& g = ssc.graph();
  const rill::Node& source = g.node(src.id());
  CHECK(source.codec.type_signature == "pair<string,i32>");
  const rill::Node& state_node = g.node(totals.id());
  REQUIRE(state_node.codec.encode);
  CHECK(state_node.make_state()->can_snapshot());
  CHECK_FALSE(g.node(opaque.id()).codec.encode);
  CHECK(g.node(opaque.id()).codec.type_signature.empty());

  // The part codec round-trips a part through columns.
  const std::vector<KV> records = {{"a", 1}, {"b", -2}};
  // The columns point into the part's strings: the part must outlive them.
  const auto part_in = rill::make_part(records);
  EncodeColumns out;
  source.codec.encode(part_in, out);
  auto part = source.codec.decode(rill::columns_of(out), 100);
  REQUIRE(part.is_ok());
  CHECK(rill::part_cast<KV>(*part) == records);
  auto wrong = g.node(halves.id()).codec.decode(rill::columns_of(out), 100);
  REQUIRE_FALSE(wrong.is_ok());
  CHECK_THAT(wrong.status().message(), Catch::StartsWith("type tag mismatch"));
}
