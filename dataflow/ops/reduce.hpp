// Keyed aggregation on one partition: reduce, combine, group, count by value. Pure functions:
// output order is each key's first appearance, so a re-run gives identical output.
#pragma once

#include <optional>
#include <vector>

#include "dataflow/ordered_map.hpp"

namespace rill::ops {

/// Reduce functions must be associative and commutative (as in Spark): they run map-side too.
template <class K, class V, class F>
std::vector<std::pair<K, V>> reduce_by_key(const std::vector<std::pair<K, V>>& in, const F& f) {
  OrderedMap<K, V> m;
  for (const auto& [k, v] : in) m.upsert(k, v, f);
  return m.take_entries();
}

template <class K, class V>
std::vector<std::pair<K, std::vector<V>>> group_by_key(const std::vector<std::pair<K, V>>& in) {
  OrderedMap<K, std::vector<V>> m;
  for (const auto& [k, v] : in)
    m.find_or_insert(k, [] { return std::vector<V>{}; }).first->push_back(v);
  return m.take_entries();
}

/// Spark's combineByKey: create a combiner from a key's first value, fold values into it.
template <class K, class V, class C, class Create, class MergeValue>
std::vector<std::pair<K, C>> combine_values(const std::vector<std::pair<K, V>>& in,
                                            const Create& create, const MergeValue& merge_value) {
  OrderedMap<K, C> m;
  for (const auto& [k, v] : in) {
    auto [c, inserted] = m.find_or_insert(k, [&] { return create(v); });
    if (!inserted) *c = merge_value(std::move(*c), v);
  }
  return m.take_entries();
}

template <class T>
std::vector<std::pair<T, int64_t>> count_by_value(const std::vector<T>& in) {
  OrderedMap<T, int64_t> m;
  for (const auto& x : in) ++*m.find_or_insert(x, [] { return int64_t{0}; }).first;
  return m.take_entries();
}

/// Folds every record with f; nullopt for an empty partition.
template <class T, class F>
std::optional<T> reduce(const std::vector<T>& in, const F& f) {
  if (in.empty()) return std::nullopt;
  T acc = in.front();
  for (size_t i = 1; i < in.size(); ++i) acc = f(std::move(acc), in[i]);
  return acc;
}

}  // namespace rill::ops
