// Store replication without a network: a store writer shipping to a StoreMirror through an
// in-process channel. Callers hear of commits only once the replica holds them; the replica
// starts from the whole store, refuses gaps, and hands back a copy a store is rebuilt from.
#include <chrono>
#include <deque>
#include <future>
#include <mutex>

#include "persistence/checkpoint_store.hpp"
#include "persistence/store_mirror.hpp"
#include "temp_store.hpp"

using namespace rill;
using namespace rill::persistence;
using rill::persistence::test::TempDir;

namespace {

StoreOptions no_sync() {
  StoreOptions o;
  o.sync = SyncMode::nosync;
  return o;
}

// Holds what the writer ships until the test delivers it to a mirror.
class HeldChannel : public ReplicaChannel {
 public:
  void ship(ReplicaCommit commit, std::function<void(Status)> done) override {
    std::lock_guard lock(mu_);
    held_.push_back({std::move(commit), std::move(done)});
    cv_.notify_all();
  }
  // Waits for the next shipped commit (the writer thread ships it asynchronously).
  std::pair<ReplicaCommit, std::function<void(Status)>> next() {
    std::unique_lock lock(mu_);
    REQUIRE(cv_.wait_for(lock, std::chrono::seconds(30), [this] { return !held_.empty(); }));
    auto out = std::move(held_.front());
    held_.pop_front();
    return out;
  }
  // Applies the next commit to `mirror` and answers the writer as a network channel would.
  ReplicaAck deliver(StoreMirror& mirror) {
    auto [commit, done] = next();
    ReplicaAck ack = mirror.apply(commit);
    if (ack.outcome == ReplicaAck::Outcome::applied) done(Status::ok());
    if (ack.outcome == ReplicaAck::Outcome::failed) done(Status(Errc::io_error, ack.error));
    if (ack.outcome == ReplicaAck::Outcome::gap) gapped_.push_back(std::move(done));
    return ack;
  }
  // The commits a gap left waiting: settled by the whole store that follows.
  void settle_gapped() {
    for (auto& d : gapped_) d(Status::ok());
    gapped_.clear();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::pair<ReplicaCommit, std::function<void(Status)>>> held_;
  std::vector<std::function<void(Status)>> gapped_;
};

WriteBatch put_state(const std::string& key, const std::string& value) {
  WriteBatch b;
  b.put(Db::state, key, seal_value(key, value));
  return b;
}

// Every entry, as whole_store_ops lists them (a copy equals its origin when these are equal).
std::vector<std::tuple<int, std::string, std::string>> entries(const LmdbEnv& env) {
  auto ops = whole_store_ops(env);
  REQUIRE(ops.is_ok());
  std::vector<std::tuple<int, std::string, std::string>> out;
  for (const auto& op : *ops)
    if (op.kind == WriteBatch::Kind::put)
      out.emplace_back(static_cast<int>(op.db), op.key, op.value);
  return out;
}

std::vector<std::tuple<int, std::string, std::string>> entries(const StoreMirror& mirror) {
  auto contents = mirror.contents();
  REQUIRE(contents.is_ok());
  REQUIRE(contents->has_value());
  std::vector<std::tuple<int, std::string, std::string>> out;
  for (const auto& op : (*contents)->ops)
    if (op.kind == WriteBatch::Kind::put)
      out.emplace_back(static_cast<int>(op.db), op.key, op.value);
  return out;
}

bool ready(std::future<Status>& f) {
  return f.wait_for(std::chrono::milliseconds(0)) == std::future_status::ready;
}

}  // namespace

TEST_CASE("a replicated commit is heard of only once the replica holds it", "[replica]") {
  TempDir origin_dir, mirror_dir;
  auto env = LmdbEnv::open(origin_dir.path, no_sync());
  REQUIRE(env.is_ok());
  StoreWriter writer(*env);
  REQUIRE(writer.write(put_state("before", "made before replication")).is_ok());
  auto mirror = StoreMirror::open(mirror_dir.path, no_sync());
  REQUIRE(mirror.is_ok());
  CHECK_FALSE(mirror->get()->contents()->has_value());  // never synced: nothing to hand back

  auto channel = std::make_shared<HeldChannel>();
  writer.replicate_to(channel);
  auto first = channel->next();  // the whole store comes first, with what was there before
  CHECK(first.first.reset);
  CHECK(first.first.seq == 1);
  REQUIRE(mirror->get()->apply(first.first).outcome == ReplicaAck::Outcome::applied);

  auto pending = writer.submit(put_state("after", "made while replicating"));
  auto [commit, done] = channel->next();
  CHECK_FALSE(commit.reset);
  CHECK(commit.seq == 2);
  REQUIRE(commit.ops.size() == 1);
  CHECK(commit.ops[0].key == "after");
  CHECK_FALSE(ready(pending));  // durable here, not yet there
  REQUIRE(mirror->get()->apply(commit).outcome == ReplicaAck::Outcome::applied);
  done(Status::ok());
  REQUIRE(pending.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  CHECK(pending.get().is_ok());
  CHECK(entries(**mirror) == entries(*env));
  CHECK(entries(*env).size() >= 3);  // format version, before, after
}

TEST_CASE("a replica that fails a commit fails its callers with the reason", "[replica]") {
  TempDir origin_dir;
  auto env = LmdbEnv::open(origin_dir.path, no_sync());
  REQUIRE(env.is_ok());
  StoreWriter writer(*env);
  auto channel = std::make_shared<HeldChannel>();
  writer.replicate_to(channel);
  channel->next().second(Status::ok());
  auto pending = writer.submit(put_state("k", "v"));
  channel->next().second(Status(Errc::io_error, "replica on node w2: disk full"));
  REQUIRE(pending.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  Status s = pending.get();
  CHECK(s.code() == Errc::io_error);
  CHECK(s.message() == "replica on node w2: disk full");
}

TEST_CASE("a replica answers a gap until it gets the whole store, and repeats are no-ops",
          "[replica]") {
  TempDir origin_dir, old_dir, new_dir;
  auto env = LmdbEnv::open(origin_dir.path, no_sync());
  REQUIRE(env.is_ok());
  StoreWriter writer(*env);
  auto channel = std::make_shared<HeldChannel>();
  writer.replicate_to(channel);
  auto old_mirror = StoreMirror::open(old_dir.path, no_sync());
  REQUIRE(old_mirror.is_ok());
  REQUIRE(channel->deliver(**old_mirror).outcome == ReplicaAck::Outcome::applied);
  auto a = writer.submit(put_state("a", "1"));
  auto [commit_a, done_a] = channel->next();
  REQUIRE((*old_mirror)->apply(commit_a).outcome == ReplicaAck::Outcome::applied);
  // The same commit again (a resend after a reconnect) changes nothing and is applied.
  CHECK((*old_mirror)->apply(commit_a).outcome == ReplicaAck::Outcome::applied);
  done_a(Status::ok());
  CHECK(a.get().is_ok());

  // The peer comes back with an empty disk: the next commit does not follow anything it has.
  auto fresh = StoreMirror::open(new_dir.path, no_sync());
  REQUIRE(fresh.is_ok());
  auto b = writer.submit(put_state("b", "2"));
  CHECK(channel->deliver(**fresh).outcome == ReplicaAck::Outcome::gap);
  CHECK_FALSE((*fresh)->contents()->has_value());  // a gap changes nothing
  CHECK_FALSE(ready(b));
  writer.resync_replica();
  auto whole = channel->next();
  CHECK(whole.first.reset);
  REQUIRE((*fresh)->apply(whole.first).outcome == ReplicaAck::Outcome::applied);
  whole.second(Status::ok());
  channel->settle_gapped();
  CHECK(b.get().is_ok());
  CHECK(entries(**fresh) == entries(*env));

  // A commit of another incarnation (the origin restarted) is a gap too.
  ReplicaCommit other = commit_a;
  other.incarnation ^= 0x5a5a;
  other.seq = 99;
  CHECK((*fresh)->apply(other).outcome == ReplicaAck::Outcome::gap);
}

TEST_CASE("a store rebuilt from its replica's copy reads as the original", "[replica]") {
  TempDir origin_dir, mirror_dir, rebuilt_dir;
  auto mirror = StoreMirror::open(mirror_dir.path, no_sync());
  REQUIRE(mirror.is_ok());
  auto channel = std::make_shared<HeldChannel>();
  {
    auto origin = CheckpointStore::open(origin_dir.path, no_sync());
    REQUIRE(origin.is_ok());
    (*origin)->writer().replicate_to(channel);
    REQUIRE(channel->deliver(**mirror).outcome == ReplicaAck::Outcome::applied);
    auto meta = (*origin)->meta_log();
    auto zero =
        std::async(std::launch::async, [&] { return meta->record_zero_time(Millis{1000}); });
    REQUIRE(channel->deliver(**mirror).outcome == ReplicaAck::Outcome::applied);
    REQUIRE(zero.get().is_ok());
    auto snap = std::async(std::launch::async, [&] {
      return (*origin)
          ->state()
          .write("counts", 3, StateSnapshot{Millis{2000}, true, "snapshot bytes"}, std::nullopt)
          .get();
    });
    REQUIRE(channel->deliver(**mirror).outcome == ReplicaAck::Outcome::applied);
    REQUIRE(snap.get().is_ok());
    auto done =
        std::async(std::launch::async, [&] { return meta->record_completion(Millis{2000}, true); });
    REQUIRE(channel->deliver(**mirror).outcome == ReplicaAck::Outcome::applied);
    REQUIRE(done.get().is_ok());
  }
  // The origin's directory is gone with its disk; a new, empty store takes the copy.
  std::filesystem::remove_all(origin_dir.path);
  auto copy = (*mirror)->contents();
  REQUIRE(copy.is_ok());
  REQUIRE(copy->has_value());
  auto rebuilt = CheckpointStore::open(rebuilt_dir.path, no_sync());
  REQUIRE(rebuilt.is_ok());
  REQUIRE(restore_from((*rebuilt)->writer(), **copy).is_ok());
  auto meta = (*rebuilt)->meta_log();
  CHECK(meta->zero_time() == Millis{1000});
  CHECK(meta->last_checkpoint() == Millis{2000});
  auto snaps = (*rebuilt)->state().read_for_restore("counts", 3, Millis{2000});
  REQUIRE(snaps.is_ok());
  REQUIRE(snaps->size() == 1);
  CHECK((*snaps)[0].bytes == "snapshot bytes");
  // The copy's own bookkeeping stays with the copy.
  auto position =
      (*rebuilt)->env().begin_read()->get(Db::meta, meta_key(MetaType::replica_position));
  REQUIRE(position.is_ok());
  CHECK_FALSE(position->has_value());
}

TEST_CASE("a large store goes to its replica in pieces; a partial copy rebuilds nothing",
          "[replica]") {
  TempDir origin_dir, mirror_dir;
  auto env = LmdbEnv::open(origin_dir.path, no_sync());
  REQUIRE(env.is_ok());
  StoreWriterOptions options;
  options.replica_piece_bytes = 200;
  StoreWriter writer(*env, options);
  for (int i = 0; i < 12; ++i)
    REQUIRE(writer.write(put_state("key-" + std::to_string(i), std::string(60, 'a' + i))).is_ok());
  auto mirror = StoreMirror::open(mirror_dir.path, no_sync());
  REQUIRE(mirror.is_ok());
  auto channel = std::make_shared<HeldChannel>();
  writer.replicate_to(channel);
  int pieces = 0;
  for (bool more = true; more; ++pieces) {
    auto [piece, done] = channel->next();
    CHECK(piece.reset == (pieces == 0));
    more = piece.more;
    REQUIRE((*mirror)->apply(piece).outcome == ReplicaAck::Outcome::applied);
    done(Status::ok());
    if (more) {
      // Until the last piece is in, the copy cannot rebuild its origin.
      auto partial = (*mirror)->contents();
      REQUIRE_FALSE(partial.is_ok());
      CHECK_THAT(partial.status().message(), Catch::Contains("holds only part of a copy"));
    }
  }
  CHECK(pieces >= 4);  // 12 values of 60 bytes and their keys, 200 bytes a piece
  CHECK(entries(**mirror) == entries(*env));
  // Reopened, the copy still knows it is whole.
  mirror->reset();
  auto reopened = StoreMirror::open(mirror_dir.path, no_sync());
  REQUIRE(reopened.is_ok());
  CHECK(entries(**reopened) == entries(*env));
}
