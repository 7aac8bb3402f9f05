// A worker's task outputs (dataflow/shuffle_outputs.hpp): what it keeps across batches, also
// when a rollback runs an earlier batch again while a task of the abandoned one finishes.
#include <catch2/catch.hpp>

#include "dataflow/shuffle_outputs.hpp"

using rill::AnyPart;
using rill::Millis;

namespace {

// A task's output: one bucket of (node 3, edge 0) and a part of node 4 held for its Sinks.
void put(rill::ShuffleOutputs& out, long long t, int partition) {
  out.put(Millis{t}, 1, partition, {{3, 0, {rill::make_part(std::vector<int>{1})}}},
          {{4, rill::make_part(std::vector<int>{2})}});
}

bool holds(const rill::ShuffleOutputs& out, long long t, int partition) {
  return out.get(Millis{t}, 1, partition, 3, 0, 0).has_value() &&
         out.held(Millis{t}, 1, partition, 4).has_value();
}

}  // namespace

TEST_CASE("a worker keeps the running batch's outputs and the one before, no older") {
  rill::ShuffleOutputs out;
  put(out, 1000, 0);
  put(out, 1000, 1);
  put(out, 2000, 0);
  CHECK(holds(out, 1000, 0));
  CHECK(holds(out, 1000, 1));
  put(out, 3000, 0);
  CHECK_FALSE(holds(out, 1000, 0));
  CHECK_FALSE(holds(out, 1000, 1));
  CHECK(holds(out, 2000, 0));
  CHECK(holds(out, 3000, 0));
  CHECK_FALSE(out.held(Millis{3000}, 1, 0, 5));       // no such node
  CHECK_FALSE(out.get(Millis{3000}, 1, 0, 3, 0, 7));  // no such bucket
}

TEST_CASE("after a rollback, a late task of the abandoned batch does not evict the re-run's") {
  rill::ShuffleOutputs out;
  put(out, 4000, 0);
  put(out, 5000, 0);
  put(out, 3000, 1);           // the rollback runs 3000 again
  put(out, 5000, 1);           // a task of the abandoned 5000 finishes late
  CHECK(holds(out, 3000, 1));  // the driver is about to have it written
  put(out, 3000, 0);
  CHECK(holds(out, 3000, 1));
  CHECK(holds(out, 3000, 0));
}

TEST_CASE("a Sink write is remembered with its task's output, and forgotten with a re-run") {
  rill::ShuffleOutputs out;
  put(out, 1000, 0);
  CHECK_FALSE(out.written(Millis{1000}, 1, 0, 2));
  out.note_written(Millis{1000}, 1, 0, 2, 77);
  CHECK(out.written(Millis{1000}, 1, 0, 2) == uint64_t{77});
  CHECK_FALSE(out.written(Millis{1000}, 1, 0, 3));
  put(out, 1000, 0);  // the task ran again: its part is new, and so is its write
  CHECK_FALSE(out.written(Millis{1000}, 1, 0, 2));
}
