// Tests for the batch codec and frame reader: round trips, limits, and hostile bytes.
#include "net/codec.hpp"

#include "dataflow/ops/state.hpp"
#include <array>
#include <bit>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <random>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

namespace app {
struct Reading {
  std::string sensor;
  int64_t at = 0;
  double value = 0;
  bool operator==(const Reading&) const = default;
};
RILL_RECORD(Reading, sensor, at, value)
}  // namespace app

namespace {

using rill::Errc;
using rill::net::decode_batch;
using rill::net::DecodeLimits;
using rill::net::encode_batch;
using rill::net::Frame;

template <class T>
std::vector<T> round_trip(const std::vector<T>& records) {
  const Frame frame = encode_batch(records);
  auto decoded = decode_batch<T>(frame);
  INFO((decoded ? std::string("ok") : decoded.status().to_string()));
  REQUIRE(decoded.is_ok());
  return std::move(decoded).value();
}

bool contains(const rill::Status& status, const std::string& needle) {
  return status.message().find(needle) != std::string::npos;
}

TEST_CASE("empty batches round-trip", "[codec]") {
  CHECK(round_trip(std::vector<int64_t>{}).empty());
  CHECK(round_trip(std::vector<app::Reading>{}).empty());
  CHECK(round_trip(std::vector<std::tuple<>>(3)).size() == 3);
}

TEST_CASE("strings keep every byte", "[codec]") {
  const std::vector<std::string> strings = {
      "", "a", std::string("nul\0inside", 10), "\xff\xfe\x80 not utf-8", "", std::string(3, '\0')};
  CHECK(round_trip(strings) == strings);
  const std::vector<std::string> big = {std::string(16u << 20, 'q') + "end"};
  CHECK(round_trip(big) == big);
}

TEST_CASE("integers keep their extremes", "[codec]") {
  using L = std::numeric_limits<int64_t>;
  const std::vector<int64_t> wide = {L::min(), L::max(), 0, -1, 1};
  CHECK(round_trip(wide) == wide);
  const std::vector<uint64_t> unsigned_wide = {std::numeric_limits<uint64_t>::max(), 0};
  CHECK(round_trip(unsigned_wide) == unsigned_wide);
  const std::vector<std::tuple<int8_t, uint8_t, int16_t, uint32_t, char, bool>> narrow = {
      {-128, 255, -32768, 4294967295u, '\xff', true}, {127, 0, 32767, 0, 'a', false}};
  CHECK(round_trip(narrow) == narrow);
  CHECK(round_trip(std::vector<bool>{true, false, true}) == std::vector<bool>{true, false, true});
}

TEST_CASE("floating point keeps its bit patterns", "[codec]") {
  const double payload_nan = std::bit_cast<double>(uint64_t{0x7ff8dead00000001});
  const std::vector<double> values = {0.0,
                                      -0.0,
                                      payload_nan,
                                      -std::numeric_limits<double>::infinity(),
                                      std::numeric_limits<double>::denorm_min(),
                                      1.5};
  const auto decoded = round_trip(values);
  REQUIRE(decoded.size() == values.size());
  for (std::size_t i = 0; i < values.size(); ++i) {
    CHECK(std::bit_cast<uint64_t>(decoded[i]) == std::bit_cast<uint64_t>(values[i]));
  }
  const std::vector<float> floats = {1.1f, -0.0f, std::numeric_limits<float>::max()};
  const auto decoded_floats = round_trip(floats);
  for (std::size_t i = 0; i < floats.size(); ++i) {
    CHECK(std::bit_cast<uint32_t>(decoded_floats[i]) == std::bit_cast<uint32_t>(floats[i]));
  }
}

TEST_CASE("nested containers, tuples and records round-trip", "[codec]") {
  using Nested = std::vector<std::optional<std::pair<std::string, double>>>;
  const std::vector<Nested> nested = {
      {}, {std::nullopt}, {{{"a", 1.0}}, std::nullopt, {{"", -2.5}}}};
  CHECK(round_trip(nested) == nested);
  using Tuple = std::tuple<int, std::string, std::array<std::optional<int>, 2>,
                           std::vector<std::vector<int>>>;
  const std::vector<Tuple> tuples = {{1, "x", {3, std::nullopt}, {{}, {1, 2}}}, {}};
  CHECK(round_trip(tuples) == tuples);
  const std::vector<app::Reading> readings = {{"s1", 5, 1.5}, {"", -1, -0.5}};
  CHECK(round_trip(readings) == readings);
  const std::vector<std::pair<std::string, int64_t>> pairs = {{"k", 1}, {"key", 2}};
  CHECK(round_trip(pairs) == pairs);
}

TEST_CASE("frames are sized exactly and built in one segment", "[codec]") {
  // 8-byte segment table, root pointer, RecordBatch (2 data words, 4 pointers), then the lists.
  CHECK(encode_batch(std::vector<int64_t>{}).size() == 8 + 8 * 7);
  CHECK(encode_batch(std::vector<std::pair<std::string, int64_t>>{{"abc", 1}}).size() ==
        8 + 8 * 10);
  CHECK(encode_batch(std::vector<std::pair<std::string, int64_t>>{{"", 1}}).size() == 8 + 8 * 9);

  // Were the estimate ever short, the frame would spill into more segments and still decode.
  const std::vector<std::string> strings = {"first string", "second string"};
  rill::EncodeColumns columns;
  columns.type_tag = rill::type_tag(rill::type_signature<std::string>());
  columns.record_count = strings.size();
  for (const auto& s : strings) rill::visit_leaves(s, columns);
  columns.string_words = 0;
  const Frame spilled = rill::net::write_frame(columns);
  CHECK(spilled.data()[0] != 0);  // segment count - 1
  const auto decoded = decode_batch<std::string>(spilled);
  REQUIRE(decoded.is_ok());
  CHECK(decoded.value() == strings);
}

TEST_CASE("status text", "[codec]") {
  CHECK(rill::Status().to_string() == "ok");
  CHECK(rill::Status(Errc::too_large, "frame of 9 bytes").to_string() ==
        "too_large: frame of 9 bytes");
  CHECK(std::string(rill::errc_name(Errc::unavailable)) == "unavailable");
  CHECK(std::string(rill::errc_name(static_cast<Errc>(99))) == "unknown");
}

TEST_CASE("decoding as the wrong type is a type tag mismatch", "[codec]") {
  const Frame frame = encode_batch(std::vector<std::pair<std::string, int64_t>>{{"a", 1}});
  const auto as_pair32 = decode_batch<std::pair<std::string, int32_t>>(frame);
  REQUIRE_FALSE(as_pair32.is_ok());
  CHECK(as_pair32.status().code() == Errc::corrupt);
  CHECK(contains(as_pair32.status(), "type tag mismatch: frame holds 0x"));
  CHECK(contains(as_pair32.status(), "decoding as pair<string,i32>"));
  CHECK_FALSE(decode_batch<app::Reading>(frame).is_ok());
}

TEST_CASE("limits refuse frames that are too large", "[codec]") {
  const Frame frame = encode_batch(std::vector<int64_t>(1000, 7));
  DecodeLimits small_frames;
  small_frames.max_frame_bytes = 1024;
  const auto too_big = decode_batch<int64_t>(frame, small_frames);
  REQUIRE_FALSE(too_big.is_ok());
  CHECK(too_big.status().code() == Errc::too_large);
  CHECK(contains(too_big.status(), "exceeds the limit of 1024"));

  DecodeLimits few_records;
  few_records.max_records = 999;
  const auto too_many = decode_batch<int64_t>(frame, few_records);
  REQUIRE_FALSE(too_many.is_ok());
  CHECK(too_many.status().code() == Errc::too_large);

  DecodeLimits little_traversal;
  little_traversal.traversal_words = 100;
  const auto too_deep = decode_batch<int64_t>(frame, little_traversal);
  REQUIRE_FALSE(too_deep.is_ok());
  CHECK(too_deep.status().code() == Errc::corrupt);
}

TEST_CASE("short, misaligned and truncated frames", "[codec]") {
  const auto empty = decode_batch<int>(Frame());
  REQUIRE_FALSE(empty.is_ok());
  CHECK(empty.status().message() ==
        "frame of 0 bytes: not a rill frame (not a whole number of 8-byte words)");
  const auto twelve = decode_batch<int>(Frame(std::vector<uint8_t>(12, 0)));
  REQUIRE_FALSE(twelve.is_ok());
  CHECK(contains(twelve.status(), "frame of 12 bytes: not a rill frame"));
  const auto zeros = decode_batch<int>(Frame(std::vector<uint8_t>(64, 0)));
  REQUIRE_FALSE(zeros.is_ok());
  CHECK(zeros.status().code() == Errc::corrupt);

  const Frame frame = encode_batch(std::vector<app::Reading>{{"sensor-1", 5, 1.5}, {"s2", 6, 2.5}});
  for (std::size_t size = 0; size < frame.size(); ++size) {
    const Frame cut(std::vector<uint8_t>(frame.data(), frame.data() + size));
    const auto decoded = decode_batch<app::Reading>(cut);
    CHECK_FALSE(decoded.is_ok());
  }
  std::vector<uint8_t> padded(frame.data(), frame.data() + frame.size());
  padded.resize(padded.size() + 8);
  const auto trailing = decode_batch<app::Reading>(Frame(padded));
  REQUIRE_FALSE(trailing.is_ok());
  CHECK(contains(trailing.status(), "8 bytes follow the message"));

  // An unaligned copy of the bytes is read through the aligned copy.
  std::vector<uint8_t> shifted(frame.size() + 1);
  std::memcpy(shifted.data() + 1, frame.data(), frame.size());
  auto reader = rill::net::AlignedFrameReader::open(
      std::span<const uint8_t>(shifted.data() + 1, frame.size()), DecodeLimits{});
  REQUIRE(reader.is_ok());
  CHECK(reader->copied());
}

TEST_CASE("columns that do not match the type are corrupt", "[codec]") {
  // Encode a batch whose columns are right for one record but claim two.
  rill::EncodeColumns columns;
  columns.type_tag = rill::type_tag(rill::type_signature<app::Reading>());
  columns.record_count = 2;
  const app::Reading reading{"s", 1, 2.0};  // the columns borrow its string
  rill::visit_leaves(reading, columns);
  auto short_frame = decode_batch<app::Reading>(rill::net::write_frame(columns));
  REQUIRE_FALSE(short_frame.is_ok());
  CHECK(short_frame.status().message().starts_with("frame claims 2 records"));

  columns.record_count = 1;
  columns.ints.push_back(9);
  auto extra = decode_batch<app::Reading>(rill::net::write_frame(columns));
  REQUIRE_FALSE(extra.is_ok());
  CHECK(extra.status().message() == "after 1 records: 1 ints left over");

  rill::EncodeColumns narrow;
  narrow.type_tag = rill::type_tag(rill::type_signature<int8_t>());
  narrow.record_count = 2;
  narrow.ints = {1, 300};
  auto overflow = decode_batch<int8_t>(rill::net::write_frame(narrow));
  REQUIRE_FALSE(overflow.is_ok());
  CHECK(overflow.status().message() == "record 1: int 300 out of range for i8");

  rill::EncodeColumns vectors;
  vectors.type_tag = rill::type_tag(rill::type_signature<std::vector<int>>());
  vectors.record_count = 1;
  vectors.shape = {4000000000u};
  auto huge = decode_batch<std::vector<int>>(rill::net::write_frame(vectors));
  REQUIRE_FALSE(huge.is_ok());
  CHECK(huge.status().message() ==
        "record 0: vector of 4000000000 elements: only 0 column entries left");

  vectors.type_tag = rill::type_tag(rill::type_signature<std::vector<std::tuple<>>>());
  auto leafless = decode_batch<std::vector<std::tuple<>>>(rill::net::write_frame(vectors));
  REQUIRE_FALSE(leafless.is_ok());
  CHECK(contains(leafless.status(), "more leafless elements than max_records allows"));
}

TEST_CASE("random and mutated bytes never crash", "[codec][fuzz]") {
  std::mt19937_64 random(20240601);
  std::size_t decoded_ok = 0;
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> bytes(8 * (random() % 40));
    for (auto& byte : bytes) byte = static_cast<uint8_t>(random());
    if (!bytes.empty() && random() % 2) bytes[0] = 0;  // a plausible one-segment table
    const auto decoded = decode_batch<app::Reading>(Frame(bytes));
    decoded_ok += decoded.is_ok();
  }
  using Nested = std::vector<std::optional<std::pair<std::string, double>>>;
  const Frame valid =
      encode_batch(std::vector<Nested>{{{{"ab", 1.0}}, std::nullopt}, {}, {{{"c", 2.0}}}});
  for (int i = 0; i < 3000; ++i) {
    std::vector<uint8_t> bytes(valid.data(), valid.data() + valid.size());
    for (int flips = 1 + static_cast<int>(random() % 4); flips > 0; --flips) {
      bytes[random() % bytes.size()] = static_cast<uint8_t>(random());
    }
    const auto decoded = decode_batch<Nested>(Frame(bytes));
    decoded_ok += decoded.is_ok();
  }
  CHECK(decoded_ok < 6000);  // reached only if nothing crashed or threw
}

}  // namespace

TEST_CASE("a frame's columns are those columns_of gives without a frame", "[codec]") {
  const std::vector<app::Reading> readings = {{"sensor-1", 5, 1.5}, {"", -1, -0.5}, {"s3", 0, 2}};
  rill::EncodeColumns columns;
  rill::encode_records(readings, columns);
  const Frame frame = rill::net::write_frame(columns);
  auto read = rill::net::read_frame(frame, DecodeLimits{}, rill::type_signature<app::Reading>());
  REQUIRE(read.is_ok());
  const rill::DecodeColumns direct = rill::columns_of(columns);
  CHECK(read->type_tag == direct.type_tag);
  CHECK(read->record_count == direct.record_count);
  CHECK(read->ints == direct.ints);
  CHECK(read->shape == direct.shape);
  CHECK(read->strings == direct.strings);  // compares the bytes
  CHECK(read->floats.size() == direct.floats.size());
  auto decoded = rill::decode_records<app::Reading>(*read, 10);
  REQUIRE(decoded.is_ok());
  CHECK(*decoded == readings);
  const auto few = rill::decode_records<app::Reading>(direct, 2);
  REQUIRE_FALSE(few.is_ok());
  CHECK(few.status().code() == Errc::too_large);

  const auto wrong = rill::net::read_frame(frame, DecodeLimits{}, "pair<string,i64>");
  REQUIRE_FALSE(wrong.is_ok());
  CHECK(contains(wrong.status(), "type tag mismatch: frame holds 0x"));
}

TEST_CASE("a state snapshot survives a frame, and the frame's tag is its snapshot type", "[codec]") {
  rill::ops::KeyedState<std::string, double> state;
  const auto sum = [](const std::vector<double>& v, const std::optional<double>& old) {
    double s = old.value_or(0);
    for (double x : v) s += x;
    return std::optional<double>(s);
  };
  rill::ops::update_state_step<std::string, double, double>(state, {{"a", 0.1}, {"b", 0.2}}, sum);
  rill::EncodeColumns columns;
  REQUIRE(state.snapshot(true, columns) == 2);
  Frame frame = rill::net::write_frame(columns);
  decltype(state) restored;
  {
    auto read = rill::net::read_frame(frame, DecodeLimits{}, restored.snapshot_type());
    REQUIRE(read.is_ok());
    REQUIRE(restored.restore(*read).is_ok());
  }
  CHECK(restored.states.entries() == state.states.entries());
  rill::ops::KeyedState<std::string, int64_t> other;
  CHECK_FALSE(rill::net::read_frame(frame, DecodeLimits{}, other.snapshot_type()).is_ok());
}
