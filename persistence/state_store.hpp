// Operator state snapshots in a store's `state` database: full snapshots and the deltas after
// them, per (stream, partition, batch time). Thread-safe; env and writer must outlive it.
#pragma once

#include <future>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/result.hpp"
#include "dataflow/time.hpp"
#include "persistence/lmdb_env.hpp"
#include "persistence/store_writer.hpp"

namespace rill::persistence {

/// One stored snapshot: the encoded state (a frame) at batch time t.
struct StateSnapshot {
  Millis t{0};
  bool full = false;
  std::string bytes;
};

class StateStore {
 public:
  StateStore(const LmdbEnv& env, StoreWriter& writer) noexcept : env_(env), writer_(writer) {}

  /// Writes the snapshot of (stream, partition) at t, replacing one a crashed run wrote there.
  /// A full snapshot also deletes the entries before `drop_before`: the caller passes the
  /// previous full snapshot's time, which is at or before the last checkpoint, so recovery
  /// never needs those entries again. Ready once durable.
  std::future<Status> write(const std::string& stream, int partition, const StateSnapshot& snapshot,
                            std::optional<Millis> drop_before = std::nullopt);
  /// What restoring (stream, partition) at checkpoint c applies, in order: the last full
  /// snapshot at or before c (if any), then the deltas after it up to c. Entries after c (a
  /// run that died before its checkpoint) are ignored.
  Result<std::vector<StateSnapshot>> read_for_restore(const std::string& stream, int partition,
                                                      Millis c) const;
  /// Deletes the entries of (stream, partition) after c: they belong to batches that re-run.
  Status drop_after(const std::string& stream, int partition, Millis c);
  /// Retention: adds to batch the deletes of every (stream, partition)'s entries before its
  /// last full snapshot at or before c (read_for_restore at c or later never reads them);
  /// returns how many. Reads through txn, which the caller ends before submitting the batch.
  Result<std::size_t> add_retention(const ReadTxn& txn, Millis c, WriteBatch& batch) const;
  /// Number of entries and bytes stored for (stream, partition) (tests, retention checks).
  std::pair<size_t, size_t> usage(const std::string& stream, int partition) const;

 private:
  const LmdbEnv& env_;
  StoreWriter& writer_;
};

}  // namespace rill::persistence
