// postgres_sink<T>(): an exactly-once Sink into a PostgreSQL table, rows and commit marker in one
// transaction. Each sink object is used by one thread at a time (its output's sink actor).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/result.hpp"
#include "dataflow/sink.hpp"
#include "persistence/sql_row.hpp"
#include "persistence/sql_sink.hpp"

namespace rill {

using PostgresMode = SqlMode;

/// Where and how a PostgreSQL sink writes. Checked by postgres_sink<T>() (ConfigError).
struct PostgresSinkOptions {
  /// A libpq connection string or URI ("host=db port=5432 dbname=app user=rill", or
  /// "postgresql://..."); PG* environment variables fill what it leaves out. Messages name its
  /// host, port and database, never its password. A connect waits at most connect_timeout
  /// (10 s unless the conninfo or PGCONNECT_TIMEOUT sets it).
  std::string conninfo;
  std::string table;                      ///< created if absent, else its columns are checked
  std::vector<std::string> key_columns;   ///< the primary key; empty: no key (plain inserts)
  std::vector<std::string> column_names;  ///< one per leaf of the record, in order
  /// Upsert by key (default) or replace the table each batch.
  PostgresMode mode = PostgresMode::upsert;
};

namespace persistence {

/// The untyped half of the PostgreSQL sink: connection, schema and transactions. Errors are
/// Status values naming the server (host:port/database) and the table. One thread at a time.
class PostgresSinkCore {
 public:
  /// column_types: "INTEGER", "REAL" or "TEXT" per column (sql_row.hpp's names), created as
  /// BIGINT, DOUBLE PRECISION and TEXT.
  PostgresSinkCore(PostgresSinkOptions options, std::vector<std::string> column_types);
  ~PostgresSinkCore();
  PostgresSinkCore(const PostgresSinkCore&) = delete;
  PostgresSinkCore& operator=(const PostgresSinkCore&) = delete;

  /// Connects (or reconnects), creates the table and `_rill_markers` if absent, checks an
  /// existing table's columns and key. `output` names the markers' rows.
  Status open(const std::string& output);
  /// One transaction: the marker (output, t, partition, hash), then the rows (upsert, or after
  /// emptying the table in replace_each_batch mode). A marker already there makes it a no-op,
  /// so a second commit never duplicates rows, even from a concurrent connection.
  Status commit(Millis t, int partition, uint64_t hash, std::vector<SqlRow> rows);
  /// The hash of the marker for (t, partition), or nullopt.
  Result<std::optional<uint64_t>> committed(Millis t, int partition);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Checks options against T (column count, key columns among the columns, a conninfo libpq
/// can parse); ConfigError if wrong, naming the server and table.
void check_postgres_options(const PostgresSinkOptions& options, std::size_t leaf_columns);

}  // namespace persistence

/// A Sink writing records of T to `table` on the PostgreSQL server `conninfo`, for
/// DStream<T>::output_to. Each record's leaves fill column_names in order; key_columns form the
/// primary key (INSERT ... ON CONFLICT DO UPDATE). The connection opens before the first batch
/// is written (an unreachable server fails that batch, naming it); a dropped connection is
/// reconnected once on the next call. The table `_rill_markers(output, batch_time, partition,
/// hash)` holds one row per committed (output, batch time, partition), written in the same
/// transaction as its rows. Values travel as query parameters, never spliced into SQL.
template <class T>
std::shared_ptr<Sink> postgres_sink(const std::string& conninfo, const std::string& table,
                                    std::vector<std::string> key_columns,
                                    std::vector<std::string> column_names,
                                    PostgresMode mode = PostgresMode::upsert) {
  PostgresSinkOptions options{conninfo, table, std::move(key_columns), std::move(column_names), mode};
  persistence::check_postgres_options(options, persistence::sql_column_count<T>());
  persistence::SqlRow shape;
  std::vector<std::string> types;
  persistence::append_sql_columns<T>(nullptr, shape, &types);
  return std::make_shared<persistence::SqlSink<T, persistence::PostgresSinkCore>>(std::move(options),
                                                                                 std::move(types));
}

}  // namespace rill
