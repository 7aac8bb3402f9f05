#include "persistence/store_writer.hpp"

#include <utility>

#include "dataflow/failpoint.hpp"

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

StoreWriter::StoreWriter(LmdbEnv& env, StoreWriterOptions options)
    : env_(env), options_(options), thread_([this] { run(); }) {}

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

void StoreWriter::run() {
  std::vector<Request> group;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !queue_.empty() || stopping_; });
      if (queue_.empty()) return;  // stopping, and everything queued is committed
      // Linger for company: every request that arrives before the deadline shares this fsync.
      auto deadline = std::chrono::steady_clock::now() + options_.max_delay;
      cv_.wait_until(lock, deadline,
                     [this] { return queue_.size() >= options_.max_batch || stopping_; });
      while (!queue_.empty() && group.size() < options_.max_batch) {
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit_group(group);
    group.clear();
  }
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
  for (std::size_t i = 0; i < group.size(); ++i)
    group[i].done.set_value(fatal.is_ok() ? std::move(results[i]) : fatal);
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
      } else {
        rc = mdb_put(child, dbi, &k, &v, op.kind == WriteBatch::Kind::put_new ? MDB_NOOVERWRITE : 0);
      }
      if (rc == 0) continue;
      mdb_txn_abort(child);
      child = nullptr;
      if (rc == MDB_MAP_FULL) return rc;
      const char* what = op.kind == WriteBatch::Kind::del ? "mdb_del" : "mdb_put";
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
