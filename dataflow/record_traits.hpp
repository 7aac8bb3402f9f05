// Record traits: which C++ types can flow through rill, and a walk over their leaves that the
// hash, text form, codec and DAG fingerprint share. Stateless compile-time code: use freely.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <type_traits>
#include <utility>
#include <vector>

/// Declares a user struct as a record: its name (for text output) and the fields that make up
/// its value, in order. Use it at namespace scope in the struct's own namespace (it is found by
/// ADL), after the struct is complete; a trailing semicolon is optional:
///
///     namespace app {
///     struct Reading { std::string sensor; int64_t at; double value; };
///     RILL_RECORD(Reading, sensor, at, value)
///     }
///
/// Listed fields must themselves be records; unlisted fields are neither hashed, printed nor sent,
/// and are value-initialised when a record is decoded. The struct must be default-constructible.
#define RILL_RECORD(Type, ...)                                                                    \
  constexpr std::string_view rill_record_name(::rill::RecordTag<Type>) noexcept { return #Type; } \
  template <class RillSelf, class RillVisit>                                                      \
  constexpr decltype(auto) rill_record_fields(::rill::RecordTag<Type>, RillSelf& rill_self,       \
                                              RillVisit&& rill_visit) {                           \
    return rill_visit(RILL_DETAIL_FOR_EACH(RILL_DETAIL_FIELD, __VA_ARGS__));                      \
  }

// A bounded recursive FOR_EACH built on __VA_OPT__: each re-scan by the nested RILL_DETAIL_X*
// levels peels one field, which allows up to 122 fields per record (measured; more fail to
// compile). Add a level to raise it.
#define RILL_DETAIL_FIELD(name) rill_self.name
#define RILL_DETAIL_PARENS ()
#define RILL_DETAIL_EXPAND(...) RILL_DETAIL_X3(RILL_DETAIL_X3(RILL_DETAIL_X3(__VA_ARGS__)))
#define RILL_DETAIL_X3(...) RILL_DETAIL_X2(RILL_DETAIL_X2(RILL_DETAIL_X2(__VA_ARGS__)))
#define RILL_DETAIL_X2(...) RILL_DETAIL_X1(RILL_DETAIL_X1(RILL_DETAIL_X1(__VA_ARGS__)))
#define RILL_DETAIL_X1(...) RILL_DETAIL_X0(RILL_DETAIL_X0(RILL_DETAIL_X0(__VA_ARGS__)))
#define RILL_DETAIL_X0(...) __VA_ARGS__
#define RILL_DETAIL_FOR_EACH(macro, ...) \
  __VA_OPT__(RILL_DETAIL_EXPAND(RILL_DETAIL_FOR_EACH_STEP(macro, __VA_ARGS__)))
#define RILL_DETAIL_FOR_EACH_STEP(macro, first, ...) \
  macro(first) __VA_OPT__(, RILL_DETAIL_FOR_EACH_AGAIN RILL_DETAIL_PARENS(macro, __VA_ARGS__))
#define RILL_DETAIL_FOR_EACH_AGAIN() RILL_DETAIL_FOR_EACH_STEP

namespace rill {

/// Names a record type to the RILL_RECORD hooks; a tag rather than a pointer so that ADL finds
/// the hooks in the type's namespace and a derived class never matches its base's hooks.
template <class T>
struct RecordTag {
  explicit constexpr RecordTag() = default;
};

/// How a type takes part in hashing, printing and encoding.
enum class RecordKind {
  none,       ///< not a record type
  boolean,    ///< bool
  integer,    ///< any other integral type (char included), widened to 64 bits
  floating,   ///< float or double (long double is not a record: the wire holds 64 bits)
  string,     ///< std::string, arbitrary bytes
  vector,     ///< std::vector<T>: a length, then the elements
  optional,   ///< std::optional<T>: a presence flag, then the value if present
  array,      ///< std::array<T, N>: N elements, no length
  pair,       ///< std::pair<A, B>
  tuple,      ///< std::tuple<Ts...>
  structure,  ///< a struct declared with RILL_RECORD
};

namespace detail {

template <class T, template <class...> class Template>
inline constexpr bool is_specialization_v = false;
template <template <class...> class Template, class... Args>
inline constexpr bool is_specialization_v<Template<Args...>, Template> = true;

template <class T>
inline constexpr bool is_std_array_v = false;
template <class T, std::size_t N>
inline constexpr bool is_std_array_v<std::array<T, N>> = true;

template <class T>
concept has_record_hooks = requires {
  rill_record_name(RecordTag<T>{});
};

template <class T>
constexpr RecordKind kind_of() {
  if constexpr (std::is_same_v<T, bool>)
    return RecordKind::boolean;
  else if constexpr (std::is_integral_v<T>)
    return RecordKind::integer;
  else if constexpr (std::is_same_v<T, float> || std::is_same_v<T, double>)
    return RecordKind::floating;
  else if constexpr (std::is_same_v<T, std::string>)
    return RecordKind::string;
  else if constexpr (is_specialization_v<T, std::vector>)
    return RecordKind::vector;
  else if constexpr (is_specialization_v<T, std::optional>)
    return RecordKind::optional;
  else if constexpr (is_std_array_v<T>)
    return RecordKind::array;
  else if constexpr (is_specialization_v<T, std::pair>)
    return RecordKind::pair;
  else if constexpr (is_specialization_v<T, std::tuple>)
    return RecordKind::tuple;
  else if constexpr (has_record_hooks<T>)
    return RecordKind::structure;
  else
    return RecordKind::none;
}

// Integers as 64-bit leaves: signed sign-extend, unsigned zero-extend (uint64 keeps its bits, so
// uint64 max and int64 -1 are the same leaf), and char as unsigned char whatever its signedness
// on this platform, so that '\xff' is the same leaf on x86 and ARM.
template <class Integer>
constexpr int64_t widen_integer(Integer value) noexcept {
  if constexpr (std::is_same_v<Integer, char>)
    return static_cast<unsigned char>(value);
  else
    return static_cast<int64_t>(value);
}

// Collects the field types of a RILL_RECORD struct without evaluating anything.
struct FieldTypes {
  template <class... Fields>
  constexpr std::tuple<std::remove_cvref_t<Fields>...>* operator()(Fields&...) const {
    return nullptr;
  }
};

}  // namespace detail

/// The RecordKind of T (cv and references ignored).
template <class T>
inline constexpr RecordKind record_kind_v = detail::kind_of<std::remove_cvref_t<T>>();

/// The declared field types of a RILL_RECORD struct, as a std::tuple.
template <class T>
using record_field_types_t = std::remove_pointer_t<decltype(rill_record_fields(
    RecordTag<T>{}, std::declval<const T&>(), detail::FieldTypes{}))>;

namespace detail {

template <class T>
constexpr auto element_types() {
  if constexpr (kind_of<T>() == RecordKind::pair)
    return static_cast<std::tuple<typename T::first_type, typename T::second_type>*>(nullptr);
  else if constexpr (kind_of<T>() == RecordKind::tuple)
    return static_cast<T*>(nullptr);
  else
    return static_cast<record_field_types_t<T>*>(nullptr);
}
// The element types of a pair, tuple or RILL_RECORD struct, as a std::tuple.
template <class T>
using element_types_t = std::remove_pointer_t<decltype(element_types<T>())>;

template <class T>
struct IsRecord;

template <class Tuple>
struct AllRecords;
template <class... Ts>
struct AllRecords<std::tuple<Ts...>> : std::bool_constant<(IsRecord<Ts>::value && ...)> {};

template <class T>
constexpr bool compute_is_record() {
  constexpr RecordKind kind = kind_of<T>();
  if constexpr (kind == RecordKind::none)
    return false;
  else if constexpr (kind == RecordKind::vector || kind == RecordKind::optional ||
                     kind == RecordKind::array)
    return IsRecord<typename T::value_type>::value;
  else if constexpr (kind == RecordKind::pair || kind == RecordKind::tuple ||
                     kind == RecordKind::structure)
    return AllRecords<element_types_t<T>>::value;
  else
    return true;
}

template <class T>
struct IsRecord : std::bool_constant<compute_is_record<T>()> {};

// Named for the compiler's note: "'rill_record_declared_for_v<app::Foo>' evaluates to false".
template <class T>
inline constexpr bool rill_record_declared_for_v = false;

// Recurses to the innermost offending type so the compiler's "required from" trail ends at it.
template <class T>
constexpr bool check_record() {
  constexpr RecordKind kind = kind_of<T>();
  if constexpr (kind == RecordKind::none) {
    static_assert(rill_record_declared_for_v<T>,
                  "rill: type T (named in the note below) is not a record: declare "
                  "RILL_RECORD(T, field, ...) beside it in its namespace");
    return false;
  } else if constexpr (kind == RecordKind::vector || kind == RecordKind::optional ||
                       kind == RecordKind::array) {
    return check_record<typename T::value_type>();
  } else if constexpr (kind == RecordKind::pair || kind == RecordKind::tuple ||
                       kind == RecordKind::structure) {
    return []<class... Ts>(std::tuple<Ts...>*) {
      return (check_record<Ts>() && ...);
    }(static_cast<element_types_t<T>*>(nullptr));
  } else {
    return true;
  }
}

}  // namespace detail

/// True when T (recursively) is a type rill can hash, print and encode.
template <class T>
inline constexpr bool is_record_v = detail::IsRecord<std::remove_cvref_t<T>>::value;

/// Fails compilation with a readable message naming the first non-record type inside T.
template <class T>
constexpr void require_record() {
  static_assert(detail::check_record<std::remove_cvref_t<T>>());
}

/// The unqualified name given to RILL_RECORD ("Reading" for RILL_RECORD(app::Reading, ...)).
template <class T>
constexpr std::string_view record_name() {
  constexpr std::string_view full = rill_record_name(RecordTag<T>{});
  constexpr std::size_t colon = full.rfind(':');
  return colon == std::string_view::npos ? full : full.substr(colon + 1);
}

/// Calls f on each element of a pair, tuple, array or RILL_RECORD struct, in order. `value` may
/// be const; f receives the elements with the same constness.
template <class T, class F>
constexpr void for_each_field(T& value, F&& f) {
  using Plain = std::remove_const_t<T>;
  constexpr RecordKind kind = record_kind_v<Plain>;
  static_assert(kind == RecordKind::pair || kind == RecordKind::tuple ||
                    kind == RecordKind::array || kind == RecordKind::structure,
                "rill: for_each_field needs a pair, tuple, array or RILL_RECORD struct");
  if constexpr (kind == RecordKind::structure) {
    rill_record_fields(RecordTag<Plain>{}, value, [&f](auto&... fields) { (f(fields), ...); });
  } else if constexpr (kind == RecordKind::array) {
    for (auto& element : value) f(element);
  } else {
    std::apply([&f](auto&... elements) { (f(elements), ...); }, value);
  }
}

/// Walks the leaves of `value` in canonical order, calling on the visitor:
///   integer(int64_t)      bool and integral leaves widened to 64 bits (detail::widen_integer)
///   floating(double)      float and double leaves (float widened exactly)
///   string(string_view)   std::string leaves
///   length(size_t)        before the elements of a std::vector
///   presence(bool)        before the value of a std::optional
/// Arrays, pairs, tuples and structs contribute only their elements.
template <class T, class Visitor>
constexpr void visit_leaves(const T& value, Visitor& visitor) {
  constexpr RecordKind kind = record_kind_v<T>;
  if constexpr (kind == RecordKind::boolean) {
    visitor.integer(value ? 1 : 0);
  } else if constexpr (kind == RecordKind::integer) {
    visitor.integer(detail::widen_integer(value));
  } else if constexpr (kind == RecordKind::floating) {
    visitor.floating(static_cast<double>(value));
  } else if constexpr (kind == RecordKind::string) {
    visitor.string(std::string_view(value));
  } else if constexpr (kind == RecordKind::vector) {
    visitor.length(value.size());
    for (const auto& element : value) visit_leaves(element, visitor);
  } else if constexpr (kind == RecordKind::optional) {
    visitor.presence(value.has_value());
    if (value) visit_leaves(*value, visitor);
  } else if constexpr (kind == RecordKind::none) {
    require_record<T>();
  } else {
    for_each_field(value, [&visitor](const auto& field) { visit_leaves(field, visitor); });
  }
}

/// A canonical, platform-independent spelling of T's shape, e.g.
/// "pair<string,i64>" or "Reading{string,i64,f64}". Integers are named by width and sign, so
/// `long` and `long long` agree where both are 64-bit. Feeds the codec's type tag and the DAG
/// fingerprint.
template <class T>
std::string type_signature() {
  using Plain = std::remove_cvref_t<T>;
  constexpr RecordKind kind = record_kind_v<Plain>;
  const auto list = []<class... Ts>(std::tuple<Ts...>*) {
    std::string out;
    ((out += (out.empty() ? "" : ","), out += type_signature<Ts>()), ...);
    return out;
  };
  if constexpr (kind == RecordKind::boolean) {
    return "bool";
  } else if constexpr (kind == RecordKind::integer) {
    if constexpr (std::is_same_v<Plain, char>) return "char";
    return (std::is_signed_v<Plain> ? "i" : "u") + std::to_string(8 * sizeof(Plain));
  } else if constexpr (kind == RecordKind::floating) {
    return sizeof(Plain) == 4 ? "f32" : "f64";
  } else if constexpr (kind == RecordKind::string) {
    return "string";
  } else if constexpr (kind == RecordKind::vector) {
    return "vector<" + type_signature<typename Plain::value_type>() + ">";
  } else if constexpr (kind == RecordKind::optional) {
    return "optional<" + type_signature<typename Plain::value_type>() + ">";
  } else if constexpr (kind == RecordKind::array) {
    return "array<" + type_signature<typename Plain::value_type>() + "," +
           std::to_string(std::tuple_size_v<Plain>) + ">";
  } else if constexpr (kind == RecordKind::pair) {
    return "pair<" + list(static_cast<detail::element_types_t<Plain>*>(nullptr)) + ">";
  } else if constexpr (kind == RecordKind::tuple) {
    return "tuple<" + list(static_cast<Plain*>(nullptr)) + ">";
  } else if constexpr (kind == RecordKind::structure) {
    return std::string(record_name<Plain>()) + "{" +
           list(static_cast<detail::element_types_t<Plain>*>(nullptr)) + "}";
  } else {
    require_record<Plain>();
    return {};
  }
}

/// @cond internal
/// The fewest leaves of each visit_leaves kind one value visits; a vector or optional counts
/// only its length or presence entry. Lets walkers reserve, and decoders bound hostile lengths.
struct LeafCounts {
  std::size_t integers = 0, floatings = 0, strings = 0, shapes = 0;

  constexpr std::size_t total() const { return integers + floatings + strings + shapes; }
  constexpr LeafCounts& operator+=(const LeafCounts& other) {
    integers += other.integers, floatings += other.floatings;
    strings += other.strings, shapes += other.shapes;
    return *this;
  }
};
/// @endcond

/// LeafCounts of T, at compile time.
template <class T>
constexpr LeafCounts min_leaves() {
  constexpr RecordKind kind = record_kind_v<T>;
  LeafCounts counts;
  if constexpr (kind == RecordKind::boolean || kind == RecordKind::integer) {
    counts.integers = 1;
  } else if constexpr (kind == RecordKind::floating) {
    counts.floatings = 1;
  } else if constexpr (kind == RecordKind::string) {
    counts.strings = 1;
  } else if constexpr (kind == RecordKind::vector || kind == RecordKind::optional) {
    counts.shapes = 1;
  } else if constexpr (kind == RecordKind::array) {
    for (std::size_t i = 0; i < std::tuple_size_v<T>; ++i) {
      counts += min_leaves<typename T::value_type>();
    }
  } else if constexpr (kind != RecordKind::none) {
    [&counts]<class... Ts>(std::tuple<Ts...>*) {
      ((counts += min_leaves<Ts>()), ...);
    }(static_cast<detail::element_types_t<T>*>(nullptr));
  }
  return counts;
}

}  // namespace rill
