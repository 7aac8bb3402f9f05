// Batch codec: a std::vector of records to a columnar Cap'n Proto frame (net/wire.capnp) and back.
// Pure functions, any thread. The column walk is dataflow/record_columns.hpp; Cap'n Proto stays
// in codec.cpp.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "dataflow/record_columns.hpp"
#include "dataflow/record_traits.hpp"
#include "dataflow/result.hpp"
#include "net/frame.hpp"

namespace rill::net {

/// One RecordBatch frame holding `columns` (their type tag, count and columns as they are).
/// Throws std::length_error past Cap'n Proto's limits (2^29 entries a column, 4 GiB a frame).
Frame write_frame(const EncodeColumns& columns);

/// The columns of a frame whose size, shape and type tag (that of `type_signature`) pass. Never
/// throws; errors name the frame and what was wrong with it. The strings borrow from the frame
/// when it was aligned (REQUIRES: the frame outlives the columns), else from an aligned copy the
/// columns own.
Result<DecodeColumns> read_frame(const Frame& frame, const DecodeLimits& limits,
                                 std::string_view type_signature);

/// Encodes `records` as one columnar RecordBatch frame tagged with T's type signature.
/// Throws std::length_error only past Cap'n Proto's size limits: split such batches.
template <class T>
Frame encode_batch(const std::vector<T>& records) {
  EncodeColumns columns;
  encode_records(records, columns);
  return write_frame(columns);
}

/// Decodes a frame made by encode_batch<T>. Never throws or crashes on bad bytes: returns
/// Errc::too_large past `limits` and Errc::corrupt for anything malformed, including a frame of
/// another type ("type tag mismatch: frame holds 0x..., decoding as pair<string,i64> (0x...)").
template <class T>
Result<std::vector<T>> decode_batch(const Frame& frame, const DecodeLimits& limits = {}) {
  require_record<T>();
  auto columns = read_frame(frame, limits, type_signature<T>());
  if (!columns) return columns.status();
  return decode_records<T>(*columns, limits.max_records);
}

}  // namespace rill::net
