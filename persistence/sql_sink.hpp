// What the SQL sinks (SQLite, PostgreSQL) share: the table spec and its checks, identifier quoting,
// the upsert statement, replace_each_batch's rule, and the typed Sink over a store's core. Pure.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "dataflow/result.hpp"
#include "dataflow/sink.hpp"
#include "persistence/sql_row.hpp"

namespace rill {

/// How committed rows meet the rows already in the table.
enum class SqlMode {
  upsert,              ///< insert, or update the row with the same key columns (no key: append)
  replace_each_batch,  ///< the first partition committed for a batch empties the table first,
                       ///< so it holds the latest batch (e.g. the latest window) only. Each
                       ///< partition commits on its own: between them a reader sees part of
                       ///< the batch (use one partition, e.g. repartition(1), to avoid that)
};

namespace persistence {

/// The table a SQL sink writes: one column per leaf of the record, in order, and the primary key.
struct SqlTable {
  std::string name;                       ///< used verbatim (quoted): case matters
  std::vector<std::string> key_columns;   ///< the primary key; empty: no key (plain inserts)
  std::vector<std::string> column_names;  ///< one per leaf of the record, in order
};

/// `name` in double quotes, embedded quotes doubled: names come from the program, never values.
std::string sql_quoted(const std::string& name);
/// The names joined by ", ", each quoted when `quote` is set.
std::string sql_joined(const std::vector<std::string>& names, bool quote);

/// INSERT INTO table (columns) VALUES (placeholders), with ON CONFLICT (key) DO UPDATE when the
/// table has a key. `placeholder(i)` spells parameter i, 0-based ("?" in SQLite, "$1" in Postgres).
std::string sql_upsert_statement(const SqlTable& table, const std::function<std::string(size_t)>& placeholder);

/// Throws ConfigError, starting with `what`, unless the table has a name, one unique non-empty
/// column name per leaf and key columns among them.
void check_sql_table(const std::string& what, const SqlTable& table, std::size_t leaf_columns);

/// Empty if an existing table with columns `have` and primary key `have_key` fits the sink
/// (the same names in any order: inserts name their columns); else why not, for an error.
std::string sql_schema_mismatch(const SqlTable& table, std::vector<std::string> have,
                                std::vector<std::string> have_key);

/// What committing a partition of batch t does to the table in replace_each_batch mode.
enum class ReplaceStep {
  clear_first,  ///< the first partition of a batch: empty the table, then insert
  add,          ///< a later partition of the same batch: insert
  stale,        ///< a batch older than one already in the table (a late re-run): only mark it
};
/// newest: the newest batch time with a marker of this output; batch_seen: t has a marker.
ReplaceStep replace_step(std::optional<int64_t> newest, bool batch_seen, int64_t t);

/// The Sink over a store's untyped Core: records become SqlRows, staged per (t, partition) until
/// commit. Core has `Status open(output)`, `Status commit(t, partition, hash, std::vector<SqlRow>)`
/// and `Result<std::optional<uint64_t>> committed(t, partition)`. A failed Status throws
/// std::runtime_error with its message (the runtime fails the batch with it).
template <class T, class Core>
class SqlSink final : public TypedSink<T> {
 public:
  /// Passes args to Core's constructor (connection options).
  template <class... Args>
  explicit SqlSink(Args&&... args) : core_(std::forward<Args>(args)...) {}

  void open(const SinkContext& context) override {
    staged_.clear();
    check(core_.open(context.output));
  }
  /// Stages the records as rows; commit() writes them and the marker in one transaction.
  void write(Millis t, int partition, const std::vector<T>& records) override {
    std::vector<SqlRow> rows;
    rows.reserve(records.size());
    for (const T& r : records) {
      rows.emplace_back();
      append_sql_columns(&r, rows.back(), nullptr);
    }
    staged_[{t.count(), partition}] = std::move(rows);  // replace: a re-run stages the same key
  }
  void commit(Millis t, int partition, uint64_t hash) override {
    std::vector<SqlRow> rows;
    if (auto it = staged_.find({t.count(), partition}); it != staged_.end()) {
      rows = std::move(it->second);
      staged_.erase(it);
    }
    check(core_.commit(t, partition, hash, std::move(rows)));
  }
  std::optional<uint64_t> committed(Millis t, int partition) override {
    auto got = core_.committed(t, partition);
    check(got ? Status::ok() : got.status());
    return *got;
  }

 private:
  static void check(const Status& s) {
    if (!s) throw std::runtime_error(s.message());
  }
  Core core_;
  std::map<std::pair<int64_t, int>, std::vector<SqlRow>> staged_;
};

}  // namespace persistence
}  // namespace rill
