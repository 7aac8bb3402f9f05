// Tests for record traits, stable_hash and the print() text form.
#include "dataflow/record_traits.hpp"

#include <array>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "dataflow/record_text.hpp"
#include "dataflow/stable_hash.hpp"

namespace app {
struct Reading {
  std::string sensor;
  int64_t at = 0;
  double value = 0;
};
RILL_RECORD(Reading, sensor, at, value)

struct Outer {
  struct Inner {
    int a = 0;
  };
};
struct Nested {
  std::optional<Reading> last;
  std::vector<std::pair<std::string, int>> counts;
  std::string cache;  // not declared below: not part of the value
};
RILL_RECORD(Nested, last, counts);  // the trailing semicolon is optional
RILL_RECORD(Outer::Inner, a)
}  // namespace app

struct NotARecord {};

namespace {

using rill::RecordKind;
using rill::stable_hash;
using rill::to_text;

// What the canonical stream looks like, spelled out byte by byte for a few values.
std::string le64(uint64_t value) {
  std::string out;
  for (int i = 0; i < 8; ++i) out += static_cast<char>(value >> (8 * i));
  return out;
}
uint64_t xxh3(const std::string& bytes) { return XXH3_64bits(bytes.data(), bytes.size()); }

TEST_CASE("record kinds and is_record_v", "[record_traits]") {
  STATIC_REQUIRE(rill::record_kind_v<bool> == RecordKind::boolean);
  STATIC_REQUIRE(rill::record_kind_v<const int&> == RecordKind::integer);
  STATIC_REQUIRE(rill::record_kind_v<float> == RecordKind::floating);
  STATIC_REQUIRE(rill::record_kind_v<std::string> == RecordKind::string);
  STATIC_REQUIRE(rill::record_kind_v<std::array<int, 3>> == RecordKind::array);
  STATIC_REQUIRE(rill::record_kind_v<app::Reading> == RecordKind::structure);
  STATIC_REQUIRE(rill::is_record_v<std::vector<std::optional<std::pair<std::string, double>>>>);
  STATIC_REQUIRE(rill::is_record_v<std::tuple<>>);
  STATIC_REQUIRE(rill::is_record_v<app::Nested>);
  STATIC_REQUIRE(rill::is_record_v<app::Outer::Inner>);
  STATIC_REQUIRE_FALSE(rill::is_record_v<NotARecord>);
  STATIC_REQUIRE_FALSE(rill::is_record_v<std::vector<NotARecord>>);
  STATIC_REQUIRE_FALSE(rill::is_record_v<std::pair<int, NotARecord>>);
  STATIC_REQUIRE_FALSE(rill::is_record_v<long double>);
  STATIC_REQUIRE_FALSE(rill::is_record_v<std::string_view>);
  STATIC_REQUIRE(rill::record_name<app::Outer::Inner>() == "Inner");
}

TEST_CASE("type signatures are canonical", "[record_traits]") {
  CHECK(rill::type_signature<std::pair<std::string, long long>>() == "pair<string,i64>");
  CHECK(rill::type_signature<std::pair<std::string, int64_t>>() == "pair<string,i64>");
  CHECK(rill::type_signature<app::Reading>() == "Reading{string,i64,f64}");
  CHECK(rill::type_signature<app::Nested>() ==
        "Nested{optional<Reading{string,i64,f64}>,vector<pair<string,i32>>}");
  CHECK(rill::type_signature<std::tuple<bool, char, uint8_t, float, std::array<int16_t, 2>>>() ==
        "tuple<bool,char,u8,f32,array<i16,2>>");
}

TEST_CASE("stable_hash follows the documented canonical stream", "[stable_hash]") {
  CHECK(stable_hash(int64_t{5}) == xxh3(le64(5)));
  CHECK(stable_hash(std::string("key")) == xxh3("key"));
  CHECK(stable_hash(std::pair<std::string, int64_t>("ab", -1)) ==
        xxh3(le64(2) + "ab" + le64(~uint64_t{0})));
  CHECK(stable_hash(std::vector<int>{7}) == xxh3(le64(1) + le64(7)));
  CHECK(stable_hash(std::optional<int>()) == xxh3(std::string(1, '\0')));
  CHECK(stable_hash(std::optional<int>(3)) == xxh3(std::string(1, '\1') + le64(3)));
  CHECK(stable_hash(1.5) == xxh3(le64(0x3ff8000000000000)));
  // Past the 256-byte stack buffer the streaming state must agree with one-shot hashing.
  const std::vector<std::string> big(40, std::string(20, 'x'));
  std::string stream = le64(40);
  for (const auto& s : big) stream += le64(20) + s;
  CHECK(stable_hash(big) == xxh3(stream));
}

TEST_CASE("stable_hash pins known values", "[stable_hash]") {
  // These must never change: they decide which partition every key lands in.
  CHECK(stable_hash(std::string("")) == 0x2d06800538d394c2ull);
  CHECK(stable_hash(std::string("hello")) == 0x9555e8555c62dcfdull);
  CHECK(stable_hash(int64_t{0}) == 0xc77b3abb6f87acd9ull);
  CHECK(stable_hash(int64_t{5}) == 0x8e03e9aa39aaa78cull);
  CHECK(stable_hash(std::pair<std::string, int64_t>("a", 1)) == 0xe39c25532efef6a9ull);
  CHECK(stable_hash(app::Reading{"s1", 5, 1.5}) == 0x6d90d5023a96559full);
}

TEST_CASE("stable_hash equates equal values across representations", "[stable_hash]") {
  CHECK(stable_hash(5) == stable_hash(int64_t{5}));
  CHECK(stable_hash(-5) == stable_hash(int64_t{-5}));
  CHECK(stable_hash(short{-5}) == stable_hash(-5L));
  CHECK(stable_hash(uint8_t{200}) == stable_hash(200));
  CHECK(stable_hash(std::pair<int, int>(1, 2)) == stable_hash(std::pair<int64_t, short>(1, 2)));
  CHECK(stable_hash(true) == stable_hash(1));
  CHECK(stable_hash(-0.0) == stable_hash(0.0));
  CHECK(stable_hash(1.5f) == stable_hash(1.5));
  CHECK(stable_hash(std::nan("1")) == stable_hash(-std::numeric_limits<double>::quiet_NaN()));
  CHECK(stable_hash("abc") == stable_hash(std::string("abc")));
  CHECK(stable_hash(std::string_view("abc")) == stable_hash(std::string("abc")));
  CHECK(stable_hash(app::Reading{"s1", 5, 1.5}) ==
        stable_hash(std::tuple<std::string, int, float>("s1", 5, 1.5f)));
  // The length prefix keeps adjacent strings apart.
  CHECK(stable_hash(std::pair<std::string, std::string>("ab", "c")) !=
        stable_hash(std::pair<std::string, std::string>("a", "bc")));
  CHECK(stable_hash(std::string("a\0b", 3)) != stable_hash(std::string("a")));
  // Unlisted fields are not part of the value.
  app::Nested a, b;
  b.cache = "ignored";
  CHECK(stable_hash(a) == stable_hash(b));
}

TEST_CASE("text form of every built-in", "[record_text]") {
  CHECK(to_text(std::string("hi there")) == "hi there");
  CHECK(to_text(true) == "true");
  CHECK(to_text(false) == "false");
  CHECK(to_text(-42) == "-42");
  CHECK(to_text(std::numeric_limits<int64_t>::min()) == "-9223372036854775808");
  CHECK(to_text(std::numeric_limits<uint64_t>::max()) == "18446744073709551615");
  CHECK(to_text(uint8_t{7}) == "7");
  CHECK(to_text('x') == "x");
  CHECK(to_text(std::pair<std::string, int>("a", 1)) == "(a,1)");
  CHECK(to_text(std::tuple<int, bool, std::string>(1, true, "z")) == "(1,true,z)");
  CHECK(to_text(std::tuple<>()) == "()");
  CHECK(to_text(std::vector<int>{1, 2, 3}) == "[1,2,3]");
  CHECK(to_text(std::vector<int>{}) == "[]");
  CHECK(to_text(std::vector<bool>{true, false}) == "[true,false]");
  CHECK(to_text(std::array<int, 2>{4, 5}) == "[4,5]");
  CHECK(to_text(std::optional<int>(3)) == "Some(3)");
  CHECK(to_text(std::optional<int>()) == "None");
  CHECK(to_text(app::Reading{"s1", 5, 1.5}) == "Reading(s1,5,1.5)");
  CHECK(to_text(app::Outer::Inner{3}) == "Inner(3)");
  app::Nested nested{app::Reading{"s", 1, 2.0}, {{"w", 3}}, "cache"};
  CHECK(to_text(nested) == "Nested(Some(Reading(s,1,2.0)),[(w,3)])");
  std::string out = "> ";
  rill::append_text(out, std::make_pair(1, 2));
  CHECK(out == "> (1,2)");
}

TEST_CASE("floating point text matches Scala's toString", "[record_text]") {
  CHECK(to_text(1.0) == "1.0");
  CHECK(to_text(-2.0) == "-2.0");
  CHECK(to_text(0.0) == "0.0");
  CHECK(to_text(-0.0) == "-0.0");
  CHECK(to_text(0.1) == "0.1");
  CHECK(to_text(1.5) == "1.5");
  CHECK(to_text(100.0) == "100.0");
  CHECK(to_text(123.456) == "123.456");
  CHECK(to_text(9999999.0) == "9999999.0");
  CHECK(to_text(1e7) == "1.0E7");
  CHECK(to_text(12345678.9) == "1.23456789E7");
  CHECK(to_text(0.001) == "0.001");
  CHECK(to_text(0.0001) == "1.0E-4");
  CHECK(to_text(1.25e-5) == "1.25E-5");
  CHECK(to_text(1e100) == "1.0E100");
  CHECK(to_text(std::numeric_limits<double>::max()) == "1.7976931348623157E308");
  CHECK(to_text(std::numeric_limits<double>::denorm_min()) == "4.9E-324");
  CHECK(to_text(0.1 + 0.2) == "0.30000000000000004");
  CHECK(to_text(2e-3) == "0.002");
  CHECK(to_text(1e23) == "1.0E23");
  CHECK(to_text(std::numeric_limits<float>::denorm_min()) == "1.4E-45");
  CHECK(to_text(std::numeric_limits<float>::max()) == "3.4028235E38");
  CHECK(to_text(1.1f) == "1.1");
  CHECK(to_text(3.0f) == "3.0");
  CHECK(to_text(1e10f) == "1.0E10");
  CHECK(to_text(std::nan("")) == "NaN");
  CHECK(to_text(std::numeric_limits<double>::infinity()) == "Infinity");
  CHECK(to_text(-std::numeric_limits<float>::infinity()) == "-Infinity");
}

}  // namespace
