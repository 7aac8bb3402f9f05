// Window state per partition: the slices a window still needs, and the inverse form's running
// aggregate. Pure: each step takes the parent's output at t and returns the window's at t.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataflow/graph.hpp"
#include "dataflow/ops/exchange.hpp"
#include "dataflow/ops/state_changes.hpp"
#include "dataflow/ordered_map.hpp"
#include "dataflow/record_columns.hpp"

namespace rill::ops {

/// A slice's weight in snapshot entries (NodeState::snapshot, live_entries): its records, at
/// least 1. Counting a slice as one entry made a 300-slice window look smaller than one batch's
/// delta, so the runtime rewrote the whole window (a full snapshot) every few batches.
inline size_t slice_weight(size_t records) { return records > 0 ? records : 1; }

/// The parent's outputs (parts of T) at the batch times inside (t - length, t]. Snapshots hold
/// the slices added since the last one and a tombstone for those that left.
template <class T>
struct WindowSlices : NodeState {
  /// One snapshot entry: (batch time in ms, the slice's records), or (t, nullopt): every slice
  /// up to t left the window.
  using Record = std::pair<int64_t, std::optional<std::vector<T>>>;
  static constexpr bool kSnapshots = is_record_v<Record>;

  std::deque<std::pair<Millis, AnyPart>> slices;
  SliceChanges changes;

  /// Adds the slice at t (null: the parent produced nothing) and drops slices that left.
  void step(Millis t, AnyPart part, Millis length) {
    if (part) {
      slices.emplace_back(t, std::move(part));
      changes.added();
    }
    while (!slices.empty() && slices.front().first <= t - length) {
      changes.dropped(slices.front().first, slices.size() - 1);
      slices.pop_front();
    }
  }

  bool can_snapshot() const override { return kSnapshots; }
  std::string snapshot_type() const override { return snapshot_type_of<Record>(); }
  size_t live_entries() const override {
    size_t n = 0;
    for (const auto& [t, part] : slices) n += slice_weight(part_cast<T>(part).size());
    return n;
  }
  /// The columns borrow the slices' records: valid until the next step, snapshot or restore.
  /// Returns the entries written, a slice weighing slice_weight() (record_count counts it once).
  size_t snapshot(bool full, EncodeColumns& out) override {
    if constexpr (kSnapshots) {
      begin_records<Record>(out, 0);
      size_t weight = 0;
      const size_t n = changes.write(slices, full, [&out, &weight](Millis t, const AnyPart* part) {
        out.integer(t.count());
        out.presence(part != nullptr);
        if (part) visit_leaves(part_cast<T>(*part), out);
        weight += slice_weight(part ? part_cast<T>(*part).size() : 0);
      });
      out.record_count += n;
      return weight;
    } else {
      return NodeState::snapshot(full, out);
    }
  }
  Status restore(const DecodeColumns& in) override {
    if constexpr (kSnapshots) {
      auto records = decode_snapshot<Record>(in);
      if (!records) return records.status();
      Status applied = apply_slices(slices, *records,
                                    [](std::vector<T>&& v) { return make_part(std::move(v)); });
      if (applied) changes.restored();
      return applied;
    } else {
      return NodeState::restore(in);
    }
  }
};

/// window(length, slide): the union of the slices, emitted at the window's slide times.
template <class T>
AnyPart window_step(WindowSlices<T>& s, const TaskContext& ctx, const AnyPart& in, Millis length,
                    Millis slide) {
  s.step(ctx.time, in, length);
  if (!on_grid(ctx.time, ctx.zero, slide)) return nullptr;
  std::vector<AnyPart> parts;
  for (const auto& [t, p] : s.slices) parts.push_back(p);
  return concat_parts<T>(parts);
}

/// reduce_by_key_and_window with an inverse function: the aggregate over the window is kept
/// and updated by adding the new slice and subtracting slices that left, so the cost per batch
/// is independent of the window length. Snapshots hold the slice changes and the aggregate's
/// changed and pruned keys, so a restore resumes the exact running values (no float drift).
template <class K, class V>
struct InverseWindowState : NodeState {
  using Slice = std::vector<std::pair<K, V>>;
  /// A slice entry: (batch time in ms, the slice), or (t, nullopt): slices up to t left.
  using SliceRecord = std::pair<int64_t, std::optional<Slice>>;
  /// An aggregate entry: a key's running value, or nullopt when the filter pruned the key.
  using KeyRecord = std::pair<K, std::optional<V>>;
  /// One snapshot entry: exactly one of the two is set.
  using Record = std::pair<std::optional<SliceRecord>, std::optional<KeyRecord>>;
  static constexpr bool kSnapshots = is_record_v<Record>;

  std::deque<std::pair<Millis, Slice>> slices;
  OrderedMap<K, V> aggregate;
  SliceChanges slice_changes;
  KeyChanges<K> key_changes;

  bool can_snapshot() const override { return kSnapshots; }
  std::string snapshot_type() const override { return snapshot_type_of<Record>(); }
  size_t live_entries() const override {
    size_t n = aggregate.size();
    for (const auto& [t, slice] : slices) n += slice_weight(slice.size());
    return n;
  }
  /// The columns borrow slices and keys: valid until the next step, snapshot or restore.
  /// Returns the entries written, a slice weighing slice_weight() (record_count counts it once).
  size_t snapshot(bool full, EncodeColumns& out) override;
  Status restore(const DecodeColumns& in) override;
};

template <class K, class V>
size_t InverseWindowState<K, V>::snapshot(bool full, EncodeColumns& out) {
  if constexpr (kSnapshots) {
    // Record's leaves, walked without building records: presence of each half, then its own.
    begin_records<Record>(out, 0);
    size_t weight = 0;
    size_t n = slice_changes.write(slices, full, [&out, &weight](Millis t, const Slice* slice) {
      out.presence(true);
      out.integer(t.count());
      out.presence(slice != nullptr);
      if (slice) visit_leaves(*slice, out);
      out.presence(false);
      weight += slice_weight(slice ? slice->size() : 0);
    });
    const size_t keys = key_changes.write(aggregate, full, [&out](const K& key, const V* value) {
      out.presence(false);
      out.presence(true);
      visit_leaves(key, out);
      out.presence(value != nullptr);
      if (value) visit_leaves(*value, out);
    });
    out.record_count += n + keys;
    return weight + keys;
  } else {
    return NodeState::snapshot(full, out);
  }
}

template <class K, class V>
Status InverseWindowState<K, V>::restore(const DecodeColumns& in) {
  if constexpr (kSnapshots) {
    auto records = decode_snapshot<Record>(in);
    if (!records) return records.status();
    std::vector<SliceRecord> slice_records;
    std::vector<KeyRecord> key_records;
    for (size_t i = 0; i < records->size(); ++i) {
      auto& [slice, key] = (*records)[i];
      if (slice.has_value() == key.has_value()) {
        const char* what = slice ? "both a slice and a key" : "neither a slice nor a key";
        return Status(Errc::corrupt, "state snapshot of " + snapshot_type() + ": entry " +
                                         std::to_string(i) + " holds " + what);
      }
      if (slice) slice_records.push_back(std::move(*slice));
      if (key) key_records.push_back(std::move(*key));
    }
    const auto same = [](auto&& x) { return std::move(x); };
    if (Status applied = apply_slices(slices, slice_records, same); !applied) return applied;
    apply_keyed(aggregate, key_records, same);
    slice_changes.restored();
    key_changes.restored();
    return Status::ok();
  } else {
    return NodeState::restore(in);
  }
}

template <class K, class V, class F, class InvF, class Filter>
AnyPart inverse_window_step(InverseWindowState<K, V>& s, const TaskContext& ctx,
                            const AnyPart& in, Millis length, Millis slide, const F& reduce,
                            const InvF& inverse, const Filter& keep) {
  s.key_changes.begin_step();
  if (in) {
    const auto& slice = part_cast<std::pair<K, V>>(in);
    for (const auto& [k, v] : slice) {
      s.aggregate.upsert(k, v, reduce);
      s.key_changes.touched(k);
    }
    s.slices.emplace_back(ctx.time, slice);
    s.slice_changes.added();
  }
  while (!s.slices.empty() && s.slices.front().first <= ctx.time - length) {
    for (const auto& [k, v] : s.slices.front().second) {
      if (V* agg = s.aggregate.find(k)) {
        *agg = inverse(std::move(*agg), v);
        s.key_changes.touched(k);
      }
    }
    s.slice_changes.dropped(s.slices.front().first, s.slices.size() - 1);
    s.slices.pop_front();
  }
  if (!on_grid(ctx.time, ctx.zero, slide)) return nullptr;
  // The filter prunes state as well as output, as Spark's previous-window RDD is filtered.
  s.aggregate.retain_if([&](const std::pair<K, V>& kv) {
    if (keep(kv)) return true;
    s.key_changes.removed(kv.first);
    return false;
  });
  return make_part(s.aggregate.entries());
}

}  // namespace rill::ops
