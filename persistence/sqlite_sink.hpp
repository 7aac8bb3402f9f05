// sqlite_sink<T>(): an exactly-once Sink into a SQLite table, rows and commit marker in one
// transaction. Each sink object is used by one thread at a time (its output's sink actor).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataflow/config_error.hpp"
#include "dataflow/result.hpp"
#include "dataflow/sink.hpp"
#include "persistence/sql_row.hpp"

namespace rill {

/// How committed rows meet the rows already in the table.
enum class SqliteMode {
  upsert,              ///< insert, or update the row with the same key columns (no key: append)
  replace_each_batch,  ///< the first partition committed for a batch empties the table first,
                       ///< so it holds the latest batch (e.g. the latest window) only. Each
                       ///< partition commits on its own: between them a reader sees part of
                       ///< the batch (use one partition, e.g. repartition(1), to avoid that)
};

/// Where and how a SQLite sink writes. Checked by sqlite_sink<T>() (ConfigError).
struct SqliteSinkOptions {
  std::string path;                       ///< database file; created if absent
  std::string table;                      ///< created if absent, else its columns are checked
  std::vector<std::string> key_columns;   ///< the primary key; empty: no key (plain inserts)
  std::vector<std::string> column_names;  ///< one per leaf of the record, in order
  SqliteMode mode = SqliteMode::upsert;
  /// How long a commit waits for another connection's write lock (ms). Default 5000.
  int busy_timeout_ms = 5000;
};

namespace persistence {

/// The untyped half of the SQLite sink: connection, schema, staged rows and transactions.
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
  /// Keeps rows for commit(t, partition), replacing any staged earlier for that pair.
  void stage(Millis t, int partition, std::vector<SqlRow> rows);
  /// One transaction: the staged rows (upsert, or after emptying the table in
  /// replace_each_batch mode) and the marker (output, t, partition, hash). A marker already
  /// there makes it a no-op, so a second commit never duplicates rows.
  Status commit(Millis t, int partition, uint64_t hash);
  /// The hash of the marker for (t, partition), or nullopt.
  Result<std::optional<uint64_t>> committed(Millis t, int partition);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// The Sink: records of T become rows of SqliteSinkOptions::table. Errors throw
/// std::runtime_error naming the file and table (the runtime fails the batch with it).
template <class T>
class SqliteSink final : public TypedSink<T> {
 public:
  SqliteSink(SqliteSinkOptions options, std::vector<std::string> types)
      : core_(std::move(options), std::move(types)) {}

  void open(const SinkContext& context) override { check(core_.open(context.output)); }
  void write(Millis t, int partition, const std::vector<T>& records) override {
    std::vector<SqlRow> rows;
    rows.reserve(records.size());
    for (const T& r : records) {
      rows.emplace_back();
      append_sql_columns(&r, rows.back(), nullptr);
    }
    core_.stage(t, partition, std::move(rows));
  }
  void commit(Millis t, int partition, uint64_t hash) override { check(core_.commit(t, partition, hash)); }
  std::optional<uint64_t> committed(Millis t, int partition) override {
    auto got = core_.committed(t, partition);
    check(got ? Status::ok() : got.status());
    return *got;
  }

 private:
  static void check(const Status& s) {
    if (!s) throw std::runtime_error(s.message());
  }
  persistence::SqliteSinkCore core_;
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
  return std::make_shared<persistence::SqliteSink<T>>(std::move(options), std::move(types));
}

}  // namespace rill
