// What a JetStream batch read, as recorded with its allocation: a stream-sequence range, the
// messages in it that matched the subject filter, and their checksum. Values; no NATS types.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "dataflow/result.hpp"

namespace rill::net {

/// The stream sequences [from, to] one batch read (to == from - 1: an empty range, which
/// still records where the next batch starts). count and hash cover the messages in the
/// range whose subject matched the filter, so a replay can tell when the stream changed.
struct JetStreamRange {
  uint64_t from = 1;
  uint64_t to = 0;
  uint64_t count = 0;
  uint64_t hash = 0;  ///< JetStreamChecksum over the matching messages, in sequence order

  /// The first sequence after the range: where the next batch starts.
  uint64_t next() const { return to + 1; }
  bool empty() const { return to < from; }
  /// "js1 <from> <to> <count> <hash, 16 hex>": Taken::replay's text (one line, no '\n').
  std::string encode() const;
  /// Parses encode()'s text; invalid_argument naming what is wrong otherwise.
  static Result<JetStreamRange> decode(std::string_view recorded);
  /// "stream sequences [from, to]" or "no stream sequence (next from)", for messages.
  std::string describe() const;
};

/// XXH3-64 over (sequence, subject, payload) of each message fed, in order: a range's hash.
class JetStreamChecksum {
 public:
  void add(uint64_t sequence, std::string_view subject, std::string_view payload);
  uint64_t value() const { return hash_; }

 private:
  uint64_t hash_ = 0;
};

}  // namespace rill::net
