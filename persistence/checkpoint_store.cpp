#include "persistence/checkpoint_store.hpp"

namespace rill::persistence {

Result<std::shared_ptr<CheckpointStore>> CheckpointStore::open(const std::string& dir,
                                                               const StoreOptions& options) {
  auto env = LmdbEnv::open(dir, options);
  if (!env) return env.status();
  std::shared_ptr<CheckpointStore> store(new CheckpointStore());
  store->env_ = std::make_unique<LmdbEnv>(std::move(*env));
  store->writer_ = std::make_unique<StoreWriter>(*store->env_);
  store->meta_ = std::make_unique<LmdbMetaLog>(*store->env_, *store->writer_);
  store->state_ = std::make_unique<StateStore>(*store->env_, *store->writer_);
  store->wal_writer_ = std::make_unique<WalWriter>(*store->writer_);
  store->wal_reader_ = std::make_unique<WalReader>(*store->env_);
  if (Status s = store->meta_->verify(); !s) return s;
  return store;
}

CheckpointStore::~CheckpointStore() {
  wal_reader_.reset();
  wal_writer_.reset();
  state_.reset();
  meta_.reset();
  writer_.reset();  // commits what is queued before the env closes
  env_.reset();
}

}  // namespace rill::persistence
