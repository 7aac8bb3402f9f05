// part_codec_for<T>(): the type-erased columnar codec a Node carries for its output records.
// Stateless; the functions it returns may be called from any thread.
#pragma once

#include <cstdint>
#include <vector>

#include "dataflow/graph.hpp"
#include "dataflow/record_columns.hpp"

namespace rill {

/// The codec of a stream of T; empty functions (and signature) when T is not a record.
template <class T>
PartCodec part_codec_for() {
  if constexpr (!is_record_v<T>) {
    return {};
  } else {
    return PartCodec{
        .type_signature = type_signature<T>(),
        .encode = [](const AnyPart& part, EncodeColumns& out) {
          encode_records(part_cast<T>(part), out);
        },
        .decode = [](const DecodeColumns& in, uint64_t max_records) -> Result<AnyPart> {
          auto records = decode_records<T>(in, max_records);
          if (!records) return records.status();
          return make_part(std::move(*records));
        }};
  }
}

}  // namespace rill
