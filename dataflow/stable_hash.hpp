// stable_hash: a 64-bit hash of a record that is identical across processes, runs and machines,
// used to partition keyed streams (stable_hash(key) % partitions). Pure functions: use freely.
#pragma once

#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <string_view>
#include <type_traits>

#define XXH_INLINE_ALL
#include <xxhash.h>
#undef XXH_INLINE_ALL

#include "dataflow/record_traits.hpp"

namespace rill {
namespace detail {

// The canonical byte stream that stable_hash feeds to XXH3-64 (no seed):
//   integer leaf     8 bytes little-endian, widened by widen_integer (int 5 == int64_t 5)
//   floating leaf    8 bytes little-endian IEEE-754 bits; -0.0 as 0.0, every NaN as 0x7ff8...0
//   string leaf      8-byte length, then the bytes (a bare top-level string is just its bytes)
//   vector           8-byte length, then the elements
//   optional         1 presence byte (0 or 1), then the value if present
//   pair/tuple/array/struct: the elements, nothing else
// Changing any of this re-partitions every keyed stream: treat it as a format.
class CanonicalHasher {
 public:
  void integer(int64_t value) { put_u64(static_cast<uint64_t>(value)); }
  void floating(double value) {
    if (value == 0.0) value = 0.0;  // -0.0 == 0.0, so they must hash alike
    put_u64(std::isnan(value) ? 0x7ff8000000000000ull : std::bit_cast<uint64_t>(value));
  }
  void string(std::string_view bytes) {
    put_u64(bytes.size());
    write(bytes.data(), bytes.size());
  }
  void length(std::size_t n) { put_u64(n); }
  void presence(bool present) {
    const unsigned char byte = present ? 1 : 0;
    write(&byte, 1);
  }

  uint64_t finish() {
    if (!state_) return XXH3_64bits(buffer_, used_);
    XXH3_64bits_update(state_.get(), buffer_, used_);
    return XXH3_64bits_digest(state_.get());
  }

 private:
  void put_u64(uint64_t value) {
    if constexpr (std::endian::native == std::endian::big) value = __builtin_bswap64(value);
    write(&value, sizeof value);
  }
  // Small records hash in one shot from the stack buffer; only big ones pay for the
  // streaming state (one allocation).
  void write(const void* bytes, std::size_t n) {
    if (used_ + n <= sizeof buffer_) {
      std::memcpy(buffer_ + used_, bytes, n);
      used_ += n;
      return;
    }
    if (!state_) {
      state_ = std::make_unique<XXH3_state_t>();  // over-aligned new; throws bad_alloc, not null
      XXH3_INITSTATE(state_.get());
      XXH3_64bits_reset(state_.get());
    }
    XXH3_64bits_update(state_.get(), buffer_, used_);
    used_ = 0;
    XXH3_64bits_update(state_.get(), bytes, n);
  }

  unsigned char buffer_[256];
  std::size_t used_ = 0;
  std::unique_ptr<XXH3_state_t> state_;
};

}  // namespace detail

/// XXH3-64 of the canonical byte stream of `value` (see detail::CanonicalHasher). Equal values
/// hash equal, including across integer widths (int 5 and int64_t 5) and 0.0 / -0.0.
/// Strings (std::string, string_view, C strings) hash their bytes directly, integers their 8
/// canonical bytes, both without streaming state.
template <class T>
uint64_t stable_hash(const T& value) {
  if constexpr (std::is_convertible_v<const T&, std::string_view>) {
    const std::string_view bytes(value);
    return XXH3_64bits(bytes.data(), bytes.size());
  } else if constexpr (std::is_integral_v<T>) {
    uint64_t canonical = static_cast<uint64_t>(detail::widen_integer(value));
    if constexpr (std::endian::native == std::endian::big) canonical = __builtin_bswap64(canonical);
    return XXH3_64bits(&canonical, sizeof canonical);
  } else {
    require_record<T>();
    detail::CanonicalHasher hasher;
    visit_leaves(value, hasher);
    return hasher.finish();
  }
}

}  // namespace rill
