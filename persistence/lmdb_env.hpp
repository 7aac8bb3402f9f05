// RAII over one LMDB environment (a store directory with the databases meta, wal, state, markers)
// and its transactions. LmdbEnv is thread-safe; a ReadTxn belongs to one thread at a time (the env
// uses MDB_NOTLS, so it may move between threads); a WriteTxn lives on the thread that began it.
#pragma once

#include <lmdb.h>

#include <cstddef>
#include <functional>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <span>
#include <string>
#include <string_view>

#include "dataflow/result.hpp"
#include "persistence/keys.hpp"

namespace rill::persistence {

/// How hard a commit pushes to disk.
enum class SyncMode {
  full,        ///< fsync data and meta page: survives power loss. ~4,000 commits/s here.
  nometasync,  ///< skip the meta-page fsync: a crash may lose the last commit. ~7,000/s.
  nosync,      ///< no fsync at all: for tests only. ~190,000/s.
};

/// Options for opening a store.
struct StoreOptions {
  /// Map size at open, in bytes. Default 64 MiB. Address space only, not memory or disk; an
  /// existing store keeps its larger size. Too small costs a map growth (cheap, writer thread).
  std::size_t initial_map_bytes = std::size_t{64} << 20;
  /// Growth doubles the map up to this limit, then writes fail with Errc::io_error. Default
  /// 1 TiB of address space.
  std::size_t max_map_bytes = std::size_t{1} << 40;
  /// Default full. See SyncMode for the cost.
  SyncMode sync = SyncMode::full;
  /// Reader slots (concurrent read txns). Default 126, LMDB's own default.
  unsigned max_readers = 126;
};

class LmdbEnv;

/// A read snapshot. Spans it hands out are valid until the txn ends: copy before sharing. It
/// holds the env's map lock shared, so never wait for a write while holding one (the writer may
/// need the map lock to grow the map).
class ReadTxn {
 public:
  ReadTxn(ReadTxn&&) noexcept = default;
  ReadTxn& operator=(ReadTxn&&) noexcept = default;
  ~ReadTxn();

  /// The payload stored under key, checksum verified: nullopt when absent, Errc::corrupt naming
  /// store, db and key when the checksum fails.
  Result<std::optional<std::span<const uint8_t>>> get(Db db, std::string_view key) const;
  /// Visits verified (key, payload) pairs in key order from the first key >= from while the key
  /// starts with prefix; stops early when fn returns false.
  using Visitor = std::function<bool(std::span<const uint8_t>, std::span<const uint8_t>)>;
  Status scan(Db db, std::string_view from, std::string_view prefix, const Visitor& fn) const;
  /// As scan(), but hands fn each stored value as it is (checksum header included) without
  /// verifying it: for passes that act on keys (retention), where hashing every value would
  /// read the whole db. fn verifies, with open_value(), any value whose content it acts on.
  Status scan_unverified(Db db, std::string_view from, std::string_view prefix,
                         const Visitor& fn) const;
  /// LMDB's statistics of db in this snapshot: entries and pages (cheap: no scan).
  Result<MDB_stat> stat(Db db) const;

 private:
  friend class LmdbEnv;
  ReadTxn(const LmdbEnv* env, MDB_txn* txn, std::shared_lock<std::shared_mutex> lock) noexcept;
  Status walk(Db db, std::string_view from, std::string_view prefix, bool verify,
              const Visitor& fn) const;
  const LmdbEnv* env_;
  std::shared_lock<std::shared_mutex> lock_;  // declared first: released after the txn ends
  std::unique_ptr<MDB_txn, void (*)(MDB_txn*)> txn_;
};

/// One open store. Move-only; closing happens in the destructor (REQUIRES: no txn still open).
class LmdbEnv {
 public:
  /// Creates dir if needed, opens or creates the store, clears stale reader slots and checks the
  /// format version. Errors name the directory: a newer format, a directory holding other files,
  /// a file that is not an LMDB store.
  static Result<LmdbEnv> open(const std::string& dir, const StoreOptions& options);
  /// Opens an existing store for reading only (MDB_RDONLY): creates and writes nothing in dir
  /// but LMDB's reader slot in lock.mdb, which lets it read beside a running job (without a
  /// lock.mdb, as in a copied store, it opens with MDB_NOLOCK and creates none). No stale-slot
  /// cleanup. Errors name dir: no data.mdb, not LMDB, not a rill store, a newer format. No
  /// StoreWriter may use the result.
  static Result<LmdbEnv> open_read_only(const std::string& dir);

  LmdbEnv(LmdbEnv&&) noexcept;  // defined where State is complete
  LmdbEnv& operator=(LmdbEnv&&) noexcept;
  ~LmdbEnv();

  Result<ReadTxn> begin_read() const;

  /// Doubles the map (up to max_map_bytes). REQUIRES: no write txn open; blocks until every
  /// ReadTxn of this process has ended. Only the store writer calls this.
  Status grow();

  const std::string& dir() const noexcept;
  const StoreOptions& options() const noexcept;
  MDB_env* raw() const noexcept;
  /// The format version the store records (kFormatVersion for a store open() created).
  uint32_t format_version() const noexcept;
  MDB_dbi dbi(Db db) const noexcept;
  std::size_t map_bytes() const noexcept;
  /// Reader slots of dead processes that open() cleared (mdb_reader_check).
  int stale_readers_cleared() const noexcept;
  /// "io_error: store DIR, db wal stream 1 seq 2: mdb_put: MDB_MAP_FULL: ..." as a Status.
  Status error(Errc code, const char* op, int rc, std::optional<Db> db = std::nullopt,
               std::span<const uint8_t> key = {}) const;

 private:
  struct State;
  explicit LmdbEnv(std::unique_ptr<State> state) noexcept;
  std::unique_ptr<State> s_;
};

/// Views for LMDB's MDB_val.
inline MDB_val to_val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::span<const uint8_t> to_span(const MDB_val& v) {
  return {static_cast<const uint8_t*>(v.mv_data), v.mv_size};
}
inline std::span<const uint8_t> to_span(std::string_view s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace rill::persistence
