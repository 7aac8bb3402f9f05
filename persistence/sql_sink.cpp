#include "persistence/sql_sink.hpp"

#include <algorithm>
#include <set>

#include "dataflow/config_error.hpp"

namespace rill::persistence {

std::string sql_quoted(const std::string& name) {
  std::string out = "\"";
  for (char c : name) {
    if (c == '"') out.push_back('"');
    out.push_back(c);
  }
  return out + "\"";
}

std::string sql_joined(const std::vector<std::string>& names, bool quote) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + (quote ? sql_quoted(n) : n);
  return out;
}

std::string sql_upsert_statement(const SqlTable& table, const std::function<std::string(size_t)>& placeholder) {
  std::string sql = "INSERT INTO " + sql_quoted(table.name) + " (" + sql_joined(table.column_names, true) +
                    ") VALUES (";
  for (size_t i = 0; i < table.column_names.size(); ++i) sql += (i ? ", " : "") + placeholder(i);
  sql += ")";
  if (table.key_columns.empty()) return sql;
  std::vector<std::string> rest;
  for (const auto& c : table.column_names)
    if (std::find(table.key_columns.begin(), table.key_columns.end(), c) == table.key_columns.end())
      rest.push_back(sql_quoted(c) + " = excluded." + sql_quoted(c));
  return sql + " ON CONFLICT (" + sql_joined(table.key_columns, true) + ") DO " +
         (rest.empty() ? "NOTHING" : "UPDATE SET " + sql_joined(rest, false));
}

void check_sql_table(const std::string& what, const SqlTable& table, std::size_t leaf_columns) {
  if (table.name.empty()) throw ConfigError(what + "the table name is empty");
  if (table.column_names.size() != leaf_columns)
    throw ConfigError(what + std::to_string(table.column_names.size()) + " column names (" +
                      sql_joined(table.column_names, false) + ") for records of " + std::to_string(leaf_columns) +
                      " columns");
  std::set<std::string> names;
  for (const auto& c : table.column_names)
    if (c.empty() || !names.insert(c).second) throw ConfigError(what + "column name '" + c + "' is empty or repeated");
  std::set<std::string> keys;
  for (const auto& k : table.key_columns)
    if (!names.count(k) || !keys.insert(k).second)
      throw ConfigError(what + "key column '" + k + "' is not one of the columns, or repeated");
}

std::string sql_schema_mismatch(const SqlTable& table, std::vector<std::string> have,
                                std::vector<std::string> have_key) {
  auto sorted = [](std::vector<std::string> v) {
    std::sort(v.begin(), v.end());
    return v;
  };
  // The same key too: upserts resolve conflicts on it.
  if (sorted(have) == sorted(table.column_names) && sorted(have_key) == sorted(table.key_columns)) return {};
  return "the existing table has columns (" + sql_joined(have, false) + ") with primary key (" +
         sql_joined(have_key, false) + ") but the sink writes columns (" + sql_joined(table.column_names, false) +
         ") with primary key (" + sql_joined(table.key_columns, false) +
         "); drop or rename the table, or match the sink to it";
}

ReplaceStep replace_step(std::optional<int64_t> newest, bool batch_seen, int64_t t) {
  if (!newest) return ReplaceStep::clear_first;  // the first batch ever
  if (*newest > t) return ReplaceStep::stale;
  return batch_seen ? ReplaceStep::add : ReplaceStep::clear_first;
}

}  // namespace rill::persistence
