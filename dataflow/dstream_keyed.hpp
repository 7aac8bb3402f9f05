// Definitions of DStream's keyed transformations (T = std::pair<K, V>): shuffles by a stable
// key hash, joins, state and keyed windows. Declared in dstream.hpp.
#pragma once

#include "dataflow/dstream.hpp"

namespace rill {

template <class T>
template <class F>
DStream<T> DStream<T>::reduce_by_key(F f, int partitions) const requires detail::is_pair_v<T> {
  using K = typename T::first_type;
  using V = typename T::second_type;
  Edge e = exchange([f](const AnyPart& p, int n) {
    return ops::combine_and_split<K, V>(part_cast<T>(p), n, f);
  });
  // Shared by this edge's tasks (any thread): a sizing hint only, see CombineBuckets.
  auto size_hint = std::make_shared<std::atomic<size_t>>(0);
  e.push_split = [f, size_hint](int n) -> std::unique_ptr<BucketBuilder> {
    return std::make_unique<ops::CombineBuckets<K, V, F>>(n, f, size_hint);
  };
  return derive<T>(Node{.kind = "reduce_by_key", .inputs = {e}, .partitions = keyed_partitions(partitions),
                        .compute = [f](const TaskContext&, std::span<const AnyPart> in, NodeState*) {
                          return make_part(ops::reduce_by_key<K, V>(part_cast<T>(in[0]), f));
                        }});
}

template <class T>
auto DStream<T>::group_by_key(int partitions) const requires detail::is_pair_v<T> {
  using K = typename T::first_type;
  using V = typename T::second_type;
  using R = std::pair<K, std::vector<V>>;
  return derive<R>(Node{.kind = "group_by_key", .inputs = {hash_exchange()},
                        .partitions = keyed_partitions(partitions),
                        .compute = [](const TaskContext&, std::span<const AnyPart> in, NodeState*) {
                          return make_part(ops::group_by_key<K, V>(part_cast<T>(in[0])));
                        }});
}

template <class T>
template <class Create, class MergeValue, class MergeCombiners>
auto DStream<T>::combine_by_key(Create create, MergeValue merge_value, MergeCombiners merge_combiners,
                                int partitions) const requires detail::is_pair_v<T> {
  using K = typename T::first_type;
  using V = typename T::second_type;
  using C = std::decay_t<std::invoke_result_t<Create&, const V&>>;
  using R = std::pair<K, C>;
  // Map side builds combiners; the reduce side merges combiners from every upstream partition.
  Edge e{node_, Edge::Kind::exchange,
         [create, merge_value](const AnyPart& p, int n) {
           return ops::split_by_key(ops::combine_values<K, V, C>(part_cast<T>(p), create, merge_value), n);
         },
         [](std::span<const AnyPart> b) { return ops::concat_parts<R>(b); }};
  return derive<R>(Node{.kind = "combine_by_key", .inputs = {e}, .partitions = keyed_partitions(partitions),
                        .compute = [merge_combiners](const TaskContext&, std::span<const AnyPart> in,
                                                     NodeState*) {
                          return make_part(ops::reduce_by_key<K, C>(part_cast<R>(in[0]), merge_combiners));
                        }});
}

template <class T>
template <class F>
auto DStream<T>::map_values(F f) const requires detail::is_pair_v<T> {
  using K = typename T::first_type;
  return map([f](const T& kv) { return std::pair<K, std::decay_t<decltype(f(kv.second))>>{kv.first, f(kv.second)}; });
}

template <class T>
template <class F>
auto DStream<T>::flat_map_values(F f) const requires detail::is_pair_v<T> {
  using K = typename T::first_type;
  using W = typename std::decay_t<std::invoke_result_t<F&, const typename T::second_type&>>::value_type;
  return flat_map([f](const T& kv) {
    std::vector<std::pair<K, W>> out;
    for (auto&& w : f(kv.second)) out.emplace_back(kv.first, std::move(w));
    return out;
  });
}

namespace detail {

// Co-partitions both sides by key and runs fn(left, right) on each partition.
template <class R, class L, class Rt, class Fn>
DStream<R> keyed_binary(const DStream<L>& left, const DStream<Rt>& right, int partitions,
                        const char* kind, Fn fn) {
  return left.template derive<R>(
      Node{.kind = kind, .inputs = {left.hash_exchange(), right.hash_exchange()},
           .partitions = left.keyed_partitions(partitions),
           .compute = [fn](const TaskContext&, std::span<const AnyPart> in, NodeState*) {
             static const std::vector<L> kNoL;
             static const std::vector<Rt> kNoR;
             return make_part(fn(in[0] ? part_cast<L>(in[0]) : kNoL, in[1] ? part_cast<Rt>(in[1]) : kNoR));
           }});
}

template <class T, class Other>
auto join_of(const DStream<T>& l, const Other& r, int partitions, ops::JoinKind kind, const char* name) {
  using W = typename Other::value_type::second_type;
  using K = typename T::first_type;
  using V = typename T::second_type;
  using R = std::pair<K, std::pair<std::optional<V>, std::optional<W>>>;
  return keyed_binary<R>(l, r, partitions, name, [kind](const auto& a, const auto& b) {
    return ops::join_optional<K, V, W>(a, b, kind);
  });
}

}  // namespace detail

template <class T>
template <class Other>
auto DStream<T>::join(const Other& other, int partitions) const requires detail::is_pair_v<T> {
  using W = typename Other::value_type::second_type;
  using K = typename T::first_type;
  using V = typename T::second_type;
  return detail::join_of(*this, other, partitions, ops::JoinKind::inner, "join")
      .map([](const auto& kv) { return std::pair<K, std::pair<V, W>>{kv.first, {*kv.second.first, *kv.second.second}}; });
}

template <class T>
template <class Other>
auto DStream<T>::left_outer_join(const Other& other, int partitions) const requires detail::is_pair_v<T> {
  using W = typename Other::value_type::second_type;
  using K = typename T::first_type;
  using V = typename T::second_type;
  return detail::join_of(*this, other, partitions, ops::JoinKind::left_outer, "left_outer_join")
      .map([](const auto& kv) {
        return std::pair<K, std::pair<V, std::optional<W>>>{kv.first, {*kv.second.first, kv.second.second}};
      });
}

template <class T>
template <class Other>
auto DStream<T>::right_outer_join(const Other& other, int partitions) const requires detail::is_pair_v<T> {
  using W = typename Other::value_type::second_type;
  using K = typename T::first_type;
  using V = typename T::second_type;
  return detail::join_of(*this, other, partitions, ops::JoinKind::right_outer, "right_outer_join")
      .map([](const auto& kv) {
        return std::pair<K, std::pair<std::optional<V>, W>>{kv.first, {kv.second.first, *kv.second.second}};
      });
}

template <class T>
template <class Other>
auto DStream<T>::full_outer_join(const Other& other, int partitions) const requires detail::is_pair_v<T> {
  return detail::join_of(*this, other, partitions, ops::JoinKind::full_outer, "full_outer_join");
}

template <class T>
template <class Other>
auto DStream<T>::cogroup(const Other& other, int partitions) const requires detail::is_pair_v<T> {
  using W = typename Other::value_type::second_type;
  using K = typename T::first_type;
  using V = typename T::second_type;
  using R = std::pair<K, std::pair<std::vector<V>, std::vector<W>>>;
  return detail::keyed_binary<R>(*this, other, partitions, "cogroup",
                                 [](const auto& a, const auto& b) { return ops::cogroup<K, V, W>(a, b); });
}

template <class T>
template <class F>
auto DStream<T>::update_state_by_key(F f, int partitions) const requires detail::is_pair_v<T> {
  using K = typename T::first_type;
  using V = typename T::second_type;
  using S = typename detail::result_t<F>::value_type;  // f returns std::optional<S>
  using R = std::pair<K, S>;
  return derive<R>(Node{.kind = "update_state_by_key", .inputs = {hash_exchange()},
                        .partitions = keyed_partitions(partitions),
                        .compute = [f](const TaskContext&, std::span<const AnyPart> in, NodeState* st) {
                          static const std::vector<T> kNone;
                          return make_part(ops::update_state_step<K, V, S>(
                              static_cast<ops::KeyedState<K, S>&>(*st), in[0] ? part_cast<T>(in[0]) : kNone, f));
                        },
                        .make_state = [] { return std::make_unique<ops::KeyedState<K, S>>(); }});
}

template <class T>
template <class F>
DStream<T> DStream<T>::reduce_by_key_and_window(F f, Millis length, Millis slide, int partitions) const
    requires detail::is_pair_v<T> {
  using K = typename T::first_type;
  using V = typename T::second_type;
  // Reduce each batch, window the reduced slices, reduce again: no second shuffle.
  return reduce_by_key(f, partitions).window(length, slide).map_partitions([f](const std::vector<T>& v) {
    return ops::reduce_by_key<K, V>(v, f);
  });
}

template <class T>
template <class F, class G, class Keep>
DStream<T> DStream<T>::reduce_by_key_and_window(F f, G inverse, Millis length, Millis slide,
                                                int partitions, Keep keep) const
    requires detail::is_pair_v<T> {
  using K = typename T::first_type;
  using V = typename T::second_type;
  DStream<T> reduced = reduce_by_key(f, partitions);
  slide = reduced.window_slide(length, slide);
  std::function<bool(const T&)> keep_fn = [](const T&) { return true; };
  if constexpr (!std::is_same_v<Keep, std::nullptr_t>) keep_fn = keep;
  return reduced.template derive<T>(
      Node{.kind = "reduce_by_key_and_window", .inputs = {reduced.one_to_one()}, .slide = slide,
           .compute = [f, inverse, keep_fn, length, slide](const TaskContext& ctx, std::span<const AnyPart> in,
                                                           NodeState* st) {
             return ops::inverse_window_step(static_cast<ops::InverseWindowState<K, V>&>(*st), ctx, in[0],
                                             length, slide, f, inverse, keep_fn);
           },
           .make_state = [] { return std::make_unique<ops::InverseWindowState<K, V>>(); },
           .params = "length=" + to_string(length)});
}

template <class T>
auto DStream<T>::group_by_key_and_window(Millis length, Millis slide, int partitions) const
    requires detail::is_pair_v<T> {
  return window(length, slide).group_by_key(partitions);
}

}  // namespace rill

#include "dataflow/map_with_state.hpp"
