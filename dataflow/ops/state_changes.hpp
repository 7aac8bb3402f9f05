// Change tracking behind incremental NodeState snapshots: which keys of a state map and which
// window slices changed since the last snapshot, and how snapshot records are applied back.
// Members of one NodeState: owned by the task that runs the partition.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataflow/ordered_map.hpp"
#include "dataflow/record_columns.hpp"
#include "dataflow/time.hpp"

namespace rill::ops {

/// Decodes one snapshot's records, naming the snapshot in errors.
template <class Record>
Result<std::vector<Record>> decode_snapshot(const DecodeColumns& in) {
  // Snapshots are read back from our own store; the bound only stops leafless-element loops.
  auto records = decode_records<Record>(in, std::max<uint64_t>(in.record_count, uint64_t{1} << 24));
  if (!records) {
    return Status(records.status().code(), "state snapshot of " + type_signature<Record>() + ": " +
                                               records.status().message());
  }
  return records;
}

/// The keys of one OrderedMap changed since the last snapshot. A key dropped from the map at
/// any point is written as a tombstone, ahead of its live entry if it came back, and live
/// entries are written in map order: so a restored map holds the same entries in the same order
/// (which the operators' output order depends on). Tracks nothing until the first snapshot, so
/// jobs without checkpoints pay one branch per change.
template <class K>
class KeyChanges {
 public:
  bool tracking() const { return tracking_; }
  /// Call before the map changes: forgets the keys the previous snapshot wrote, whose columns
  /// borrowed tombstone keys from here until now.
  void begin_step() {
    if (written_) keys_ = OrderedMap<K, bool>{};
    written_ = false;
  }
  /// The key's value changed, or the key was added.
  void touched(const K& key) {
    if (tracking_) keys_.find_or_insert(key, [] { return false; });
  }
  /// The key was dropped from the map.
  void removed(const K& key) {
    if (tracking_) *keys_.find_or_insert(key, [] { return true; }).first = true;
  }
  /// After a restore the state is where the last snapshot left it: track from here.
  void restored() {
    keys_ = OrderedMap<K, bool>{};
    tracking_ = true;
    written_ = false;
  }

  /// Calls write(key, const V* value) for each change (value null: tombstone), or for every
  /// entry when full or when nothing was tracked yet. Returns the number of calls.
  template <class V, class Write>
  size_t write(const OrderedMap<K, V>& map, bool full, Write&& write) {
    begin_step();
    size_t n = 0;
    if (full || !tracking_) {
      for (const auto& [key, value] : map.entries()) write(key, &value);
      n = map.size();
    } else {
      std::vector<std::pair<std::ptrdiff_t, const K*>> live;
      for (const auto& [key, was_removed] : keys_.entries()) {
        if (was_removed) {
          write(key, static_cast<const V*>(nullptr));
          ++n;
        }
        if (const std::ptrdiff_t i = map.index_of(key); i >= 0) live.emplace_back(i, &key);
      }
      std::sort(live.begin(), live.end());
      for (const auto& [i, key] : live) write(*key, &map.entries()[static_cast<size_t>(i)].second);
      n += live.size();
    }
    tracking_ = true;
    written_ = true;
    return n;
  }

 private:
  OrderedMap<K, bool> keys_;  // key -> dropped from the map since the last snapshot
  bool tracking_ = false;
  bool written_ = false;
};

/// Applies keyed snapshot records (key, value or nullopt for a tombstone) to `map`: every
/// tombstone first, in one pass, then the live entries in order, which is how KeyChanges wrote
/// them. as_value turns a record's value into the map's.
template <class K, class V, class X, class AsValue>
void apply_keyed(OrderedMap<K, V>& map, std::vector<std::pair<K, std::optional<X>>>& records,
                 AsValue&& as_value) {
  OrderedMap<K, bool> dead;
  for (const auto& [key, value] : records)
    if (!value) dead.find_or_insert(key, [] { return true; });
  if (!dead.empty()) {
    map.retain_if([&dead](const auto& e) { return dead.find(e.first) == nullptr; });
  }
  for (auto& [key, value] : records) {
    if (!value) continue;
    auto [slot, inserted] = map.find_or_insert(key, [&] { return as_value(std::move(*value)); });
    if (!inserted) *slot = as_value(std::move(*value));
  }
}

/// type_signature<Record>() when Record is a record type, else empty.
template <class Record>
std::string snapshot_type_of() {
  if constexpr (is_record_v<Record>) {
    return type_signature<Record>();
  } else {
    return {};
  }
}

/// Appends a keyed map's changes as Record = pair<K, optional<X>> entries: the key's leaves, a
/// presence flag, then write_value(value) (X's leaves). Walks Record's leaves without building
/// one, so the columns borrow from the map and `changes`. Returns the number of entries.
template <class Record, class K, class V, class WriteValue>
size_t write_keyed(const OrderedMap<K, V>& map, KeyChanges<K>& changes, bool full,
                   EncodeColumns& out, WriteValue&& write_value) {
  begin_records<Record>(out, 0);
  const size_t n = changes.write(map, full, [&out, &write_value](const K& key, const V* value) {
    visit_leaves(key, out);
    out.presence(value != nullptr);
    if (value) write_value(*value);
  });
  out.record_count += n;
  return n;
}

/// Decodes one snapshot written by write_keyed and applies it; the map is untouched on error.
template <class Record, class K, class V, class AsValue>
Status restore_keyed(const DecodeColumns& in, OrderedMap<K, V>& map, KeyChanges<K>& changes,
                     AsValue&& as_value) {
  auto records = decode_snapshot<Record>(in);
  if (!records) return records.status();
  apply_keyed(map, *records, as_value);
  changes.restored();
  return Status::ok();
}

/// The slices of a time-ordered window deque added (at the back) and dropped (from the front)
/// since the last snapshot. A delta is one "dropped up to t" tombstone and the fresh slices.
class SliceChanges {
 public:
  void added() { ++fresh_; }
  void dropped(Millis t, size_t left) {
    dropped_to_ = t;
    fresh_ = std::min(fresh_, left);
  }
  void restored() {
    fresh_ = 0;
    dropped_to_.reset();
    tracking_ = true;
  }

  /// Calls write(time, const X* slice) for the tombstone (slice null) and each fresh slice, or
  /// for every slice when full or when nothing was tracked yet. Returns the number of calls.
  template <class X, class Write>
  size_t write(const std::deque<std::pair<Millis, X>>& slices, bool full, Write&& write) {
    if (!tracking_) full = true;
    size_t n = 0;
    if (!full && dropped_to_) {
      write(*dropped_to_, static_cast<const X*>(nullptr));
      ++n;
    }
    for (size_t i = full ? 0 : slices.size() - fresh_; i < slices.size(); ++i, ++n)
      write(slices[i].first, &slices[i].second);
    restored();
    return n;
  }

 private:
  size_t fresh_ = 0;  // slices at the back added since the last snapshot
  std::optional<Millis> dropped_to_;
  bool tracking_ = false;
};

/// Applies slice snapshot records (time, slice or nullopt for "dropped up to time") to `slices`.
/// Slices must come in time order after those present; on error nothing is applied.
template <class X, class R, class AsSlice>
Status apply_slices(std::deque<std::pair<Millis, X>>& slices,
                    std::vector<std::pair<int64_t, std::optional<R>>>& records,
                    AsSlice&& as_slice) {
  std::optional<int64_t> last;
  if (!slices.empty()) last = slices.back().first.count();
  for (const auto& [t, slice] : records) {
    if (!slice) continue;
    if (last && t <= *last) {
      return Status(Errc::corrupt, "slice at " + std::to_string(t) + " ms does not follow " +
                                       std::to_string(*last) + " ms");
    }
    last = t;
  }
  for (auto& [t, slice] : records) {
    if (slice) {
      slices.emplace_back(Millis{t}, as_slice(std::move(*slice)));
    } else {
      while (!slices.empty() && slices.front().first <= Millis{t}) slices.pop_front();
    }
  }
  return Status::ok();
}

}  // namespace rill::ops
