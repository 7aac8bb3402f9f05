// The hash map of a keyed combine (reduce_by_key's map-side pre-aggregation and its reduce):
// upserts, then one pass over the entries in first-insertion order. One owner; not thread-safe.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dataflow/stable_hash.hpp"

namespace rill {

/// Entries live in the probe table itself, behind one control byte per slot (a 7-bit hash tag):
/// a lookup of a key not in cache costs one miss, where OrderedMap's index-then-entry layout
/// costs two (word count, 100 k distinct words: ~40% less time per upsert). Iteration is in
/// first-insertion order (order_), so output built from it is identical on every re-run, as
/// OrderedMap's. OrderedMap stays where entries() must be a vector (state, windows).
template <class K, class V>
class CombineMap {
 public:
  using Entry = std::pair<K, V>;

  CombineMap() = default;
  CombineMap(const CombineMap&) = delete;
  CombineMap& operator=(const CombineMap&) = delete;
  CombineMap(CombineMap&& o) noexcept { swap(o); }
  CombineMap& operator=(CombineMap&& o) noexcept {
    CombineMap tmp(std::move(o));
    swap(tmp);
    return *this;
  }
  ~CombineMap() { clear(); }

  size_t size() const { return order_.size(); }
  bool empty() const { return order_.empty(); }

  /// Sizes an empty map's table for n entries, so filling it does not grow it step by step.
  void reserve(size_t n) {
    if (!empty() || n * 8 <= ctrl_.size() * 7) return;
    clear();
    size_t cap = 16;
    int bits = 4;
    while (n * 8 > cap * 7) cap <<= 1, ++bits;
    ctrl_.assign(cap, 0);
    slots_.reset(new Storage[cap]);
    mask_ = cap - 1;
    shift_ = 64 - bits;
    order_.reserve(n);
    hashes_.reserve(n);
  }

  /// Inserts (key, value), or sets the existing value to merge(old, value); h = stable_hash(key).
  template <class Key, class Merge>
  void upsert(uint64_t h, Key&& key, V&& value, Merge&& merge) {
    if ((order_.size() + 1) * 8 > ctrl_.size() * 7) grow();
    const uint8_t t = tag(h);
    size_t i = index(h);
    for (;; i = (i + 1) & mask_) {
      const uint8_t c = ctrl_[i];
      if (c == 0) break;
      if (c == t && keys_equal(slot(i)->first, key)) {
        V& old = slot(i)->second;
        old = merge(std::move(old), std::move(value));
        return;
      }
    }
    // Room in order_ and hashes_ first (growing geometrically): once the entry is built,
    // nothing below throws.
    if (order_.size() == order_.capacity()) order_.reserve(order_.size() * 2 + 16);
    if (hashes_.size() == hashes_.capacity()) hashes_.reserve(hashes_.size() * 2 + 16);
    ::new (static_cast<void*>(slot(i))) Entry(std::forward<Key>(key), std::move(value));
    ctrl_[i] = t;
    order_.push_back(static_cast<uint32_t>(i));
    hashes_.push_back(h);
  }
  template <class Key, class Merge>
  void upsert(Key&& key, V value, Merge&& merge) {
    const uint64_t h = stable_hash(key);
    upsert(h, std::forward<Key>(key), std::move(value), merge);
  }

  /// Calls f(entry, hash) for every entry in insertion order, entry movable from, then leaves
  /// the map empty.
  template <class F>
  void drain(F&& f) {
    for (size_t e = 0; e < order_.size(); ++e) f(*slot(order_[e]), hashes_[e]);
    clear();
  }

  /// The entries in insertion order; leaves the map empty.
  std::vector<Entry> take_entries() {
    std::vector<Entry> out;
    out.reserve(size());
    drain([&out](Entry& kv, uint64_t) { out.push_back(std::move(kv)); });
    return out;
  }

 private:
  // Word-count keys are mostly a few bytes: comparing them inline, with overlapping loads of
  // their first and last bytes, costs a fraction of a call to memcmp.
  template <class Key>
  static bool keys_equal(const K& a, const Key& b) {
    if constexpr (std::is_same_v<K, std::string> &&
                  std::is_same_v<std::remove_cvref_t<Key>, std::string>) {
      const size_t n = a.size();
      if (n != b.size()) return false;
      const char* x = a.data();
      const char* y = b.data();
      if (n >= 8 && n <= 16)
        return load<uint64_t>(x) == load<uint64_t>(y) &&
               load<uint64_t>(x + n - 8) == load<uint64_t>(y + n - 8);
      if (n >= 4 && n < 8)
        return load<uint32_t>(x) == load<uint32_t>(y) &&
               load<uint32_t>(x + n - 4) == load<uint32_t>(y + n - 4);
      if (n < 4) {
        for (size_t k = 0; k < n; ++k)
          if (x[k] != y[k]) return false;
        return true;
      }
      return std::memcmp(x, y, n) == 0;
    } else {
      return a == b;
    }
  }
  template <class U>
  static U load(const char* p) {
    U u;
    std::memcpy(&u, p, sizeof u);
    return u;
  }

  static uint8_t tag(uint64_t h) { return static_cast<uint8_t>(0x80 | (h >> 57)); }
  // Fibonacci hashing: the product's high bits. Keys of one shuffle bucket share h % buckets,
  // so the hash's low bits alone would leave part of the table unused.
  size_t index(uint64_t h) const {
    return static_cast<size_t>((h * 0x9e3779b97f4a7c15ull) >> shift_);
  }
  Entry* slot(size_t i) const { return std::launder(reinterpret_cast<Entry*>(slots_.get()) + i); }

  void clear() noexcept {
    for (uint32_t i : order_) slot(i)->~Entry();
    order_.clear();
    hashes_.clear();
    ctrl_.clear();
    slots_.reset();
    mask_ = 0;
    shift_ = 64;
  }

  // Doubles the table. Strong guarantee: an entry whose move may throw is copied, and a throw
  // leaves the old table as it was.
  void grow() {
    const size_t cap = std::max<size_t>(16, ctrl_.size() * 2);
    int bits = 0;
    while ((size_t{1} << bits) < cap) ++bits;
    std::vector<uint8_t> ctrl(cap, 0);
    std::unique_ptr<Storage[]> slots(new Storage[cap]);
    std::vector<uint32_t> moved_to(order_.size());
    const size_t mask = cap - 1;
    const int shift = 64 - bits;
    auto at = [&slots](size_t i) {
      return std::launder(reinterpret_cast<Entry*>(slots.get()) + i);
    };
    size_t e = 0;
    try {
      for (; e < order_.size(); ++e) {
        const uint64_t h = hashes_[e];
        size_t i = static_cast<size_t>((h * 0x9e3779b97f4a7c15ull) >> shift);
        while (ctrl[i] != 0) i = (i + 1) & mask;
        ::new (static_cast<void*>(at(i))) Entry(std::move_if_noexcept(*slot(order_[e])));
        ctrl[i] = tag(h);
        moved_to[e] = static_cast<uint32_t>(i);
      }
    } catch (...) {
      for (size_t k = 0; k < e; ++k) at(moved_to[k])->~Entry();
      throw;
    }
    for (size_t k = 0; k < order_.size(); ++k) slot(order_[k])->~Entry();
    order_ = std::move(moved_to);
    ctrl_ = std::move(ctrl);
    slots_ = std::move(slots);
    mask_ = mask;
    shift_ = shift;
  }

  void swap(CombineMap& o) noexcept {
    std::swap(ctrl_, o.ctrl_);
    std::swap(slots_, o.slots_);
    std::swap(order_, o.order_);
    std::swap(hashes_, o.hashes_);
    std::swap(mask_, o.mask_);
    std::swap(shift_, o.shift_);
  }

  // Raw, suitably aligned room for one Entry; constructed only where ctrl_ is non-zero.
  struct Storage {
    alignas(Entry) unsigned char bytes[sizeof(Entry)];
  };

  std::vector<uint8_t> ctrl_;         // per slot: 0 empty, else 0x80 | the hash's top 7 bits
  std::unique_ptr<Storage[]> slots_;  // the entries, at their probe positions
  std::vector<uint32_t> order_;       // slot of the e-th inserted entry
  std::vector<uint64_t> hashes_;      // stable_hash of the e-th inserted entry's key
  size_t mask_ = 0;
  int shift_ = 64;  // 64 - log2(capacity)
};

}  // namespace rill
