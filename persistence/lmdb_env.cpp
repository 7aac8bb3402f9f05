#include "persistence/lmdb_env.hpp"

#include <algorithm>
#include <filesystem>
#include <mutex>
#include <system_error>

namespace rill::persistence {

namespace fs = std::filesystem;

struct LmdbEnv::State {
  std::string dir;
  StoreOptions options;
  MDB_env* env = nullptr;
  MDB_dbi dbis[kDbCount] = {};
  std::size_t map_bytes = 0;
  int stale_cleared = 0;
  uint32_t format_version = kFormatVersion;
  mutable std::shared_mutex map_mu;  // shared: read txns; exclusive: grow()
  ~State() {
    if (env) mdb_env_close(env);
  }
};

LmdbEnv::LmdbEnv(std::unique_ptr<State> state) noexcept : s_(std::move(state)) {}
LmdbEnv::~LmdbEnv() = default;
LmdbEnv::LmdbEnv(LmdbEnv&&) noexcept = default;
LmdbEnv& LmdbEnv::operator=(LmdbEnv&&) noexcept = default;

const std::string& LmdbEnv::dir() const noexcept { return s_->dir; }
const StoreOptions& LmdbEnv::options() const noexcept { return s_->options; }
MDB_env* LmdbEnv::raw() const noexcept { return s_->env; }
MDB_dbi LmdbEnv::dbi(Db db) const noexcept { return s_->dbis[static_cast<int>(db)]; }
std::size_t LmdbEnv::map_bytes() const noexcept { return s_->map_bytes; }
int LmdbEnv::stale_readers_cleared() const noexcept { return s_->stale_cleared; }
uint32_t LmdbEnv::format_version() const noexcept { return s_->format_version; }

static std::string store_error(const std::string& dir, const char* op, int rc,
                               std::optional<Db> db, std::span<const uint8_t> key) {
  std::string msg = "store " + dir;
  if (db) msg += ", db " + (key.empty() ? std::string(db_name(*db)) : describe_key(*db, key));
  return msg + ": " + op + ": " + mdb_strerror(rc);
}

Status LmdbEnv::error(Errc code, const char* op, int rc, std::optional<Db> db,
                      std::span<const uint8_t> key) const {
  return {code, store_error(s_->dir, op, rc, db, key)};
}

Result<LmdbEnv> LmdbEnv::open(const std::string& dir, const StoreOptions& options) {
  auto s = std::make_unique<State>();
  s->dir = dir;
  s->options = options;
  auto fail = [&](Errc code, const std::string& what) { return Status(code, "store " + dir + ": " + what); };
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(Errc::io_error, "cannot create directory: " + ec.message());
  bool has_data = fs::exists(fs::path(dir) / "data.mdb", ec);
  if (!has_data && !fs::is_empty(dir, ec))
    return fail(Errc::invalid_argument,
                "directory holds other files but no LMDB store (data.mdb); refusing to use it");

  auto lmdb_fail = [&](const char* op, int rc) {
    return Status(Errc::io_error, store_error(dir, op, rc, std::nullopt, {}));
  };
  int rc = mdb_env_create(&s->env);
  if (rc) return lmdb_fail("mdb_env_create", rc);
  mdb_env_set_maxdbs(s->env, kDbCount);
  mdb_env_set_maxreaders(s->env, options.max_readers);
  mdb_env_set_mapsize(s->env, options.initial_map_bytes);
  unsigned flags = MDB_NOTLS;
  if (options.sync == SyncMode::nometasync) flags |= MDB_NOMETASYNC;
  if (options.sync == SyncMode::nosync) flags |= MDB_NOSYNC;
  rc = mdb_env_open(s->env, dir.c_str(), flags, 0644);
  if (rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH)
    return Status(Errc::corrupt, store_error(dir, "not a readable LMDB store: mdb_env_open", rc,
                                             std::nullopt, {}));
  if (rc) return lmdb_fail("mdb_env_open", rc);
  MDB_envinfo info;
  mdb_env_info(s->env, &info);
  s->map_bytes = info.me_mapsize;
  // A process killed inside a read txn leaves its slot behind, pinning old pages forever.
  if ((rc = mdb_reader_check(s->env, &s->stale_cleared))) return lmdb_fail("mdb_reader_check", rc);

  // Open the named databases and check (in a fresh store: write) the format version. This runs
  // before the store writer exists, so this write txn has the env to itself.
  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(s->env, nullptr, 0, &txn))) return lmdb_fail("mdb_txn_begin", rc);
  std::unique_ptr<MDB_txn, void (*)(MDB_txn*)> guard(txn, mdb_txn_abort);
  MDB_stat main_stat;
  mdb_stat(txn, 0, &main_stat);  // the main db lists the named databases
  bool fresh = main_stat.ms_entries == 0;
  auto& meta = s->dbis[static_cast<int>(Db::meta)];
  rc = mdb_dbi_open(txn, "meta", fresh ? MDB_CREATE : 0, &meta);
  if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE)
    return fail(Errc::invalid_argument, "an LMDB store, but not a rill store (no 'meta' database)");
  if (rc) return lmdb_fail("mdb_dbi_open meta", rc);
  for (Db db : {Db::wal, Db::state, Db::markers}) {
    if ((rc = mdb_dbi_open(txn, db_name(db), MDB_CREATE, &s->dbis[static_cast<int>(db)])))
      return Status(Errc::io_error, store_error(dir, "mdb_dbi_open", rc, db, {}));
  }

  std::string vkey = meta_key(MetaType::format_version);
  MDB_val k = to_val(vkey), v;
  rc = mdb_get(txn, meta, &k, &v);
  if (rc == MDB_NOTFOUND) {
    if (!fresh) return fail(Errc::invalid_argument, "not a rill store: 'meta' has no format version");
    std::string payload;
    put_u32(payload, kFormatVersion);
    std::string sealed = seal_value(vkey, payload);
    MDB_val sv = to_val(sealed);
    if ((rc = mdb_put(txn, meta, &k, &sv, 0)))
      return Status(Errc::io_error, store_error(dir, "mdb_put", rc, Db::meta, to_span(vkey)));
  } else if (rc) {
    return Status(Errc::io_error, store_error(dir, "mdb_get", rc, Db::meta, to_span(vkey)));
  } else {
    auto payload = open_value(to_span(vkey), to_span(v));
    if (!payload || payload->size() != 4)
      return fail(Errc::corrupt, "db meta format_version: checksum mismatch");
    uint32_t found = get_u32(payload->data());
    s->format_version = found;
    if (found > kFormatVersion)
      return fail(Errc::invalid_argument,
                  "store format version " + std::to_string(found) +
                      " is newer than this build supports (version " +
                      std::to_string(kFormatVersion) + "); upgrade rill or use a new directory");
  }
  rc = mdb_txn_commit(guard.release());
  if (rc) return lmdb_fail("mdb_txn_commit", rc);
  return LmdbEnv(std::move(s));
}

Result<LmdbEnv> LmdbEnv::open_read_only(const std::string& dir) {
  auto s = std::make_unique<State>();
  s->dir = dir;
  const std::string where = "'" + dir + "'";
  auto not_rill = [&](const std::string& why) {
    return Status(Errc::invalid_argument, where + " is not a rill store: " + why);
  };
  auto lmdb_fail = [&](const char* op, int rc) {
    return Status(rc == MDB_INVALID || rc == MDB_VERSION_MISMATCH || rc == MDB_CORRUPTED ? Errc::corrupt
                                                                                         : Errc::io_error,
                  where + ": " + op + ": " + mdb_strerror(rc));
  };
  std::error_code ec;
  auto data = fs::path(dir) / "data.mdb";
  if (!fs::exists(data, ec)) return Status(Errc::not_found, where + " is not a rill store: no data.mdb");
  // LMDB would initialize an empty data file: that is a write.
  auto size = fs::file_size(data, ec);
  if (ec) return Status(Errc::io_error, where + ": data.mdb: " + ec.message());
  if (size == 0) return not_rill("data.mdb is empty");
  // Without lock.mdb no process has the store open (LMDB keeps it while it does), so skipping
  // the reader table is safe, and it spares creating the file.
  bool lock_file = fs::exists(fs::path(dir) / "lock.mdb", ec);

  int rc = mdb_env_create(&s->env);
  if (rc) return lmdb_fail("mdb_env_create", rc);
  mdb_env_set_maxdbs(s->env, kDbCount);
  mdb_env_set_maxreaders(s->env, s->options.max_readers);
  mdb_env_set_mapsize(s->env, 0);  // 0: the size the store records (a job may have grown it)
  unsigned flags = MDB_RDONLY | MDB_NOTLS | (lock_file ? 0 : MDB_NOLOCK);
  if ((rc = mdb_env_open(s->env, dir.c_str(), flags, 0644))) return lmdb_fail("mdb_env_open", rc);
  MDB_envinfo info;
  mdb_env_info(s->env, &info);
  s->map_bytes = info.me_mapsize;

  MDB_txn* txn = nullptr;
  if ((rc = mdb_txn_begin(s->env, nullptr, MDB_RDONLY, &txn))) return lmdb_fail("mdb_txn_begin", rc);
  std::unique_ptr<MDB_txn, void (*)(MDB_txn*)> guard(txn, mdb_txn_abort);
  auto& meta = s->dbis[static_cast<int>(Db::meta)];
  rc = mdb_dbi_open(txn, "meta", 0, &meta);
  if (rc == MDB_NOTFOUND || rc == MDB_INCOMPATIBLE) return not_rill("an LMDB store without a 'meta' database");
  if (rc) return lmdb_fail("mdb_dbi_open meta", rc);
  // The version first: a newer format may lay out the other databases differently.
  std::string vkey = meta_key(MetaType::format_version);
  MDB_val k = to_val(vkey), v;
  rc = mdb_get(txn, meta, &k, &v);
  if (rc == MDB_NOTFOUND) return not_rill("'meta' has no format version");
  if (rc) return lmdb_fail("mdb_get format_version", rc);
  auto payload = open_value(to_span(vkey), to_span(v));
  if (!payload || payload->size() != 4)
    return Status(Errc::corrupt, where + ": db meta format_version: checksum mismatch");
  s->format_version = get_u32(payload->data());
  if (s->format_version > kFormatVersion)
    return Status(Errc::invalid_argument, where + " is a rill store of format " +
                                              std::to_string(s->format_version) + ", this rill reads up to " +
                                              std::to_string(kFormatVersion));
  for (Db db : {Db::wal, Db::state, Db::markers}) {
    rc = mdb_dbi_open(txn, db_name(db), 0, &s->dbis[static_cast<int>(db)]);
    if (rc == MDB_NOTFOUND) return not_rill(std::string("no '") + db_name(db) + "' database");
    if (rc) return lmdb_fail("mdb_dbi_open", rc);
  }
  // Committing (not aborting) a read txn keeps the database handles it opened.
  if ((rc = mdb_txn_commit(guard.release()))) return lmdb_fail("mdb_txn_commit", rc);
  return LmdbEnv(std::move(s));
}

Status LmdbEnv::grow() {
  std::unique_lock lock(s_->map_mu);
  if (s_->map_bytes >= s_->options.max_map_bytes)
    return {Errc::io_error, "store " + s_->dir + ": map is full at its limit of " +
                                std::to_string(s_->options.max_map_bytes) + " bytes (max_map_bytes)"};
  std::size_t next = std::min(s_->map_bytes * 2, s_->options.max_map_bytes);
  int rc = mdb_env_set_mapsize(s_->env, next);
  if (rc) return error(Errc::io_error, "mdb_env_set_mapsize", rc);
  s_->map_bytes = next;
  return Status::ok();
}

Result<ReadTxn> LmdbEnv::begin_read() const {
  std::shared_lock lock(s_->map_mu);
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(s_->env, nullptr, MDB_RDONLY, &txn);
  if (rc) return error(Errc::io_error, "mdb_txn_begin(read)", rc);
  return ReadTxn(this, txn, std::move(lock));
}

ReadTxn::ReadTxn(const LmdbEnv* env, MDB_txn* txn, std::shared_lock<std::shared_mutex> lock) noexcept
    : env_(env), lock_(std::move(lock)), txn_(txn, mdb_txn_abort) {}

ReadTxn::~ReadTxn() = default;

Result<std::optional<std::span<const uint8_t>>> ReadTxn::get(Db db, std::string_view key) const {
  MDB_val k = to_val(key), v;
  int rc = mdb_get(txn_.get(), env_->dbi(db), &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::span<const uint8_t>>();
  if (rc) return env_->error(Errc::io_error, "mdb_get", rc, db, to_span(key));
  auto payload = open_value(to_span(key), to_span(v));
  if (!payload)
    return Status(Errc::corrupt, "store " + env_->dir() + ", db " + describe_key(db, to_span(key)) +
                                     ": checksum mismatch (stored value damaged)");
  return std::optional<std::span<const uint8_t>>(*payload);
}

Result<MDB_stat> ReadTxn::stat(Db db) const {
  MDB_stat st;
  if (int rc = mdb_stat(txn_.get(), env_->dbi(db), &st)) return env_->error(Errc::io_error, "mdb_stat", rc, db);
  return st;
}

Status ReadTxn::scan(Db db, std::string_view from, std::string_view prefix,
                     const Visitor& fn) const {
  return walk(db, from, prefix, true, fn);
}

Status ReadTxn::scan_unverified(Db db, std::string_view from, std::string_view prefix,
                                const Visitor& fn) const {
  return walk(db, from, prefix, false, fn);
}

Status ReadTxn::walk(Db db, std::string_view from, std::string_view prefix, bool verify,
                     const Visitor& fn) const {
  MDB_cursor* cur = nullptr;
  int rc = mdb_cursor_open(txn_.get(), env_->dbi(db), &cur);
  if (rc) return env_->error(Errc::io_error, "mdb_cursor_open", rc, db);
  std::unique_ptr<MDB_cursor, void (*)(MDB_cursor*)> guard(cur, mdb_cursor_close);
  MDB_val k = to_val(from), v;
  // LMDB rejects an empty key: an empty `from` means the first key.
  for (rc = mdb_cursor_get(cur, &k, &v, from.empty() ? MDB_FIRST : MDB_SET_RANGE); rc == 0;
       rc = mdb_cursor_get(cur, &k, &v, MDB_NEXT)) {
    auto key = to_span(k);
    if (key.size() < prefix.size() ||
        std::string_view(reinterpret_cast<const char*>(key.data()), prefix.size()) != prefix)
      return Status::ok();
    if (!verify) {
      if (!fn(key, to_span(v))) return Status::ok();
      continue;
    }
    auto payload = open_value(key, to_span(v));
    if (!payload)
      return {Errc::corrupt, "store " + env_->dir() + ", db " + describe_key(db, key) +
                                 ": checksum mismatch (stored value damaged)"};
    if (!fn(key, *payload)) return Status::ok();
  }
  if (rc != MDB_NOTFOUND) return env_->error(Errc::io_error, "mdb_cursor_get", rc, db);
  return Status::ok();
}

}  // namespace rill::persistence
