// Batch codec: a std::vector of records to a columnar Cap'n Proto frame (net/wire.capnp) and back.
// Pure functions, any thread. The template half is std-only; Cap'n Proto stays in codec.cpp.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "dataflow/record_traits.hpp"
#include "dataflow/result.hpp"
#include "net/frame.hpp"

namespace rill::net {
namespace detail {

/// Columns of a batch being encoded, filled by visit_leaves; strings borrow from the records.
struct EncodeColumns {
  uint64_t type_tag = 0;
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

/// Columns of a received frame whose tag and size passed; strings borrow from the frame or
/// from `reader`'s aligned copy.
struct DecodeColumns {
  uint64_t record_count = 0;
  std::vector<int64_t> ints;
  std::vector<double> floats;
  std::vector<std::string_view> strings;
  std::vector<uint32_t> shape;
  std::optional<AlignedFrameReader> reader;
};

/// XXH3-64 of a type signature, never 0.
uint64_t type_tag(std::string_view signature);
/// Throws std::length_error past Cap'n Proto's limits (2^29 entries a column, 4 GiB a frame).
Frame write_frame(const EncodeColumns& columns);
/// Never throws; errors name the frame and what was wrong with it.
Result<DecodeColumns> read_frame(const Frame& frame, const DecodeLimits& limits,
                                 std::string_view type_signature);

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

/// The inverse of visit_leaves: fills `value` from the columns, checking every entry.
template <class T>
bool read_value(ColumnCursor& in, T& value) {
  constexpr RecordKind kind = record_kind_v<T>;
  if constexpr (kind == RecordKind::boolean || kind == RecordKind::integer) {
    int64_t wide = 0;
    if (!in.take(wide)) return false;
    // char travels as unsigned char (detail::widen_integer) on every platform.
    using Narrow = std::conditional_t<std::is_same_v<T, char>, unsigned char, T>;
    if (!fits_in<Narrow>(wide)) {
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
      if (!read_element(in, value)) return false;
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
bool read_element(ColumnCursor& in, std::vector<E>& into) {
  if constexpr (std::is_same_v<E, bool>) {  // vector<bool> hands out no bool&
    bool element = false;
    if (!read_value(in, element)) return false;
    into.push_back(element);
    return true;
  } else {
    return read_value(in, into.emplace_back());
  }
}

}  // namespace detail

/// Encodes `records` as one columnar RecordBatch frame tagged with T's type signature.
/// Throws std::length_error only past Cap'n Proto's size limits: split such batches.
template <class T>
Frame encode_batch(const std::vector<T>& records) {
  require_record<T>();
  detail::EncodeColumns columns;
  columns.type_tag = detail::type_tag(type_signature<T>());
  columns.record_count = records.size();
  constexpr LeafCounts per_record = min_leaves<T>();
  columns.ints.reserve(per_record.integers * records.size());
  columns.floats.reserve(per_record.floatings * records.size());
  columns.strings.reserve(per_record.strings * records.size());
  columns.shape.reserve(per_record.shapes * records.size());
  for (const auto& record : records) visit_leaves(static_cast<const T&>(record), columns);
  return detail::write_frame(columns);
}

/// Decodes a frame made by encode_batch<T>. Never throws or crashes on bad bytes: returns
/// Errc::too_large past `limits` and Errc::corrupt for anything malformed, including a frame of
/// another type ("type tag mismatch: frame holds 0x..., decoding as pair<string,i64> (0x...)").
template <class T>
Result<std::vector<T>> decode_batch(const Frame& frame, const DecodeLimits& limits = {}) {
  require_record<T>();
  static_assert(std::is_default_constructible_v<T>, "rill: records must be default-constructible");
  auto columns = detail::read_frame(frame, limits, type_signature<T>());
  if (!columns) return columns.status();
  detail::ColumnCursor in(*columns, limits.max_records);
  const uint64_t count = columns->record_count;
  if (!in.can_hold(count, min_leaves<T>().total())) {
    return Status(Errc::corrupt, "frame claims " + std::to_string(count) +
                                     " records but its columns hold fewer: " + in.error());
  }
  std::vector<T> records;
  records.reserve(count);
  for (uint64_t i = 0; i < count; ++i) {
    if (!detail::read_element(in, records)) {
      return Status(Errc::corrupt, "record " + std::to_string(i) + ": " + in.error());
    }
  }
  if (!in.at_end()) {
    return Status(Errc::corrupt, "after " + std::to_string(count) + " records: " + in.leftover());
  }
  return records;
}

}  // namespace rill::net
