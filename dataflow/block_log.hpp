// BlockLog: where receivers write their blocks before a batch may take them (the receiver
// write-ahead log), as an interface so dataflow/ stays free of the store. Implementations are thread-safe.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "dataflow/record_columns.hpp"
#include "dataflow/result.hpp"

namespace rill {

/// One block read back from the log.
struct StoredBlock {
  uint64_t seq = 0;
  /// The source offset the block ends at, as given to append().
  uint64_t source_offset = 0;
  /// The block's records; `columns.owner` keeps the bytes its strings point into alive.
  DecodeColumns columns;
};

/// A durable, append-only log of record blocks keyed by (stream, seq). The runtime implements
/// it on the checkpoint store (actors/wal_block_log.hpp); tests use an in-memory one.
class BlockLog {
 public:
  virtual ~BlockLog() = default;
  /// Stores `block` under (stream, seq) and returns once it is durable. Blocks are write-once:
  /// a seq already stored is an error. The columns need only live until this returns.
  virtual Status append(int stream, uint64_t seq, uint64_t source_offset,
                        const EncodeColumns& block) = 0;
  /// The block (stream, seq), checked against the records' `type_signature`:
  /// Errc::not_found when absent, Errc::corrupt when it fails validation.
  virtual Result<StoredBlock> read(int stream, uint64_t seq,
                                   std::string_view type_signature) const = 0;
  /// Every block of stream with seq >= from, in seq order.
  virtual Result<std::vector<StoredBlock>> read_from(int stream, uint64_t from,
                                                     std::string_view type_signature) const = 0;
};

}  // namespace rill
