// Writing JSON by hand: quoted strings with escapes, and numbers that stay valid JSON.
// Pure functions, any thread. Small documents only (status endpoints, reports).
#pragma once

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <string_view>

namespace rill {

/// s as a JSON string literal, quotes included: escapes quotes, backslashes and control bytes
/// (bytes >= 0x80 pass through, so UTF-8 stays UTF-8).
inline std::string json_quote(std::string_view s) {
  std::string out;
  out.reserve(s.size() + 2);
  out += '"';
  for (char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
  return out;
}

/// x as a JSON number; NaN and infinities (not JSON) become null.
inline std::string json_number(double x) {
  if (!std::isfinite(x)) return "null";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.15g", x);  // 15 digits: exact for epoch seconds with ms
  return buf;
}

inline std::string json_number(int64_t x) { return std::to_string(x); }

}  // namespace rill
