// WalBlockLog: the receiver write-ahead log (dataflow/block_log.hpp) on the checkpoint store's
// WAL, blocks stored as Cap'n Proto frames. Thread-safe; shares the store's lifetime.
#pragma once

#include <memory>

#include "dataflow/block_log.hpp"
#include "persistence/checkpoint_store.hpp"

namespace rill::actors {

class WalBlockLog final : public BlockLog {
 public:
  explicit WalBlockLog(std::shared_ptr<persistence::CheckpointStore> store) noexcept
      : store_(std::move(store)) {}

  /// Encodes the block as one RecordBatch frame and waits for the store writer's commit.
  Status append(int stream, uint64_t seq, uint64_t source_offset,
                const EncodeColumns& block) override;
  Result<StoredBlock> read(int stream, uint64_t seq,
                           std::string_view type_signature) const override;
  Result<std::vector<StoredBlock>> read_from(int stream, uint64_t from,
                                             std::string_view type_signature) const override;

 private:
  std::shared_ptr<persistence::CheckpointStore> store_;
};

}  // namespace rill::actors
