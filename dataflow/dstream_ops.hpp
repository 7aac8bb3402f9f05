// Definitions of DStream's general transformations and windows (declared in dstream.hpp).
// Each builds a Node whose compute calls a pure operator; see dataflow/ops/.
#pragma once

#include "dataflow/config_error.hpp"
#include "dataflow/dead_letter.hpp"
#include "dataflow/dstream.hpp"
#include "dataflow/part_codec.hpp"
#include "dataflow/record_step.hpp"
#include "dataflow/type_name.hpp"

namespace rill {

const JobGraph& context_graph(const StreamingContext& ctx);
int rename_stream(StreamingContext& ctx, int node, const std::string& name);

template <class T>
const JobGraph& DStream<T>::graph() const {
  return context_graph(*ctx_);
}

template <class T>
DStream<T>& DStream<T>::name(const std::string& name) {
  rename_stream(*ctx_, node_, name);
  return *this;
}

template <class T>
template <class U>
DStream<U> DStream<T>::derive(Node node) const {
  JobGraph& g = definition_graph(*ctx_, node.kind.c_str());
  if (node.slide.count() == 0) node.slide = g.node(node_).slide;
  if (node.partitions == 0) node.partitions = g.node(node_).partitions;
  if (node.type.empty()) node.type = type_name_of<U>();
  node.codec = part_codec_for<U>();
  for (const Edge& e : node.inputs)
    if (g.node(e.from).slide != node.slide && node.kind != "window" &&
        node.kind != "reduce_by_key_and_window")
      throw ConfigError(node.kind + ": streams '" + g.node(e.from).name + "' (slide " +
                        to_string(g.node(e.from).slide) + ") and the result (slide " +
                        to_string(node.slide) + ") must slide together");
  return DStream<U>(ctx_, g.add(std::move(node)));
}

template <class T>
int DStream<T>::keyed_partitions(int requested) const {
  if (requested < 0) throw ConfigError("partition count must be positive, got " + std::to_string(requested));
  return requested > 0 ? requested : graph().default_partitions();
}

template <class T>
template <class F>
auto DStream<T>::map(F f) const -> DStream<std::decay_t<std::invoke_result_t<F&, const T&>>> {
  using U = std::decay_t<std::invoke_result_t<F&, const T&>>;
  auto body = [f](const T& x, auto&& emit) { emit(f(x)); };
  return derive<U>(Node{.kind = "map", .inputs = {one_to_one()},
                        .compute = record_compute<T, U>(body, true),
                        .per_record = record_step<T, U>(body)});
}

template <class T>
template <class F>
auto DStream<T>::flat_map(F f) const
    -> DStream<typename std::decay_t<std::invoke_result_t<F&, const T&>>::value_type> {
  using U = typename std::decay_t<std::invoke_result_t<F&, const T&>>::value_type;
  auto body = [f](const T& x, auto&& emit) {
    // f returns before anything is emitted: a throw leaves no partial output.
    auto ys = f(x);
    for (auto&& y : ys) emit(std::move(y));
  };
  return derive<U>(Node{.kind = "flat_map", .inputs = {one_to_one()},
                        .compute = record_compute<T, U>(body, false),
                        .per_record = record_step<T, U>(body)});
}

template <class T>
template <class F>
DStream<T> DStream<T>::filter(F f) const {
  auto body = [f](const T& x, auto&& emit) {
    if (f(x)) emit(x);
  };
  return derive<T>(Node{.kind = "filter", .inputs = {one_to_one()},
                        .compute = record_compute<T, T>(body, false),
                        .per_record = record_step<T, T>(body)});
}

template <class T>
template <class F>
auto DStream<T>::map_partitions(F f) const
    -> DStream<typename std::invoke_result_t<F&, const std::vector<T>&>::value_type> {
  using U = typename std::invoke_result_t<F&, const std::vector<T>&>::value_type;
  return derive<U>(Node{.kind = "map_partitions", .inputs = {one_to_one()},
                        .compute = [f](const TaskContext&, std::span<const AnyPart> in, NodeState*) {
                          return make_part(std::vector<U>(f(part_cast<T>(in[0]))));
                        }});
}

template <class T>
DStream<T> DStream<T>::union_with(const DStream<T>& other) const {
  DStream<T> rhs = other.partitions() == partitions() ? other : other.repartition(partitions());
  return derive<T>(Node{.kind = "union", .inputs = {one_to_one(), rhs.one_to_one()},
                        .compute = [](const TaskContext&, std::span<const AnyPart> in, NodeState*) {
                          return ops::concat_parts<T>(in);
                        }});
}

template <class T>
DStream<T> DStream<T>::repartition(int n) const {
  if (n <= 0) throw ConfigError("repartition needs a positive count, got " + std::to_string(n));
  return derive<T>(Node{.kind = "repartition", .inputs = {exchange([](const AnyPart& p, int b) {
                          return ops::split_round_robin(part_cast<T>(p), b);
                        })},
                        .partitions = n,
                        .compute = [](const TaskContext&, std::span<const AnyPart> in, NodeState*) {
                          return in[0];
                        }});
}

template <class T>
DStream<int64_t> DStream<T>::count() const {
  // Each partition sends only its size; partition 0 of the result adds them up.
  Edge e = exchange([](const AnyPart& p, int n) {
    auto size = static_cast<int64_t>(part_cast<T>(p).size());
    std::vector<AnyPart> b{make_part(std::vector<int64_t>{size})};
    for (int i = 1; i < n; ++i) b.push_back(make_part(std::vector<int64_t>{}));
    return b;
  });
  e.merge = [](std::span<const AnyPart> b) { return ops::concat_parts<int64_t>(b); };
  return derive<int64_t>(Node{.kind = "count", .inputs = {e}, .partitions = 1,
                              .compute = [](const TaskContext&, std::span<const AnyPart> in, NodeState*) {
                                int64_t sum = 0;
                                for (int64_t c : part_cast<int64_t>(in[0])) sum += c;
                                return make_part(std::vector<int64_t>{sum});
                              }});
}

template <class T>
DStream<std::pair<T, int64_t>> DStream<T>::count_by_value(int partitions) const {
  return map([](const T& x) { return std::pair<T, int64_t>{x, 1}; })
      .reduce_by_key(std::plus<int64_t>{}, partitions);
}

template <class T>
template <class F>
DStream<T> DStream<T>::reduce(F f) const {
  return derive<T>(Node{.kind = "reduce", .inputs = {gather()}, .partitions = 1,
                        .compute = [f](const TaskContext&, std::span<const AnyPart> in, NodeState*) {
                          std::vector<T> out;
                          if (auto r = ops::reduce(part_cast<T>(in[0]), f)) out.push_back(std::move(*r));
                          return make_part(std::move(out));
                        }});
}

template <class T>
template <class F>
auto DStream<T>::transform(F f) const
    -> DStream<typename std::invoke_result_t<F&, const std::vector<T>&, Millis>::value_type> {
  using U = typename std::invoke_result_t<F&, const std::vector<T>&, Millis>::value_type;
  return derive<U>(Node{.kind = "transform", .inputs = {gather()}, .partitions = 1,
                        .compute = [f](const TaskContext& ctx, std::span<const AnyPart> in, NodeState*) {
                          return make_part(std::vector<U>(f(part_cast<T>(in[0]), ctx.time)));
                        }});
}

template <class T>
template <class U, class F>
auto DStream<T>::transform_with(const DStream<U>& other, F f) const -> DStream<
    typename std::invoke_result_t<F&, const std::vector<T>&, const std::vector<U>&, Millis>::value_type> {
  using R = typename std::invoke_result_t<F&, const std::vector<T>&, const std::vector<U>&,
                                          Millis>::value_type;
  return derive<R>(Node{.kind = "transform_with", .inputs = {gather(), other.gather()}, .partitions = 1,
                        .compute = [f](const TaskContext& ctx, std::span<const AnyPart> in, NodeState*) {
                          static const std::vector<T> kNoT;
                          static const std::vector<U> kNoU;
                          return make_part(std::vector<R>(f(in[0] ? part_cast<T>(in[0]) : kNoT,
                                                            in[1] ? part_cast<U>(in[1]) : kNoU, ctx.time)));
                        }});
}

template <class T>
DStream<DeadLetter> DStream<T>::dead_letters() const {
  JobGraph& g = definition_graph(*ctx_, "dead_letters");
  Node& n = g.edit(node_);
  // Only operators that call a user function once per record can skip one record and go on;
  // map_values and flat_map_values are built on map and flat_map.
  if (n.kind != "map" && n.kind != "flat_map" && n.kind != "filter")
    throw ConfigError("dead_letters: stream '" + n.name + "' is a " + n.kind +
                      ", not a per-record operator (map, flat_map, filter, map_values, "
                      "flat_map_values)");
  n.dead_letters = true;
  int parent = node_;
  return derive<DeadLetter>(
      Node{.kind = "dead_letters", .inputs = {one_to_one()},
           .compute = [parent](const TaskContext& ctx, std::span<const AnyPart>, NodeState*) {
             // One-to-one from the parent, so fused into its task and run after it: the
             // parent's dead letters for this (time, partition) are complete here.
             std::vector<DeadLetter> out;
             if (ctx.dead_letters_by_node != nullptr)
               if (auto it = ctx.dead_letters_by_node->find(parent);
                   it != ctx.dead_letters_by_node->end())
                 out = it->second;
             return make_part(std::move(out));
           }});
}

template <class T>
const DStream<T>& DStream<T>::on_record_error(std::shared_ptr<Sink> sink, std::string name) const {
  dead_letters().output_to(std::move(sink), std::move(name));
  return *this;
}

template <class T>
DStream<T>& DStream<T>::checkpoint(Millis interval) {
  JobGraph& g = definition_graph(*ctx_, "checkpoint");
  Node& n = g.edit(node_);
  if (interval.count() <= 0 || interval.count() % g.interval().count() != 0)
    throw ConfigError("checkpoint interval " + to_string(interval) + " of stream '" + n.name +
                      "' must be a positive multiple of the batch interval " +
                      to_string(g.interval()));
  n.checkpoint_interval = interval;
  return *this;
}

template <class T>
Millis DStream<T>::window_slide(Millis length, Millis slide) const {
  const JobGraph& g = graph();
  if (slide.count() == 0) slide = g.interval();
  check_multiple(length, g.interval(), "window length");
  check_multiple(slide, g.interval(), "window slide");
  Millis parent = g.node(node_).slide;
  if (length.count() % parent.count() != 0 || slide.count() % parent.count() != 0)
    throw ConfigError("window length " + to_string(length) + " and slide " + to_string(slide) +
                      " must be multiples of the parent stream's slide " + to_string(parent));
  return slide;
}

template <class T>
DStream<T> DStream<T>::window(Millis length, Millis slide) const {
  slide = window_slide(length, slide);
  return derive<T>(Node{.kind = "window", .inputs = {one_to_one()}, .slide = slide,
                        .compute = [length, slide](const TaskContext& ctx, std::span<const AnyPart> in,
                                                   NodeState* st) {
                          return ops::window_step<T>(static_cast<ops::WindowSlices<T>&>(*st), ctx,
                                                     in[0], length, slide);
                        },
                        .make_state = [] { return std::make_unique<ops::WindowSlices<T>>(); },
                        .params = "length=" + to_string(length)});
}

template <class T>
DStream<int64_t> DStream<T>::count_by_window(Millis length, Millis slide) const {
  return window(length, slide).count();
}

template <class T>
template <class F>
DStream<T> DStream<T>::reduce_by_window(F f, Millis length, Millis slide) const {
  return window(length, slide).reduce(f);
}

template <class T>
template <class F, class G>
DStream<T> DStream<T>::reduce_by_window(F f, G inverse, Millis length, Millis slide) const {
  // As Spark: one key for every record, then the keyed inverse window on one partition.
  return map([](const T& x) { return std::pair<int, T>{0, x}; })
      .reduce_by_key_and_window(f, inverse, length, slide, 1)
      .map([](const std::pair<int, T>& kv) { return kv.second; });
}

template <class T>
DStream<std::pair<T, int64_t>> DStream<T>::count_by_value_and_window(Millis length, Millis slide,
                                                                     int partitions) const {
  return map([](const T& x) { return std::pair<T, int64_t>{x, 1}; })
      .reduce_by_key_and_window(std::plus<int64_t>{}, std::minus<int64_t>{}, length, slide,
                                partitions,
                                [](const std::pair<T, int64_t>& kv) { return kv.second != 0; });
}

}  // namespace rill
