// The manual clock tests drive time with: callbacks at their times, and time that never goes
// back, also when a callback (a batch's work) advances the clock inside another advance.
#include <catch2/catch.hpp>

#include <vector>

#include "dataflow/clock.hpp"

using rill::Millis;

TEST_CASE("manual clock: callbacks run at their times, in order, as time passes them") {
  rill::ManualClock clock(Millis{1000});
  std::vector<long long> seen;
  clock.schedule(Millis{1500}, [&] { seen.push_back(clock.now().count()); });
  clock.schedule(Millis{1200}, [&] { seen.push_back(clock.now().count()); });
  clock.advance(Millis{100});
  CHECK(seen.empty());
  clock.advance(Millis{400});
  CHECK(seen == std::vector<long long>{1200, 1500});
  CHECK(clock.now() == Millis{1500});
}

TEST_CASE("manual clock: an advance inside a callback is not undone when the outer one ends") {
  // As when a tick starts a batch whose work moves the clock (a test's cost model) while the
  // advance that fired the tick is still running.
  rill::ManualClock clock(Millis{0});
  clock.schedule(Millis{500}, [&] { clock.advance(Millis{2000}); });
  clock.advance(Millis{1000});
  CHECK(clock.now() == Millis{2500});
  clock.advance(Millis{10});
  CHECK(clock.now() == Millis{2510});
}
