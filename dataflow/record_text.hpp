// Text form of records, as Spark's DStream.print() shows them: (a,b), Some(x), Reading(s1,5,1.5).
// Pure functions: use freely.
#pragma once

#include <charconv>
#include <cmath>
#include <cstddef>
#include <string>
#include <string_view>
#include <type_traits>

#include "dataflow/record_traits.hpp"

namespace rill {
namespace detail {

// Java's Double.toString / Float.toString (JDK 19+ spec, and so what Scala shows): the shortest
// round-trip digits (two when one would do, closest to the value), laid out as plain decimal with
// at least one fractional digit when 1e-3 <= |v| < 1e7, otherwise as d.dddE[-]n.
template <class Float>
void append_floating(std::string& out, Float value) {
  if (std::isnan(value)) {
    out += "NaN";
    return;
  }
  if (std::isinf(value)) {
    out += value > 0 ? "Infinity" : "-Infinity";
    return;
  }
  if (value == 0) {
    out += std::signbit(value) ? "-0.0" : "0.0";
    return;
  }
  char buffer[64];
  auto end =
      std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific).ptr;
  if (std::string_view(buffer, static_cast<std::size_t>(end - buffer)).find('.') ==
      std::string_view::npos) {
    // One shortest digit: Java shows two, picking the two-digit decimal closest to the value
    // (Double.MIN_VALUE is 4.9E-324, not 5.0E-324).
    end =
        std::to_chars(buffer, buffer + sizeof buffer, value, std::chars_format::scientific, 1).ptr;
  }
  std::string_view text(buffer, static_cast<std::size_t>(end - buffer));  // "-1.2345e+07"
  if (text.front() == '-') {
    out += '-';
    text.remove_prefix(1);
  }
  const std::size_t e_at = text.find('e');
  int exponent = 0;
  std::from_chars(text.data() + e_at + (text[e_at + 1] == '+' ? 2 : 1), text.data() + text.size(),
                  exponent);
  std::string digits(text.substr(0, e_at));
  if (digits.size() > 1) digits.erase(1, 1);  // drop the '.': value is d1.d2d3... × 10^exponent
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();  // "2.0e-03" is 0.002
  if (exponent >= 7 || exponent < -3) {
    out += digits[0];
    out += '.';
    out += digits.size() > 1 ? std::string_view(digits).substr(1) : "0";
    out += 'E';
    out += std::to_string(exponent);
  } else if (exponent >= 0) {
    const std::size_t whole = static_cast<std::size_t>(exponent) + 1;
    if (digits.size() <= whole) {
      out += digits;
      out.append(whole - digits.size(), '0');
      out += ".0";
    } else {
      out.append(digits, 0, whole);
      out += '.';
      out.append(digits, whole);
    }
  } else {
    out += "0.";
    out.append(static_cast<std::size_t>(-exponent - 1), '0');
    out += digits;
  }
}

}  // namespace detail

/// Appends the print() form of `value` to `out`: strings bare, integers decimal, char as itself,
/// bool true/false, floating point as Scala prints it (1.0, 0.1, 1.0E7, NaN, -Infinity),
/// pairs and tuples (a,b,c), vectors and arrays [a,b], optionals Some(x) / None, RILL_RECORD
/// structs Name(a,b). No spaces anywhere.
template <class T>
void append_text(std::string& out, const T& value) {
  constexpr RecordKind kind = record_kind_v<T>;
  if constexpr (kind == RecordKind::none) {
    require_record<T>();
  } else if constexpr (kind == RecordKind::boolean) {
    out += value ? "true" : "false";
  } else if constexpr (std::is_same_v<T, char>) {
    out += value;
  } else if constexpr (kind == RecordKind::integer) {
    // Widen first: to_chars has no overloads for char8_t, char16_t, wchar_t.
    using Wide = std::conditional_t<std::is_signed_v<T>, long long, unsigned long long>;
    char buffer[24];
    out.append(buffer, std::to_chars(buffer, buffer + sizeof buffer, static_cast<Wide>(value)).ptr);
  } else if constexpr (kind == RecordKind::floating) {
    detail::append_floating(out, value);
  } else if constexpr (kind == RecordKind::string) {
    out += value;
  } else if constexpr (kind == RecordKind::vector || kind == RecordKind::array) {
    out += '[';
    bool first = true;
    for (const auto& element : value) {
      if (!first) out += ',';
      first = false;
      append_text(out, element);
    }
    out += ']';
  } else if constexpr (kind == RecordKind::optional) {
    if (!value) {
      out += "None";
      return;
    }
    out += "Some(";
    append_text(out, *value);
    out += ')';
  } else {
    if constexpr (kind == RecordKind::structure) out += record_name<T>();
    out += '(';
    bool first = true;
    for_each_field(value, [&out, &first](const auto& field) {
      if (!first) out += ',';
      first = false;
      append_text(out, field);
    });
    out += ')';
  }
}

/// The print() form of `value` as a new string; see append_text.
template <class T>
std::string to_text(const T& value) {
  std::string out;
  append_text(out, value);
  return out;
}

}  // namespace rill
