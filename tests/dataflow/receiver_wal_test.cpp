// ReceiverSource with the write-ahead log on an in-memory BlockLog, no actors: blocks, replay,
// resume after a crash, reliable stores waiting for durability, the buffer bound, max_rate.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>

#include "dataflow/receiver.hpp"
#include "tests/support/memory_block_log.hpp"

using namespace std::chrono_literals;
using rill::Millis;

namespace {

// Stores only what the test tells it to, from the test's thread.
class Hand : public rill::Receiver<int> {
 public:
  void on_start() override {}
  void on_stop() override {}
};

// Stores 0, 1, 2, ... one record per store(), as fast as max_rate lets it.
class Counter : public rill::Receiver<int> {
 public:
  void on_start() override {
    start_thread([this] {
      for (int i = 0; !is_stopped(); ++i)
        if (!store(i)) break;
    });
  }
  void on_stop() override {}
};

rill::ReceiverOptions wal_on() { return {.write_ahead_log = true}; }

std::vector<int> all(const rill::Taken& t) {
  std::vector<int> out;
  for (const auto& p : t.parts) {
    const auto& v = rill::part_cast<int>(p);
    out.insert(out.end(), v.begin(), v.end());
  }
  return out;
}

// A source whose receiver the test drives by hand.
struct Rig {
  std::shared_ptr<rill::ManualClock> clock = std::make_shared<rill::ManualClock>();
  Hand* hand = nullptr;
  rill::ReceiverSource<int> source;
  Rig(rill::BlockLog* log, rill::ReceiverOptions options, std::vector<std::string> recorded = {})
      : source("hand", [this] {
          auto r = std::make_unique<Hand>();
          hand = r.get();
          return r;
        }, options) {
    REQUIRE(source.resume(recorded));
    source.start(rill::SourceContext{clock.get(), 0ms, 1000ms, log, 7});
    source.receiver_slot()->start();
  }
};

}  // namespace

TEST_CASE("blocks are durable before a batch takes them, and replay gives the same split") {
  rill::test::MemoryBlockLog log;
  Rig rig(&log, wal_on());
  CHECK(rig.source.replayable());
  REQUIRE(rig.hand->store(std::vector<int>{1, 2, 3}, 3));
  CHECK(log.size() == 1);
  CHECK(rig.hand->last_durable_offset() == 3);
  REQUIRE(rig.hand->store(4));
  REQUIRE(rig.hand->store(5));
  CHECK(log.size() == 1);  // unreliable records gather into the open block

  rill::Taken a = rig.source.take(1000ms, 2);
  CHECK(log.size() == 2);  // take() sealed and logged the open block first
  CHECK(a.replay == "0 2");
  CHECK(all(a) == std::vector<int>{1, 2, 3, 4, 5});
  auto again = rig.source.replay(1000ms, a.replay, 2);
  REQUIRE(again);
  REQUIRE(again->parts.size() == 2);
  for (size_t p = 0; p < 2; ++p)
    CHECK(rill::part_cast<int>(again->parts[p]) == rill::part_cast<int>(a.parts[p]));

  rig.clock->advance(1000ms);
  REQUIRE(rig.hand->store(6));
  rig.clock->advance(250ms);  // past block_interval: the next store seals {6}
  REQUIRE(rig.hand->store(7));
  CHECK(log.size() == 3);
  rill::Taken b = rig.source.take(2000ms, 1);
  CHECK(all(b) == std::vector<int>{6, 7});
  CHECK(b.replay == "2 4");
  rill::Taken c = rig.source.take(3000ms, 1);
  CHECK(c.records == 0);
  CHECK(c.replay == "4 4");
  CHECK(all(*rig.source.replay(3000ms, "", 1)).empty());
  CHECK_FALSE(rig.source.replay(1000ms, "3 x", 1));
}

TEST_CASE("records stored after t stay for the next batch, also across a sealed block") {
  rill::test::MemoryBlockLog log;
  Rig rig(&log, wal_on());
  REQUIRE(rig.hand->store(1));
  rig.clock->advance(1000ms);
  REQUIRE(rig.hand->store(2));  // next batch slot: seals {1} first
  REQUIRE(rig.hand->store(std::vector<int>{3}, 30));
  CHECK(all(rig.source.take(1000ms, 1)) == std::vector<int>{1});
  CHECK(all(rig.source.take(2000ms, 1)) == std::vector<int>{2, 3});
}

TEST_CASE("after a crash, durable unallocated blocks go to the first take; the seqs go on") {
  rill::test::MemoryBlockLog log;
  std::string recorded;
  {
    Rig run1(&log, wal_on());
    REQUIRE(run1.hand->store(std::vector<int>{1, 2, 3}, 3));
    REQUIRE(run1.hand->store(std::vector<int>{4, 5}, 5));
    recorded = run1.source.take(1000ms, 1).replay;  // the driver records it
    REQUIRE(run1.hand->store(std::vector<int>{10, 11}, 12));  // durable, never allocated
    REQUIRE(run1.hand->store(99));  // unreliable and still open: the loss it allows
  }
  CHECK(recorded == "0 2");
  Rig run2(&log, wal_on(), {recorded});
  CHECK(run2.hand->last_durable_offset() == 12);
  CHECK(run2.source.has_pending());
  auto rerun = run2.source.replay(1000ms, recorded, 1);
  REQUIRE(rerun);
  CHECK(all(*rerun) == std::vector<int>{1, 2, 3, 4, 5});
  rill::Taken first = run2.source.take(2000ms, 1);
  CHECK(all(first) == std::vector<int>{10, 11});
  CHECK(first.replay == "2 3");
  REQUIRE(run2.hand->store(std::vector<int>{12}, 13));
  CHECK(run2.source.take(3000ms, 1).replay == "3 4");
}

TEST_CASE("a crash before any allocation hands every logged block to the first take") {
  rill::test::MemoryBlockLog log;
  {
    Rig run1(&log, wal_on());
    REQUIRE(run1.hand->store(std::vector<int>{1, 2}, 2));
  }
  Rig run2(&log, wal_on());  // no allocation recorded: resume() is not called
  CHECK(all(run2.source.take(1000ms, 1)) == std::vector<int>{1, 2});
}

TEST_CASE("a reliable store returns only once the log holds the block") {
  rill::test::MemoryBlockLog log;
  Rig rig(&log, wal_on());
  log.close();
  std::atomic<bool> done{false};
  rill::Status status;
  std::thread t([&] {
    status = rig.hand->store(std::vector<int>{1, 2}, 2);
    done = true;
  });
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(done);
  CHECK_FALSE(rig.source.has_pending());  // not durable: not visible either
  log.open();
  t.join();
  CHECK(status.is_ok());
  CHECK(rig.source.has_pending());
}

TEST_CASE("a failed append counts only when the block was durable after all") {
  rill::test::MemoryBlockLog log;
  Rig rig(&log, wal_on());
  log.fail_next(true);  // committed, but the answer was lost
  CHECK(rig.hand->store(std::vector<int>{1, 2}, 2).is_ok());
  log.fail_next(false);  // nothing stored
  CHECK(rig.hand->store(std::vector<int>{3}, 3).code() == rill::Errc::io_error);
  CHECK(rig.hand->last_durable_offset() == 2);
  CHECK(rig.hand->store(std::vector<int>{3}, 3).is_ok());  // sent again, same seq
  rill::Taken a = rig.source.take(1000ms, 1);
  CHECK(all(a) == std::vector<int>{1, 2, 3});
  CHECK(a.replay == "0 2");
}

TEST_CASE("a full buffer makes store() wait until a batch takes records") {
  auto clock = std::make_shared<rill::SystemClock>();
  Hand* hand = nullptr;
  rill::ReceiverSource<int> source("bounded", [&hand] {
    auto r = std::make_unique<Hand>();
    hand = r.get();
    return r;
  }, {.max_buffered = 3});
  source.start(rill::SourceContext{clock.get(), 0ms, 1000ms});
  source.receiver_slot()->start();
  REQUIRE(hand->store(std::vector<int>{1, 2, 3}));
  std::atomic<bool> done{false}, stored{false};
  std::thread t([&] {
    stored = hand->store(4);
    done = true;
  });
  std::this_thread::sleep_for(100ms);
  CHECK_FALSE(done);
  CHECK(all(source.take(clock->now() + 1000ms, 1)) == std::vector<int>{1, 2, 3});
  t.join();
  CHECK(stored);
  CHECK(all(source.take(clock->now() + 1000ms, 1)) == std::vector<int>{4});
  source.receiver_slot()->stop();
}

TEST_CASE("max_rate spaces a receiver's stores out on the context's clock") {
  auto clock = std::make_shared<rill::ManualClock>();
  rill::ReceiverSource<int> source("rated", [] { return std::make_unique<Counter>(); },
                                   {.max_rate = 10});
  source.start(rill::SourceContext{clock.get(), 0ms, 1000ms});
  source.receiver_slot()->start();
  clock->advance(1000ms);
  CHECK(all(source.take(1000ms, 1)) == std::vector<int>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9});
  clock->advance(1000ms);
  CHECK(source.take(2000ms, 1).records == 10);
  source.receiver_slot()->stop();
}
