#include "persistence/sqlite_sink.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <utility>

namespace rill::persistence {

namespace {

struct StmtDeleter {
  void operator()(sqlite3_stmt* s) const noexcept { sqlite3_finalize(s); }
};
using Stmt = std::unique_ptr<sqlite3_stmt, StmtDeleter>;

struct DbDeleter {
  void operator()(sqlite3* db) const noexcept { sqlite3_close_v2(db); }
};

}  // namespace

struct SqliteSinkCore::Impl {
  SqliteSinkOptions options;
  SqlTable table;
  std::vector<std::string> types;
  std::string output;
  std::unique_ptr<sqlite3, DbDeleter> db;

  // "sqlite sink demo.db table demo_numbers: <what>: <sqlite's message>"
  Status error(const std::string& what, Errc code = Errc::io_error) const {
    std::string msg = "sqlite sink " + options.path + " table " + options.table + ": " + what;
    if (db) msg += ": " + std::string(sqlite3_errmsg(db.get()));
    return {code, msg};
  }

  Status exec(const std::string& sql, const std::string& what) {
    if (sqlite3_exec(db.get(), sql.c_str(), nullptr, nullptr, nullptr) != SQLITE_OK) return error(what);
    return Status::ok();
  }

  Result<Stmt> prepare(const std::string& sql, const std::string& what) {
    sqlite3_stmt* raw = nullptr;
    if (sqlite3_prepare_v2(db.get(), sql.c_str(), -1, &raw, nullptr) != SQLITE_OK) {
      sqlite3_finalize(raw);
      return error(what);
    }
    return Stmt(raw);
  }

  Status create_or_check_table();
  Status write_rows(std::vector<SqlRow>& rows);
  Result<ReplaceStep> replace_step(Millis t);
};

Status SqliteSinkCore::Impl::create_or_check_table() {
  auto info = prepare("PRAGMA table_info(" + sql_quoted(options.table) + ")", "cannot read the schema");
  if (!info) return info.status();
  std::vector<std::string> have;
  std::vector<std::pair<int, std::string>> have_key;  // (position in the key, column)
  int rc;
  while ((rc = sqlite3_step(info->get())) == SQLITE_ROW) {
    have.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(info->get(), 1)));
    if (int pk = sqlite3_column_int(info->get(), 5); pk > 0) have_key.emplace_back(pk, have.back());
  }
  if (rc != SQLITE_DONE) return error("cannot read the schema");
  if (have.empty()) {
    std::string sql = "CREATE TABLE " + sql_quoted(options.table) + " (";
    for (size_t i = 0; i < options.column_names.size(); ++i)
      sql += (i ? ", " : "") + sql_quoted(options.column_names[i]) + " " + types[i];
    if (!options.key_columns.empty()) sql += ", PRIMARY KEY (" + sql_joined(options.key_columns, true) + ")";
    return exec(sql + ")", "cannot create the table");
  }
  std::sort(have_key.begin(), have_key.end());
  std::vector<std::string> key;
  for (auto& [pos, name] : have_key) key.push_back(name);
  if (std::string why = sql_schema_mismatch(table, have, key); !why.empty())
    return {Errc::invalid_argument, "sqlite sink " + options.path + " table " + options.table + ": " + why};
  return Status::ok();
}

Status SqliteSinkCore::Impl::write_rows(std::vector<SqlRow>& rows) {
  const std::string sql = sql_upsert_statement(table, [](size_t) { return std::string("?"); });
  auto insert = prepare(sql, "cannot prepare the insert");
  if (!insert) return insert.status();
  sqlite3_stmt* s = insert->get();
  for (SqlRow& row : rows) {
    sqlite3_reset(s);
    for (size_t i = 0; i < row.size(); ++i) {
      const int col = static_cast<int>(i) + 1;
      if (auto* v = std::get_if<int64_t>(&row[i]))
        sqlite3_bind_int64(s, col, *v);
      else if (auto* d = std::get_if<double>(&row[i]))
        sqlite3_bind_double(s, col, *d);
      else if (auto* text = std::get_if<std::string>(&row[i]))
        sqlite3_bind_text(s, col, text->data(), static_cast<int>(text->size()), SQLITE_STATIC);
      else
        sqlite3_bind_null(s, col);
    }
    if (sqlite3_step(s) != SQLITE_DONE) return error("cannot write a row");
  }
  return Status::ok();
}

// replace_each_batch: what committing a partition of batch t does to the table (sql_sink.hpp).
Result<ReplaceStep> SqliteSinkCore::Impl::replace_step(Millis t) {
  auto q = prepare("SELECT max(batch_time), sum(batch_time = ?2) FROM _rill_markers WHERE output = ?1",
                   "cannot read markers");
  if (!q) return q.status();
  sqlite3_bind_text(q->get(), 1, output.data(), static_cast<int>(output.size()), SQLITE_STATIC);
  sqlite3_bind_int64(q->get(), 2, t.count());
  if (sqlite3_step(q->get()) != SQLITE_ROW) return error("cannot read markers");
  std::optional<int64_t> newest;
  if (sqlite3_column_type(q->get(), 0) != SQLITE_NULL) newest = sqlite3_column_int64(q->get(), 0);
  return persistence::replace_step(newest, sqlite3_column_int64(q->get(), 1) > 0, t.count());
}

SqliteSinkCore::SqliteSinkCore(SqliteSinkOptions options, std::vector<std::string> column_types)
    : impl_(std::make_unique<Impl>()) {
  impl_->table = SqlTable{options.table, options.key_columns, options.column_names};
  impl_->options = std::move(options);
  impl_->types = std::move(column_types);
}

SqliteSinkCore::~SqliteSinkCore() = default;

Status SqliteSinkCore::open(const std::string& output) {
  Impl& m = *impl_;
  m.db.reset();
  m.output = output;
  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(m.options.path.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, nullptr);
  m.db.reset(raw);  // closed on every path, even when open failed
  if (rc != SQLITE_OK) return m.error("cannot open the database file", Errc::io_error);
  sqlite3_extended_result_codes(raw, 1);
  sqlite3_busy_timeout(raw, m.options.busy_timeout_ms);
  // WAL: readers (the sqlite3 CLI) never block the sink's commits, nor it theirs. FULL sync:
  // a commit's marker is the exactly-once promise, so it must survive a power loss.
  if (Status s = m.exec("PRAGMA journal_mode=WAL", "cannot switch to WAL journal mode"); !s) return s;
  if (Status s = m.exec("PRAGMA synchronous=FULL", "cannot set synchronous=FULL"); !s) return s;
  if (Status s = m.exec("CREATE TABLE IF NOT EXISTS _rill_markers (output TEXT NOT NULL, "
                        "batch_time INTEGER NOT NULL, \"partition\" INTEGER NOT NULL, hash INTEGER NOT NULL, "
                        "PRIMARY KEY (output, batch_time, \"partition\"))",
                        "cannot create the marker table _rill_markers");
      !s)
    return s;
  return m.create_or_check_table();
}

Status SqliteSinkCore::commit(Millis t, int partition, uint64_t hash, std::vector<SqlRow> rows) {
  Impl& m = *impl_;
  if (!m.db) return m.error("commit before open", Errc::invalid_argument);
  const std::string at = "batch time " + to_string(t) + " partition " + std::to_string(partition);
  // IMMEDIATE takes the write lock now (waiting up to busy_timeout), so the marker check
  // below and the writes see one state of the file.
  if (Status s = m.exec("BEGIN IMMEDIATE", "cannot begin the commit of " + at); !s) return s;
  auto body = [&]() -> Status {
    auto seen = committed(t, partition);
    if (!seen) return seen.status();
    if (*seen) return Status::ok();  // committed before: rows stay as they are
    bool write = true;
    if (m.options.mode == SqliteMode::replace_each_batch) {
      auto step = m.replace_step(t);
      if (!step) return step.status();
      if (*step == ReplaceStep::clear_first)
        if (Status s = m.exec("DELETE FROM " + sql_quoted(m.options.table), "cannot empty the table for " + at); !s)
          return s;
      write = *step != ReplaceStep::stale;
    }
    if (write)
      if (Status s = m.write_rows(rows); !s) return s;
    auto mark = m.prepare("INSERT INTO _rill_markers (output, batch_time, \"partition\", hash) VALUES (?, ?, ?, ?)",
                          "cannot prepare the marker insert");
    if (!mark) return mark.status();
    sqlite3_bind_text(mark->get(), 1, m.output.data(), static_cast<int>(m.output.size()), SQLITE_STATIC);
    sqlite3_bind_int64(mark->get(), 2, t.count());
    sqlite3_bind_int(mark->get(), 3, partition);
    sqlite3_bind_int64(mark->get(), 4, std::bit_cast<int64_t>(hash));  // INTEGER is signed
    if (sqlite3_step(mark->get()) != SQLITE_DONE) return m.error("cannot write the marker for " + at);
    return Status::ok();
  };
  Status s = body();
  if (s) s = m.exec("COMMIT", "cannot commit " + at);
  if (!s) sqlite3_exec(m.db.get(), "ROLLBACK", nullptr, nullptr, nullptr);  // nothing of it stays
  return s;
}

Result<std::optional<uint64_t>> SqliteSinkCore::committed(Millis t, int partition) {
  Impl& m = *impl_;
  if (!m.db) return m.error("committed() before open", Errc::invalid_argument);
  auto q = m.prepare("SELECT hash FROM _rill_markers WHERE output = ? AND batch_time = ? AND \"partition\" = ?",
                     "cannot read markers");
  if (!q) return q.status();
  sqlite3_bind_text(q->get(), 1, m.output.data(), static_cast<int>(m.output.size()), SQLITE_STATIC);
  sqlite3_bind_int64(q->get(), 2, t.count());
  sqlite3_bind_int(q->get(), 3, partition);
  int rc = sqlite3_step(q->get());
  if (rc == SQLITE_DONE) return std::optional<uint64_t>{};
  if (rc != SQLITE_ROW) return m.error("cannot read markers");
  return std::optional<uint64_t>(std::bit_cast<uint64_t>(sqlite3_column_int64(q->get(), 0)));
}

void check_sqlite_options(const SqliteSinkOptions& o, std::size_t leaf_columns) {
  const std::string what = "sqlite_sink(" + o.path + ", table " + o.table + "): ";
  if (o.path.empty()) throw ConfigError(what + "the database path is empty");
  check_sql_table(what, SqlTable{o.table, o.key_columns, o.column_names}, leaf_columns);
  if (o.busy_timeout_ms < 0) throw ConfigError(what + "busy_timeout_ms is negative");
}

}  // namespace rill::persistence
