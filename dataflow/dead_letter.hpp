// DeadLetter: a record whose per-record user function threw, routed to a dead_letters() stream
// instead of failing the batch. Values, share freely; for_each_record is the operators' loop.
#pragma once

#include <cstdint>
#include <exception>
#include <string>
#include <vector>

#include "dataflow/graph.hpp"
#include "dataflow/record_text.hpp"
#include "dataflow/record_traits.hpp"
#include "dataflow/type_name.hpp"

namespace rill {

/// One record a map, flat_map or filter function (or map_values, flat_map_values) threw on.
/// A record itself, so a dead-letter stream can be printed, saved, checkpointed or written to
/// any Sink (DStream<DeadLetter>::output_to).
struct DeadLetter {
  std::string op;        ///< name of the operator whose function threw (Node::name)
  int64_t time_ms = 0;   ///< batch time, ms
  int32_t partition = 0;  ///< the partition the record was in
  std::string record;    ///< the input record in print() form (record_text.hpp)
  std::string error;     ///< what() of the exception, or "unknown exception"
  /// Field-wise equality.
  bool operator==(const DeadLetter&) const = default;
};
RILL_RECORD(DeadLetter, op, time_ms, partition, record, error)

/// The print() form of a record, or its type name for types that are not records (those
/// cannot be printed field by field).
template <class T>
std::string dead_letter_text(const T& record) {
  if constexpr (is_record_v<T>)
    return to_text(record);
  else
    return "<" + type_name_of<T>() + ">";
}

/// Calls body(x) for every record of in, in order. When the node routes record errors
/// (ctx.dead_letters set by Plan::run_task), a record whose body throws is appended there and
/// skipped; otherwise the exception propagates and fails the task as before.
/// REQUIRES: body has no effect on its outputs before the user function returns (push after
/// the call), so a skipped record leaves nothing behind.
template <class T, class Body>
void for_each_record(const TaskContext& ctx, const std::vector<T>& in, Body&& body) {
  if (ctx.dead_letters == nullptr) {
    for (const T& x : in) body(x);
    return;
  }
  for (const T& x : in) {
    // Both catches are deliberate: this is the user's opt-in to keep going after any error.
    try {
      body(x);
    } catch (const std::exception& e) {
      ctx.dead_letters->push_back(
          DeadLetter{{}, ctx.time.count(), ctx.partition, dead_letter_text(x), e.what()});
    } catch (...) {
      ctx.dead_letters->push_back(DeadLetter{{}, ctx.time.count(), ctx.partition,
                                             dead_letter_text(x), "unknown exception"});
    }
  }
}

}  // namespace rill
