// The write-ahead log of received blocks: each block is the Cap'n Proto frame the runtime moves,
// stored as is, keyed by (stream id, block seq). WalWriter and WalReader are thread-safe.
#pragma once

#include <cstdint>
#include <future>
#include <vector>

#include "dataflow/result.hpp"
#include "net/frame.hpp"
#include "persistence/lmdb_env.hpp"
#include "persistence/store_writer.hpp"

namespace rill::persistence {

/// One stored block, copied out of the store.
struct WalBlock {
  uint32_t stream = 0;
  uint64_t seq = 0;
  uint64_t source_offset = 0;  ///< the source offset this block ends at (0: the source has none)
  net::Frame frame;
};

/// Appends blocks through the store writer. REQUIRES: the writer outlives this object.
class WalWriter {
 public:
  explicit WalWriter(StoreWriter& writer) noexcept : writer_(writer) {}

  /// Ready once the block is durable. A block already stored under (stream, seq) is not
  /// overwritten: the future reports Errc::invalid_argument naming the key.
  std::future<Status> append(uint32_t stream, uint64_t seq, uint64_t source_offset,
                             const net::Frame& frame);
  /// The batch append() would submit, to combine with other writes in one atomic batch.
  static WriteBatch& add_block(WriteBatch& batch, uint32_t stream, uint64_t seq,
                               uint64_t source_offset, const net::Frame& frame);

 private:
  StoreWriter& writer_;
};

/// Reads blocks back, verifying checksums; deletes for retention through the writer.
/// REQUIRES: env (and writer, for delete_up_to) outlive this object.
class WalReader {
 public:
  explicit WalReader(const LmdbEnv& env) noexcept : env_(env) {}

  /// Errc::not_found or Errc::corrupt, both naming store, db and key.
  Result<WalBlock> read(uint32_t stream, uint64_t seq) const;
  /// Blocks of stream with seq >= from, in seq order, at most max_blocks.
  Result<std::vector<WalBlock>> read_from(uint32_t stream, uint64_t from,
                                          std::size_t max_blocks = SIZE_MAX) const;
  /// Deletes the blocks of stream with seq <= up_to; returns how many were deleted. The caller
  /// guarantees they are allocated and no longer needed by recovery (DESIGN.md, Recovery).
  Result<std::size_t> delete_up_to(StoreWriter& writer, uint32_t stream, uint64_t up_to) const;

 private:
  const LmdbEnv& env_;
};

}  // namespace rill::persistence
