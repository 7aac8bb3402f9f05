// The one writer of a store: a dedicated thread owns every LMDB write txn and group-commits the
// batches callers submit. Thread-safe: submit() from any thread; the env must outlive the writer.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "dataflow/result.hpp"
#include "persistence/lmdb_env.hpp"

namespace rill::persistence {

class ReplicaChannel;

/// Puts and deletes across the store's databases, applied atomically (all or none).
/// Values are stored as given: seal them with seal_value() first. A value, share freely.
class WriteBatch {
 public:
  enum class Kind : uint8_t { put, put_new, del, clear };
  struct Op {
    Kind kind;
    Db db;
    std::string key;
    std::string value;
  };
  /// Insert or overwrite.
  WriteBatch& put(Db db, std::string key, std::string value);
  /// Insert; the whole batch fails with Errc::invalid_argument if the key exists (write-once).
  WriteBatch& put_new(Db db, std::string key, std::string value);
  /// Delete; a missing key is not an error.
  WriteBatch& del(Db db, std::string key);
  /// Delete every entry of db (a replica starting over, a store rebuilt from one).
  WriteBatch& clear(Db db);
  const std::vector<Op>& ops() const noexcept { return ops_; }
  std::vector<Op> release_ops() && { return std::move(ops_); }
  bool empty() const noexcept { return ops_.empty(); }

 private:
  std::vector<Op> ops_;
};

/// Options for the store writer.
struct StoreWriterOptions {
  /// Longest the writer waits, after the first request of a commit arrives, for more to share
  /// its fsync. Default 0: commit as soon as the queue is drained; requests that arrive during
  /// an fsync share the next one (measured here: 8 writers, full sync, 4,720 appends/s with 0
  /// vs ~2,100/s with 2 ms). A delay only adds latency unless writers arrive in bursts.
  std::chrono::microseconds max_delay{0};
  /// Most requests in one commit; a full batch commits without waiting. Default 1024. Bounds
  /// the txn size and so how much work a map growth retry repeats.
  std::size_t max_batch = 1024;
  /// The whole store goes to a replica in pieces of at most this many bytes of keys and
  /// values (each piece one frame). Default 32 MiB.
  std::size_t replica_piece_bytes = std::size_t{32} << 20;
};

class StoreWriter {
 public:
  /// Starts the writer thread. REQUIRES: env outlives this writer.
  StoreWriter(LmdbEnv& env, StoreWriterOptions options = {});
  /// Commits what is queued, then stops the thread.
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  /// Queues batch; the future is ready once it is durable (per the env's SyncMode) or failed.
  /// Each batch is applied atomically in a nested txn: one failing batch does not fail the
  /// others of its commit. After stop, futures complete with Errc::stopped.
  std::future<Status> submit(WriteBatch batch);
  /// As submit(), and waits.
  Status write(WriteBatch batch) { return submit(std::move(batch)).get(); }

  /// From the next commit on, a caller hears of its batch only once it is durable here and on
  /// the replica `channel` reaches. The replica first gets the whole store as it is then, so
  /// commits made before this call are covered too. Call once.
  void replicate_to(std::shared_ptr<ReplicaChannel> channel);
  /// The replica lost track (it answered with a gap): send it the whole store again, before the
  /// next commit. Any thread.
  void resync_replica();

  /// Durable commits (fsyncs, in full sync mode) so far.
  uint64_t commits() const noexcept { return commits_.load(); }
  /// Map growths after MDB_MAP_FULL so far.
  uint64_t map_growths() const noexcept { return growths_.load(); }

 private:
  struct Request {
    WriteBatch batch;
    std::promise<Status> done;
  };
  void run();
  void commit_group(std::vector<Request>& group);
  // On the writer thread, between commits: the whole store as one reset commit.
  void ship_whole_store();
  // Applies the group in one txn: MDB_MAP_FULL (per batch or at commit) comes back as such.
  int try_commit(std::vector<Request>& group, std::vector<Status>& results, Status& fatal);

  LmdbEnv& env_;
  StoreWriterOptions options_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Request> queue_;                // guarded by mu_
  bool stopping_ = false;                    // guarded by mu_
  bool resync_ = false;                      // guarded by mu_
  std::shared_ptr<ReplicaChannel> replica_;  // guarded by mu_; set once
  // Writer thread only, from here on.
  uint64_t incarnation_ = 0;
  uint64_t replica_seq_ = 0;
  std::shared_ptr<ReplicaChannel> channel_;  // replica_, once the writer has seen it
  Status replica_error_;                     // the whole store could not be copied
  std::atomic<uint64_t> commits_{0};
  std::atomic<uint64_t> growths_{0};
  std::thread thread_;  // last: starts after every other member is built
};

}  // namespace rill::persistence
