// Test support: the running total the suites keep per key with update_state_by_key.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

namespace rill::test {

/// The key's total so far plus this batch's values: update_state_by_key's function.
inline std::optional<int64_t> running_total(const std::vector<int64_t>& added,
                                            const std::optional<int64_t>& total) {
  int64_t sum = total.value_or(0);
  for (int64_t n : added) sum += n;
  return sum;
}

}  // namespace rill::test
