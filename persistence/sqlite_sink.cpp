#include "persistence/sqlite_sink.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <bit>
#include <map>
#include <set>
#include <utility>

namespace rill::persistence {

namespace {

// "name" with embedded quotes doubled: table and column names come from the program.
std::string quoted(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::string joined(const std::vector<std::string>& names, bool quote) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + (quote ? quoted(n) : n);
  return out;
}

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
  std::vector<std::string> types;
  std::string output;
  std::unique_ptr<sqlite3, DbDeleter> db;
  std::map<std::pair<int64_t, int>, std::vector<SqlRow>> staged;

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
  enum class Step { clear_first, add, stale };
  Result<Step> replace_step(Millis t);
};

Status SqliteSinkCore::Impl::create_or_check_table() {
  auto info = prepare("PRAGMA table_info(" + quoted(options.table) + ")", "cannot read the schema");
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
    std::string sql = "CREATE TABLE " + quoted(options.table) + " (";
    for (size_t i = 0; i < options.column_names.size(); ++i)
      sql += (i ? ", " : "") + quoted(options.column_names[i]) + " " + types[i];
    if (!options.key_columns.empty()) sql += ", PRIMARY KEY (" + joined(options.key_columns, true) + ")";
    return exec(sql + ")", "cannot create the table");
  }
  std::sort(have_key.begin(), have_key.end());
  std::vector<std::string> key;
  for (auto& [pos, name] : have_key) key.push_back(name);
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  // Same names in any order (inserts name their columns); the same key, since upserts
  // resolve conflicts on it.
  if (sorted(have) != sorted(options.column_names) || sorted(key) != sorted(options.key_columns))
    return {Errc::invalid_argument, "sqlite sink " + options.path + " table " + options.table +
                                        ": the existing table has columns (" + joined(have, false) +
                                        ") with primary key (" + joined(key, false) +
                                        ") but the sink writes columns (" + joined(options.column_names, false) +
                                        ") with primary key (" + joined(options.key_columns, false) +
                                        "); drop or rename the table, or match the sink to it"};
  return Status::ok();
}

Status SqliteSinkCore::Impl::write_rows(std::vector<SqlRow>& rows) {
  std::string sql = "INSERT INTO " + quoted(options.table) + " (" + joined(options.column_names, true) +
                    ") VALUES (";
  for (size_t i = 0; i < options.column_names.size(); ++i) sql += i ? ", ?" : "?";
  sql += ")";
  if (!options.key_columns.empty()) {
    std::vector<std::string> rest;
    for (const auto& c : options.column_names)
      if (std::find(options.key_columns.begin(), options.key_columns.end(), c) == options.key_columns.end())
        rest.push_back(quoted(c) + " = excluded." + quoted(c));
    sql += " ON CONFLICT (" + joined(options.key_columns, true) + ") DO " +
           (rest.empty() ? "NOTHING" : "UPDATE SET " + joined(rest, false));
  }
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

// replace_each_batch: what committing a partition of batch t does to the table. The first
// partition of a batch empties it; later ones add to it; a batch older than one already in
// the table (a late re-run) is stale and only marked.
Result<SqliteSinkCore::Impl::Step> SqliteSinkCore::Impl::replace_step(Millis t) {
  auto q = prepare("SELECT max(batch_time), sum(batch_time = ?2) FROM _rill_markers WHERE output = ?1",
                   "cannot read markers");
  if (!q) return q.status();
  sqlite3_bind_text(q->get(), 1, output.data(), static_cast<int>(output.size()), SQLITE_STATIC);
  sqlite3_bind_int64(q->get(), 2, t.count());
  if (sqlite3_step(q->get()) != SQLITE_ROW) return error("cannot read markers");
  if (sqlite3_column_type(q->get(), 0) == SQLITE_NULL) return Step::clear_first;  // first batch ever
  if (sqlite3_column_int64(q->get(), 0) > t.count()) return Step::stale;
  return sqlite3_column_int64(q->get(), 1) > 0 ? Step::add : Step::clear_first;
}

SqliteSinkCore::SqliteSinkCore(SqliteSinkOptions options, std::vector<std::string> column_types)
    : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->types = std::move(column_types);
}

SqliteSinkCore::~SqliteSinkCore() = default;

Status SqliteSinkCore::open(const std::string& output) {
  Impl& m = *impl_;
  m.db.reset();
  m.staged.clear();
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

void SqliteSinkCore::stage(Millis t, int partition, std::vector<SqlRow> rows) {
  impl_->staged[{t.count(), partition}] = std::move(rows);
}

Status SqliteSinkCore::commit(Millis t, int partition, uint64_t hash) {
  Impl& m = *impl_;
  if (!m.db) return m.error("commit before open", Errc::invalid_argument);
  std::vector<SqlRow> rows;
  if (auto it = m.staged.find({t.count(), partition}); it != m.staged.end()) {
    rows = std::move(it->second);
    m.staged.erase(it);
  }
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
      if (*step == Impl::Step::clear_first)
        if (Status s = m.exec("DELETE FROM " + quoted(m.options.table), "cannot empty the table for " + at); !s)
          return s;
      write = *step != Impl::Step::stale;
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
  if (o.table.empty()) throw ConfigError(what + "the table name is empty");
  if (o.column_names.size() != leaf_columns)
    throw ConfigError(what + std::to_string(o.column_names.size()) + " column names (" +
                      joined(o.column_names, false) + ") for records of " + std::to_string(leaf_columns) +
                      " columns");
  std::set<std::string> names;
  for (const auto& c : o.column_names)
    if (c.empty() || !names.insert(c).second) throw ConfigError(what + "column name '" + c + "' is empty or repeated");
  std::set<std::string> keys;
  for (const auto& k : o.key_columns)
    if (!names.count(k) || !keys.insert(k).second)
      throw ConfigError(what + "key column '" + k + "' is not one of the columns, or repeated");
  if (o.busy_timeout_ms < 0) throw ConfigError(what + "busy_timeout_ms is negative");
}

}  // namespace rill::persistence
