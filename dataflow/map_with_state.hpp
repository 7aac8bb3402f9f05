// map_with_state: a DStream of mapped records that also offers the state snapshots stream
// (Spark's MapWithStateDStream). A handle; copy freely, define before start().
#pragma once

#include "dataflow/dstream.hpp"

namespace rill {

/// The stream map_with_state returns: its mapped records, plus state_snapshots().
template <class K, class V, class S, class M>
class MapWithStateDStream : public DStream<M> {
 public:
  /// A mapped record or a (key, state) snapshot, as the operator emits them.
  using Item = ops::MappedOrSnapshot<K, S, M>;
  /// Made by DStream::map_with_state.
  MapWithStateDStream(DStream<M> mapped, DStream<Item> internal)
      : DStream<M>(mapped), internal_(internal) {}
  /// Every key's (key, state) after each batch.
  DStream<std::pair<K, S>> state_snapshots() const {
    return internal_.flat_map([](const Item& i) {
      std::vector<std::pair<K, S>> out;
      if (i.snapshot) out.push_back(*i.snapshot);
      return out;
    });
  }

 private:
  DStream<Item> internal_;
};

template <class T>
template <class F>
auto DStream<T>::map_with_state(StateSpec<F> spec, int partitions) const requires detail::is_pair_v<T> {
  using K = typename T::first_type;
  using V = typename T::second_type;
  using S = typename detail::arg_t<F, 2>::value_type;  // State<S>&
  using M = typename detail::unwrap_optional<detail::result_t<F>>::type;
  using Item = ops::MappedOrSnapshot<K, S, M>;
  DStream<Item> internal = derive<Item>(
      Node{.kind = "map_with_state", .inputs = {hash_exchange()}, .partitions = keyed_partitions(partitions),
           .compute = [spec](const TaskContext& ctx, std::span<const AnyPart> in, NodeState* st) {
             static const std::vector<T> kNone;
             return make_part(ops::map_with_state_step<K, V, S, M>(
                 static_cast<ops::MappedState<K, S>&>(*st), in[0] ? part_cast<T>(in[0]) : kNone, ctx.time, spec));
           },
           .make_state = [] { return std::make_unique<ops::MappedState<K, S>>(); }});
  DStream<M> mapped = internal.flat_map([](const Item& i) {
    std::vector<M> out;
    if (i.mapped) out.push_back(*i.mapped);
    return out;
  });
  return MapWithStateDStream<K, V, S, M>(mapped, internal);
}

}  // namespace rill
