// Opening a store: format version checks, foreign directories, stale reader slots.
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>

#include "persistence/lmdb_env.hpp"
#include "persistence/store_writer.hpp"
#include "temp_store.hpp"

using namespace rill;
using namespace rill::persistence;
using rill::persistence::test::TempDir;

namespace {
StoreOptions quick() {
  StoreOptions o;
  o.sync = SyncMode::nosync;
  return o;
}
bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }
}  // namespace

TEST_CASE("a store written by a newer format version is refused with both versions named") {
  TempDir dir;
  { REQUIRE(LmdbEnv::open(dir.path, quick()).is_ok()); }
  std::string key = meta_key(MetaType::format_version);
  std::string payload;
  put_u32(payload, kFormatVersion + 1);
  test::raw_put(dir.path, "meta", key, seal_value(key, payload));
  auto env = LmdbEnv::open(dir.path, quick());
  REQUIRE_FALSE(env.is_ok());
  const std::string& msg = env.status().message();
  INFO(msg);
  CHECK(contains(msg, dir.path));
  CHECK(contains(msg, "version " + std::to_string(kFormatVersion + 1)));
  CHECK(contains(msg, "version " + std::to_string(kFormatVersion) + ")"));
}

TEST_CASE("a directory that is not a store is refused, and nothing in it is touched") {
  TempDir dir;
  SECTION("other files, no data.mdb") {
    std::ofstream(dir.path + "/notes.txt") << "hello";
    auto env = LmdbEnv::open(dir.path, quick());
    REQUIRE_FALSE(env.is_ok());
    CHECK(contains(env.status().message(), dir.path));
    CHECK(contains(env.status().message(), "no LMDB store"));
    CHECK_FALSE(std::filesystem::exists(dir.path + "/data.mdb"));
  }
  SECTION("a data.mdb that is not LMDB") {
    std::ofstream(dir.path + "/data.mdb") << std::string(8192, 'x');
    auto env = LmdbEnv::open(dir.path, quick());
    REQUIRE_FALSE(env.is_ok());
    INFO(env.status().message());
    CHECK(env.status().code() == Errc::corrupt);
    CHECK(contains(env.status().message(), dir.path));
    CHECK(std::filesystem::file_size(dir.path + "/data.mdb") == 8192);
  }
}

TEST_CASE("a reader slot left by a SIGKILLed process is cleared at open") {
  TempDir dir;
  { REQUIRE(LmdbEnv::open(dir.path, quick()).is_ok()); }
  // A live holder keeps the lock file in use, so the next open must clean the slot table itself
  // (the first opener of an unused lock file would reset the whole table anyway).
  auto spawn = [&](bool with_read_txn) {
    int fds[2];
    REQUIRE(pipe(fds) == 0);
    pid_t pid = fork();
    REQUIRE(pid >= 0);
    if (pid == 0) {
      MDB_env* env = nullptr;
      MDB_txn* txn = nullptr;
      bool ok = mdb_env_create(&env) == 0 && mdb_env_set_maxdbs(env, 8) == 0 &&
                mdb_env_open(env, dir.path.c_str(), MDB_NOTLS, 0644) == 0 &&
                (!with_read_txn || mdb_txn_begin(env, nullptr, MDB_RDONLY, &txn) == 0);
      char c = ok ? 'y' : 'n';
      (void)!write(fds[1], &c, 1);
      for (;;) pause();
    }
    close(fds[1]);
    char c = 0;
    REQUIRE(read(fds[0], &c, 1) == 1);
    close(fds[0]);
    REQUIRE(c == 'y');
    return pid;
  };
  pid_t holder = spawn(false);
  pid_t reader = spawn(true);
  kill(reader, SIGKILL);
  REQUIRE(waitpid(reader, nullptr, 0) == reader);

  auto env = LmdbEnv::open(dir.path, quick());
  kill(holder, SIGKILL);
  waitpid(holder, nullptr, 0);
  REQUIRE(env.is_ok());
  CHECK(env->stale_readers_cleared() == 1);
  StoreWriter writer(*env);
  std::string key = "k";
  CHECK(writer.write(WriteBatch().put(Db::state, key, seal_value(key, "v"))).is_ok());
  auto txn = env->begin_read();
  REQUIRE(txn.is_ok());
  auto got = txn->get(Db::state, key);
  REQUIRE(got.is_ok());
  CHECK(got->has_value());
}
