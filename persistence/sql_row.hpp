// Records as SQL rows: how many columns a record type fills, and its values and column types.
// Compile-time shape plus pure functions: use freely.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "dataflow/record_traits.hpp"

namespace rill::persistence {

/// One column value: NULL (an absent optional), integer, real or text.
using SqlValue = std::variant<std::monostate, int64_t, double, std::string>;
using SqlRow = std::vector<SqlValue>;

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

}  // namespace rill::persistence
