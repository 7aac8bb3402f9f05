// Per-record operators (map, flat_map, filter) as push steps, so Plan runs a chain of them in
// one pass without a vector between each pair. Steps are immutable (share freely); pushes and
// builders belong to one task.
#pragma once

#include <memory>
#include <type_traits>
#include <utility>
#include <vector>

#include "dataflow/dead_letter.hpp"
#include "dataflow/graph.hpp"

namespace rill {

/// Receives records one at a time: `record` points to a record of the pusher's output type,
/// which the receiver may move from. Valid only during the call.
class RecordPush {
 public:
  virtual ~RecordPush() = default;
  virtual void push(void* record) = 0;
};

/// Collects pushed records into a part (the end of a chain whose output is read as a part).
class PartBuilder : public RecordPush {
 public:
  virtual AnyPart finish() = 0;
};

/// Cuts pushed records into an exchange edge's buckets as they come (Edge::push_split).
class BucketBuilder : public RecordPush {
 public:
  virtual std::vector<AnyPart> finish() = 0;
};

/// One per-record node's function, type-erased (Node::per_record).
class RecordStep {
 public:
  virtual ~RecordStep() = default;
  /// Runs the function on one input record (const In*), pushing its outputs to out.
  virtual void apply(const void* record, RecordPush& out) const = 0;
  /// apply() on every record of a part.
  virtual void apply_all(const AnyPart& part, RecordPush& out) const = 0;
  /// A builder of this node's output part.
  virtual std::unique_ptr<PartBuilder> builder() const = 0;
};

namespace detail {

template <class U>
class VectorBuilder final : public PartBuilder {
 public:
  void push(void* record) override { out_.push_back(std::move(*static_cast<U*>(record))); }
  AnyPart finish() override { return make_part(std::move(out_)); }

 private:
  std::vector<U> out_;
};

// Hands y to out as a U* the receiver may move from; copies only what cannot be moved from.
template <class U, class Y>
void push_as(RecordPush& out, Y&& y) {
  if constexpr (std::is_same_v<std::remove_cvref_t<Y>, U> &&
                !std::is_const_v<std::remove_reference_t<Y>>) {
    out.push(&y);
  } else {
    U tmp(std::forward<Y>(y));
    out.push(&tmp);
  }
}

// Body is body(const T& x, emit) calling emit(u) for each output record of x.
template <class T, class U, class Body>
class RecordStepOf final : public RecordStep {
 public:
  explicit RecordStepOf(Body body) : body_(std::move(body)) {}
  void apply(const void* record, RecordPush& out) const override {
    one(*static_cast<const T*>(record), out);
  }
  void apply_all(const AnyPart& part, RecordPush& out) const override {
    for (const T& x : part_cast<T>(part)) one(x, out);
  }
  std::unique_ptr<PartBuilder> builder() const override {
    return std::make_unique<VectorBuilder<U>>();
  }

 private:
  void one(const T& x, RecordPush& out) const {
    body_(x, [&out](auto&& y) { push_as<U>(out, std::forward<decltype(y)>(y)); });
  }
  Body body_;
};

}  // namespace detail

/// The step of a per-record node whose body(x, emit) emits its outputs for input x.
template <class T, class U, class Body>
std::shared_ptr<const RecordStep> record_step(Body body) {
  return std::make_shared<const detail::RecordStepOf<T, U, Body>>(std::move(body));
}

/// The same body as a node's compute: a part in, a part out, skipping records whose function
/// threw when the node keeps dead letters. reserve: out holds about one record per input.
template <class T, class U, class Body>
ComputeFn record_compute(Body body, bool reserve) {
  return [body, reserve](const TaskContext& ctx, std::span<const AnyPart> in, NodeState*) {
    const auto& v = part_cast<T>(in[0]);
    std::vector<U> out;
    if (reserve) out.reserve(v.size());
    for_each_record(ctx, v, [&body, &out](const T& x) {
      body(x, [&out](auto&& y) { out.push_back(std::forward<decltype(y)>(y)); });
    });
    return make_part(std::move(out));
  };
}

}  // namespace rill
