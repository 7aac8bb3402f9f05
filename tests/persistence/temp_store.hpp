// Test support: a temporary store directory under /tmp, removed at scope end. One test's own.
#pragma once

#include <lmdb.h>
#include <stdlib.h>

#include <filesystem>
#include <string>

#include <catch2/catch.hpp>

namespace rill::persistence::test {

struct TempDir {
  std::string path;
  TempDir() {
    char tmpl[] = "/tmp/rill_store_XXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    path = tmpl;
  }
  ~TempDir() { std::filesystem::remove_all(path); }
};

/// Writes key -> value straight into a named db with raw LMDB, bypassing rill (to corrupt or
/// forge records). REQUIRES: no LmdbEnv on dir is open in this process.
inline void raw_put(const std::string& dir, const char* db, const std::string& key,
                    const std::string& value) {
  MDB_env* env = nullptr;
  REQUIRE(mdb_env_create(&env) == 0);
  mdb_env_set_maxdbs(env, 8);
  REQUIRE(mdb_env_open(env, dir.c_str(), 0, 0644) == 0);
  MDB_txn* txn = nullptr;
  REQUIRE(mdb_txn_begin(env, nullptr, 0, &txn) == 0);
  MDB_dbi dbi;
  REQUIRE(mdb_dbi_open(txn, db, 0, &dbi) == 0);
  MDB_val k{key.size(), const_cast<char*>(key.data())};
  MDB_val v{value.size(), const_cast<char*>(value.data())};
  REQUIRE(mdb_put(txn, dbi, &k, &v, 0) == 0);
  REQUIRE(mdb_txn_commit(txn) == 0);
  mdb_env_close(env);
}

}  // namespace rill::persistence::test
