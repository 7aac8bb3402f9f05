// CombineMap (dataflow/combine_map.hpp) and the map-side combine built on it: the same entries,
// in the same first-insertion order, as OrderedMap gives, through growth, with keys and values
// that have no default constructor, and the same buckets pushed one pair at a time.
#include <algorithm>
#include <atomic>
#include <catch2/catch.hpp>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dataflow/combine_map.hpp"
#include "dataflow/ops/exchange.hpp"
#include "dataflow/ops/reduce.hpp"
#include "dataflow/ordered_map.hpp"

using Pair = std::pair<std::string, int64_t>;

namespace {

// Keys with a skewed repeat pattern (many repeats of few keys, a tail of rare ones), some
// longer than the small-string buffer.
std::vector<Pair> skewed_pairs(size_t n, uint64_t seed) {
  std::vector<Pair> out;
  for (size_t i = 0; i < n; ++i) {
    seed = seed * 6364136223846793005ull + 1442695040888963407ull;
    const uint64_t r = seed >> 33;
    const uint64_t key = r % 7 == 0 ? r % 5000 : r % 40;
    std::string k = "w" + std::to_string(key);
    if (key % 3 == 0) k += std::string(20, 'x');
    out.emplace_back(std::move(k), static_cast<int64_t>(r % 10) - 3);
  }
  return out;
}

std::vector<Pair> reference(const std::vector<Pair>& in) {
  rill::OrderedMap<std::string, int64_t> m;
  for (const auto& [k, v] : in) m.upsert(k, v, std::plus<>{});
  return m.take_entries();
}

struct NoDefault {
  explicit NoDefault(int v) : value(v) {}
  int value;
  bool operator==(const NoDefault&) const = default;
};

// A value whose move may throw (so growth copies it) and whose copy throws when told to.
struct Fragile {
  static inline bool fail = false;
  explicit Fragile(int v) : value(v) {}
  Fragile(const Fragile& o) : value(o.value) {
    if (fail) throw std::runtime_error("copy failed");
  }
  Fragile(Fragile&& o) noexcept(false) : value(o.value) {}
  Fragile& operator=(const Fragile&) = default;
  Fragile& operator=(Fragile&&) = default;
  int value;
};

}  // namespace

TEST_CASE("CombineMap keeps first-insertion order and merges repeats, through growth") {
  const std::vector<Pair> in = skewed_pairs(50'000, 7);
  rill::CombineMap<std::string, int64_t> m;
  for (const auto& [k, v] : in) m.upsert(k, v, std::plus<>{});
  const std::vector<Pair> want = reference(in);
  REQUIRE(want.size() > 1000);  // the table grew many times
  CHECK(m.size() == want.size());
  CHECK(m.take_entries() == want);
  CHECK(m.empty());
  // Usable again after being emptied.
  m.upsert(std::string("a"), 1, std::plus<>{});
  m.upsert(std::string("a"), 2, std::plus<>{});
  CHECK(m.take_entries() == std::vector<Pair>{{"a", 3}});
}

TEST_CASE("CombineMap gives the same entries whether reserved ahead, too small, or not") {
  const std::vector<Pair> in = skewed_pairs(20'000, 11);
  const std::vector<Pair> want = reference(in);
  for (size_t n : {size_t{0}, size_t{10}, want.size(), want.size() * 4}) {
    rill::CombineMap<std::string, int64_t> m;
    m.reserve(n);
    for (const auto& [k, v] : in) m.upsert(k, v, std::plus<>{});
    CHECK(m.take_entries() == want);
  }
  // Pushed buckets with a size hint shared between builders: the same buckets, and the hint
  // left at the last builder's entry count.
  auto hint = std::make_shared<std::atomic<size_t>>(want.size() / 2);
  for (int round = 0; round < 2; ++round) {
    rill::ops::CombineBuckets<std::string, int64_t, std::plus<>> pushed(3, std::plus<>{}, hint);
    for (Pair kv : in) pushed.push(&kv);
    const auto got = pushed.finish();
    const auto expected = rill::ops::combine_and_split<std::string, int64_t>(in, 3, std::plus<>{});
    for (size_t b = 0; b < 3; ++b)
      CHECK(rill::part_cast<Pair>(got[b]) == rill::part_cast<Pair>(expected[b]));
    CHECK(hint->load() == want.size());
  }
}

TEST_CASE("CombineMap tells apart keys of one length that differ in a single byte") {
  // Keys are compared with overlapping loads of their first and last bytes: each length from
  // 0 to 20, a byte changed at every position, so a wrong overlap would merge two of them.
  std::vector<Pair> in;
  for (size_t len = 0; len <= 20; ++len)
    for (size_t at = 0; at <= len; ++at)
      for (char c : {'a', 'b', 'z'}) {
        std::string k(len, 'm');
        if (at < len) k[at] = c;
        in.emplace_back(k, 1);
        in.emplace_back(std::move(k), 2);
      }
  rill::CombineMap<std::string, int64_t> m;
  for (const auto& [k, v] : in) m.upsert(k, v, std::plus<>{});
  CHECK(m.take_entries() == reference(in));
}

TEST_CASE("CombineMap hands each entry's stable hash to drain, and moves between owners") {
  rill::CombineMap<std::string, int64_t> m;
  for (const char* k : {"x", "y", "z", "x"}) m.upsert(std::string(k), 1, std::plus<>{});
  rill::CombineMap<std::string, int64_t> moved(std::move(m));
  CHECK(m.empty());  // NOLINT(bugprone-use-after-move): a moved-from map is empty
  std::vector<std::pair<Pair, uint64_t>> seen;
  moved.drain([&seen](Pair& kv, uint64_t h) { seen.emplace_back(kv, h); });
  REQUIRE(seen.size() == 3);
  CHECK(seen[0].first == Pair{"x", 2});
  CHECK(seen[2].first == Pair{"z", 1});
  for (const auto& [kv, h] : seen) CHECK(h == rill::stable_hash(kv.first));
  CHECK(moved.empty());
}

TEST_CASE("CombineMap needs no default constructor and destroys what it holds") {
  auto counted = std::make_shared<int>(0);
  {
    rill::CombineMap<int64_t, std::shared_ptr<int>> m;
    for (int64_t k = 0; k < 100; ++k)
      m.upsert(k % 37, counted,
               [](std::shared_ptr<int> a, const std::shared_ptr<int>&) { return a; });
    CHECK(counted.use_count() == 1 + 37);
  }
  CHECK(counted.use_count() == 1);  // the map's copies were destroyed with it
  rill::CombineMap<int, NoDefault> m;
  m.upsert(1, NoDefault(2), [](NoDefault a, NoDefault b) { return NoDefault(a.value + b.value); });
  m.upsert(1, NoDefault(5), [](NoDefault a, NoDefault b) { return NoDefault(a.value + b.value); });
  const auto entries = m.take_entries();
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].second == NoDefault(7));
}

TEST_CASE("the pushed map-side combine cuts the same buckets as the combine of a whole part") {
  // No pairs, a few, and enough for the map to grow many times.
  for (size_t n : {size_t{0}, size_t{5}, size_t{16}, size_t{17}, size_t{20'000}}) {
    const std::vector<Pair> in = skewed_pairs(n, 11 + n);
    const std::vector<rill::AnyPart> whole =
        rill::ops::combine_and_split<std::string, int64_t>(in, 3, std::plus<>{});
    rill::ops::CombineBuckets<std::string, int64_t, std::plus<>> pushed(3, std::plus<>{});
    for (Pair kv : in) pushed.push(&kv);
    const std::vector<rill::AnyPart> got = pushed.finish();
    REQUIRE(got.size() == 3);
    std::vector<Pair> all;
    for (size_t b = 0; b < 3; ++b) {
      CHECK(rill::part_cast<Pair>(got[b]) == rill::part_cast<Pair>(whole[b]));
      for (const Pair& kv : rill::part_cast<Pair>(got[b])) {
        CHECK(rill::ops::bucket_of(kv.first, 3) == static_cast<int>(b));
        all.push_back(kv);
      }
    }
    // Every key once, summed: the reduce of the whole input, in some bucket.
    std::vector<Pair> want = reference(in);
    std::sort(all.begin(), all.end());
    std::sort(want.begin(), want.end());
    CHECK(all == want);
  }
}

TEST_CASE("CombineMap is left as it was when growing it throws") {
  rill::CombineMap<int, Fragile> m;
  auto add = [](Fragile a, const Fragile& b) { return Fragile(a.value + b.value); };
  int k = 0;
  for (; k < 14; ++k) m.upsert(k, Fragile(k), add);  // 14 of 16 slots: the next insert grows
  Fragile::fail = true;
  CHECK_THROWS_AS(m.upsert(k, Fragile(k), add), std::runtime_error);
  Fragile::fail = false;
  CHECK(m.size() == 14);
  m.upsert(3, Fragile(100), add);
  const auto entries = m.take_entries();
  REQUIRE(entries.size() == 14);
  for (int i = 0; i < 14; ++i) {
    CHECK(entries[static_cast<size_t>(i)].first == i);
    CHECK(entries[static_cast<size_t>(i)].second.value == (i == 3 ? 103 : i));
  }
}
