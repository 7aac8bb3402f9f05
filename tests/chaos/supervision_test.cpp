// Supervision under kills: a killed receiver's stale instance cannot store, a root that gives
// up stops the job with its error and a later get_or_create resumes exactly, batch info counts.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dataflow/config_error.hpp"
#include "dataflow/streaming_context.hpp"
#include "dataflow/text_output.hpp"
#include "tests/support/kill_at.hpp"
#include "tests/support/manual_run.hpp"
#include "tests/support/memory_sink.hpp"
#include "tests/support/running_total.hpp"

using namespace rill;
using test::KillAt;
using KV = std::pair<std::string, int64_t>;

namespace {

constexpr Millis kInterval{1000};

// What the blocking receiver's instances did, shared with the test.
struct Feed {
  std::mutex mu;
  std::condition_variable cv;
  bool release = false;        // the test lets the first instance go on
  bool first_saw_stop = false;  // the first instance noticed it was stopped
  std::optional<bool> stale_store;  // what the first instance's late store() returned
  int instances = 0;
};

// The first instance stores "before", then blocks, deaf to stop, until the test releases it,
// then stores "stale". Later instances store "fresh" once.
class BlockingReceiver final : public Receiver<std::string> {
 public:
  explicit BlockingReceiver(std::shared_ptr<Feed> feed) : feed_(std::move(feed)) {}
  void on_start() override {
    int n;
    {
      std::lock_guard lock(feed_->mu);
      n = ++feed_->instances;
    }
    start_thread([this, n] {
      if (n > 1) {
        store(std::string("fresh"));
        return;
      }
      store(std::string("before"));
      std::unique_lock lock(feed_->mu);
      while (!feed_->release) {
        if (is_stopped()) feed_->first_saw_stop = true;
        feed_->cv.notify_all();
        feed_->cv.wait_for(lock, std::chrono::milliseconds(5));
      }
      lock.unlock();
      bool stored = store(std::string("stale"));
      lock.lock();
      feed_->stale_store = stored;
      feed_->cv.notify_all();
    });
  }
  void on_stop() override {}

 private:
  std::shared_ptr<Feed> feed_;
};

template <class Pred>
bool wait_for(Feed& feed, Pred pred) {
  std::unique_lock lock(feed.mu);
  return feed.cv.wait_for(lock, std::chrono::seconds(20), pred);
}

}  // namespace

TEST_CASE("a killed receiver's stale instance cannot store after it is replaced") {
  auto feed = std::make_shared<Feed>();
  auto clock = std::make_shared<ManualClock>();
  StreamingContext ssc(kInterval, ContextOptions{.clock = clock, .partitions = 1,
                                                 .fault_injector = std::make_shared<KillAt>(
                                                     "receiver-", Millis{1000}, FaultPhase::batch_start)});
  auto seen = std::make_shared<std::vector<std::string>>();
  auto seen_mu = std::make_shared<std::mutex>();
  auto seen_now = [seen, seen_mu] {
    std::lock_guard lock(*seen_mu);
    return *seen;
  };
  ssc.receiver_stream<std::string>([feed] { return std::make_unique<BlockingReceiver>(feed); }, "blocking")
      .foreach_batch([seen, seen_mu](const std::vector<std::string>& batch, Millis) {
        std::lock_guard lock(*seen_mu);
        seen->insert(seen->end(), batch.begin(), batch.end());
      });
  ssc.start();
  // Batch 1000 first kills the receiver actor: its instance is stopped but, blocked, cannot
  // notice until it runs again.
  clock->advance(kInterval);
  REQUIRE(ssc.await_batch(Millis{1000}, Millis{20000}));
  REQUIRE(wait_for(*feed, [&] { return feed->first_saw_stop; }));
  {
    std::lock_guard lock(feed->mu);
    feed->release = true;
  }
  feed->cv.notify_all();
  REQUIRE(wait_for(*feed, [&] { return feed->stale_store.has_value(); }));
  CHECK(*feed->stale_store == false);  // its generation was revoked: nothing stored
  REQUIRE(wait_for(*feed, [&] { return feed->instances >= 2; }));
  // The replacement's record arrives; the stale one never does.
  for (int i = 0; i < 50 && seen_now().size() < 2; ++i) {
    clock->advance(kInterval);
    REQUIRE(ssc.await_batch(clock->now(), Millis{20000}));
  }
  ssc.stop(true);
  std::vector<std::string> all = seen_now();
  std::sort(all.begin(), all.end());
  CHECK(all == std::vector<std::string>{"before", "fresh"});
}

namespace {

std::vector<KV> numbers(Millis t, int partition) {
  std::vector<KV> out;
  for (int k = partition; k < 6; k += 2) out.emplace_back("k" + std::to_string(k), t.count() / 1000 + k);
  return out;
}

// Running totals into `rows`, checkpointing to dir; the same definition every time.
std::unique_ptr<StreamingContext> totals_job(const std::string& dir, std::shared_ptr<ManualClock> clock,
                                             std::shared_ptr<test::CommittedRows> rows,
                                             std::shared_ptr<FaultInjector> faults, int max_restarts) {
  return StreamingContext::get_or_create(dir, [&] {
    auto ssc = std::make_unique<StreamingContext>(
        kInterval, ContextOptions{.clock = clock, .partitions = 2, .checkpoint_fsync = false,
                                  .supervisor_max_restarts = max_restarts, .fault_injector = faults});
    ssc->generator_stream<KV>(numbers)
        .name("numbers")
        .update_state_by_key(rill::test::running_total)
        .output_to(std::make_shared<test::MemorySink<KV>>(rows), "totals");
    return ssc;
  });
}

}  // namespace

TEST_CASE("a root over its restart intensity stops the job; get_or_create then resumes exactly") {
  constexpr int kBatches = 8;
  auto reference = std::make_shared<test::CommittedRows>();
  {
    test::ScratchDir dir;
    auto clock = std::make_shared<ManualClock>();
    auto ssc = totals_job(dir.path, clock, reference, nullptr, 10);
    ssc->start();
    for (int i = 0; i < kBatches; ++i) {
      clock->advance(kInterval);
      REQUIRE(ssc->await_batch(clock->now(), Millis{20000}));
    }
    ssc->stop(true);
  }
  test::ScratchDir dir;
  auto rows = std::make_shared<test::CommittedRows>();
  auto clock = std::make_shared<ManualClock>();
  {
    // No restarts allowed: the first kill escalates through the workers supervisor to the root.
    auto ssc = totals_job(dir.path, clock, rows,
                          std::make_shared<KillAt>("stage-", Millis{4000}, FaultPhase::after_allocation), 0);
    ssc->start();
    for (int i = 0; i < 3; ++i) {
      clock->advance(kInterval);
      REQUIRE(ssc->await_batch(clock->now(), Millis{20000}));
    }
    clock->advance(kInterval);
    CHECK_FALSE(ssc->await_batch(Millis{4000}, Millis{3000}));
    CHECK(ssc->is_stopped());
    CHECK_THROWS_WITH(ssc->await_termination(), Catch::Contains("restart intensity exceeded"));
  }
  auto ssc = totals_job(dir.path, clock, rows, nullptr, 10);
  ssc->start();
  CHECK(ssc->recovered());
  REQUIRE(ssc->await_batch(Millis{4000}, Millis{20000}));  // re-run from its recorded inputs
  while (clock->now() < Millis{kBatches * 1000}) {
    clock->advance(kInterval);
    REQUIRE(ssc->await_batch(clock->now(), Millis{20000}));
  }
  ssc->stop(true);
  CHECK(rows->snapshot() == reference->snapshot());
}

TEST_CASE("batch info counts restarts and retried tasks") {
  test::ScratchDir dir;
  struct Infos : StreamingListener {
    std::mutex mu;
    std::vector<BatchInfo> infos;
    std::vector<std::string> restarted;
    void on_batch_completed(const BatchInfo& i) override {
      std::lock_guard lock(mu);
      infos.push_back(i);
    }
    void on_actor_restarted(const std::string& kind, const std::string& name, const std::string& reason) override {
      std::lock_guard lock(mu);
      restarted.push_back(kind + " " + name + ": " + reason);
    }
  };
  auto infos = std::make_shared<Infos>();
  auto clock = std::make_shared<ManualClock>();
  auto rows = std::make_shared<test::CommittedRows>();
  auto ssc = totals_job(dir.path, clock, rows, std::make_shared<KillAt>("sink-", Millis{2000}, FaultPhase::outputs_start), 10);
  ssc->add_listener(infos);
  ssc->start();
  for (int i = 0; i < 3; ++i) {
    clock->advance(kInterval);
    REQUIRE(ssc->await_batch(clock->now(), Millis{20000}));
  }
  ssc->stop(true);
  std::lock_guard lock(infos->mu);
  REQUIRE(infos->infos.size() == 3);
  CHECK(infos->infos[0].restarts == 0);
  CHECK(infos->infos[1].restarts == 1);
  CHECK(infos->infos[1].retried_tasks == 1);  // the output ran again on the new sink
  CHECK(infos->infos[2].retried_tasks == 0);
  REQUIRE(infos->restarted.size() == 1);
  CHECK_THAT(infos->restarted[0], Catch::StartsWith("sink sink-totals: "));
  CHECK_THAT(infos->restarted[0], Catch::Contains("kill"));
}
