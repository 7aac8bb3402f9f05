// The non-template half of the record columns: tags, owned copies and the cursor's bookkeeping.
#include "dataflow/record_columns.hpp"

#include <cinttypes>
#include <cstdio>

#include "dataflow/stable_hash.hpp"

namespace rill {
namespace {

std::string hex(uint64_t value) {
  char buffer[24];
  std::snprintf(buffer, sizeof buffer, "0x%016" PRIx64, value);
  return buffer;
}

}  // namespace

uint64_t type_tag(std::string_view signature) {
  const uint64_t tag = stable_hash(signature);
  return tag == 0 ? 1 : tag;  // 0 marks "no tag": a zeroed or foreign struct
}

std::string type_tag_mismatch(uint64_t held, std::string_view signature) {
  return "type tag mismatch: frame holds " + hex(held) + ", decoding as " + std::string(signature) +
         " (" + hex(type_tag(signature)) + ")";
}

DecodeColumns columns_of(const EncodeColumns& in) {
  DecodeColumns out;
  out.type_tag = in.type_tag;
  out.record_count = in.record_count;
  out.ints = in.ints;
  out.floats = in.floats;
  out.shape = in.shape;
  // One buffer for every string: the views stay valid however the columns are moved or copied.
  auto bytes = std::make_shared<std::string>();
  std::size_t total = 0;
  for (const std::string_view s : in.strings) total += s.size();
  bytes->reserve(total);
  for (const std::string_view s : in.strings) bytes->append(s);
  out.strings.reserve(in.strings.size());
  std::size_t at = 0;
  for (const std::string_view s : in.strings) {
    out.strings.emplace_back(bytes->data() + at, s.size());
    at += s.size();
  }
  out.owner = std::move(bytes);
  return out;
}

bool ColumnCursor::can_hold(uint64_t n, std::size_t per_element) {
  if (per_element == 0) {
    if (n > leafless_budget_) return fail("more leafless elements than max_records allows");
    leafless_budget_ -= n;
    return true;
  }
  const uint64_t left = (columns_.ints.size() - ints_) + (columns_.floats.size() - floats_) +
                        (columns_.strings.size() - strings_) + (columns_.shape.size() - shape_);
  if (n > left / per_element) return fail("only " + std::to_string(left) + " column entries left");
  return true;
}

bool ColumnCursor::at_end() const {
  return ints_ == columns_.ints.size() && floats_ == columns_.floats.size() &&
         strings_ == columns_.strings.size() && shape_ == columns_.shape.size();
}

std::string ColumnCursor::leftover() const {
  std::string out;
  const auto note = [&out](std::size_t left, const char* name) {
    if (left == 0) return;
    if (!out.empty()) out += ", ";
    out += std::to_string(left) + " " + name;
  };
  note(columns_.ints.size() - ints_, "ints");
  note(columns_.floats.size() - floats_, "floats");
  note(columns_.strings.size() - strings_, "strings");
  note(columns_.shape.size() - shape_, "shape entries");
  return out + " left over";
}

}  // namespace rill
