#include "persistence/store_mirror.hpp"

#include <utility>

namespace rill::persistence {

namespace {

std::string position_key() { return meta_key(MetaType::replica_position); }

// A commit's ops as one batch (put_new already travels as put).
WriteBatch batch_of(const std::vector<WriteBatch::Op>& ops) {
  WriteBatch batch;
  for (const auto& op : ops) {
    if (op.kind == WriteBatch::Kind::clear)
      batch.clear(op.db);
    else if (op.kind == WriteBatch::Kind::del)
      batch.del(op.db, op.key);
    else
      batch.put(op.db, op.key, op.value);
  }
  return batch;
}

}  // namespace

Result<std::vector<WriteBatch::Op>> whole_store_ops(const LmdbEnv& env) {
  std::vector<WriteBatch::Op> ops;
  auto txn = env.begin_read();
  if (!txn) return txn.status();
  const std::string skip = position_key();
  for (int d = 0; d < kDbCount; ++d) {
    Db db = static_cast<Db>(d);
    ops.push_back({WriteBatch::Kind::clear, db, {}, {}});
    Status s =
        txn->scan(db, "", "", [&](std::span<const uint8_t> key, std::span<const uint8_t> payload) {
          std::string k(reinterpret_cast<const char*>(key.data()), key.size());
          if (db == Db::meta && k == skip) return true;
          std::string v =
              seal_value(k, {reinterpret_cast<const char*>(payload.data()), payload.size()});
          ops.push_back({WriteBatch::Kind::put, db, std::move(k), std::move(v)});
          return true;
        });
    if (!s) return s;
  }
  return ops;
}

std::string mirror_dir(const std::string& store_dir, const std::string& origin) {
  std::string base = store_dir;
  while (base.size() > 1 && base.back() == '/') base.pop_back();
  return base + ".replica-of-" + origin;
}

Result<std::unique_ptr<StoreMirror>> StoreMirror::open(const std::string& dir,
                                                       const StoreOptions& options) {
  auto env = LmdbEnv::open(dir, options);
  if (!env) return env.status();
  std::unique_ptr<StoreMirror> m(new StoreMirror);
  m->env_ = std::make_unique<LmdbEnv>(std::move(*env));
  {
    auto txn = m->env_->begin_read();
    if (!txn) return txn.status();
    auto position = txn->get(Db::meta, position_key());
    if (!position) return position.status();
    if (*position) {
      if ((*position)->size() != 17)
        return Status(Errc::corrupt, "replica " + dir + ": its position record is damaged");
      m->incarnation_ = get_u64((*position)->data());
      m->seq_ = get_u64((*position)->data() + 8);
      m->whole_ = (*position)->data()[16] != 0;
    }
  }
  m->writer_ = std::make_unique<StoreWriter>(*m->env_);
  return m;
}

ReplicaAck StoreMirror::apply(const ReplicaCommit& commit) {
  ReplicaAck ack{commit.seq, ReplicaAck::Outcome::applied, {}};
  if (!commit.reset) {
    if (commit.incarnation == incarnation_ && commit.seq <= seq_) return ack;  // sent again
    if (commit.incarnation != incarnation_ || commit.seq != seq_ + 1) {
      ack.outcome = ReplicaAck::Outcome::gap;
      return ack;
    }
  }
  WriteBatch batch = batch_of(commit.ops);
  // A piece of a whole-store copy leaves the copy partial until the last piece. Commits apply
  // only in sequence, so any commit without `more` completes a copy or follows a complete one.
  const bool whole = !commit.more;
  std::string position;
  put_u64(position, commit.incarnation);
  put_u64(position, commit.seq);
  position.push_back(whole ? 1 : 0);
  batch.put(Db::meta, position_key(), seal_value(position_key(), position));
  if (Status s = writer_->write(std::move(batch)); !s) {
    ack.outcome = ReplicaAck::Outcome::failed;
    ack.error = "replica " + dir() + ": " + s.to_string();
    return ack;
  }
  incarnation_ = commit.incarnation;
  seq_ = commit.seq;
  whole_ = whole;
  return ack;
}

Result<std::optional<ReplicaCommit>> StoreMirror::contents() const {
  if (incarnation_ == 0) return std::optional<ReplicaCommit>();
  if (!whole_)
    return Status(
        Errc::corrupt,
        "replica " + dir() + ": holds only part of a copy (its origin stopped while sending it)");
  auto ops = whole_store_ops(*env_);
  if (!ops) return Status(ops.status().code(), "replica " + dir() + ": " + ops.status().message());
  return std::optional<ReplicaCommit>(
      ReplicaCommit{incarnation_, seq_, true, false, std::move(*ops)});
}

Status restore_from(StoreWriter& writer, const ReplicaCommit& contents) {
  return writer.write(batch_of(contents.ops));
}

}  // namespace rill::persistence
