# rill wire format: the Cap'n Proto messages that cross the network and land in the WAL.
# A contract: comment every field, append ordinals only, rename retired fields obsoleteX.
@0xad7056ef30ca9dc7;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rill::wire");

# A frame is one message in the standard Cap'n Proto stream framing (segment table, then
# segments); rill::net::Frame holds its bytes.

# A batch of records of one C++ type, stored column by column. The encoder walks each record's
# leaves in canonical order (rill::visit_leaves in dataflow/record_traits.hpp: declaration order;
# a vector's length before its elements, an optional's presence before its value) and appends
# each leaf to the column of its kind. The decoder walks the same type and takes from the
# columns in the same order, so the columns carry no per-record framing; every entry must be
# consumed, exactly.
struct RecordBatch {
  typeTag @0 :UInt64;
  # XXH3-64 of rill::type_signature<T>() (e.g. "pair<string,i64>"), never 0. A decoder for a
  # different type rejects the frame instead of reading garbage. 0 means "not a record batch".

  recordCount @1 :UInt64;
  # Number of records in the batch; 0 is a valid, empty batch.

  ints @2 :List(Int64);
  # bool (0/1) and integer leaves, widened to 64 bits; unsigned values keep their bit pattern.

  floats @3 :List(Float64);
  # float and double leaves; a float is widened exactly. Bit patterns (-0.0, NaN payloads) kept.

  strings @4 :List(Data);
  # std::string leaves. Data, not Text: records may hold non-UTF-8 bytes and embedded NULs.

  shape @5 :List(UInt32);
  # Container structure: each std::vector's length and each std::optional's presence (0/1).
}

# Room for later message kinds, each its own root struct with its own doc and fields here:
#   Block           a receiver's block of input records with its id, for the WAL
#   ShufflePart     one partition of a stage's output for one batch time (wraps RecordBatch)
#   Control         handshake (DAG fingerprint), credits, batch-time progress
