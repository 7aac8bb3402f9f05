// Result and argument types of non-generic callables, so update_state_by_key and map_with_state
// can infer the state type from the user's lambda as Scala does. Compile-time only.
#pragma once

#include <optional>
#include <tuple>
#include <type_traits>
#include <utility>

namespace rill::detail {

template <class F>
struct callable_traits : callable_traits<decltype(&std::remove_cvref_t<F>::operator())> {};

template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...) const> {
  using result = R;
  using args = std::tuple<A...>;
};
template <class C, class R, class... A>
struct callable_traits<R (C::*)(A...)> : callable_traits<R (C::*)(A...) const> {};
template <class R, class... A>
struct callable_traits<R (*)(A...)> {
  using result = R;
  using args = std::tuple<A...>;
};

template <class F, size_t I>
using arg_t = std::remove_cvref_t<std::tuple_element_t<I, typename callable_traits<F>::args>>;
template <class F>
using result_t = std::remove_cvref_t<typename callable_traits<F>::result>;

template <class T>
struct is_pair : std::false_type {};
template <class A, class B>
struct is_pair<std::pair<A, B>> : std::true_type {};
template <class T>
inline constexpr bool is_pair_v = is_pair<T>::value;

template <class T>
struct unwrap_optional {
  using type = T;
};
template <class T>
struct unwrap_optional<std::optional<T>> {
  using type = T;
};

}  // namespace rill::detail
