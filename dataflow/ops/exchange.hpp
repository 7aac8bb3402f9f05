// How records cross partitions: split by a stable key hash, gather to one partition, round
// robin; and the merge that concatenates buckets in upstream order. Pure functions.
#pragma once

#include <atomic>
#include <memory>
#include <vector>

#include "dataflow/combine_map.hpp"
#include "dataflow/graph.hpp"
#include "dataflow/ordered_map.hpp"
#include "dataflow/record_step.hpp"
#include "dataflow/stable_hash.hpp"

namespace rill::ops {

/// Concatenates buckets (skipping null ones) in the order given.
template <class T>
AnyPart concat_parts(std::span<const AnyPart> parts) {
  size_t n = 0;
  for (const AnyPart& p : parts)
    if (p) n += part_cast<T>(p).size();
  std::vector<T> out;
  out.reserve(n);
  for (const AnyPart& p : parts)
    if (p) {
      const auto& v = part_cast<T>(p);
      out.insert(out.end(), v.begin(), v.end());
    }
  return make_part(std::move(out));
}

/// Bucket of a key among n partitions: stable across processes, runs and machines.
template <class K>
int bucket_of(const K& key, int n) {
  return static_cast<int>(stable_hash(key) % static_cast<uint64_t>(n));
}

/// Splits pairs into buckets by key hash, keeping their relative order.
template <class K, class V>
std::vector<AnyPart> split_by_key(const std::vector<std::pair<K, V>>& in, int n) {
  std::vector<std::vector<std::pair<K, V>>> out(static_cast<size_t>(n));
  if (n == 1) {
    out[0] = in;
  } else {
    for (const auto& kv : in) out[static_cast<size_t>(bucket_of(kv.first, n))].push_back(kv);
  }
  std::vector<AnyPart> parts;
  for (auto& v : out) parts.push_back(make_part(std::move(v)));
  return parts;
}

/// Cuts a combine map into buckets by the key hashes it holds, moving the entries in their order.
template <class K, class V>
std::vector<AnyPart> split_combined(CombineMap<K, V>&& m, int n) {
  std::vector<AnyPart> parts;
  if (n == 1) {
    parts.push_back(make_part(m.take_entries()));
    return parts;
  }
  std::vector<std::vector<std::pair<K, V>>> out(static_cast<size_t>(n));
  for (auto& v : out) v.reserve(m.size() / static_cast<size_t>(n) + m.size() / 16 + 1);
  m.drain([&out, n](std::pair<K, V>& kv, uint64_t h) {
    out[h % static_cast<uint64_t>(n)].push_back(std::move(kv));
  });
  for (auto& v : out) parts.push_back(make_part(std::move(v)));
  return parts;
}

/// Map-side combine, then split: at most one pair per key leaves each partition.
template <class K, class V, class F>
std::vector<AnyPart> combine_and_split(const std::vector<std::pair<K, V>>& in, int n, const F& f) {
  CombineMap<K, V> m;
  for (const auto& [k, v] : in) m.upsert(k, v, f);
  return split_combined(std::move(m), n);
}

/// combine_and_split fed one pair at a time (Edge::push_split): the pairs are never stored.
/// size_hint, when set, holds the entry count a previous task ended with: the map starts at
/// that size (growing it from empty was ~4% of word count's time at 100 ms batches) and
/// finish() leaves its own count there. Output never depends on it.
template <class K, class V, class F>
class CombineBuckets final : public BucketBuilder {
 public:
  CombineBuckets(int buckets, F f, std::shared_ptr<std::atomic<size_t>> size_hint = nullptr)
      : buckets_(buckets), f_(std::move(f)), size_hint_(std::move(size_hint)) {
    if (size_hint_) map_.reserve(size_hint_->load(std::memory_order_relaxed));
  }
  void push(void* record) override {
    auto& kv = *static_cast<std::pair<K, V>*>(record);
    map_.upsert(std::move(kv.first), std::move(kv.second), f_);
  }
  std::vector<AnyPart> finish() override {
    if (size_hint_) size_hint_->store(map_.size(), std::memory_order_relaxed);
    return split_combined(std::move(map_), buckets_);
  }

 private:
  int buckets_;
  F f_;
  std::shared_ptr<std::atomic<size_t>> size_hint_;
  CombineMap<K, V> map_;
};

/// Everything to bucket 0 (count, reduce, transform, print of a whole batch).
template <class T>
std::vector<AnyPart> split_all_to_first(const AnyPart& in, int n) {
  std::vector<AnyPart> parts(static_cast<size_t>(n));
  parts[0] = in;
  for (int i = 1; i < n; ++i) parts[static_cast<size_t>(i)] = make_part(std::vector<T>{});
  return parts;
}

/// Round robin, starting at a fixed bucket, so a re-run splits the same way.
template <class T>
std::vector<AnyPart> split_round_robin(const std::vector<T>& in, int n) {
  std::vector<std::vector<T>> out(static_cast<size_t>(n));
  for (auto& v : out) v.reserve(in.size() / static_cast<size_t>(n) + 1);
  for (size_t i = 0; i < in.size(); ++i) out[i % static_cast<size_t>(n)].push_back(in[i]);
  std::vector<AnyPart> parts;
  for (auto& v : out) parts.push_back(make_part(std::move(v)));
  return parts;
}

}  // namespace rill::ops
