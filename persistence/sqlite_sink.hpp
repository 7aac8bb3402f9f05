// sqlite_sink<T>(): an exactly-once Sink into a SQLite table, rows and commit marker in one
// transaction. Each sink object is used by one thread at a time (its output's sink actor).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <variant>
#include <vector>

#include "dataflow/config_error.hpp"
#include "dataflow/record_traits.hpp"
#include "dataflow/result.hpp"
#include "dataflow/sink.hpp"

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

/// One column value: NULL (an absent optional), integer, real or text.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;
using SqlRow = std::vector<SqlValue>;

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

/// Columns a record of type T fills: one per integer, floating or string leaf; pairs, tuples,
/// arrays and structs flattened in order; an optional takes its value's columns (NULL if absent).
template <class T>
constexpr std::size_t sql_column_count() {
  constexpr RecordKind kind = record_kind_v<T>;
  if constexpr (kind == RecordKind::optional) {
    return sql_column_count<typename T::value_type>();
  } else if constexpr (kind == RecordKind::array) {
    return std::tuple_size_v<T> * sql_column_count<typename T::value_type>();
  } else if constexpr (kind == RecordKind::pair || kind == RecordKind::tuple ||
                       kind == RecordKind::structure) {
    return []<class... Ts>(std::tuple<Ts...>*) { return (sql_column_count<Ts>() + ... + 0); }(
        static_cast<detail::element_types_t<T>*>(nullptr));
  } else {
    static_assert(kind != RecordKind::vector, "rill: sqlite_sink cannot store a std::vector field");
    require_record<T>();
    return 1;
  }
}

/// Appends value's columns to row (sql_column_count<T>() of them); the SQL type of each
/// column to types when types is not null.
template <class T>
void append_sql_columns(const T* value, SqlRow& row, std::vector<std::string>* types) {
  constexpr RecordKind kind = record_kind_v<T>;
  if constexpr (kind == RecordKind::boolean || kind == RecordKind::integer) {
    row.emplace_back(value ? detail::widen_integer(*value) : int64_t{0});
    if (types) types->push_back("INTEGER");
  } else if constexpr (kind == RecordKind::floating) {
    row.emplace_back(value ? static_cast<double>(*value) : 0.0);
    if (types) types->push_back("REAL");
  } else if constexpr (kind == RecordKind::string) {
    row.emplace_back(value ? *value : std::string());
    if (types) types->push_back("TEXT");
  } else if constexpr (kind == RecordKind::optional) {
    const std::size_t before = row.size();
    append_sql_columns<typename T::value_type>(value && *value ? &**value : nullptr, row, types);
    if (!value || !*value)  // absent: its columns are NULL
      for (std::size_t i = before; i < row.size(); ++i) row[i] = std::monostate{};
  } else if (value) {
    for_each_field(*value, [&](const auto& f) { append_sql_columns(&f, row, types); });
  } else {  // the shape only: an absent optional's fields, or the column types
    T shape{};
    for_each_field(shape, [&](const auto& f) { append_sql_columns(&f, row, types); });
  }
}

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
/// The file is opened at start in WAL mode, so `sqlite3 path` can read while the job runs.
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
