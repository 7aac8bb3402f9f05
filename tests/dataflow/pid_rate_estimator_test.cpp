// PidRateEstimator against hand-computed steps of Spark's formula, and its closed loop on a
// simulated overloaded stream: the rate settles where the backlog stops growing.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>

#include "dataflow/pid_rate_estimator.hpp"

using namespace std::chrono_literals;
using rill::Millis;
using rill::PidRateEstimator;

TEST_CASE("the first batch with records sets the rate to what was processed") {
  PidRateEstimator pid(1000ms);
  CHECK_FALSE(pid.rate());
  CHECK_FALSE(pid.compute(1000ms, 0, 10ms, 0ms));   // no records: says nothing
  CHECK_FALSE(pid.compute(1000ms, 500, 0ms, 0ms));  // no processing time: says nothing
  auto r = pid.compute(1000ms, 500, 250ms, 0ms);    // 500 records in 0.25 s: 2000/s
  REQUIRE(r);
  CHECK(*r == Approx(2000));
  CHECK_FALSE(pid.compute(1000ms, 500, 250ms, 0ms));  // the same time again: ignored
}

TEST_CASE("later batches follow rate - kp*error - ki*backlog - kd*derror, floored at min_rate") {
  PidRateEstimator pid(1000ms,
                       {.proportional = 1.0, .integral = 0.2, .derivative = 0.1, .min_rate = 100});
  REQUIRE(pid.compute(1000ms, 1000, 500ms, 0ms));  // rate 2000/s
  // 1500 records in 1 s: processing rate 1500, error 500, backlog 300 ms * 1500 / 1000 = 450,
  // derror (500 - 0) / 1 s = 500: 2000 - 500 - 0.2*450 - 0.1*500 = 1360.
  auto r = pid.compute(2000ms, 1500, 1000ms, 300ms);
  REQUIRE(r);
  CHECK(*r == Approx(1360));
  // Far too slow: 10 records in 1 s; the rate would go negative and stops at min_rate.
  r = pid.compute(3000ms, 10, 1000ms, 5000ms);
  REQUIRE(r);
  CHECK(*r == Approx(100));
}

TEST_CASE("bad gains and floors are refused with the value named") {
  CHECK_THROWS_WITH(PidRateEstimator(1000ms, {.proportional = -1}),
                    Catch::Contains("proportional -1"));
  CHECK_THROWS_WITH(PidRateEstimator(1000ms, {.min_rate = 0}),
                    Catch::Contains("min_rate must be > 0"));
  CHECK_THROWS_WITH(PidRateEstimator(0ms), Catch::Contains("batch interval"));
}

// A stream offered 3000 records/s to a job that processes 1000/s (1 ms a record): each batch
// takes what the rate lets in; what exceeds it waits at the source. The estimator must bring
// the rate to the processing rate and keep the scheduling delay bounded.
TEST_CASE(
    "in a closed loop the rate converges to the processing rate and the delay stays bounded") {
  const double interval_ms = 1000, cost_ms = 1.0, offered = 3000;
  PidRateEstimator pid(Millis{1000});
  double rate = offered;  // no initial limit
  double free_at = 0;     // when the job finishes its queued work (ms)
  double max_late_delay = 0;
  for (int b = 1; b <= 60; ++b) {
    const double t = b * interval_ms;
    const double records = std::min(offered, rate) * interval_ms / 1000;
    const double start = std::max(t, free_at), processing = records * cost_ms;
    free_at = start + processing;
    const double scheduling = start - t;
    if (b > 30) max_late_delay = std::max(max_late_delay, scheduling);
    if (auto r = pid.compute(Millis{static_cast<int64_t>(free_at)}, static_cast<int64_t>(records),
                             Millis{static_cast<int64_t>(processing)},
                             Millis{static_cast<int64_t>(scheduling)}))
      rate = *r;
  }
  CHECK(rate == Approx(1000).epsilon(0.05));
  CHECK(max_late_delay < 2 * interval_ms);
}
