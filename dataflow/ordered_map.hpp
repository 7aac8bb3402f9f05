// A hash map that iterates in first-insertion order and hashes with the stable hash, so output
// built from it is identical on every re-run of a batch. One owner; not thread-safe.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "dataflow/stable_hash.hpp"

namespace rill {

/// Entries live in a vector (iteration order = insertion order, cache-friendly); an
/// open-addressing index of entry positions finds them without storing keys twice.
template <class K, class V>
class OrderedMap {
 public:
  using Entry = std::pair<K, V>;

  size_t size() const { return entries_.size(); }
  bool empty() const { return entries_.empty(); }
  std::vector<Entry>& entries() { return entries_; }
  const std::vector<Entry>& entries() const { return entries_; }
  /// Leaves the map empty and returns its entries in insertion order.
  std::vector<Entry> take_entries() {
    slots_.clear();
    hashes_.clear();
    return std::move(entries_);
  }
  void reserve(size_t n) {
    entries_.reserve(n);
    hashes_.reserve(n);
    if (n * 2 > slots_.size()) rehash(n * 2);
  }

  /// Position of key's entry in entries(), or -1 when absent.
  std::ptrdiff_t index_of(const K& key) const {
    if (entries_.empty()) return -1;
    uint64_t h = stable_hash(key);
    for (size_t i = h & mask_;; i = (i + 1) & mask_) {
      const uint64_t s = slots_[i];
      if (s == 0) return -1;
      if (same_tag(s, h) && entries_[entry_of(s)].first == key) return static_cast<std::ptrdiff_t>(entry_of(s));
    }
  }
  V* find(const K& key) {
    const std::ptrdiff_t i = index_of(key);
    return i < 0 ? nullptr : &entries_[static_cast<size_t>(i)].second;
  }
  const V* find(const K& key) const { return const_cast<OrderedMap*>(this)->find(key); }

  /// The value for key, inserting make() when absent. Returns (value, inserted).
  template <class Make>
  std::pair<V*, bool> find_or_insert(const K& key, Make&& make) {
    return insert_impl(key, make);
  }
  /// As above, moving key into the map when it is inserted.
  template <class Make>
  std::pair<V*, bool> find_or_insert(K&& key, Make&& make) {
    return insert_impl(std::move(key), make);
  }

  /// Inserts (key, value), or sets the existing value to merge(old, value).
  template <class Key, class Merge>
  void upsert(Key&& key, V value, Merge&& merge) {
    auto [v, inserted] = find_or_insert(std::forward<Key>(key), [&] { return std::move(value); });
    if (!inserted) *v = merge(std::move(*v), std::move(value));
  }

  /// stable_hash of entries()[i].first, kept from its insertion.
  uint64_t hash_at(size_t i) const { return hashes_[i]; }

  /// Keeps the entries for which keep(entry) is true, in their order.
  template <class Pred>
  void retain_if(Pred&& keep) {
    size_t out = 0;
    for (size_t i = 0; i < entries_.size(); ++i) {
      if (!keep(entries_[i])) continue;
      if (out != i) {
        entries_[out] = std::move(entries_[i]);
        hashes_[out] = hashes_[i];
      }
      ++out;
    }
    if (out == entries_.size()) return;
    entries_.resize(out);
    hashes_.resize(out);
    rehash(slots_.size());
  }

 private:
  template <class Key, class Make>
  std::pair<V*, bool> insert_impl(Key&& key, Make& make) {
    if ((entries_.size() + 1) * 2 > slots_.size()) rehash(std::max<size_t>(16, slots_.size() * 2));
    uint64_t h = stable_hash(key);
    size_t i = h & mask_;
    for (;; i = (i + 1) & mask_) {
      const uint64_t s = slots_[i];
      if (s == 0) break;
      if (same_tag(s, h) && entries_[entry_of(s)].first == key) return {&entries_[entry_of(s)].second, false};
    }
    entries_.emplace_back(std::forward<Key>(key), make());
    hashes_.push_back(h);
    slots_[i] = slot_of(entries_.size() - 1, h);
    return {&entries_.back().second, true};
  }

  static uint64_t slot_of(size_t entry, uint64_t h) { return (h >> 32 << 32) | (entry + 1); }
  static size_t entry_of(uint64_t slot) { return static_cast<uint32_t>(slot) - size_t{1}; }
  static bool same_tag(uint64_t slot, uint64_t h) { return (slot >> 32) == (h >> 32); }

  void rehash(size_t n) {
    size_t cap = 16;
    while (cap < n) cap *= 2;
    slots_.assign(cap, 0);
    mask_ = cap - 1;
    for (size_t e = 0; e < hashes_.size(); ++e) {
      size_t i = hashes_[e] & mask_;
      while (slots_[i] != 0) i = (i + 1) & mask_;
      slots_[i] = slot_of(e, hashes_[e]);
    }
  }

  std::vector<Entry> entries_;
  std::vector<uint64_t> hashes_;  // hashes_[e] is stable_hash(entries_[e].first)
  // 0 = empty, else the hash's high 32 bits (a tag) over entry index + 1: a probe compares
  // tags in the slot array and touches an entry (another cache miss) only on a likely match.
  std::vector<uint64_t> slots_;
  size_t mask_ = 0;
};

}  // namespace rill
