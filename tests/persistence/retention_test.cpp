// retain(): after it, the store holds exactly what recovery from the checkpoint reads, and
// retaining as a job runs keeps the store's entry count bounded.
#include "persistence/retention.hpp"

#include <map>

#include "temp_store.hpp"

using namespace rill;
using namespace rill::persistence;
using namespace std::chrono_literals;
using rill::persistence::test::TempDir;

namespace {

constexpr int kWal = 1, kFiles = 2, kSocket = 3;  // stream ids, as node ids
constexpr int kBlocksPerBatch = 2;

std::shared_ptr<CheckpointStore> open_store(const std::string& dir) {
  StoreOptions options;
  options.sync = SyncMode::nosync;
  auto store = CheckpointStore::open(dir, options);
  REQUIRE(store);
  return *store;
}

net::Frame frame(uint64_t seq) { return net::Frame(std::vector<uint8_t>(16, static_cast<uint8_t>(seq))); }

std::size_t entries(CheckpointStore& store, Db db) {
  std::size_t n = 0;
  auto txn = store.env().begin_read();
  REQUIRE(txn);
  REQUIRE(txn->scan(db, {}, {}, [&](auto, auto) { return ++n, true; }).is_ok());
  return n;
}

std::size_t meta_entries(CheckpointStore& store, MetaType type) {
  std::size_t n = 0;
  auto txn = store.env().begin_read();
  REQUIRE(txn);
  std::string p = meta_key(type);
  REQUIRE(txn->scan(Db::meta, p, p, [&](auto, auto) { return ++n, true; }).is_ok());
  return n;
}

// Batch k (time k * 100 ms): kBlocksPerBatch WAL blocks, an allocation taking them, the files
// stream reading a file every `files_every` batches, commits of 2 outputs x 2 partitions, and
// state of 2 partitions, full every `full_every` batches (dropping the entries before the
// previous full one, as the stage does, when `drop` is set).
void write_batch(CheckpointStore& store, int k, int full_every, int files_every = 3, bool drop = true) {
  Millis t{k * 100};
  uint64_t first = static_cast<uint64_t>(k - 1) * kBlocksPerBatch, end = first + kBlocksPerBatch;
  for (uint64_t seq = first; seq < end; ++seq)
    REQUIRE(store.wal_writer().append(kWal, seq, seq, frame(seq)).get().is_ok());
  std::string files = k % files_every == 0 ? "F file-" + std::to_string(k) : "";
  REQUIRE(store.meta()
              .record_allocation(t, {{kWal, first, 20, std::to_string(first) + " " + std::to_string(end)},
                                     {kFiles, 0, 3, files},
                                     {kSocket, 0, 5, ""}})
              .is_ok());
  for (int output = 0; output < 2; ++output)
    for (int p = 0; p < 2; ++p) REQUIRE(store.meta().record_commit(output, t, p, 7).is_ok());
  for (int p = 0; p < 2; ++p) {
    bool full = k % full_every == 0;
    std::optional<Millis> before = drop && full && k > full_every ? std::optional(Millis{(k - full_every) * 100}) : std::nullopt;
    REQUIRE(store.state().write("counts", p, {t, full, "s" + std::to_string(k)}, before).get().is_ok());
  }
}

std::vector<std::string> recorded(CheckpointStore& store, int stream) {
  auto all = store.meta().allocations_after(Millis::min());
  REQUIRE(all);
  std::vector<std::string> out;
  for (const auto& [t, blocks] : *all)
    for (const auto& b : blocks)
      if (b.stream == stream) out.push_back(b.replay);
  return out;
}

std::vector<Millis> allocated(CheckpointStore& store) {
  auto all = store.meta().allocations_after(Millis::min());
  REQUIRE(all);
  std::vector<Millis> out;
  for (const auto& a : *all) out.push_back(a.first);
  return out;
}

}  // namespace

TEST_CASE("retain keeps exactly what recovery from the checkpoint reads", "[retention]") {
  TempDir dir;
  auto store = open_store(dir.path);
  auto& meta = store->meta();
  REQUIRE(meta.record_zero_time(0ms).is_ok());
  // The first start's record of the replayable sources, under the zero time.
  REQUIRE(meta.record_allocation(0ms, {{kWal, 0, 0, ""}, {kFiles, 0, 0, "I old-file"}}).is_ok());
  REQUIRE(meta.record_downtime(250ms, 250ms).is_ok());
  for (int k = 1; k <= 20; ++k) {
    write_batch(*store, k, 5, 3, false);  // no drop: retain() deletes the old state
    // Batches 1..17 complete, every third a checkpoint: the last checkpoint is 1500.
    if (k <= 17) REQUIRE(meta.record_completion(Millis{k * 100}, k % 3 == 0).is_ok());
  }
  // Durable blocks no batch took yet: a restart hands them to its first batch.
  for (uint64_t seq = 40; seq < 45; ++seq) REQUIRE(store->wal_writer().append(kWal, seq, seq, frame(seq)).get().is_ok());
  REQUIRE(meta.last_checkpoint() == 1500ms);
  std::vector<std::string> files_before;
  for (const auto& r : recorded(*store, kFiles))
    if (!r.empty()) files_before.push_back(r);
  auto restore_before = store->state().read_for_restore("counts", 0, 1500ms);
  REQUIRE(restore_before);

  SECTION("keep_batches = 0") {
    // Asking past the last checkpoint retains as of the last checkpoint.
    auto stats = retain(*store, 1800ms, {0, {kWal}});
    REQUIRE(stats);
    // Allocations 100..1500: 3, 6, 9, 12 keep their file names, 15 holds every stream's
    // latest record; the other ten go. The zero allocation and 1600..2000 are untouched.
    CHECK(stats->allocations_deleted == 10);
    CHECK(stats->allocations_compacted == 4);
    CHECK(allocated(*store) ==
          std::vector<Millis>{0ms, 300ms, 600ms, 900ms, 1200ms, 1500ms, 1600ms, 1700ms, 1800ms, 1900ms, 2000ms});
    CHECK(meta.allocation(0ms)->size() == 2);
    CHECK(meta.allocation(300ms) == std::vector<BlockRef>{{kFiles, 0, 3, "F file-3"}});
    CHECK(meta.allocation(1500ms)->size() == 3);
    CHECK(meta.allocation(1600ms)->size() == 3);
    // What resume() reads: the files stream every name, the receiver the same last range.
    std::vector<std::string> files_after = recorded(*store, kFiles);
    CHECK(files_after.front() == "I old-file");
    std::erase(files_after, std::string());
    CHECK(files_after == files_before);
    CHECK(recorded(*store, kWal).back() == "38 40");
    CHECK(recorded(*store, kWal)[1] == "28 30");  // 1500's: the 15th batch took [28, 30)

    CHECK(stats->commits_deleted == 15 * 4);
    CHECK(meta_entries(*store, MetaType::commit) == 5 * 4);
    CHECK_FALSE(meta.is_committed(1, 1500ms, 1));
    CHECK(meta.is_committed(1, 1600ms, 1));
    CHECK(stats->completions_deleted == 15);
    CHECK(meta_entries(*store, MetaType::completion) == 2);
    CHECK(meta.last_completed() == 1700ms);
    CHECK(meta.downtimes().size() == 1);

    // Blocks from 1600's first (30) on stay, allocated or not.
    CHECK(stats->wal_blocks_deleted == 30);
    auto blocks = store->wal_reader().read_from(kWal, 0);
    REQUIRE(blocks);
    REQUIRE(blocks->size() == 15);
    CHECK(blocks->front().seq == 30);
    CHECK(blocks->back().seq == 44);

    // State: the full snapshot at 1500 and what follows (1600..2000 belong to re-runs).
    auto restore_after = store->state().read_for_restore("counts", 0, 1500ms);
    REQUIRE(restore_after);
    CHECK(restore_after->size() == restore_before->size());
    CHECK(restore_after->front().t == 1500ms);
    CHECK(store->state().usage("counts", 0).first == 6);
    CHECK(stats->state_entries_deleted == 2 * 14);  // 100..1400, per partition

    // Idempotent: a second pass finds nothing left to delete.
    auto again = retain(*store, 1500ms, {0, {kWal}});
    REQUIRE(again);
    CHECK(again->total() == 0);
    CHECK(again->allocations_compacted == 0);
  }

  SECTION("keep_batches = 2 keeps the two batches before the checkpoint") {
    auto stats = retain(*store, 1500ms, {2, {kWal}});
    REQUIRE(stats);
    CHECK(meta.is_committed(0, 1400ms, 0));
    CHECK_FALSE(meta.is_committed(0, 1300ms, 0));
    CHECK(meta.allocation(1400ms)->size() == 3);
    CHECK(meta_entries(*store, MetaType::completion) == 4);
    auto blocks = store->wal_reader().read_from(kWal, 0);
    REQUIRE(blocks);
    CHECK(blocks->front().seq == 26);  // 1400 took [26, 28)
  }

  SECTION("without latest_record_streams every non-empty record stays") {
    REQUIRE(retain(*store, 1500ms).is_ok());
    CHECK(recorded(*store, kWal).size() == 1 + 20);  // zero's, then every batch's range
    CHECK(meta_entries(*store, MetaType::commit) == 5 * 4);
  }
}

TEST_CASE("retain without a checkpoint deletes nothing", "[retention]") {
  TempDir dir;
  auto store = open_store(dir.path);
  REQUIRE(store->meta().record_zero_time(0ms).is_ok());
  for (int k = 1; k <= 5; ++k) {
    write_batch(*store, k, 2);
    REQUIRE(store->meta().record_completion(Millis{k * 100}).is_ok());
  }
  auto stats = retain(*store, 500ms);
  REQUIRE(stats);
  CHECK(stats->total() == 0);
  CHECK(allocated(*store).size() == 5);
}

TEST_CASE("retain reports each stream's WAL bound; trim_wal applies it to another node's WAL") {
  TempDir dir;
  auto store = open_store(dir.path);
  REQUIRE(store->meta().record_zero_time(0ms).is_ok());
  for (int k = 1; k <= 6; ++k) {
    write_batch(*store, k, 10, 100);
    REQUIRE(store->meta().record_completion(Millis{k * 100}, true).is_ok());
  }
  auto stats = retain(*store, Millis{600}, {0, {kWal}});
  REQUIRE(stats);
  REQUIRE(stats->wal_kept_from.count(kWal) == 1);
  const uint64_t below = stats->wal_kept_from.at(kWal);
  CHECK(entries(*store, Db::wal) == 1);  // the last allocated block: its offset stays known
  // A worker keeps that stream's WAL: the same bound trims its copy of the blocks.
  TempDir other;
  auto worker = open_store(other.path);
  for (int k = 1; k <= 6; ++k) write_batch(*worker, k, 10, 100);
  const std::size_t before = entries(*worker, Db::wal);
  auto trimmed = trim_wal(*worker, kWal, below);
  REQUIRE(trimmed);
  CHECK(*trimmed == before - 1);
  CHECK(entries(*worker, Db::wal) == 1);
  CHECK(*trim_wal(*worker, kWal, below) == 0);  // nothing left below it
}

TEST_CASE("retain every 10 batches keeps a 2,000-batch store bounded", "[retention][soak]") {
  TempDir dir;
  auto store = open_store(dir.path);
  REQUIRE(store->meta().record_zero_time(0ms).is_ok());
  REQUIRE(store->meta().record_allocation(0ms, {{kWal, 0, 0, ""}, {kFiles, 0, 0, ""}}).is_ok());
  std::map<Db, std::size_t> most;
  for (int k = 1; k <= 2000; ++k) {
    write_batch(*store, k, 10, 100);
    REQUIRE(store->meta().record_completion(Millis{k * 100}, k % 5 == 0).is_ok());
    if (k % 10 != 0) continue;
    auto stats = retain(*store, Millis{k * 100}, {0, {kWal}});
    REQUIRE(stats);
    for (Db db : {Db::meta, Db::wal, Db::state}) most[db] = std::max(most[db], entries(*store, db));
  }
  // Meta: a few fixed records, the latest allocation and the files stream's names (it must
  // remember each file it read: 20 here); nothing per batch. WAL: every block was allocated
  // and done, and only the last one stays (its source offset is where a reliable receiver
  // resumes). State: each partition's last full snapshot.
  std::size_t names = 2000 / 100;
  CHECK(most[Db::meta] <= names + 10);
  CHECK(most[Db::wal] == 1);
  CHECK(most[Db::state] == 2);
  auto files = recorded(*store, kFiles);
  CHECK(files.size() - static_cast<std::size_t>(std::count(files.begin(), files.end(), "")) == names);
}
