// DStream<T>: a typed, lazy handle to a stream of batches (Spark's DStream). Copy freely; every
// transformation adds a node to the context's DAG and is valid only before start().
#pragma once

#include <functional>
#include <iostream>
#include <optional>
#include <span>
#include <string>
#include <type_traits>
#include <vector>

#include "dataflow/callable_traits.hpp"
#include "dataflow/dead_letter.hpp"
#include "dataflow/graph.hpp"
#include "dataflow/ops/exchange.hpp"
#include "dataflow/ops/join.hpp"
#include "dataflow/ops/reduce.hpp"
#include "dataflow/ops/state.hpp"
#include "dataflow/ops/window.hpp"
#include "dataflow/sink.hpp"
#include "dataflow/state_spec.hpp"

namespace rill {

class StreamingContext;
JobGraph& definition_graph(StreamingContext& ctx, const char* what);

template <class K, class V, class S, class M>
class MapWithStateDStream;

/// A typed, lazy handle to a stream of batches of T (Spark's DStream); copy freely.
template <class T>
class DStream {
 public:
  /// The record type.
  using value_type = T;

  /// A handle to node of ctx's DAG; made by StreamingContext and by the operations below.
  DStream(StreamingContext* ctx, int node) : ctx_(ctx), node_(node) {}
  /// The node's id in the DAG (construction order).
  int id() const { return node_; }
  /// The context that defined this stream.
  StreamingContext& context() const { return *ctx_; }
  /// Names the stream: names key its state and fingerprint, so keep them stable across runs.
  DStream& name(const std::string& name);
  /// How many partitions each batch of this stream has.
  int partitions() const { return graph().node(node_).partitions; }
  /// How often this stream produces a batch: the batch interval, or a window's slide.
  Millis slide() const { return graph().node(node_).slide; }

  // --- Transformations (per partition) -----------------------------------------------------
  /// One record f(x) per record x.
  template <class F>
  auto map(F f) const -> DStream<std::decay_t<std::invoke_result_t<F&, const T&>>>;
  /// f returns a container of records; all of them are emitted in order.
  template <class F>
  auto flat_map(F f) const
      -> DStream<typename std::decay_t<std::invoke_result_t<F&, const T&>>::value_type>;
  /// The records for which f returns true.
  template <class F>
  DStream<T> filter(F f) const;
  /// f(const std::vector<T>& partition) -> std::vector<U>.
  template <class F>
  auto map_partitions(F f) const
      -> DStream<typename std::invoke_result_t<F&, const std::vector<T>&>::value_type>;
  /// Spark's union (a C++ keyword): both streams' records; partition counts are matched.
  DStream<T> union_with(const DStream<T>& other) const;
  /// The same records spread evenly over partitions partitions.
  DStream<T> repartition(int partitions) const;
  /// One record per batch: the number of records (0 for an empty batch).
  DStream<int64_t> count() const;
  /// One (record, occurrences) pair per distinct record of each batch.
  DStream<std::pair<T, int64_t>> count_by_value(int partitions = 0) const;
  /// One record per non-empty batch: all records folded with f (associative, commutative).
  template <class F>
  DStream<T> reduce(F f) const;
  /// f(const std::vector<T>& whole_batch, Millis time) -> std::vector<U>; one partition out.
  template <class F>
  auto transform(F f) const
      -> DStream<typename std::invoke_result_t<F&, const std::vector<T>&, Millis>::value_type>;
  /// f(const std::vector<T>&, const std::vector<U>&, Millis) -> std::vector<R>.
  template <class U, class F>
  auto transform_with(const DStream<U>& other, F f) const -> DStream<
      typename std::invoke_result_t<F&, const std::vector<T>&, const std::vector<U>&, Millis>::value_type>;

  // --- Record errors (Flink's side outputs; see dataflow/dead_letter.hpp) ------------------
  /// The records whose function threw in this stream's operator (map, flat_map, filter,
  /// map_values, flat_map_values), one DeadLetter each, in input order per partition. Calling
  /// it makes those records skipped instead of failing the batch; without it a throw fails
  /// the task as before (retried, then the job stops naming operator and batch time). Same
  /// partitions and slide as this stream; a re-run yields the same letters in the same order.
  ///
  ///     auto parsed = lines.map(parse).name("parse");
  ///     parsed.dead_letters().save_as_text_files("/data/bad-lines");
  ///
  /// Throws ConfigError naming the stream when its operator is not per-record.
  DStream<DeadLetter> dead_letters() const;
  /// dead_letters().output_to(sink, name): routes the failing records, with the error text,
  /// to sink (a TypedSink<DeadLetter>) and lets the batch finish. Returns this stream.
  const DStream& on_record_error(std::shared_ptr<Sink> sink, std::string name = {}) const;

  /// Spark's checkpoint(interval): snapshot state every interval instead of every batch.
  /// Checkpoints cut the whole job at one batch, so the shortest interval any stream names is
  /// the job's (ContextOptions::checkpoint_interval overrides it). Throws ConfigError naming
  /// the stream unless interval is a positive multiple of the batch interval.
  DStream& checkpoint(Millis interval);

  // --- Windows (length and slide: multiples of the batch interval; slide defaults to it) ---
  /// Every slide, the records of the batches in the last length.
  DStream<T> window(Millis length, Millis slide = Millis{0}) const;
  /// Every slide, the number of records in the last length.
  DStream<int64_t> count_by_window(Millis length, Millis slide = Millis{0}) const;
  /// Every slide, the records of the last length folded with f (associative, commutative).
  template <class F>
  DStream<T> reduce_by_window(F f, Millis length, Millis slide = Millis{0}) const;
  /// With an inverse: cost per batch independent of the window length.
  template <class F, class G>
  DStream<T> reduce_by_window(F f, G inverse, Millis length, Millis slide = Millis{0}) const;
  /// Every slide, (record, occurrences) over the last length.
  DStream<std::pair<T, int64_t>> count_by_value_and_window(Millis length, Millis slide = Millis{0},
                                                           int partitions = 0) const;

  // --- Keyed (T = std::pair<K, V>) -------------------------------------------------------
  /// Per batch, each key's values folded with f (associative, commutative; also runs map-side).
  template <class F>
  DStream<T> reduce_by_key(F f, int partitions = 0) const requires detail::is_pair_v<T>;
  /// Per batch, one (key, std::vector of values) per key.
  auto group_by_key(int partitions = 0) const requires detail::is_pair_v<T>;
  /// create(v) -> C, merge_value(C, v) -> C, merge_combiners(C, C) -> C.
  template <class Create, class MergeValue, class MergeCombiners>
  auto combine_by_key(Create create, MergeValue merge_value, MergeCombiners merge_combiners,
                      int partitions = 0) const requires detail::is_pair_v<T>;
  /// (k, f(v)) per (k, v): keys, and so partitioning, are kept.
  template <class F>
  auto map_values(F f) const requires detail::is_pair_v<T>;
  /// (k, w) for each w of the container f(v), per (k, v).
  template <class F>
  auto flat_map_values(F f) const requires detail::is_pair_v<T>;
  /// Per batch, (k, (v, w)) for every pair of values with equal keys (inner join).
  template <class Other>
  auto join(const Other& other, int partitions = 0) const requires detail::is_pair_v<T>;
  /// As join, keeping this stream's keys without a match: (k, (v, std::optional<W>)).
  template <class Other>
  auto left_outer_join(const Other& other, int partitions = 0) const requires detail::is_pair_v<T>;
  /// As join, keeping other's keys without a match: (k, (std::optional<V>, w)).
  template <class Other>
  auto right_outer_join(const Other& other, int partitions = 0) const requires detail::is_pair_v<T>;
  /// As join, keeping keys of either side without a match; both sides std::optional.
  template <class Other>
  auto full_outer_join(const Other& other, int partitions = 0) const requires detail::is_pair_v<T>;
  /// Per batch, (k, (values here, values in other)) for every key of either stream.
  template <class Other>
  auto cogroup(const Other& other, int partitions = 0) const requires detail::is_pair_v<T>;
  /// f(const std::vector<V>& new_values, const std::optional<S>& state) -> std::optional<S>;
  /// nullopt drops the key. Emits every key's state each batch.
  template <class F>
  auto update_state_by_key(F f, int partitions = 0) const requires detail::is_pair_v<T>;
  /// spec.function(const K&, const std::optional<V>&, State<S>&) -> M or std::optional<M>.
  template <class F>
  auto map_with_state(StateSpec<F> spec, int partitions = 0) const requires detail::is_pair_v<T>;
  /// Every slide, each key's values over the last length folded with f.
  template <class F>
  DStream<T> reduce_by_key_and_window(F f, Millis length, Millis slide = Millis{0},
                                      int partitions = 0) const requires detail::is_pair_v<T>;
  /// Inverse form; keep(pair) prunes keys (e.g. whose count fell to zero) from output and state.
  template <class F, class G, class Keep = std::nullptr_t>
  DStream<T> reduce_by_key_and_window(F f, G inverse, Millis length, Millis slide = Millis{0},
                                      int partitions = 0, Keep keep = nullptr) const
      requires detail::is_pair_v<T>;
  /// Every slide, (key, std::vector of values) over the last length.
  auto group_by_key_and_window(Millis length, Millis slide = Millis{0}, int partitions = 0) const
      requires detail::is_pair_v<T>;

  // --- Output operations -----------------------------------------------------------------
  /// Spark's print(): a header with the batch time, then the first n records.
  void print(int n = 10) const;
  /// f(const std::vector<T>& batch, Millis time) for every batch, all partitions concatenated.
  /// Re-runs after a failure call f again for the same time: make its effects idempotent,
  /// keyed by the batch time, e.g. replace rather than append:
  ///
  ///     counts.foreach_batch([&db](const auto& rows, rill::Millis t) {
  ///       db.transaction([&] {  // rows and marker together, keyed by t
  ///         if (db.has_marker(t)) return;
  ///         db.upsert(rows);
  ///         db.put_marker(t);
  ///       });
  ///     });
  ///
  /// For per-partition writes keyed by (batch time, partition), with the runtime skipping
  /// committed partitions and comparing output hashes, implement a TypedSink and use output_to.
  template <class F>
  void foreach_batch(F f) const;
  /// Writes every partition of every batch to sink (dataflow/sink.hpp): for (batch time t,
  /// partition p) not yet committed, sink.write(t, p, records) then sink.commit(t, p, hash).
  /// name keys the sink's markers; give one that stays stable across program changes (default
  /// "output_to-<n>", n counting outputs in definition order). Throws ConfigError when the
  /// sink takes another record type.
  void output_to(std::shared_ptr<Sink> sink, std::string name = {}) const;
  /// One directory per batch, `prefix-<ms>[.suffix]`, with part-NNNNN files and _SUCCESS.
  void save_as_text_files(const std::string& prefix, const std::string& suffix = "") const;

  /// @cond internal
  // --- Internal: building blocks for the operators above ----------------------------------
  template <class U>
  DStream<U> derive(Node node) const;
  Edge one_to_one() const { return Edge{node_, Edge::Kind::one_to_one, {}, {}}; }
  Edge exchange(std::function<std::vector<AnyPart>(const AnyPart&, int)> split) const {
    return Edge{node_, Edge::Kind::exchange, std::move(split),
                [](std::span<const AnyPart> b) { return ops::concat_parts<T>(b); }};
  }
  Edge hash_exchange() const requires detail::is_pair_v<T> {
    return exchange([](const AnyPart& p, int n) { return ops::split_by_key(part_cast<T>(p), n); });
  }
  Edge gather() const {
    return exchange([](const AnyPart& p, int n) { return ops::split_all_to_first<T>(p, n); });
  }
  int keyed_partitions(int requested) const;
  Millis window_slide(Millis length, Millis slide) const;
  /// @endcond

 private:
  const JobGraph& graph() const;
  StreamingContext* ctx_;
  int node_;
};

}  // namespace rill

#include "dataflow/dstream_ops.hpp"
#include "dataflow/dstream_keyed.hpp"
#include "dataflow/dstream_outputs.hpp"
