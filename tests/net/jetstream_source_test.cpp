// jetstream_stream against a real nats-server with JetStream that each test starts on a free
// loopback port: each message once and in order, a server restart, a job restart from its
// checkpoint, and bad input (missing stream, unreachable server, too large, malformed).
#include <catch2/catch.hpp>
#include <chrono>
#include <iostream>
#include <rill/rill.hpp>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "net/jetstream_range.hpp"
#include "net/jetstream_source.hpp"
#include "tests/support/manual_run.hpp"
#include "tests/support/nats_server.hpp"

using namespace std::chrono_literals;
using rill::JetStreamMessage;
using rill::Millis;
using rill::net::JetStreamRange;
using rill::test::JetStreamClient;
using rill::test::NatsServer;
using rill::test::ScratchDir;

namespace {

constexpr Millis kBatch{1000};

// A job reading one stream into a Collector, on a manual clock, checkpointing to dir.
struct Job {
  Job(const std::string& dir, rill::JetStreamOptions options, Millis clock_start = Millis{0})
      : clock(std::make_shared<rill::ManualClock>(clock_start)),
        ssc(kBatch,
            rill::ContextOptions{
                .clock = clock, .partitions = 2, .checkpoint_dir = dir, .checkpoint_fsync = false}),
        messages(rill::jetstream_stream(ssc, std::move(options), "readings")) {
    ssc.start();
  }
  // Advances one batch and waits (bounded) for it.
  std::vector<JetStreamMessage> step() {
    clock->advance(kBatch);
    if (!ssc.await_batch(clock->now(), Millis{20000}))
      throw std::runtime_error("batch " + rill::to_string(clock->now()) + " did not complete");
    return messages.at(clock->now().count());
  }
  std::shared_ptr<rill::ManualClock> clock;
  rill::StreamingContext ssc;
  rill::test::Collector<JetStreamMessage> messages;
};

std::vector<std::string> payloads(const std::vector<JetStreamMessage>& batch) {
  std::vector<std::string> out;
  for (const auto& m : batch) out.push_back(m.payload);
  return out;
}

bool in_stream_order(const std::vector<JetStreamMessage>& batch) {
  for (size_t i = 1; i < batch.size(); ++i)
    if (batch[i - 1].sequence >= batch[i].sequence) return false;
  return true;
}

// Steps batches until `want` messages arrived in all (at most 20 s of real time: the source
// reconnects on its own schedule); returns every message in batch order.
std::vector<JetStreamMessage> step_until(Job& job, std::vector<JetStreamMessage> got, size_t want) {
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (got.size() < want && std::chrono::steady_clock::now() < deadline) {
    auto batch = job.step();
    CHECK(in_stream_order(batch));
    got.insert(got.end(), batch.begin(), batch.end());
    if (batch.empty()) std::this_thread::sleep_for(50ms);  // the server is still coming back
  }
  return got;
}

std::vector<std::string> numbered(const std::string& prefix, int from, int to) {
  std::vector<std::string> out;
  for (int i = from; i < to; ++i) out.push_back(prefix + std::to_string(i));
  return out;
}

}  // namespace

TEST_CASE("a recorded range round-trips and malformed records are refused") {
  JetStreamRange r{5, 9, 3, 0xabcdef0123456789ull};
  CHECK(r.encode() == "js1 5 9 3 abcdef0123456789");
  auto back = JetStreamRange::decode(r.encode());
  REQUIRE(back);
  CHECK((back->from == 5 && back->to == 9 && back->count == 3 && back->hash == r.hash));
  CHECK(back->next() == 10);
  auto empty = JetStreamRange::decode("js1 7 6 0 0000000000000000");
  REQUIRE(empty);
  CHECK(empty->empty());
  for (const char* bad :
       {"", "js1", "js1 5 9 3", "js1 0 0 0 0000000000000000", "js1 5 3 0 0000000000000000",
        "js1 5 9 6 0000000000000000", "js2 5 9 3 abcdef0123456789", "js1 5 9 3 xyz"})
    CHECK_FALSE(JetStreamRange::decode(bad));
}

TEST_CASE("each published message is in exactly one batch, in stream order, across a job restart") {
  ScratchDir dir;
  NatsServer server(dir.path + "/nats");
  JetStreamClient client(server.url());
  client.add_stream("READINGS", {"readings.>", "audit"});
  rill::JetStreamOptions options{.url = server.url(),
                                 .stream = "READINGS",
                                 .subject = "readings.*",
                                 .max_messages_per_batch = 7};
  std::vector<JetStreamMessage> all;
  {
    Job job(dir.path + "/ckpt", options);
    for (const auto& p : numbered("k", 0, 10))
      client.publish("readings.kitchen", p);                      // sequences 1..10
    client.publish("audit", "not for us");                        // 11
    client.publish("readings.garage.door", "not for us either");  // 12
    auto first = job.step();                                      // at most 7 sequences a batch
    CHECK(payloads(first) == numbered("k", 0, 7));
    CHECK(first.front().sequence == 1);
    CHECK(first.front().subject == "readings.kitchen");
    auto second = job.step();
    CHECK(payloads(second) == numbered("k", 7, 10));
    CHECK(job.step().empty());
    for (const auto& p : numbered("g", 0, 5)) client.publish("readings.garage", p);
    auto third = job.step();
    CHECK(payloads(third) == numbered("g", 0, 5));
    CHECK(in_stream_order(third));
    job.ssc.stop(true);
  }
  // A new job on the same checkpoint continues after the last recorded range.
  for (const auto& p : numbered("b", 0, 3)) client.publish("readings.bedroom", p);
  Job again(dir.path + "/ckpt", options, Millis{4000});
  CHECK(payloads(again.step()) == numbered("b", 0, 3));
  CHECK(again.step().empty());
}

TEST_CASE("a server killed (SIGKILL) and restarted mid-stream: nothing lost or duplicated") {
  ScratchDir dir;
  NatsServer server(dir.path + "/nats");
  rill::JetStreamOptions options{.url = server.url(),
                                 .stream = "READINGS",
                                 .subject = "readings.*",
                                 .request_timeout = Millis{500}};
  {
    JetStreamClient client(server.url());
    client.add_stream("READINGS", {"readings.*"});
    for (const auto& p : numbered("m", 0, 5)) client.publish("readings.a", p);
  }
  Job job(dir.path + "/ckpt", options);
  auto got = step_until(job, {}, 5);
  server.kill();
  CHECK(job.step().empty());  // unreachable: an empty batch, the job goes on
  CHECK_FALSE(job.ssc.is_stopped());
  server.start();
  {
    JetStreamClient client(
        server.url());  // a fresh one: the old would reconnect on its own schedule
    for (const auto& p : numbered("m", 5, 12)) client.publish("readings.a", p);
  }
  got = step_until(job, got, 12);
  INFO(server.log());
  CHECK(payloads(got) == numbered("m", 0, 12));
  CHECK(in_stream_order(got));
  CHECK(job.step().empty());
}

TEST_CASE("a missing stream and an unreachable server are waited out") {
  ScratchDir dir;
  NatsServer server(dir.path + "/nats");
  server.stop();
  Job job(dir.path + "/ckpt",
          {.url = server.url(), .stream = "LATER", .request_timeout = Millis{500}});
  CHECK(job.step().empty());  // no server
  server.start();
  CHECK(job.step().empty());  // no stream yet
  std::vector<JetStreamMessage> got;
  CHECK_FALSE(job.ssc.is_stopped());
  JetStreamClient client(server.url());
  client.add_stream("LATER", {"later"});
  client.publish("later", "one");
  client.publish("later", "two");
  got = step_until(job, got, 2);
  CHECK(payloads(got) == std::vector<std::string>{"one", "two"});
}

TEST_CASE("a message over max_message_bytes fails the job naming it, and nothing is lost") {
  ScratchDir dir;
  NatsServer server(dir.path + "/nats");
  JetStreamClient client(server.url());
  client.add_stream("BIG", {"big"});
  client.publish("big", "small");
  client.publish("big", std::string(200, 'x'));
  {
    Job job(dir.path + "/ckpt", {.url = server.url(), .stream = "BIG", .max_message_bytes = 100});
    job.clock->advance(kBatch);
    CHECK_FALSE(job.ssc.await_batch(job.clock->now(), Millis{20000}));
    try {
      job.ssc.await_termination();
      FAIL("the job did not fail");
    } catch (const rill::JobError& e) {
      std::string what = e.what();
      INFO(what);
      CHECK(what.find("stream 'BIG'") != std::string::npos);
      CHECK(what.find("stream sequence 2 (subject 'big') has 200 bytes") != std::string::npos);
      CHECK(what.find("batch " + rill::to_string(kBatch)) != std::string::npos);
    }
  }
  Job job(dir.path + "/ckpt", {.url = server.url(), .stream = "BIG", .max_message_bytes = 1000});
  CHECK(payloads(job.step()) == std::vector<std::string>{"small", std::string(200, 'x')});
}

TEST_CASE("a subject outside the stream's fails the batch naming it, not an outage") {
  ScratchDir dir;
  NatsServer server(dir.path + "/nats");
  JetStreamClient client(server.url());
  client.add_stream("R", {"r.*"});
  client.publish("r.a", "one");
  rill::net::JetStreamSource source({.url = server.url(), .stream = "R", .subject = "elsewhere"});
  source.start({});
  rill::Taken taken = source.take(Millis{1000}, 1);
  INFO(taken.error);
  CHECK(taken.error.find("stream 'R'") != std::string::npos);
  CHECK(taken.error.find("refused a consumer on subject 'elsewhere'") != std::string::npos);
  CHECK(taken.error.find("batch 1000 ms") != std::string::npos);
}

TEST_CASE("malformed payloads become dead letters naming subject, sequence and batch") {
  ScratchDir dir;
  NatsServer server(dir.path + "/nats");
  JetStreamClient client(server.url());
  client.add_stream("NUMBERS", {"numbers"});
  client.publish("numbers", "41");
  client.publish("numbers", "forty-two");
  auto clock = std::make_shared<rill::ManualClock>();
  rill::StreamingContext ssc(kBatch, {.clock = clock,
                                      .partitions = 1,
                                      .checkpoint_dir = dir.path + "/ckpt",
                                      .checkpoint_fsync = false});
  auto numbers = rill::jetstream_stream(ssc, {.url = server.url(), .stream = "NUMBERS"})
                     .map([](const JetStreamMessage& m) { return std::stoll(m.payload); });
  rill::test::Collector<long long> good(numbers);
  rill::test::Collector<rill::DeadLetter> bad(numbers.dead_letters());
  ssc.start();
  clock->advance(kBatch);
  REQUIRE(ssc.await_batch(kBatch, Millis{20000}));
  CHECK(good.at(1000) == std::vector<long long>{41});
  auto letters = bad.at(1000);
  REQUIRE(letters.size() == 1);
  CHECK(letters[0].time_ms == 1000);
  CHECK(letters[0].record.find("numbers") != std::string::npos);
  CHECK(letters[0].record.find("2") != std::string::npos);
  CHECK(letters[0].record.find("forty-two") != std::string::npos);
}

TEST_CASE("a batch of 3,000 messages is read whole, and how fast") {
  ScratchDir dir;
  NatsServer server(dir.path + "/nats");
  JetStreamClient client(server.url());
  client.add_stream("MANY", {"many"});
  auto expected = numbered("message ", 0, 3000);
  for (const auto& p : expected) client.publish("many", p);
  Job job(dir.path + "/ckpt", {.url = server.url(), .stream = "MANY"});
  auto start = std::chrono::steady_clock::now();
  auto batch = job.step();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start);
  CHECK(payloads(batch) == expected);
  std::cout << "jetstream_source: read 3000 messages in one batch in " << ms.count() << " ms\n";
}

TEST_CASE("a recorded range re-reads the same messages; one whose messages changed is refused") {
  ScratchDir dir;
  NatsServer server(dir.path + "/nats");
  JetStreamClient client(server.url());
  client.add_stream("R", {"r.*"});
  for (const auto& p : numbered("r", 0, 6)) client.publish(p == "r2" ? "r.other" : "r.mine", p);
  rill::JetStreamOptions options{.url = server.url(), .stream = "R", .subject = "r.mine"};
  rill::net::JetStreamSource source(options);
  source.start({});
  rill::Taken first = source.take(Millis{1000}, 2);
  REQUIRE(first.error.empty());
  CHECK(first.records == 5);  // r2 went to another subject
  auto range = JetStreamRange::decode(first.replay);
  REQUIRE(range);
  CHECK((range->from == 1 && range->to == 6 && range->count == 5));
  auto again = source.replay(Millis{1000}, first.replay, 2);
  REQUIRE(again);
  CHECK(again->records == 5);
  CHECK(again->replay == first.replay);
  // A fresh source resumes after the recorded range.
  client.publish("r.mine", "r6");
  rill::net::JetStreamSource resumed(options);
  std::vector<std::string> recorded{first.replay};
  REQUIRE(resumed.resume(recorded));
  resumed.start({});
  rill::Taken next = resumed.take(Millis{2000}, 1);
  CHECK(next.records == 1);
  CHECK(next.replay.rfind("js1 7 7 1 ", 0) == 0);
  // Retention removed a message the batch read: its re-run must not silently differ.
  client.delete_message("R", 4);
  auto changed = resumed.replay(Millis{1000}, first.replay, 2);
  REQUIRE_FALSE(changed);
  INFO(changed.status().message());
  CHECK(changed.status().code() == rill::Errc::corrupt);
  CHECK(changed.status().message().find("re-reading stream sequences [1, 6] of batch 1000 ms") !=
        std::string::npos);
  CHECK(changed.status().message().find("5 matching messages then, 4 now") != std::string::npos);
}

TEST_CASE("JetStreamStart::new_messages skips what the stream held at the first start") {
  ScratchDir dir;
  NatsServer server(dir.path + "/nats");
  JetStreamClient client(server.url());
  client.add_stream("NEW", {"new"});
  client.publish("new", "old 1");
  client.publish("new", "old 2");
  Job job(dir.path + "/ckpt",
          {.url = server.url(), .stream = "NEW", .start = rill::JetStreamStart::new_messages});
  client.publish("new", "fresh");
  CHECK(payloads(job.step()) == std::vector<std::string>{"fresh"});
}

TEST_CASE("a stream deleted and created again fails the batch instead of rereading it") {
  ScratchDir dir;
  NatsServer server(dir.path + "/nats");
  JetStreamClient client(server.url());
  client.add_stream("AGAIN", {"again"});
  for (const auto& p : numbered("a", 0, 3)) client.publish("again", p);
  rill::net::JetStreamSource source({.url = server.url(), .stream = "AGAIN"});
  source.start({});
  CHECK(source.take(Millis{1000}, 1).records == 3);
  client.delete_stream("AGAIN");
  client.add_stream("AGAIN", {"again"});
  client.publish("again", "new");
  rill::Taken taken = source.take(Millis{2000}, 1);
  INFO(taken.error);
  CHECK(taken.records == 0);
  CHECK(taken.error.find(
            "stream 'AGAIN' at batch 2000 ms: the stream's last sequence is 1 but this job "
            "already read up to 3") != std::string::npos);
}
