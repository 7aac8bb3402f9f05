// Keyed state per partition for update_state_by_key and map_with_state. Pure steps: the
// batch's (co-partitioned) records and the state in, the output and the new state out.
#pragma once

#include <optional>
#include <type_traits>
#include <vector>

#include "dataflow/graph.hpp"
#include "dataflow/ordered_map.hpp"
#include "dataflow/state_spec.hpp"

namespace rill::ops {

template <class K, class S>
struct KeyedState : NodeState {
  OrderedMap<K, S> states;
};

/// Spark's updateStateByKey: fn(new values, old state) -> new state for every key that has
/// state or new values; nullopt drops the key. Emits every key's state after the batch.
template <class K, class V, class S, class F>
std::vector<std::pair<K, S>> update_state_step(KeyedState<K, S>& st,
                                               const std::vector<std::pair<K, V>>& batch,
                                               const F& fn) {
  OrderedMap<K, std::vector<V>> grouped;
  for (const auto& [k, v] : batch)
    grouped.find_or_insert(k, [] { return std::vector<V>{}; }).first->push_back(v);
  static const std::vector<V> kNone;
  OrderedMap<K, std::optional<S>> next;
  for (auto& [k, s] : st.states.entries()) {
    const std::vector<V>* vs = grouped.find(k);
    std::optional<S> old(std::move(s));
    next.find_or_insert(k, [&] { return fn(vs ? *vs : kNone, old); });
  }
  for (const auto& [k, vs] : grouped.entries())
    if (st.states.find(k) == nullptr) next.find_or_insert(k, [&] { return fn(vs, std::optional<S>{}); });
  st.states = OrderedMap<K, S>{};
  for (auto& [k, s] : next.entries())
    if (s) st.states.find_or_insert(k, [&] { return std::move(*s); });
  return st.states.entries();
}

/// map_with_state's state: values plus the batch time each key last saw data.
template <class K, class S>
struct MappedState : NodeState {
  OrderedMap<K, std::pair<S, Millis>> states;
};

/// One record of map_with_state's internal output: a mapped value, or a (key, state) snapshot.
template <class K, class S, class M>
struct MappedOrSnapshot {
  std::optional<M> mapped;
  std::optional<std::pair<K, S>> snapshot;
};

template <class M, class R>
void emit_mapped(std::vector<M>& out, R&& r) {
  if constexpr (std::is_same_v<std::decay_t<R>, std::optional<M>>) {
    if (r) out.push_back(std::move(*r));
  } else {
    out.push_back(std::forward<R>(r));
  }
}

/// Calls fn once per record in order, then once for each key idle >= timeout (timing out),
/// and returns the mapped values followed by a snapshot of every key's state.
template <class K, class V, class S, class M, class F>
std::vector<MappedOrSnapshot<K, S, M>> map_with_state_step(
    MappedState<K, S>& st, const std::vector<std::pair<K, V>>& batch, Millis t,
    const StateSpec<F>& spec) {
  std::vector<M> mapped;
  static constexpr Millis kRemoved = Millis::min();  // marks a key removed during this batch
  for (const auto& [k, v] : batch) {
    auto* slot = st.states.find(k);
    bool exists = slot != nullptr && slot->second != kRemoved;
    State<S> state(exists ? std::optional<S>(slot->first) : std::nullopt, false);
    emit_mapped<M>(mapped, spec.function(k, std::optional<V>(v), state));
    if (state.slot()) {
      auto [p, inserted] =
          st.states.find_or_insert(k, [&] { return std::pair<S, Millis>{*state.slot(), t}; });
      if (!inserted) *p = {std::move(*state.slot()), t};
    } else if (slot != nullptr) {
      slot->second = kRemoved;
    }
  }
  st.states.retain_if([](const auto& e) { return e.second.second != kRemoved; });
  if (spec.timeout.count() > 0) {
    for (auto& [k, s] : st.states.entries()) {
      // As Spark: a key times out once it has been idle for longer than the timeout.
      if (t - s.second <= spec.timeout) continue;
      State<S> state(s.first, true);
      emit_mapped<M>(mapped, spec.function(k, std::optional<V>{}, state));
      s.second = kRemoved;
    }
    st.states.retain_if([](const auto& e) { return e.second.second != kRemoved; });
  }
  std::vector<MappedOrSnapshot<K, S, M>> out;
  out.reserve(mapped.size() + st.states.size());
  for (auto& m : mapped) out.push_back({std::move(m), std::nullopt});
  for (const auto& [k, s] : st.states.entries()) out.push_back({std::nullopt, std::pair<K, S>{k, s.first}});
  return out;
}

}  // namespace rill::ops
