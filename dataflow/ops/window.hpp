// Window state per partition: the slices a window still needs, and the inverse form's running
// aggregate. Pure: each step takes the parent's output at t and returns the window's at t.
#pragma once

#include <deque>
#include <functional>
#include <utility>
#include <vector>

#include "dataflow/graph.hpp"
#include "dataflow/ops/exchange.hpp"
#include "dataflow/ordered_map.hpp"

namespace rill::ops {

/// The parent's outputs at the batch times inside (t - length, t].
struct WindowSlices : NodeState {
  std::deque<std::pair<Millis, AnyPart>> slices;

  /// Adds the slice at t (null: the parent produced nothing) and drops slices that left.
  void step(Millis t, AnyPart part, Millis length) {
    if (part) slices.emplace_back(t, std::move(part));
    while (!slices.empty() && slices.front().first <= t - length) slices.pop_front();
  }
};

/// window(length, slide): the union of the slices, emitted at the window's slide times.
template <class T>
AnyPart window_step(WindowSlices& s, const TaskContext& ctx, const AnyPart& in, Millis length,
                    Millis slide) {
  s.step(ctx.time, in, length);
  if (!on_grid(ctx.time, ctx.zero, slide)) return nullptr;
  std::vector<AnyPart> parts;
  for (const auto& [t, p] : s.slices) parts.push_back(p);
  return concat_parts<T>(parts);
}

/// reduce_by_key_and_window with an inverse function: the aggregate over the window is kept
/// and updated by adding the new slice and subtracting slices that left, so the cost per batch
/// is independent of the window length.
template <class K, class V>
struct InverseWindowState : NodeState {
  std::deque<std::pair<Millis, std::vector<std::pair<K, V>>>> slices;
  OrderedMap<K, V> aggregate;
};

template <class K, class V, class F, class InvF, class Filter>
AnyPart inverse_window_step(InverseWindowState<K, V>& s, const TaskContext& ctx,
                            const AnyPart& in, Millis length, Millis slide, const F& reduce,
                            const InvF& inverse, const Filter& keep) {
  if (in) {
    const auto& slice = part_cast<std::pair<K, V>>(in);
    for (const auto& [k, v] : slice) s.aggregate.upsert(k, v, reduce);
    s.slices.emplace_back(ctx.time, slice);
  }
  while (!s.slices.empty() && s.slices.front().first <= ctx.time - length) {
    for (const auto& [k, v] : s.slices.front().second)
      if (V* agg = s.aggregate.find(k)) *agg = inverse(std::move(*agg), v);
    s.slices.pop_front();
  }
  if (!on_grid(ctx.time, ctx.zero, slide)) return nullptr;
  // The filter prunes state as well as output, as Spark's previous-window RDD is filtered.
  s.aggregate.retain_if([&](const std::pair<K, V>& kv) { return keep(kv); });
  return make_part(s.aggregate.entries());
}

}  // namespace rill::ops
