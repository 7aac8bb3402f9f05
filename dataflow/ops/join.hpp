// Joins and cogroup of two co-partitioned keyed partitions. Pure functions; output follows the
// left side's order, then (outer joins) right-only keys in their first-appearance order.
#pragma once

#include <optional>
#include <vector>

#include "dataflow/ordered_map.hpp"

namespace rill::ops {

enum class JoinKind { inner, left_outer, right_outer, full_outer };

/// All (k, (v, w)) with v from left, w from right; an outer side missing its match gets nullopt.
/// Inner join: std::optional is unwrapped by the caller (see join()).
template <class K, class V, class W>
std::vector<std::pair<K, std::pair<std::optional<V>, std::optional<W>>>> join_optional(
    const std::vector<std::pair<K, V>>& left, const std::vector<std::pair<K, W>>& right,
    JoinKind kind) {
  OrderedMap<K, std::vector<W>> by_key;
  for (const auto& [k, w] : right)
    by_key.find_or_insert(k, [] { return std::vector<W>{}; }).first->push_back(w);
  std::vector<std::pair<K, std::pair<std::optional<V>, std::optional<W>>>> out;
  bool keep_left = kind == JoinKind::left_outer || kind == JoinKind::full_outer;
  for (const auto& [k, v] : left) {
    const std::vector<W>* ws = by_key.find(k);
    if (ws == nullptr) {
      if (keep_left) out.push_back({k, {v, std::nullopt}});
      continue;
    }
    for (const W& w : *ws) out.push_back({k, {v, w}});
  }
  if (kind == JoinKind::right_outer || kind == JoinKind::full_outer) {
    OrderedMap<K, char> left_keys;
    for (const auto& kv : left) left_keys.find_or_insert(kv.first, [] { return char{1}; });
    for (const auto& [k, ws] : by_key.entries())
      if (left_keys.find(k) == nullptr)
        for (const W& w : ws) out.push_back({k, {std::nullopt, w}});
  }
  return out;
}

template <class K, class V, class W>
std::vector<std::pair<K, std::pair<std::vector<V>, std::vector<W>>>> cogroup(
    const std::vector<std::pair<K, V>>& left, const std::vector<std::pair<K, W>>& right) {
  OrderedMap<K, std::pair<std::vector<V>, std::vector<W>>> m;
  auto empty = [] { return std::pair<std::vector<V>, std::vector<W>>{}; };
  for (const auto& [k, v] : left) m.find_or_insert(k, empty).first->first.push_back(v);
  for (const auto& [k, w] : right) m.find_or_insert(k, empty).first->second.push_back(w);
  return m.take_entries();
}

}  // namespace rill::ops
