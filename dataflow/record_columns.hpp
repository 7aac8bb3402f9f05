// Records as columns: typed std::vectors to the flat int/float/string/shape columns the wire
// frame (net/codec) and state snapshots carry, and back. Pure functions and values; any thread.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dataflow/record_traits.hpp"
#include "dataflow/result.hpp"

namespace rill {

/// Columns of records being encoded, filled by visit_leaves. Strings borrow from the records:
/// REQUIRES the records to outlive the columns (or at least their encoding to a frame).
struct EncodeColumns {
  uint64_t type_tag = 0;  ///< type_tag(type_signature<Record>()); 0 means "not set"
  uint64_t record_count = 0;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string_view> strings;
  std::vector<uint32_t> shape;
  std::size_t string_words = 0;  // Σ ceil(size / 8), so the frame is sized exactly up front

  void integer(int64_t value) { ints.push_back(value); }
  void floating(double value) { floats.push_back(value); }
  void string(std::string_view bytes) {
    strings.push_back(bytes);
    string_words += (bytes.size() + 7) / 8;
  }
  void length(std::size_t n) {
    if (n > UINT32_MAX) throw std::length_error("rill: vector too long to encode");
    shape.push_back(static_cast<uint32_t>(n));
  }
  void presence(bool present) { shape.push_back(present ? 1 : 0); }
};

/// Columns to decode. Strings borrow from `owner` when it is set (columns_of, or a frame reader's
/// aligned copy); net::read_frame of an aligned frame leaves them borrowing the frame's bytes,
/// so the frame must outlive these columns.
struct DecodeColumns {
  uint64_t type_tag = 0;  ///< the tag the columns were written with; 0 when unknown
  uint64_t record_count = 0;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string_view> strings;
  std::vector<uint32_t> shape;
  std::shared_ptr<const void> owner;  ///< keeps the bytes `strings` point into alive
};

/// XXH3-64 of a type signature, never 0.
uint64_t type_tag(std::string_view signature);

/// "type tag mismatch: frame holds 0x..., decoding as pair<string,i64> (0x...)"
std::string type_tag_mismatch(uint64_t held, std::string_view signature);

/// The columns `in` would decode to after a frame round trip, with the strings copied into
/// storage the result owns: lets dataflow code and tests round-trip without net/.
DecodeColumns columns_of(const EncodeColumns& in);

/// Hands out column entries in walk order and keeps the first failure's message.
class ColumnCursor {
 public:
  ColumnCursor(const DecodeColumns& columns, uint64_t leafless_budget)
      : columns_(columns), leafless_budget_(leafless_budget) {}

  bool take(int64_t& out) { return take_from(columns_.ints, ints_, "ints", out); }
  bool take(double& out) { return take_from(columns_.floats, floats_, "floats", out); }
  bool take(std::string_view& out) { return take_from(columns_.strings, strings_, "strings", out); }
  bool take(uint32_t& out) { return take_from(columns_.shape, shape_, "shape", out); }

  /// Whether n more elements of `per_element` entries each can come from what is left, so a
  /// hostile length cannot make decode reserve or loop without bound. Elements with no leaves
  /// (std::tuple<>) draw on a budget of max_records instead.
  bool can_hold(uint64_t n, std::size_t per_element);
  bool at_end() const;
  std::string leftover() const;  ///< "3 ints, 1 strings left over"
  bool fail(std::string message) {
    error_ = std::move(message);
    return false;
  }
  const std::string& error() const { return error_; }

 private:
  template <class Entry, class Out>
  bool take_from(const std::vector<Entry>& column, std::size_t& next, const char* name, Out& out) {
    if (next == column.size()) return fail(std::string("column ") + name + " exhausted");
    out = column[next++];
    return true;
  }

  const DecodeColumns& columns_;
  std::size_t ints_ = 0, floats_ = 0, strings_ = 0, shape_ = 0;
  uint64_t leafless_budget_;
  std::string error_;
};

namespace detail {

template <class Narrow>
constexpr bool fits_in(int64_t wide) {
  if constexpr (std::is_same_v<Narrow, bool>)
    return wide == 0 || wide == 1;
  else if constexpr (sizeof(Narrow) == sizeof(int64_t))
    return true;  // bits kept as they are
  else if constexpr (std::is_signed_v<Narrow>)
    return wide >= std::numeric_limits<Narrow>::min() && wide <= std::numeric_limits<Narrow>::max();
  else
    return wide >= 0 && wide <= static_cast<int64_t>(std::numeric_limits<Narrow>::max());
}

template <class E>
bool read_element(ColumnCursor& in, std::vector<E>& into);

}  // namespace detail

/// The inverse of visit_leaves: fills `value` from the columns, checking every entry.
template <class T>
bool read_value(ColumnCursor& in, T& value) {
  constexpr RecordKind kind = record_kind_v<T>;
  if constexpr (kind == RecordKind::boolean || kind == RecordKind::integer) {
    int64_t wide = 0;
    if (!in.take(wide)) return false;
    // char travels as unsigned char (detail::widen_integer) on every platform.
    using Narrow = std::conditional_t<std::is_same_v<T, char>, unsigned char, T>;
    if (!detail::fits_in<Narrow>(wide)) {
      return in.fail("int " + std::to_string(wide) + " out of range for " + type_signature<T>());
    }
    value = static_cast<T>(static_cast<Narrow>(wide));
  } else if constexpr (kind == RecordKind::floating) {
    double wide = 0;
    if (!in.take(wide)) return false;
    // Narrowing a finite double beyond float's range is undefined behaviour.
    if (sizeof(T) < sizeof(double) && std::isfinite(wide) &&
        (wide > std::numeric_limits<T>::max() || wide < std::numeric_limits<T>::lowest())) {
      return in.fail("float " + std::to_string(wide) + " out of range for f32");
    }
    value = static_cast<T>(wide);
  } else if constexpr (kind == RecordKind::string) {
    std::string_view bytes;
    if (!in.take(bytes)) return false;
    value.assign(bytes.data(), bytes.size());
  } else if constexpr (kind == RecordKind::vector) {
    uint32_t n = 0;
    if (!in.take(n)) return false;
    if (!in.can_hold(n, min_leaves<typename T::value_type>().total())) {
      return in.fail("vector of " + std::to_string(n) + " elements: " + in.error());
    }
    value.clear();
    value.reserve(n);
    for (uint32_t i = 0; i < n; ++i) {
      if (!detail::read_element(in, value)) return false;
    }
  } else if constexpr (kind == RecordKind::optional) {
    uint32_t present = 0;
    if (!in.take(present)) return false;
    if (present > 1) return in.fail("shape " + std::to_string(present) + " is not a presence flag");
    if (present == 0) value.reset();
    return present == 0 || read_value(in, value.emplace());
  } else if constexpr (kind == RecordKind::none) {
    require_record<T>();
  } else {
    bool ok = true;
    for_each_field(value, [&in, &ok](auto& field) { ok = ok && read_value(in, field); });
    return ok;
  }
  return true;
}

template <class E>
bool detail::read_element(ColumnCursor& in, std::vector<E>& into) {
  if constexpr (std::is_same_v<E, bool>) {  // vector<bool> hands out no bool&
    bool element = false;
    if (!read_value(in, element)) return false;
    into.push_back(element);
    return true;
  } else {
    return read_value(in, into.emplace_back());
  }
}

/// Starts (or continues) columns of T records: sets the type tag, reserves for `n` more.
template <class T>
void begin_records(EncodeColumns& out, std::size_t n) {
  require_record<T>();
  out.type_tag = type_tag(type_signature<T>());
  constexpr LeafCounts per_record = min_leaves<T>();
  out.ints.reserve(out.ints.size() + per_record.integers * n);
  out.floats.reserve(out.floats.size() + per_record.floatings * n);
  out.strings.reserve(out.strings.size() + per_record.strings * n);
  out.shape.reserve(out.shape.size() + per_record.shapes * n);
}

/// Appends `records` to `out` (tagged with T's signature). The columns borrow their strings.
template <class T>
void encode_records(const std::vector<T>& records, EncodeColumns& out) {
  begin_records<T>(out, records.size());
  out.record_count += records.size();
  for (const auto& record : records) visit_leaves(static_cast<const T&>(record), out);
}

/// Decodes columns made by encode_records<T>. Never throws on bad columns: Errc::corrupt naming
/// the record and what was wrong, or the type tag mismatch when `in` carries another tag.
template <class T>
Result<std::vector<T>> decode_records(const DecodeColumns& in, uint64_t max_records) {
  require_record<T>();
  static_assert(std::is_default_constructible_v<T>, "rill: records must be default-constructible");
  if (in.type_tag != 0 && in.type_tag != type_tag(type_signature<T>())) {
    return Status(Errc::corrupt, type_tag_mismatch(in.type_tag, type_signature<T>()));
  }
  const uint64_t count = in.record_count;
  if (count > max_records) {
    return Status(Errc::too_large, "columns hold " + std::to_string(count) +
                                       " records, over the limit of " +
                                       std::to_string(max_records));
  }
  ColumnCursor cursor(in, max_records);
  if (!cursor.can_hold(count, min_leaves<T>().total())) {
    return Status(Errc::corrupt, "frame claims " + std::to_string(count) +
                                     " records but its columns hold fewer: " + cursor.error());
  }
  std::vector<T> records;
  records.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (!detail::read_element(cursor, records)) {
      return Status(Errc::corrupt, "record " + std::to_string(i) + ": " + cursor.error());
    }
  }
  if (!cursor.at_end()) {
    return Status(Errc::corrupt,
                  "after " + std::to_string(count) + " records: " + cursor.leftover());
  }
  return records;
}

}  // namespace rill
