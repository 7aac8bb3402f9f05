// map_with_state's per-key State handle and its StateSpec (function plus idle timeout).
// A State is valid only inside the mapping function call that received it.
#pragma once

#include <functional>
#include <optional>
#include <stdexcept>

#include "dataflow/time.hpp"

namespace rill {

/// The state of one key inside a map_with_state call, as Spark's State[S].
template <class S>
class State {
 public:
  /// The state's type.
  using value_type = S;
  /// True when the key has state.
  bool exists() const { return value_.has_value(); }
  /// REQUIRES: exists().
  const S& get() const {
    if (!value_) throw std::logic_error("rill: State::get() on a key with no state");
    return *value_;
  }
  /// The state, or nullopt.
  std::optional<S> get_option() const { return value_; }
  /// Replaces the state; throws std::logic_error on a key that is timing out.
  void update(S value) {
    if (timing_out_) throw std::logic_error("rill: State::update() on a key that is timing out");
    value_ = std::move(value);
    removed_ = false;
  }
  /// Drops the key's state after this call.
  void remove() {
    value_.reset();
    removed_ = true;
  }
  /// True when the call is the key's last, because it was idle for the spec's timeout.
  bool is_timing_out() const { return timing_out_; }

  /// @cond internal
  // Used by the operator, not by mapping functions.
  State(std::optional<S> value, bool timing_out) : value_(std::move(value)), timing_out_(timing_out) {}
  std::optional<S>& slot() { return value_; }
  /// @endcond

 private:
  std::optional<S> value_;
  bool timing_out_ = false;
  bool removed_ = false;
};

/// What map_with_state runs per record: fn(key, optional value, State&) -> mapped record
/// (or std::optional of it; nullopt emits nothing). timeout: keys idle this long get one last
/// call with no value and is_timing_out() true, then are removed. Zero means never.
template <class Fn>
struct StateSpec {
  Fn function;        ///< called per record: fn(key, optional value, State&)
  Millis timeout{0};  ///< idle time after which a key gets its last call; 0: never
};

template <class Fn>
StateSpec<Fn> state_spec(Fn fn, Millis timeout = Millis{0}) {
  return StateSpec<Fn>{std::move(fn), timeout};
}

}  // namespace rill
