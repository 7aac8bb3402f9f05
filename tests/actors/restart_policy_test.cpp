// Tests of RestartPolicy: OTP restart intensity over a sliding window and Akka-style backoff.
// Pure: time is passed in, randomness comes from the seed.
#include "actors/restart_policy.hpp"

#include <vector>

#include <catch2/catch.hpp>

using namespace std::chrono_literals;
using rill::actors::backoff_delay;
using rill::actors::RestartPolicy;
using rill::actors::RestartPolicyOptions;

namespace {

const RestartPolicy::TimePoint kT0{};  // an arbitrary epoch

RestartPolicyOptions exact_backoff() {
  RestartPolicyOptions options;
  options.max_restarts = 1000;
  options.random_factor = 0;
  return options;
}

}  // namespace

TEST_CASE("backoff_delay doubles from min, caps at max, then adds jitter", "[restart_policy]") {
  RestartPolicyOptions options;  // defaults: 10 ms .. 1 s, factor 0.2
  CHECK(backoff_delay(options, 0, 0.0) == 10ms);
  CHECK(backoff_delay(options, 1, 0.0) == 20ms);
  CHECK(backoff_delay(options, 3, 0.0) == 80ms);
  CHECK(backoff_delay(options, 6, 0.0) == 640ms);
  CHECK(backoff_delay(options, 7, 0.0) == 1000ms);
  CHECK(backoff_delay(options, 1000, 0.0) == 1000ms);  // no overflow
  CHECK(backoff_delay(options, 0, 0.5) == 11ms);       // 10 ms * (1 + 0.5 * 0.2)
  CHECK(backoff_delay(options, 7, 0.5) == 1100ms);     // jitter applies after the cap
  options.backoff_min = 0ms;
  CHECK(backoff_delay(options, 5, 0.9) == 0ms);
}

TEST_CASE("backoff grows per failure and resets after a quiet spell", "[restart_policy]") {
  RestartPolicy policy{exact_backoff(), 1};
  std::vector<std::chrono::nanoseconds> delays;
  for (int i = 0; i < 9; ++i) delays.push_back(policy.on_failure(kT0 + i * 100ms).delay);
  CHECK(delays == std::vector<std::chrono::nanoseconds>{10ms, 20ms, 40ms, 80ms, 160ms, 320ms, 640ms,
                                                        1000ms, 1000ms});
  // 9.9 s after the last failure is not yet quiet; 10 s after that one is.
  CHECK(policy.on_failure(kT0 + 800ms + 9900ms).delay == 1000ms);
  CHECK(policy.on_failure(kT0 + 10700ms + 10s).delay == 10ms);
  CHECK(policy.attempt() == 1);
}

TEST_CASE("backoff jitter is reproducible for a seed and bounded", "[restart_policy]") {
  RestartPolicyOptions options;
  options.max_restarts = 1000;
  auto run = [&](uint64_t seed) {
    RestartPolicy policy{options, seed};
    std::vector<std::chrono::nanoseconds> out;
    for (int i = 0; i < 10; ++i) out.push_back(policy.on_failure(kT0 + i * 1ms).delay);
    return out;
  };
  const auto a = run(42);
  CHECK(a == run(42));
  CHECK(a != run(43));
  for (size_t i = 0; i < a.size(); ++i) {
    const auto base = backoff_delay(options, static_cast<int>(i), 0.0);
    CHECK(a[i] >= base);
    CHECK(a[i] < base * 1.2 + 1ns);
  }
  // Jitter really varies: not every draw lands on the base.
  CHECK(a[0] != 10ms);
}

TEST_CASE("intensity allows N restarts in the window and escalates on the next",
          "[restart_policy]") {
  RestartPolicyOptions options;  // 3 restarts in 5 s
  RestartPolicy policy{options, 7};
  CHECK_FALSE(policy.on_failure(kT0).escalate);
  CHECK_FALSE(policy.on_failure(kT0 + 1s).escalate);
  CHECK_FALSE(policy.on_failure(kT0 + 2s).escalate);
  CHECK(policy.restarts_in_window(kT0 + 2s) == 3);
  CHECK(policy.on_failure(kT0 + 3s).escalate);
}

TEST_CASE("intensity window slides: old restarts stop counting", "[restart_policy]") {
  RestartPolicy policy{RestartPolicyOptions{}, 7};  // 3 restarts in 5 s
  CHECK_FALSE(policy.on_failure(kT0).escalate);
  CHECK_FALSE(policy.on_failure(kT0 + 1s).escalate);
  CHECK_FALSE(policy.on_failure(kT0 + 2s).escalate);
  // At 5 s the restart at 0 s has left the window: the fourth restart is allowed.
  CHECK(policy.restarts_in_window(kT0 + 5s) == 2);
  CHECK_FALSE(policy.on_failure(kT0 + 5s).escalate);
  // At 5.5 s the window holds 1 s, 2 s and 5 s: a fifth is one too many.
  CHECK(policy.on_failure(kT0 + 5500ms).escalate);
  // Spread out, restarts never escalate.
  RestartPolicy spread{RestartPolicyOptions{}, 7};
  for (int i = 0; i < 20; ++i) CHECK_FALSE(spread.on_failure(kT0 + i * 2s).escalate);
}

TEST_CASE("intensity 0 escalates on the first failure", "[restart_policy]") {
  RestartPolicyOptions options;
  options.max_restarts = 0;
  RestartPolicy policy{options, 0};
  CHECK(policy.on_failure(kT0).escalate);
}
