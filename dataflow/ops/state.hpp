// Keyed state per partition for update_state_by_key and map_with_state. Pure steps: the
// batch's (co-partitioned) records and the state in, the output and the new state out.
#pragma once

#include <concepts>
#include <optional>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include "dataflow/graph.hpp"
#include "dataflow/ops/state_changes.hpp"
#include "dataflow/ordered_map.hpp"
#include "dataflow/record_columns.hpp"
#include "dataflow/state_spec.hpp"

namespace rill::ops {

/// update_state_by_key's state. Snapshots hold the keys whose state changed (every live key
/// when S has no operator==), and tombstones for the keys fn dropped.
template <class K, class S>
struct KeyedState : NodeState {
  /// One snapshot entry: a key's state, or nullopt when the key was dropped.
  using Record = std::pair<K, std::optional<S>>;
  static constexpr bool kSnapshots = is_record_v<Record>;

  OrderedMap<K, S> states;
  KeyChanges<K> changes;

  bool can_snapshot() const override { return kSnapshots; }
  std::string snapshot_type() const override { return snapshot_type_of<Record>(); }
  size_t live_entries() const override { return states.size(); }
  /// The columns borrow keys and states: valid until the next step, snapshot or restore.
  size_t snapshot(bool full, EncodeColumns& out) override {
    if constexpr (kSnapshots) {
      return write_keyed<Record>(states, changes, full, out,
                                 [&out](const S& s) { visit_leaves(s, out); });
    } else {
      return NodeState::snapshot(full, out);
    }
  }
  Status restore(const DecodeColumns& in) override {
    if constexpr (kSnapshots) {
      return restore_keyed<Record>(in, states, changes, [](S&& s) { return std::move(s); });
    } else {
      return NodeState::restore(in);
    }
  }
};

/// Whether update_state_step counts new as a change from old: unequal, or S has no operator==.
template <class S>
bool state_changed(const S& old, const S& now) {
  if constexpr (std::equality_comparable<S>) {
    return !(old == now);
  } else {
    return true;
  }
}

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
  st.changes.begin_step();
  OrderedMap<K, std::optional<S>> next;
  for (auto& [k, s] : st.states.entries()) {
    const std::vector<V>* vs = grouped.find(k);
    std::optional<S> old(std::move(s));
    std::optional<S> now = fn(vs ? *vs : kNone, old);
    if (!now) {
      st.changes.removed(k);
    } else if (st.changes.tracking() && state_changed(*old, *now)) {
      st.changes.touched(k);
    }
    next.find_or_insert(k, [&] { return std::move(now); });
  }
  for (const auto& [k, vs] : grouped.entries()) {
    if (st.states.find(k) != nullptr) continue;
    std::optional<S> now = fn(vs, std::optional<S>{});
    if (now) st.changes.touched(k);
    next.find_or_insert(k, [&] { return std::move(now); });
  }
  st.states = OrderedMap<K, S>{};
  for (auto& [k, s] : next.entries())
    if (s) st.states.find_or_insert(k, [&] { return std::move(*s); });
  return st.states.entries();
}

/// map_with_state's state: values plus the batch time each key last saw data. Snapshots hold
/// the keys the batches touched, and tombstones for removed and timed-out keys.
template <class K, class S>
struct MappedState : NodeState {
  /// One snapshot entry: a key's state and last-seen time (ms), or nullopt when removed.
  using Record = std::pair<K, std::optional<std::pair<S, int64_t>>>;
  static constexpr bool kSnapshots = is_record_v<Record>;

  OrderedMap<K, std::pair<S, Millis>> states;
  KeyChanges<K> changes;

  bool can_snapshot() const override { return kSnapshots; }
  std::string snapshot_type() const override { return snapshot_type_of<Record>(); }
  size_t live_entries() const override { return states.size(); }
  /// The columns borrow keys and states: valid until the next step, snapshot or restore.
  size_t snapshot(bool full, EncodeColumns& out) override {
    if constexpr (kSnapshots) {
      return write_keyed<Record>(states, changes, full, out,
                                 [&out](const std::pair<S, Millis>& s) {
                                   visit_leaves(s.first, out);
                                   out.integer(s.second.count());
                                 });
    } else {
      return NodeState::snapshot(full, out);
    }
  }
  Status restore(const DecodeColumns& in) override {
    if constexpr (kSnapshots) {
      return restore_keyed<Record>(in, states, changes, [](std::pair<S, int64_t>&& s) {
        return std::pair<S, Millis>{std::move(s.first), Millis{s.second}};
      });
    } else {
      return NodeState::restore(in);
    }
  }
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
  st.changes.begin_step();
  const auto sweep = [&st](const auto& e) {
    if (e.second.second != kRemoved) return true;
    st.changes.removed(e.first);
    return false;
  };
  for (const auto& [k, v] : batch) {
    auto* slot = st.states.find(k);
    bool exists = slot != nullptr && slot->second != kRemoved;
    State<S> state(exists ? std::optional<S>(slot->first) : std::nullopt, false);
    emit_mapped<M>(mapped, spec.function(k, std::optional<V>(v), state));
    if (state.slot()) {
      auto [p, inserted] =
          st.states.find_or_insert(k, [&] { return std::pair<S, Millis>{*state.slot(), t}; });
      if (!inserted) *p = {std::move(*state.slot()), t};
      st.changes.touched(k);
    } else if (slot != nullptr) {
      slot->second = kRemoved;
    }
  }
  st.states.retain_if(sweep);
  if (spec.timeout.count() > 0) {
    for (auto& [k, s] : st.states.entries()) {
      // As Spark: a key times out once it has been idle for longer than the timeout.
      if (t - s.second <= spec.timeout) continue;
      State<S> state(s.first, true);
      emit_mapped<M>(mapped, spec.function(k, std::optional<V>{}, state));
      s.second = kRemoved;
    }
    st.states.retain_if(sweep);
  }
  std::vector<MappedOrSnapshot<K, S, M>> out;
  out.reserve(mapped.size() + st.states.size());
  for (auto& m : mapped) out.push_back({std::move(m), std::nullopt});
  for (const auto& [k, s] : st.states.entries()) out.push_back({std::nullopt, std::pair<K, S>{k, s.first}});
  return out;
}

}  // namespace rill::ops
