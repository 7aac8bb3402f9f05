// Retention: deletes what no recovery from a checkpoint can need, so the store stays bounded.
// A free function over a CheckpointStore (thread-safe); call it from one thread at a time.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <vector>

#include "dataflow/result.hpp"
#include "dataflow/time.hpp"
#include "persistence/checkpoint_store.hpp"

namespace rill::persistence {

/// What retain() may delete.
struct RetentionPolicy {
  /// Allocated batches at or before the checkpoint whose records are kept (commits,
  /// completions, WAL blocks, state from there on). Default 0: only what recovery needs. Each
  /// batch kept costs its allocation, commits, completion and WAL blocks.
  int keep_batches = 0;
  /// Streams (node ids) whose InputSource::resume() reads only the last recorded batch:
  /// receivers with the write-ahead log, tail_file_stream. Retention keeps just their latest
  /// record. Default empty: every stream keeps all its non-empty records, which is always
  /// correct (text_file_stream needs them all: they hold the names already read) but grows
  /// with the batches that read something. Listing a text_file_stream here re-reads old files
  /// after a restart: list only streams whose resume() uses recorded.back().
  std::vector<int> latest_record_streams{};
};

/// How many records one retain() deleted or rewrote, for logs and tests.
struct RetentionStats {
  std::size_t allocations_deleted = 0;
  /// Old allocations rewritten to hold only what resume() still needs (see retain()).
  std::size_t allocations_compacted = 0;
  std::size_t commits_deleted = 0;
  std::size_t completions_deleted = 0;
  std::size_t state_entries_deleted = 0;
  std::size_t wal_blocks_deleted = 0;
  /// By stream: the first WAL block kept. A stream whose WAL lives on another node (a
  /// worker's receiver) trims it there to the same bound (trim_wal).
  std::map<int, uint64_t> wal_kept_from;
  std::size_t total() const {
    return allocations_deleted + commits_deleted + completions_deleted + state_entries_deleted +
           wal_blocks_deleted;
  }
};

/// Deletes, in one atomic write, every record no recovery can need given the checkpoint:
/// with cutoff = checkpoint (or, with keep_batches = k, the (k+1)-th latest allocated batch
/// at or before it),
/// - commits and completions of batches at or before the cutoff;
/// - allocations of batches at or before the cutoff, except the zero-time one (the sources'
///   start record) and, compacted in place, each stream's latest record and every non-empty
///   record of streams not in latest_record_streams: InputSource::resume() still reads those
///   (recovery only re-runs batches after the checkpoint, so nothing else reads them);
/// - WAL blocks of each stream before the first block a batch after the cutoff took, never a
///   block no batch took yet;
/// - state entries of each (stream, partition) before its last full snapshot at or before the
///   cutoff (StateStore::read_for_restore never reads them).
/// Downtimes, the zero time, partitions, the job and sink markers are kept.
/// `checkpoint` is clamped to the store's last_checkpoint(); with none recorded, recovery
/// re-runs every batch and nothing is deleted. REQUIRES: batches at or before the checkpoint
/// are complete (nothing writes their records any more).
Result<RetentionStats> retain(CheckpointStore& store, Millis checkpoint,
                              const RetentionPolicy& policy = {});

/// Deletes stream `stream`'s WAL blocks before seq `below` (a bound retain() computed on the
/// node that records the allocations). Returns how many it deleted.
Result<std::size_t> trim_wal(CheckpointStore& store, int stream, uint64_t below);

}  // namespace rill::persistence
