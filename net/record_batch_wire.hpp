// Columns in and out of a wire::RecordBatch inside any Cap'n Proto message: the one place the
// batch layout is read and written. Internal to net/ .cpp files (it includes generated code).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "dataflow/record_columns.hpp"
#include "dataflow/result.hpp"
#include "net/frame.hpp"
#include "net/wire.capnp.h"

namespace rill::net {

/// The words a RecordBatch of `columns` takes in a message, pointers included: a message
/// builder whose first segment has room for everything keeps one segment, which readers
/// follow faster than several.
std::size_t record_batch_words(const EncodeColumns& columns);

/// Throws std::length_error past Cap'n Proto's list limit (2^29 entries a column).
void fill_record_batch(wire::RecordBatch::Builder batch, const EncodeColumns& columns);

/// Reads `batch` into `out` when its tag is that of `type_signature` and it holds at most
/// limits.max_records records; else the refusal, naming `what`. May throw kj::Exception on
/// malformed content: call inside kj::runCatchingExceptions. Strings borrow the message.
std::optional<Status> read_record_batch(wire::RecordBatch::Reader batch, const DecodeLimits& limits,
                                        std::string_view type_signature, const std::string& what,
                                        DecodeColumns& out);

}  // namespace rill::net
