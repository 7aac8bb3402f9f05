// A job's checkpoint directory: one LMDB store holding the metadata log, the WAL and operator
// state, with its one writer thread. Open it once per process; thread-safe after open.
#pragma once

#include <memory>
#include <string>

#include "dataflow/result.hpp"
#include "persistence/lmdb_env.hpp"
#include "persistence/lmdb_meta_log.hpp"
#include "persistence/state_store.hpp"
#include "persistence/store_writer.hpp"
#include "persistence/wal.hpp"

namespace rill::persistence {

class CheckpointStore : public std::enable_shared_from_this<CheckpointStore> {
 public:
  /// Opens or creates the store in dir and verifies every metadata record, so a damaged store
  /// stops the job here with an error naming the directory and key, before anything is
  /// written.
  static Result<std::shared_ptr<CheckpointStore>> open(const std::string& dir, const StoreOptions& options);
  ~CheckpointStore();
  CheckpointStore(const CheckpointStore&) = delete;
  CheckpointStore& operator=(const CheckpointStore&) = delete;

  const std::string& dir() const { return env_->dir(); }
  const LmdbEnv& env() const { return *env_; }
  StoreWriter& writer() { return *writer_; }
  /// The metadata log, sharing this store's lifetime.
  std::shared_ptr<MetaLog> meta_log() { return {shared_from_this(), meta_.get()}; }
  LmdbMetaLog& meta() { return *meta_; }
  StateStore& state() { return *state_; }
  WalWriter& wal_writer() { return *wal_writer_; }
  const WalReader& wal_reader() const { return *wal_reader_; }

 private:
  CheckpointStore() = default;
  // Destroyed in reverse order: readers and the writer go before the env.
  std::unique_ptr<LmdbEnv> env_;
  std::unique_ptr<StoreWriter> writer_;
  std::unique_ptr<LmdbMetaLog> meta_;
  std::unique_ptr<StateStore> state_;
  std::unique_ptr<WalWriter> wal_writer_;
  std::unique_ptr<WalReader> wal_reader_;
};

}  // namespace rill::persistence
