// The status endpoint end to end: a job on the manual clock with http_port = any free port,
// a few batches, then every route read with httplib's client.
#include <catch2/catch.hpp>

#include <atomic>
#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <httplib.h>

#include "dataflow/config_error.hpp"
#include "dataflow/fault_injector.hpp"
#include "dataflow/receiver.hpp"
#include "dataflow/streaming_context.hpp"
#include "tests/support/manual_run.hpp"
#include "tests/support/running_total.hpp"

using namespace std::chrono_literals;
using rill::Millis;

namespace {

// Counts completed batches. The runtime calls the endpoint's listener before this one, so once
// this one heard of a batch, the endpoint shows it.
struct CompletionCounter : rill::StreamingListener {
  std::mutex mu;
  std::condition_variable cv;
  int completed = 0;
  int restarts = 0;
  void on_batch_completed(const rill::BatchInfo&) override {
    {
      std::lock_guard lock(mu);
      ++completed;
    }
    cv.notify_all();
  }
  void on_actor_restarted(const std::string&, const std::string&, const std::string&) override {
    {
      std::lock_guard lock(mu);
      ++restarts;
    }
    cv.notify_all();
  }
  bool wait_for(int batches, int restarted = 0) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 20s, [&] { return completed >= batches && restarts >= restarted; });
  }
};

// Kills the first stage once, when batch 2000's inputs are allocated: the batch is retried.
struct KillOneStage : rill::FaultInjector {
  std::vector<std::string> kills(Millis t, rill::FaultPhase phase,
                                 std::span<const rill::ActorRef> actors) override {
    if (t != 2000ms || phase != rill::FaultPhase::after_allocation) return {};
    for (const auto& a : actors)
      if (a.kind == "stage") return {a.name};
    return {};
  }
  bool fail_task(const std::string&, Millis) override { return false; }
  Millis delay_task(const std::string&, Millis) override { return Millis{0}; }
  Millis pause_stage(const std::string&, Millis) override { return Millis{0}; }
};

// Stores one record a wake-up and reports one error after its first record.
class FlakySensor : public rill::Receiver<std::string> {
 public:
  void on_start() override {
    start_thread([this] {
      bool reported = false;
      while (!is_stopped()) {
        store("reading");
        if (!reported) report_error("sensor offline");
        reported = true;
        if (!sleep_for(50ms)) break;
      }
    });
  }
  void on_stop() override {}
};

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

size_t count_of(const std::string& text, const std::string& part) {
  size_t n = 0;
  for (size_t p = text.find(part); p != std::string::npos; p = text.find(part, p + 1)) ++n;
  return n;
}

std::string get(httplib::Client& cli, const std::string& path, const std::string& type) {
  auto res = cli.Get(path.c_str());
  INFO(path);
  REQUIRE(res);
  CHECK(res->status == 200);
  CHECK(res->get_header_value("Content-Type").rfind(type, 0) == 0);
  return res->body;
}

}  // namespace

TEST_CASE("the status endpoint serves metrics, batches, receivers, supervision and the page") {
  rill::test::ScratchDir dir;
  auto clock = std::make_shared<rill::ManualClock>();
  rill::StreamingContext ssc(1000ms, {.clock = clock,
                                      .partitions = 2,
                                      .checkpoint_dir = dir.path + "/ckpt",
                                      .checkpoint_fsync = false,
                                      .http_port = rill::ContextOptions::kAnyFreePort,
                                      .fault_injector = std::make_shared<KillOneStage>()});
  auto q = std::make_shared<rill::BatchQueue<std::string>>();
  q->push({"a b", "b c", "a"});
  q->push({"c", "c", "d", "e", "a b"});
  q->push({"x", "y"});
  auto counter = std::make_shared<CompletionCounter>();
  ssc.add_listener(counter);
  ssc.queue_stream(q)
      .flat_map([](const std::string& l) { return rill::split(l); })
      .map([](const std::string& w) {
        return std::pair{w, int64_t{1}};
      })
      .update_state_by_key(rill::test::running_total)
      .foreach_batch([](const std::vector<std::pair<std::string, int64_t>>&, Millis) {});
  CHECK(ssc.http_port() == 0);  // not started
  ssc.start();
  int port = ssc.http_port();
  REQUIRE(port > 0);
  for (int i = 1; i <= 3; ++i) {
    clock->advance(1000ms);
    REQUIRE(ssc.await_batch(Millis{i * 1000}));
    REQUIRE(counter->wait_for(i, i >= 2 ? 1 : 0));
  }

  httplib::Client cli("127.0.0.1", port);
  cli.set_read_timeout(10, 0);
  std::string metrics = get(cli, "/metrics", "text/plain; version=0.0.4");
  INFO(metrics);
  CHECK(has(metrics, "\nrill_batches_completed_total 3\n"));
  CHECK(has(metrics, "\nrill_batches_failed_total 0\n"));
  CHECK(has(metrics, "\nrill_input_records_total 10\n"));           // 3 + 5 + 2 lines
  CHECK(has(metrics, "\nrill_input_rate_records_per_second 2\n"));  // the last batch: 2 in 1 s
  CHECK(has(metrics, "\nrill_last_batch_time_seconds 3\n"));
  CHECK(has(metrics, "\nrill_processing_time_seconds_count 3\n"));
  CHECK(has(metrics, "\nrill_batch_interval_seconds 1\n"));
  CHECK(has(metrics, "\nrill_actor_restarts_total{kind=\"stage\"} 1\n"));
  // The store's gauges: a checkpoint directory is set; the queue stream writes no WAL.
  CHECK(has(metrics, "\nrill_wal_blocks 0\n"));
  CHECK(has(metrics, "\nrill_store_size_bytes "));
  CHECK_FALSE(has(metrics, "\nrill_store_size_bytes 0\n"));

  std::string batches = get(cli, "/api/batches", "application/json");
  INFO(batches);
  CHECK(has(batches, "\"batch_interval_ms\":1000"));
  CHECK(has(batches, "\"completed\":3,\"failed\":0,\"input_records\":10"));
  CHECK(count_of(batches, "\"status\":\"completed\"") == 3);
  CHECK(has(batches, "{\"batch_time\":1000,\"status\":\"completed\",\"input_records\":3,"));
  CHECK(has(batches, "{\"batch_time\":2000,\"status\":\"completed\",\"input_records\":5,"));
  CHECK(has(batches, "{\"batch_time\":3000,\"status\":\"completed\",\"input_records\":2,"));
  CHECK(count_of(get(cli, "/api/batches?last=2", "application/json"), "\"batch_time\"") == 2);

  std::string receivers = get(cli, "/api/receivers", "application/json");
  CHECK(receivers.rfind("{\"receivers\":[", 0) == 0);

  std::string supervision = get(cli, "/api/supervision", "application/json");
  INFO(supervision);
  CHECK(has(supervision, "{\"tree\":{\"name\":\"root\",\"kind\":\"supervisor\",\"restarts\":0,"));
  CHECK(has(supervision, "\"kind\":\"stage\""));
  CHECK(has(supervision, "\"kind\":\"sink\""));
  CHECK(has(supervision, "\"kind\":\"stage\",\"restarts\":1,"));
  CHECK(has(supervision,
            "\"restarts\":{\"restarts_by_kind\":{\"stage\":1},\"recent\":[{\"kind\":\"stage\","));

  std::string page = get(cli, "/", "text/html");
  CHECK(has(page, "<canvas"));
  CHECK(has(page, "/api/batches"));
  CHECK_FALSE(has(page, "http://"));  // nothing from elsewhere: no CDN
  CHECK_FALSE(has(page, "https://"));

  ssc.stop();
  CHECK(ssc.http_port() == 0);
  CHECK_FALSE(cli.Get("/metrics"));  // stopped with the context
}

TEST_CASE("the status endpoint is off by default and refuses a port in use") {
  {
    auto clock = std::make_shared<rill::ManualClock>();
    rill::StreamingContext ssc(1000ms, {.clock = clock, .partitions = 1});
    ssc.queue_stream(std::make_shared<rill::BatchQueue<int>>())
        .foreach_batch([](const std::vector<int>&, Millis) {});
    ssc.start();
    CHECK(ssc.http_port() == 0);
    ssc.stop();
  }
  httplib::Server taken;
  int port = taken.bind_to_any_port("127.0.0.1");
  REQUIRE(port > 0);
  auto clock = std::make_shared<rill::ManualClock>();
  rill::StreamingContext ssc(1000ms, {.clock = clock, .partitions = 1, .http_port = port});
  ssc.queue_stream(std::make_shared<rill::BatchQueue<int>>())
      .foreach_batch([](const std::vector<int>&, Millis) {});
  try {
    ssc.start();
    FAIL("start() did not refuse the port in use");
  } catch (const rill::ConfigError& e) {
    CHECK(has(e.what(), "127.0.0.1:" + std::to_string(port)));
  }
  rill::StreamingContext bad(1000ms, {.clock = clock, .partitions = 1, .http_port = 70000});
  bad.queue_stream(std::make_shared<rill::BatchQueue<int>>())
      .foreach_batch([](const std::vector<int>&, Millis) {});
  CHECK_THROWS_AS(bad.start(), rill::ConfigError);
}

TEST_CASE("a receiver stream shows in /api/receivers and /metrics with its errors") {
  auto clock = std::make_shared<rill::ManualClock>();
  rill::StreamingContext ssc(
      1000ms, {.clock = clock, .partitions = 1, .http_port = rill::ContextOptions::kAnyFreePort});
  ssc.receiver_stream<std::string>([] { return std::make_unique<FlakySensor>(); }, "sensors")
      .foreach_batch([](const std::vector<std::string>&, Millis) {});
  ssc.start();
  httplib::Client cli("127.0.0.1", ssc.http_port());
  cli.set_read_timeout(10, 0);
  // The error comes from the receiver's thread: poll the endpoint until it shows, bounded.
  std::string receivers;
  auto deadline = std::chrono::steady_clock::now() + 20s;
  do {
    receivers = get(cli, "/api/receivers", "application/json");
    if (has(receivers, "\"errors\":1")) break;
    std::this_thread::sleep_for(10ms);
  } while (std::chrono::steady_clock::now() < deadline);
  INFO(receivers);
  CHECK(has(receivers,
            "{\"name\":\"sensors\",\"active\":true,\"starts\":1,\"errors\":1,"
            "\"last_error\":\"sensor offline\""));
  std::string metrics = get(cli, "/metrics", "text/plain; version=0.0.4");
  INFO(metrics);
  CHECK(has(metrics, "\nrill_receivers_active 1\n"));
  CHECK(has(metrics, "\nrill_receiver_errors_total{receiver=\"sensors\"} 1\n"));
  ssc.stop();
}

namespace {

// on_stop() signals that it was called, then returns only once the test opens the gate.
class SlowStoppingReceiver : public rill::Receiver<std::string> {
 public:
  SlowStoppingReceiver(std::shared_ptr<std::promise<void>> stopping, std::shared_future<void> gate)
      : stopping_(std::move(stopping)), gate_(std::move(gate)) {}
  void on_start() override {}
  void on_stop() override {
    if (!told_.exchange(true)) stopping_->set_value();  // on_stop() may run again at shutdown
    gate_.wait();
  }

 private:
  std::shared_ptr<std::promise<void>> stopping_;
  std::shared_future<void> gate_;
  std::atomic<bool> told_{false};
};

}  // namespace

TEST_CASE(
    "the supervision tree (the page's) answers while a graceful stop, called from another thread, "
    "waits") {
  auto clock = std::make_shared<rill::ManualClock>();
  rill::StreamingContext ssc(1000ms, {.clock = clock, .partitions = 1});
  auto stopping = std::make_shared<std::promise<void>>();
  auto stop_called = stopping->get_future();
  std::promise<void> gate;
  std::shared_future<void> opened = gate.get_future().share();
  ssc.receiver_stream<std::string>(
         [stopping, opened] { return std::make_unique<SlowStoppingReceiver>(stopping, opened); },
         "slow")
      .foreach_batch([](const std::vector<std::string>&, Millis) {});
  ssc.start();
  std::thread stopper([&] { ssc.stop(true); });
  REQUIRE(stop_called.wait_for(20s) == std::future_status::ready);  // stop() is under way
  auto tree = std::async(std::launch::async, [&] { return ssc.supervision_tree(); });
  bool answered = tree.wait_for(10s) == std::future_status::ready;
  gate.set_value();
  stopper.join();
  REQUIRE(answered);
  CHECK(tree.get().name == "root");
}
