#include "persistence/store_stats.hpp"

#include <filesystem>
#include <system_error>

namespace rill::persistence {

namespace {
int64_t page_bytes(const MDB_stat& s) {
  return static_cast<int64_t>(s.ms_branch_pages + s.ms_leaf_pages + s.ms_overflow_pages) *
         static_cast<int64_t>(s.ms_psize);
}
}  // namespace

Result<StoreStats> store_stats(const LmdbEnv& env) {
  StoreStats out;
  {
    auto txn = env.begin_read();
    if (!txn) return txn.status();
    auto wal = txn->stat(Db::wal);
    if (!wal) return wal.status();
    auto state = txn->stat(Db::state);
    if (!state) return state.status();
    out.wal_blocks = static_cast<int64_t>(wal->ms_entries);
    out.wal_bytes = page_bytes(*wal);
    out.state_bytes = page_bytes(*state);
    MDB_envinfo info;
    if (int rc = mdb_env_info(env.raw(), &info))
      return env.error(Errc::io_error, "mdb_env_info", rc);
    out.used_bytes =
        (static_cast<int64_t>(info.me_last_pgno) + 1) * static_cast<int64_t>(wal->ms_psize);
  }
  std::error_code ec;
  auto size = std::filesystem::file_size(std::filesystem::path(env.dir()) / "data.mdb", ec);
  if (!ec) out.file_bytes = static_cast<int64_t>(size);
  return out;
}

}  // namespace rill::persistence
