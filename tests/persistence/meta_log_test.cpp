// The MetaLog contract, run against the in-memory and the LMDB implementation alike.
#include "persistence/lmdb_meta_log.hpp"
#include "temp_store.hpp"

using namespace rill;
using namespace rill::persistence;
using namespace std::chrono_literals;
using rill::persistence::test::TempDir;

namespace {

void check_contract(MetaLog& log) {
  CHECK_FALSE(log.zero_time());
  REQUIRE(log.record_zero_time(1000ms).is_ok());
  CHECK(log.zero_time() == 1000ms);
  CHECK(log.record_zero_time(1000ms).is_ok());  // the same value again is fine
  CHECK(log.record_zero_time(2000ms).code() == Errc::invalid_argument);
  CHECK(log.zero_time() == 1000ms);

  CHECK_FALSE(log.partitions("words"));
  REQUIRE(log.record_partitions("words", 4).is_ok());
  REQUIRE(log.record_partitions("words", 8).is_ok());
  CHECK(log.partitions("words") == 8);
  CHECK_FALSE(log.partitions("word"));

  std::vector<BlockRef> blocks{{0, 1, 10}, {1, 7, 0}, {0, 2, -1}};
  CHECK_FALSE(log.allocation(2000ms));
  REQUIRE(log.record_allocation(2000ms, blocks).is_ok());
  REQUIRE(log.record_allocation(3000ms, {}).is_ok());
  auto got = log.allocation(2000ms);
  REQUIRE(got);
  REQUIRE(got->size() == 3);
  for (std::size_t i = 0; i < 3; ++i) {
    CHECK((*got)[i].stream == blocks[i].stream);
    CHECK((*got)[i].seq == blocks[i].seq);
    CHECK((*got)[i].records == blocks[i].records);
  }
  CHECK(log.allocation(3000ms)->empty());
  // Write-once: the re-run of a batch must read the same blocks.
  CHECK(log.record_allocation(2000ms, {{5, 5, 5}}).code() == Errc::invalid_argument);
  CHECK(log.allocation(2000ms)->size() == 3);

  CHECK_FALSE(log.is_committed(0, 2000ms, 1));
  REQUIRE(log.record_commit(0, 2000ms, 1, 0xabc).is_ok());
  CHECK(log.is_committed(0, 2000ms, 1));
  CHECK(log.commit_hash(0, 2000ms, 1) == 0xabcu);
  CHECK_FALSE(log.commit_hash(0, 2000ms, 0));
  CHECK_FALSE(log.is_committed(0, 2000ms, 0));
  CHECK_FALSE(log.is_committed(1, 2000ms, 1));
  CHECK_FALSE(log.is_committed(0, 3000ms, 1));

  CHECK_FALSE(log.last_completed());
  REQUIRE(log.record_completion(2000ms).is_ok());
  CHECK(log.last_completed() == 2000ms);
  CHECK(log.record_completion(2000ms).code() == Errc::invalid_argument);
  CHECK(log.record_completion(1000ms).code() == Errc::invalid_argument);
  REQUIRE(log.record_completion(3000ms).is_ok());
  CHECK(log.last_completed() == 3000ms);
}

StoreOptions quick() {
  StoreOptions o;
  o.sync = SyncMode::nosync;
  return o;
}

}  // namespace

TEST_CASE("InMemoryMetaLog meets the MetaLog contract") {
  InMemoryMetaLog log;
  check_contract(log);
}

TEST_CASE("LmdbMetaLog meets the MetaLog contract and keeps it across a reopen") {
  TempDir dir;
  {
    auto env = LmdbEnv::open(dir.path, quick());
    REQUIRE(env.is_ok());
    StoreWriter writer(*env);
    LmdbMetaLog log(*env, writer);
    check_contract(log);
    CHECK(log.first_read_error().is_ok());
  }
  auto env = LmdbEnv::open(dir.path, quick());
  REQUIRE(env.is_ok());
  StoreWriter writer(*env);
  LmdbMetaLog log(*env, writer);
  CHECK(log.verify().is_ok());
  CHECK(log.zero_time() == 1000ms);
  CHECK(log.partitions("words") == 8);
  CHECK(log.allocation(2000ms)->size() == 3);
  CHECK(log.is_committed(0, 2000ms, 1));
  CHECK(log.commit_hash(0, 2000ms, 1) == 0xabcu);
  CHECK(log.last_completed() == 3000ms);
  CHECK(log.record_allocation(2000ms, {}).code() == Errc::invalid_argument);
}

TEST_CASE("LmdbMetaLog: negative batch times keep key order, damaged records are reported") {
  TempDir dir;
  {
    auto env = LmdbEnv::open(dir.path, quick());
    REQUIRE(env.is_ok());
    StoreWriter writer(*env);
    LmdbMetaLog log(*env, writer);
    REQUIRE(log.record_allocation(-500ms, {{1, 1, 1}}).is_ok());
    CHECK(log.allocation(-500ms)->front().seq == 1);
    CHECK(meta_time_key(MetaType::allocation, -500) < meta_time_key(MetaType::allocation, 5));
  }
  std::string key = meta_time_key(MetaType::allocation, -500);
  test::raw_put(dir.path, "meta", key, std::string(20, '\0'));
  auto env = LmdbEnv::open(dir.path, quick());
  REQUIRE(env.is_ok());
  StoreWriter writer(*env);
  LmdbMetaLog log(*env, writer);
  CHECK_FALSE(log.allocation(-500ms));
  CHECK(log.first_read_error().code() == Errc::corrupt);
  auto st = log.verify();
  CHECK(st.code() == Errc::corrupt);
  CHECK(st.message().find("meta allocation t=-500 ms") != std::string::npos);
}
