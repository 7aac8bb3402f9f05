// The copy of another node's store that its replica peer keeps: the origin's commits applied in
// order, durably, and the whole of it handed back to rebuild an origin that lost its disk.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/result.hpp"
#include "persistence/lmdb_env.hpp"
#include "persistence/replica_channel.hpp"
#include "persistence/store_writer.hpp"

namespace rill::persistence {

/// Every entry of env as one reset's ops: each database cleared, then each (key, sealed value)
/// put. Checksums are verified on the way: a damaged value is Errc::corrupt naming its key.
/// A replica's own position record is left out.
Result<std::vector<WriteBatch::Op>> whole_store_ops(const LmdbEnv& env);

/// "STORE.replica-of-ORIGIN": where the store of `origin` is kept beside `store_dir`.
std::string mirror_dir(const std::string& store_dir, const std::string& origin);

class StoreMirror {
 public:
  /// Opens or creates the copy in dir.
  static Result<std::unique_ptr<StoreMirror>> open(const std::string& dir,
                                                   const StoreOptions& options);
  StoreMirror(const StoreMirror&) = delete;
  StoreMirror& operator=(const StoreMirror&) = delete;

  /// Applies one commit of the origin: durable when the answer is applied. A commit that does
  /// not follow the last one applied (another incarnation, or one missing between) is a gap,
  /// and changes nothing; one already applied is applied again as a no-op.
  ReplicaAck apply(const ReplicaCommit& commit);
  /// The whole copy, as a reset commit; nullopt when it never received the whole store;
  /// Errc::corrupt when it holds only part of one (its origin stopped while sending it).
  Result<std::optional<ReplicaCommit>> contents() const;
  const std::string& dir() const { return env_->dir(); }

 private:
  StoreMirror() = default;
  std::unique_ptr<LmdbEnv> env_;
  std::unique_ptr<StoreWriter> writer_;  // after env_: destroyed first
  uint64_t incarnation_ = 0;             // 0: holds no copy yet
  uint64_t seq_ = 0;
  bool whole_ = false;  // the last whole-store copy arrived in full
};

/// Writes `contents` (a reset commit) into the store `writer` writes: its databases become
/// exactly the copy's.
Status restore_from(StoreWriter& writer, const ReplicaCommit& contents);

}  // namespace rill::persistence
