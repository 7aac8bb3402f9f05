// sqlite_sink<T>(): an exactly-once Sink into a SQLite table, rows and commit marker in one
// transaction. Each sink object is used by one thread at a time (its output's sink actor).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/config_error.hpp"
#include "dataflow/result.hpp"
#include "dataflow/sink.hpp"
#include "persistence/sql_row.hpp"
#include "persistence/sql_sink.hpp"

namespace rill {

using SqliteMode = SqlMode;

/// Where and how a SQLite sink writes. Checked by sqlite_sink<T>() (ConfigError).
struct SqliteSinkOptions {
  std::string path;                       ///< database file; created if absent
  std::string table;                      ///< created if absent, else its columns are checked
  std::vector<std::string> key_columns;   ///< the primary key; empty: no key (plain inserts)
  std::vector<std::string> column_names;  ///< one per leaf of the record, in order
  /// Upsert by key (default) or replace the table each batch.
  SqliteMode mode = SqliteMode::upsert;
  /// How long a commit waits for another connection's write lock (ms). Default 5000.
  int busy_timeout_ms = 5000;
};

namespace persistence {

/// The untyped half of the SQLite sink: connection, schema and transactions.
/// Errors are Status values naming the file and table. One thread at a time.
class SqliteSinkCore {
 public:
  /// column_types: "INTEGER", "REAL" or "TEXT" per column, used when creating the table.
  SqliteSinkCore(SqliteSinkOptions options, std::vector<std::string> column_types);
  ~SqliteSinkCore();
  SqliteSinkCore(const SqliteSinkCore&) = delete;
  SqliteSinkCore& operator=(const SqliteSinkCore&) = delete;

  /// Opens (or reopens) the file in WAL mode, creates the table and `_rill_markers` if absent,
  /// checks an existing table's columns and key. `output` names the markers' rows.
  Status open(const std::string& output);
  /// One transaction: the rows (upsert, or after emptying the table in replace_each_batch mode) and the marker (output, t, partition, hash). A marker already
  /// there makes it a no-op, so a second commit never duplicates rows.
  Status commit(Millis t, int partition, uint64_t hash, std::vector<SqlRow> rows);
  /// The hash of the marker for (t, partition), or nullopt.
  Result<std::optional<uint64_t>> committed(Millis t, int partition);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Checks options against T (column count, key columns among the columns); ConfigError if wrong.
void check_sqlite_options(const SqliteSinkOptions& options, std::size_t leaf_columns);

}  // namespace persistence

/// A Sink writing records of T to `table` in the SQLite file `path`, for DStream<T>::output_to.
/// Each record's leaves fill column_names in order; key_columns form the primary key (upsert).
/// The file is opened in WAL mode before the first batch is written (a bad path fails that
/// batch, naming the file), so `sqlite3 path` can read while the job runs. The marker table
/// `_rill_markers(output, batch_time, partition, hash)` holds one row per committed
/// (output, batch time, partition), written in the same transaction as its rows.
template <class T>
std::shared_ptr<Sink> sqlite_sink(const std::string& path, const std::string& table,
                                  std::vector<std::string> key_columns,
                                  std::vector<std::string> column_names,
                                  SqliteMode mode = SqliteMode::upsert) {
  SqliteSinkOptions options{path, table, std::move(key_columns), std::move(column_names), mode};
  persistence::check_sqlite_options(options, persistence::sql_column_count<T>());
  persistence::SqlRow shape;
  std::vector<std::string> types;
  persistence::append_sql_columns<T>(nullptr, shape, &types);
  return std::make_shared<persistence::SqlSink<T, persistence::SqliteSinkCore>>(std::move(options),
                                                                               std::move(types));
}

}  // namespace rill
