#include "persistence/store_writer.hpp"

#include <random>
#include <utility>

#include "dataflow/failpoint.hpp"
#include "persistence/replica_channel.hpp"
#include "persistence/store_mirror.hpp"

namespace rill::persistence {

WriteBatch& WriteBatch::put(Db db, std::string key, std::string value) {
  ops_.push_back({Kind::put, db, std::move(key), std::move(value)});
  return *this;
}

WriteBatch& WriteBatch::put_new(Db db, std::string key, std::string value) {
  ops_.push_back({Kind::put_new, db, std::move(key), std::move(value)});
  return *this;
}

WriteBatch& WriteBatch::del(Db db, std::string key) {
  ops_.push_back({Kind::del, db, std::move(key), {}});
  return *this;
}

WriteBatch& WriteBatch::clear(Db db) {
  ops_.push_back({Kind::clear, db, {}, {}});
  return *this;
}

StoreWriter::StoreWriter(LmdbEnv& env, StoreWriterOptions options)
    : env_(env),
      options_(options),
      incarnation_(std::random_device{}() | (uint64_t{std::random_device{}()} << 32) | 1),
      thread_([this] { run(); }) {}

StoreWriter::~StoreWriter() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

std::future<Status> StoreWriter::submit(WriteBatch batch) {
  Request req{std::move(batch), {}};
  auto future = req.done.get_future();
  {
    std::lock_guard lock(mu_);
    if (stopping_) {
      req.done.set_value({Errc::stopped, "store " + env_.dir() + ": writer is stopping"});
      return future;
    }
    queue_.push_back(std::move(req));
  }
  cv_.notify_one();
  return future;
}

void StoreWriter::replicate_to(std::shared_ptr<ReplicaChannel> channel) {
  {
    std::lock_guard lock(mu_);
    replica_ = std::move(channel);
    resync_ = true;
  }
  cv_.notify_one();
}

void StoreWriter::resync_replica() {
  {
    std::lock_guard lock(mu_);
    if (!replica_) return;
    resync_ = true;
  }
  cv_.notify_one();
}

void StoreWriter::run() {
  std::vector<Request> group;
  for (;;) {
    bool resync = false;
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || stopping_ || resync_; });
      if (queue_.empty() && !resync_) return;  // stopping, and everything queued is committed
      if (!queue_.empty()) {
        // Linger for company: every request that arrives before the deadline shares this fsync.
        auto deadline = std::chrono::steady_clock::now() + options_.max_delay;
        cv_.wait_until(lock, deadline,
                       [this] { return queue_.size() >= options_.max_batch || stopping_; });
      }
      while (!queue_.empty() && group.size() < options_.max_batch) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      resync = std::exchange(resync_, false);
      if (replica_ && !channel_) channel_ = replica_;
    }
    if (resync) ship_whole_store();
    if (!group.empty()) commit_group(group);
    group.clear();
  }
}

// The writer is the store's only writer: a read txn opened here, between commits, sees
// exactly the commits numbered so far.
void StoreWriter::ship_whole_store() {
  auto ops = whole_store_ops(env_);
  if (!ops) {
    // A partial copy would be a wrong replica: every later commit fails with the reason.
    replica_error_ = Status(ops.status().code(),
                            "store " + env_.dir() + ": cannot copy it to its replica: " + ops.status().message());
    return;
  }
  replica_error_ = Status::ok();
  // In pieces, so that each fits a frame.
  ReplicaCommit piece{incarnation_, 0, true, false, {}};
  size_t bytes = 0;
  for (auto& op : *ops) {
    size_t size = op.key.size() + op.value.size();
    if (!piece.ops.empty() && bytes + size > options_.replica_piece_bytes) {
      piece.seq = ++replica_seq_;
      piece.more = true;
      channel_->ship(std::move(piece), [](Status) {});
      piece = ReplicaCommit{incarnation_, 0, false, false, {}};
      bytes = 0;
    }
    bytes += size;
    piece.ops.push_back(std::move(op));
  }
  piece.seq = ++replica_seq_;
  channel_->ship(std::move(piece), [](Status) {});
}

void StoreWriter::commit_group(std::vector<Request>& group) {
  std::vector<Status> results(group.size());
  Status fatal;
  for (;;) {
    int rc = try_commit(group, results, fatal);
    if (rc != MDB_MAP_FULL) break;
    // The map grows only with no txn open: the whole group was aborted and is retried.
    growths_.fetch_add(1);
    fatal = env_.grow();
    if (!fatal.is_ok()) break;
    results.assign(group.size(), Status::ok());
  }
  if (fatal.is_ok()) {
    commits_.fetch_add(1);
    failpoint("store.after_commit");  // durable, yet no caller has heard of it
  }
  if (!fatal.is_ok() || !channel_) {
    for (std::size_t i = 0; i < group.size(); ++i)
      group[i].done.set_value(fatal.is_ok() ? std::move(results[i]) : fatal);
    return;
  }
  // Replicated: the batches that committed are heard of once the replica holds them too.
  ReplicaCommit commit{incarnation_, 0, false, false, {}};
  auto waiting = std::make_shared<std::vector<std::promise<Status>>>();
  for (std::size_t i = 0; i < group.size(); ++i) {
    if (!results[i].is_ok() || !replica_error_.is_ok()) {
      group[i].done.set_value(results[i].is_ok() ? replica_error_ : std::move(results[i]));
      continue;
    }
    for (auto& op : std::move(group[i].batch).release_ops()) {
      if (op.kind == WriteBatch::Kind::put_new) op.kind = WriteBatch::Kind::put;
      commit.ops.push_back(std::move(op));
    }
    waiting->push_back(std::move(group[i].done));
  }
  if (waiting->empty()) return;
  commit.seq = ++replica_seq_;
  channel_->ship(std::move(commit), [waiting](Status s) {
    for (auto& p : *waiting) p.set_value(s);
  });
}

int StoreWriter::try_commit(std::vector<Request>& group, std::vector<Status>& results,
                            Status& fatal) {
  MDB_txn* parent = nullptr;
  int rc = mdb_txn_begin(env_.raw(), nullptr, 0, &parent);
  if (rc) {
    fatal = env_.error(Errc::io_error, "mdb_txn_begin(write)", rc);
    return rc;
  }
  std::unique_ptr<MDB_txn, void (*)(MDB_txn*)> guard(parent, mdb_txn_abort);
  for (std::size_t i = 0; i < group.size(); ++i) {
    // A nested txn per batch: a batch that fails rolls back alone.
    MDB_txn* child = nullptr;
    if ((rc = mdb_txn_begin(env_.raw(), parent, 0, &child))) {
      if (rc == MDB_MAP_FULL) return rc;
      fatal = env_.error(Errc::io_error, "mdb_txn_begin(nested)", rc);
      return rc;
    }
    for (const auto& op : group[i].batch.ops()) {
      MDB_val k = to_val(op.key), v = to_val(op.value);
      MDB_dbi dbi = env_.dbi(op.db);
      if (op.kind == WriteBatch::Kind::del) {
        rc = mdb_del(child, dbi, &k, nullptr);
        if (rc == MDB_NOTFOUND) rc = 0;
      } else if (op.kind == WriteBatch::Kind::clear) {
        rc = mdb_drop(child, dbi, 0);
      } else {
        rc = mdb_put(child, dbi, &k, &v, op.kind == WriteBatch::Kind::put_new ? MDB_NOOVERWRITE : 0);
      }
      if (rc == 0) continue;
      mdb_txn_abort(child);
      child = nullptr;
      if (rc == MDB_MAP_FULL) return rc;
      const char* what = op.kind == WriteBatch::Kind::del     ? "mdb_del"
                         : op.kind == WriteBatch::Kind::clear ? "mdb_drop"
                                                              : "mdb_put";
      results[i] = env_.error(rc == MDB_KEYEXIST ? Errc::invalid_argument : Errc::io_error, what,
                              rc, op.db, to_span(op.key));
      break;
    }
    if (child && (rc = mdb_txn_commit(child))) {
      if (rc == MDB_MAP_FULL) return rc;
      results[i] = env_.error(Errc::io_error, "mdb_txn_commit(nested)", rc);
    }
  }
  rc = mdb_txn_commit(guard.release());
  if (rc && rc != MDB_MAP_FULL) fatal = env_.error(Errc::io_error, "mdb_txn_commit", rc);
  return rc;
}

}  // namespace rill::persistence
