#include "persistence/retention.hpp"

#include <algorithm>
#include <map>
#include <optional>
#include <set>

#include "dataflow/receiver_blocks.hpp"
#include "persistence/keys.hpp"

namespace rill::persistence {

namespace {

// A stream's WAL, as the allocations describe it: the end of everything allocated and the
// first block a batch after the cutoff took.
struct WalBound {
  std::optional<uint64_t> allocated_end;
  std::optional<uint64_t> needed_from;
};

std::size_t delete_meta_before(const ReadTxn& txn, MetaType type, std::size_t time_at, Millis cutoff,
                               WriteBatch& batch, Status& st) {
  std::size_t n = 0;
  std::string prefix = meta_key(type);
  // Keys only: no value is read, so none is verified (hashing each would read the whole db).
  st = txn.scan_unverified(Db::meta, prefix, prefix, [&](std::span<const uint8_t> key, std::span<const uint8_t>) {
    // Commits are keyed by output first, so their times are not in key order: scan them all.
    if (key.size() < time_at + 8) return true;
    if (get_i64(key.data() + time_at) <= cutoff.count()) {
      batch.del(Db::meta, std::string(key.begin(), key.end()));
      ++n;
    }
    return true;
  });
  return n;
}

// Rewrites or deletes the allocations at or before the cutoff (see retain()).
void compact_allocations(const std::vector<Allocation>& old, const RetentionPolicy& policy,
                         WriteBatch& batch, RetentionStats& stats) {
  std::set<int> latest_only(policy.latest_record_streams.begin(), policy.latest_record_streams.end());
  // The latest record of every stream: resume() of a receiver or tail_file continues after it.
  std::map<int, std::pair<std::size_t, std::size_t>> latest;  // stream -> (allocation, ref)
  for (std::size_t i = 0; i < old.size(); ++i)
    for (std::size_t j = 0; j < old[i].second.size(); ++j) latest[old[i].second[j].stream] = {i, j};
  for (std::size_t i = 0; i < old.size(); ++i) {
    const auto& [t, refs] = old[i];
    std::vector<BlockRef> kept;
    for (std::size_t j = 0; j < refs.size(); ++j) {
      const BlockRef& b = refs[j];
      bool is_latest = latest[b.stream] == std::pair{i, j};
      if (is_latest || (!latest_only.contains(b.stream) && !b.replay.empty())) kept.push_back(b);
    }
    std::string key = meta_time_key(MetaType::allocation, t.count());
    if (kept.empty()) {
      batch.del(Db::meta, key);
      ++stats.allocations_deleted;
    } else if (kept.size() < refs.size()) {
      // Not write-once here: recovery never re-runs a batch at or before the checkpoint, and
      // resume() sees the same records minus those it ignores.
      std::string value = seal_value(key, encode_allocation(kept));
      batch.put(Db::meta, std::move(key), std::move(value));
      ++stats.allocations_compacted;
    }
  }
}

// Queues the deletion of `stream`'s WAL blocks before `below` into `batch`.
std::size_t delete_wal_before(const ReadTxn& txn, int stream, uint64_t below, WriteBatch& batch, Status& st) {
  std::size_t n = 0;
  std::string prefix;
  put_u32(prefix, static_cast<uint32_t>(stream));
  // Keys only: verifying each block would hash every byte of the WAL on every pass.
  st = txn.scan_unverified(Db::wal, prefix, prefix, [&](std::span<const uint8_t> key, std::span<const uint8_t>) {
    if (key.size() != kWalKeyBytes || get_u64(key.data() + 4) >= below) return false;
    batch.del(Db::wal, std::string(key.begin(), key.end()));
    ++n;
    return true;
  });
  return n;
}

}  // namespace

Result<std::size_t> trim_wal(CheckpointStore& store, int stream, uint64_t below) {
  WriteBatch batch;
  std::size_t n = 0;
  {  // the read txn ends before waiting for the writer
    auto txn = store.env().begin_read();
    if (!txn) return txn.status();
    Status st;
    n = delete_wal_before(*txn, stream, below, batch, st);
    if (!st) return st;
  }
  if (batch.empty()) return n;
  if (Status st = store.writer().write(std::move(batch)); !st) return st;
  return n;
}

Result<RetentionStats> retain(CheckpointStore& store, Millis checkpoint, const RetentionPolicy& policy) {
  RetentionStats stats;
  LmdbMetaLog& meta = store.meta();
  auto last = meta.last_checkpoint();
  auto zero = meta.zero_time();
  if (Status st = meta.first_read_error(); !st) return st;
  if (!last || !zero) return stats;
  Millis c = std::min(checkpoint, *last);
  auto all = meta.allocations_after(Millis::min());
  if (!all) return all.status();

  std::vector<Millis> done;  // allocated batch times in (zero, c]
  for (const auto& a : *all)
    if (a.first > *zero && a.first <= c) done.push_back(a.first);
  std::size_t keep = static_cast<std::size_t>(std::max(policy.keep_batches, 0));
  if (done.size() <= keep) return stats;
  Millis cutoff = done[done.size() - keep - 1];

  WriteBatch batch;
  std::vector<Allocation> old;
  std::map<int, WalBound> wal;
  for (const auto& a : *all) {
    if (a.first > *zero && a.first <= cutoff) old.push_back(a);
    for (const BlockRef& b : a.second) {
      auto range = detail::parse_block_range(b.replay);
      if (!range) continue;  // not a receiver with the WAL (or a batch cut while it was off)
      WalBound& w = wal[b.stream];
      w.allocated_end = std::max(w.allocated_end.value_or(0), range->second);
      if (a.first > cutoff && !w.needed_from) w.needed_from = range->first;  // times ascend
    }
  }
  compact_allocations(old, policy, batch, stats);
  {  // the read txn ends before waiting for the writer (it may need to grow the map)
    auto txn = store.env().begin_read();
    if (!txn) return txn.status();
    Status st;
    stats.commits_deleted = delete_meta_before(*txn, MetaType::commit, 1 + 4, cutoff, batch, st);
    if (!st) return st;
    stats.completions_deleted = delete_meta_before(*txn, MetaType::completion, 1, cutoff, batch, st);
    if (!st) return st;
    for (const auto& [stream, w] : wal) {
      // Never past the allocated end: blocks after it were durable but no batch took them.
      // The last allocated block stays too: its source offset is where a reliable receiver
      // resumes after a restart (last_durable_offset()).
      uint64_t last_kept = *w.allocated_end > 0 ? *w.allocated_end - 1 : 0;
      uint64_t below = std::min(w.needed_from.value_or(last_kept), last_kept);
      stats.wal_kept_from[stream] = below;
      stats.wal_blocks_deleted += delete_wal_before(*txn, stream, below, batch, st);
      if (!st) return st;
    }
    auto state = store.state().add_retention(*txn, cutoff, batch);
    if (!state) return state.status();
    stats.state_entries_deleted = *state;
  }
  if (batch.empty()) return stats;
  if (Status st = store.writer().write(std::move(batch)); !st) return st;
  return stats;
}

}  // namespace rill::persistence
