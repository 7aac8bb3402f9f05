// The frames nodes exchange (net/task_frames.hpp) and the handshake's checks
// (net/handshake.hpp): round trips, refusals with their reasons, and thousands of malformed
// frames that must be refused without a crash (seeded: a failure replays).
#include <catch2/catch.hpp>

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <random>

#include "dataflow/queue_source.hpp"
#include "dataflow/streaming_context.hpp"
#include "net/handshake.hpp"
#include "net/task_frames.hpp"
#include "net/wire.capnp.h"
#include "tests/cluster/word_count_graph.hpp"
#include "tests/support/memory_sink.hpp"

using namespace std::chrono_literals;
using rill::AnyPart;
using rill::Millis;
using KV = std::pair<std::string, int64_t>;

namespace {

struct WordCountGraph {
  rill::StreamingContext ssc{1000ms, {.partitions = 2}};
  WordCountGraph() { rill::test::define_word_count(ssc); }
  const rill::JobGraph& graph() { return ssc.graph(); }
};

// Word count whose counts, mapped (node 4), go to a Sink; or to print() when `to_sink` is
// false. Only in the first do node 4's parts stay on the worker that computed them.
struct CountsOutGraph {
  rill::StreamingContext ssc{1000ms, {.partitions = 2}};
  explicit CountsOutGraph(bool to_sink) {
    if (to_sink)
      rill::test::define_word_count(ssc, std::make_shared<rill::test::MemorySink<KV>>(
                                             std::make_shared<rill::test::CommittedRows>()));
    else
      define_print_graph();
  }
  // The same shape, node 4 printed.
  void define_print_graph() {
    auto q = std::make_shared<rill::BatchQueue<std::string>>();
    ssc.queue_stream(q)
        .flat_map([](const std::string& l) { return rill::split(l); })
        .map([](const std::string& w) {
          return KV{w, 1};
        })
        .reduce_by_key(std::plus<>{})
        .map([](const KV& kv) { return kv; })
        .print();
  }
  const rill::JobGraph& graph() { return ssc.graph(); }
};

template <class T>
const std::vector<T>& records(const AnyPart& part) {
  REQUIRE(part != nullptr);
  return rill::part_cast<T>(part);
}

rill::TaskRequest sample_task() {
  rill::TaskRequest t{1, 1, Millis{7000}, Millis{1000}, {}, Millis{6000}, Millis{6000}, true};
  t.inputs.push_back(
      {0, -1, rill::make_part(std::vector<std::string>{"a b", "", std::string("c\0d", 3)})});
  t.inputs.push_back({3,
                      0,
                      nullptr,
                      {rill::net::bucket_ref_part({"worker-2", 0, 1}), nullptr,
                       rill::net::bucket_ref_part({"worker-1", 0, 0})}});
  return t;
}

}  // namespace

TEST_CASE("a task and its answer cross nodes unchanged") {
  WordCountGraph g;
  rill::TaskRequest t = sample_task();
  auto env = rill::net::decode_envelope(rill::net::encode_task(g.graph(), 42, 9, t), g.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(env->kind == rill::net::EnvelopeKind::task);
  CHECK(env->session == 42);
  CHECK(env->id == 9);
  CHECK(env->task.stage == 1);
  CHECK(env->task.time == Millis{7000});
  CHECK(env->task.zero == Millis{1000});
  CHECK(env->task.base == std::optional<Millis>(Millis{6000}));
  CHECK(env->task.after == std::optional<Millis>(Millis{6000}));
  CHECK(env->task.checkpoint);
  REQUIRE(env->task.inputs.size() == 2);
  CHECK(records<std::string>(env->task.inputs[0].part) == records<std::string>(t.inputs[0].part));
  CHECK(env->task.inputs[1].node == 3);
  CHECK(env->task.inputs[1].part == nullptr);
  const auto& refs = env->task.inputs[1].buckets;
  REQUIRE(refs.size() == 3);
  CHECK(rill::net::bucket_ref_of(refs[0]).holder == "worker-2");
  CHECK(rill::net::bucket_ref_of(refs[0]).partition == 1);
  CHECK(refs[1] == nullptr);
  CHECK(rill::net::bucket_ref_of(refs[2]).holder == "worker-1");

  t.base.reset();
  t.after = Millis{5000};  // between checkpoints: state as of 5000, none stored yet
  t.checkpoint = false;
  env = rill::net::decode_envelope(rill::net::encode_task(g.graph(), 42, 10, t), g.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(!env->task.base);
  CHECK(env->task.after == std::optional<Millis>(Millis{5000}));
  CHECK(!env->task.checkpoint);

  rill::TaskReply r{
      1,   1, Millis{7000}, false, {}, {"reduce_by_key-3", Millis{7000}, "threw: bad key"},
      100, 3, 1.5,          true};
  r.result.exported.emplace_back(2, rill::make_part(std::vector<KV>{{"x", 1}}));
  r.result.exported.emplace_back(1, nullptr);
  r.result.buckets.push_back({3, 0, {rill::make_part(std::vector<KV>{{"a", 1}}), nullptr}});
  auto done = rill::net::decode_envelope(rill::net::encode_task_done(g.graph(), 42, 9, r),
                                         g.graph(), {}, "worker-1");
  REQUIRE(done.is_ok());
  CHECK(done->kind == rill::net::EnvelopeKind::task_done);
  CHECK(!done->done.ok);
  CHECK(done->done.lost_input);
  CHECK(!done->done.stale_state);
  r.lost_input = false;
  r.stale_state = true;
  done = rill::net::decode_envelope(rill::net::encode_task_done(g.graph(), 42, 9, r), g.graph(), {},
                                    "worker-1");
  REQUIRE(done.is_ok());
  CHECK(!done->done.lost_input);
  CHECK(done->done.stale_state);
  CHECK(done->done.error.to_string() == r.error.to_string());
  CHECK(done->done.snapshot_bytes == 100);
  CHECK(done->done.snapshot_ms == 1.5);
  REQUIRE(done->done.result.exported.size() == 2);
  CHECK(records<KV>(done->done.result.exported[0].second) == std::vector<KV>{{"x", 1}});
  CHECK(done->done.result.exported[1].second == nullptr);
  REQUIRE(done->done.result.buckets.size() == 1);
  REQUIRE(done->done.result.buckets[0].buckets.size() == 2);
  // Buckets stay with the worker that cut them: the driver learns where they are.
  const auto& held = rill::net::bucket_ref_of(done->done.result.buckets[0].buckets[0]);
  CHECK(held.holder == "worker-1");
  CHECK(held.stage == 1);
  CHECK(held.partition == 1);
  CHECK(done->done.result.buckets[0].buckets[1] == nullptr);

  rill::net::FetchRequest f{Millis{7000}, 0, 1, 3, 0, 1};
  auto fetch = rill::net::decode_envelope(rill::net::encode_fetch(5, 6, f), g.graph(), {});
  REQUIRE(fetch.is_ok());
  CHECK(fetch->kind == rill::net::EnvelopeKind::fetch);
  CHECK(fetch->fetch.partition == 1);
  CHECK(fetch->fetch.bucket == 1);
  rill::net::FetchReply reply{true, rill::make_part(std::vector<KV>{{"b", 7}}), ""};
  auto fetched = rill::net::decode_envelope(rill::net::encode_fetched(g.graph(), 5, 6, f, reply),
                                            g.graph(), {});
  REQUIRE(fetched.is_ok());
  CHECK(fetched->fetched.found);
  CHECK(records<KV>(fetched->fetched.part) == std::vector<KV>{{"b", 7}});
}

TEST_CASE("a frame naming a stream or input the job does not have is refused, saying which") {
  WordCountGraph g;
  auto frame_with = [](int node, int edge) {
    capnp::MallocMessageBuilder message;
    auto task = message.initRoot<rill::wire::Envelope>().initTask();
    auto inputs = task.initInputs(1);
    inputs[0].setNode(node);
    inputs[0].setEdge(edge);
    auto flat = capnp::messageToFlatArray(message);
    auto bytes = flat.asBytes();
    return rill::net::Frame(std::vector<uint8_t>(bytes.begin(), bytes.end()));
  };
  auto env = rill::net::decode_envelope(frame_with(99, 0), g.graph(), {});
  REQUIRE(!env.is_ok());
  CHECK(env.status().message().find("no stream 99 in this job") != std::string::npos);
  env = rill::net::decode_envelope(frame_with(2, -1), g.graph(), {});  // not a source
  REQUIRE(!env.is_ok());
  CHECK(env.status().message().find("has no input -1") != std::string::npos);
  env = rill::net::decode_envelope(frame_with(3, 1), g.graph(), {});
  REQUIRE(!env.is_ok());
  CHECK(env.status().message().find("has no input 1") != std::string::npos);
}

TEST_CASE("random and mutated frames are refused or decoded, never a crash") {
  WordCountGraph g;
  const rill::net::Frame task = rill::net::encode_task(g.graph(), 1, 1, sample_task());
  rill::net::StoreCopy commit{3, 4, true, true, {{0, 0, "key", "value"}, {3, 2, "", ""}}};
  const rill::net::Frame replicate = rill::net::encode_replicate(1, 2, commit);
  rill::net::SourceAnswer cut;
  cut.stream = 0;
  cut.records = 2;
  cut.parts = {rill::make_part(std::vector<std::string>{"x y", "z"}), nullptr};
  const rill::net::Frame sourced = rill::net::encode_sourced(g.graph(), 1, 3, cut);
  std::mt19937 rng(20261127);
  int refused = 0, decoded = 0;
  for (int i = 0; i < 6000; ++i) {
    std::vector<uint8_t> bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 600);
      for (auto& b : bytes) b = static_cast<uint8_t>(rng());
    } else {
      const rill::net::Frame& valid = i % 4 == 1 ? task : i % 8 == 3 ? replicate : sourced;
      bytes.assign(valid.data(), valid.data() + valid.size());
      int flips = 1 + static_cast<int>(rng() % 8);
      for (int f = 0; f < flips; ++f) bytes[rng() % bytes.size()] = static_cast<uint8_t>(rng());
      if (rng() % 4 == 0) bytes.resize(rng() % bytes.size());
    }
    rill::net::DecodeLimits limits;
    limits.max_frame_bytes = 1 << 16;
    limits.max_records = 1000;
    auto env = rill::net::decode_envelope(rill::net::Frame(std::move(bytes)), g.graph(), limits);
    if (env.is_ok()) {
      ++decoded;
    } else {
      ++refused;
      CHECK(!env.status().message().empty());
    }
  }
  CHECK(refused > 3000);  // nearly all random frames, many mutated ones
  INFO("decoded " << decoded);
}

TEST_CASE(
    "a stream's cut crosses from the worker that receives it unchanged; bad asks are refused") {
  WordCountGraph g;
  rill::net::SourceAsk ask{
      rill::net::SourceAsk::Kind::replay, 0, Millis{4000}, "blocks 3-5", false, 0};
  auto env = rill::net::decode_envelope(rill::net::encode_source(7, 8, ask), g.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(env->kind == rill::net::EnvelopeKind::source);
  CHECK(env->session == 7);
  CHECK(env->id == 8);
  CHECK(env->source.kind == rill::net::SourceAsk::Kind::replay);
  CHECK(env->source.stream == 0);
  CHECK(env->source.time == Millis{4000});
  CHECK(env->source.recorded == "blocks 3-5");

  rill::net::SourceAnswer cut;
  cut.stream = 0;
  cut.time = Millis{4000};
  cut.records = 3;
  cut.parts = {nullptr, rill::make_part(std::vector<std::string>{"a b", "c"})};
  cut.replay = "blocks 6-7";
  env = rill::net::decode_envelope(rill::net::encode_sourced(g.graph(), 7, 9, cut), g.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(env->kind == rill::net::EnvelopeKind::sourced);
  CHECK(env->sourced.records == 3);
  REQUIRE(env->sourced.parts.size() == 2);
  CHECK(env->sourced.parts[0] == nullptr);
  CHECK(records<std::string>(env->sourced.parts[1]) == std::vector<std::string>{"a b", "c"});
  CHECK(env->sourced.replay == "blocks 6-7");
  CHECK(!env->sourced.error);
  CHECK(!env->sourced.receiver);
  cut.error = "stream 'lines': block 6 is missing";
  cut.receiver = rill::ReceiverInfo{
      "ignored: the stream names it",      true, 3, "socket closed", Millis{3500},
      "ignored: the link knows the sender"};
  cut.incarnation = 0xfeedULL;
  env = rill::net::decode_envelope(rill::net::encode_sourced(g.graph(), 7, 9, cut), g.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(env->sourced.error == cut.error);
  REQUIRE(env->sourced.receiver);
  CHECK(env->sourced.receiver->name == g.graph().node(0).name);
  CHECK(env->sourced.receiver->active);
  CHECK(env->sourced.receiver->starts == 3);
  CHECK(env->sourced.receiver->last_error == "socket closed");
  CHECK(env->sourced.receiver->last_error_time == Millis{3500});
  CHECK(env->sourced.receiver->node.empty());
  CHECK(env->sourced.incarnation == 0xfeedULL);

  // Only input streams have receivers; a stream the job lacks is named.
  ask.stream = 3;
  env = rill::net::decode_envelope(rill::net::encode_source(7, 8, ask), g.graph(), {});
  REQUIRE(!env.is_ok());
  CHECK_THAT(env.status().message(), Catch::Contains("is not an input stream"));
  ask.stream = 99;
  env = rill::net::decode_envelope(rill::net::encode_source(7, 8, ask), g.graph(), {});
  REQUIRE(!env.is_ok());
  CHECK_THAT(env.status().message(), Catch::Contains("no stream 99"));
}

TEST_CASE("a part only Sinks read stays on its worker: the answer says where, the driver asks") {
  CountsOutGraph sink(true), print(false);
  REQUIRE(sink.graph().written_where_computed(4));
  rill::TaskReply r;
  r.stage = 1;
  r.partition = 1;
  r.time = Millis{7000};
  r.result.exported.emplace_back(4, rill::make_part(std::vector<KV>{{"x", 1}}));
  const rill::net::Frame held = rill::net::encode_task_done(sink.graph(), 42, 9, r);
  auto done = rill::net::decode_envelope(held, sink.graph(), {}, "worker-2");
  REQUIRE(done.is_ok());
  REQUIRE(done->done.result.exported.size() == 1);
  const rill::net::BucketRef& ref = rill::net::bucket_ref_of(done->done.result.exported[0].second);
  CHECK(ref.holder == "worker-2");
  CHECK(ref.stage == 1);
  CHECK(ref.partition == 1);
  // The records stayed behind: the frame is smaller than the one that carries them.
  const rill::net::Frame whole = rill::net::encode_task_done(print.graph(), 42, 9, r);
  CHECK(held.size() < whole.size());
  // Each side refuses the other's form: the jobs differ in who reads the stream.
  auto refused = rill::net::decode_envelope(held, print.graph(), {}, "worker-2");
  REQUIRE(!refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("held by the worker"));
  refused = rill::net::decode_envelope(whole, sink.graph(), {}, "worker-2");
  REQUIRE(!refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("sent whole"));
  r.result.exported[0].second = nullptr;  // an empty part stays empty
  done = rill::net::decode_envelope(rill::net::encode_task_done(sink.graph(), 42, 9, r),
                                    sink.graph(), {}, "worker-2");
  REQUIRE(done.is_ok());
  CHECK(done->done.result.exported[0].second == nullptr);

  rill::net::OutputAsk ask{0, Millis{7000}, 1, uint64_t{77}};
  auto env = rill::net::decode_envelope(rill::net::encode_output(5, 6, ask), sink.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(env->kind == rill::net::EnvelopeKind::output);
  CHECK(env->session == 5);
  CHECK(env->id == 6);
  CHECK(env->output == ask);
  ask.logged.reset();
  env = rill::net::decode_envelope(rill::net::encode_output(5, 6, ask), sink.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(env->output == ask);
  rill::net::OutputDone answer{0, Millis{7000}, 1, true, 1234, std::nullopt};
  env = rill::net::decode_envelope(rill::net::encode_output_done(5, 6, answer), sink.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(env->kind == rill::net::EnvelopeKind::output_done);
  CHECK(env->output_done == answer);
  answer = {0, Millis{7000}, 1, false, 0, "node worker-2 does not hold partition 1", true};
  env = rill::net::decode_envelope(rill::net::encode_output_done(5, 6, answer), sink.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(env->output_done == answer);

  // Only an output whose stream stays on the workers is written there, and only its partitions.
  refused = rill::net::decode_envelope(rill::net::encode_output(5, 6, ask), print.graph(), {});
  REQUIRE(!refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("is not written where its stream"));
  ask.partition = 2;
  refused = rill::net::decode_envelope(rill::net::encode_output(5, 6, ask), sink.graph(), {});
  REQUIRE(!refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("no partition 2"));
  ask = {3, Millis{7000}, 0, std::nullopt};
  refused = rill::net::decode_envelope(rill::net::encode_output(5, 6, ask), sink.graph(), {});
  REQUIRE(!refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("no output 3"));
}

TEST_CASE("the handshake refuses every mismatch with its reason and accepts the right peer") {
  rill::net::NodeIdentity driver{"prod", "driver", 11, 22, "s3cret", {"driver", "worker-1"}};
  rill::net::NodeIdentity worker = driver;
  worker.node = "worker-1";
  const std::string driver_nonce = rill::net::make_nonce();
  const std::string worker_nonce = rill::net::make_nonce();
  CHECK(driver_nonce.size() == 32);
  CHECK(driver_nonce != worker_nonce);

  auto hello = rill::net::make_step(driver, "worker-1", 5, driver_nonce, "");
  CHECK(rill::net::refusal_reason(worker, hello, "").empty());
  auto welcome = rill::net::make_step(worker, "driver", 5, worker_nonce, driver_nonce);
  CHECK(rill::net::refusal_reason(driver, welcome, driver_nonce).empty());

  auto reason = [&](rill::net::HelloStep step) {
    return rill::net::refusal_reason(worker, step, "");
  };
  auto changed = hello;
  changed.cluster = "staging";
  CHECK(reason(changed) == "node 'driver' belongs to cluster 'staging', this is cluster 'prod'");
  changed = hello;
  changed.from = "intruder";
  CHECK(reason(changed) ==
        "unknown node 'intruder': the cluster config names only driver, worker-1");
  changed = hello;
  changed.to = "worker-2";
  CHECK(reason(changed).find("meant to reach node 'worker-2'") != std::string::npos);
  changed = hello;
  changed.config_fingerprint = 23;
  CHECK(reason(changed).find("another cluster config") != std::string::npos);
  changed = hello;
  changed.channel = "gossip";
  CHECK(reason(changed) == "node 'driver' asked for an unknown channel 'gossip'");
  changed = hello;
  changed.dag_fingerprint = 12;
  CHECK(reason(changed).find(
            "runs another job (DAG fingerprint 000000000000000c, here 000000000000000b)") !=
        std::string::npos);

  rill::net::NodeIdentity impostor = worker;
  impostor.secret = "guess";
  auto forged = rill::net::make_step(impostor, "driver", 5, worker_nonce, driver_nonce);
  CHECK(rill::net::refusal_reason(driver, forged, driver_nonce) ==
        "node 'worker-1' could not prove the cluster secret (wrong secret)");
  // A proof is bound to its prover: the driver's own proof does not pass as the worker's.
  auto replayed = welcome;
  replayed.proof = rill::net::prove("s3cret", "driver", driver_nonce);
  CHECK(!rill::net::refusal_reason(driver, replayed, driver_nonce).empty());
  // And to the nonce: a proof over another nonce fails.
  CHECK(!rill::net::refusal_reason(driver, welcome, rill::net::make_nonce()).empty());
  CHECK(rill::net::refusal_reason(driver, welcome, driver_nonce).find("s3cret") ==
        std::string::npos);

  auto frame = rill::net::encode_hello(rill::net::EnvelopeKind::welcome, welcome);
  rill::StreamingContext ssc{1000ms};
  auto env = rill::net::decode_envelope(frame, ssc.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(env->kind == rill::net::EnvelopeKind::welcome);
  CHECK(env->hello == welcome);
}

TEST_CASE("store commits and copies cross to the replica peer unchanged; bad ops are refused") {
  WordCountGraph g;
  rill::net::StoreCopy commit{0xfeedULL, 7, false, true, {}};
  commit.ops.push_back({0, 2, "state key", std::string("sealed\0value", 12)});
  commit.ops.push_back({2, 0, "meta key", ""});
  commit.ops.push_back({3, 1, "", ""});
  auto env = rill::net::decode_envelope(rill::net::encode_replicate(4, 9, commit), g.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(env->kind == rill::net::EnvelopeKind::replicate);
  CHECK(env->session == 4);
  CHECK(env->id == 9);
  REQUIRE(env->replica.commit);
  const auto& got = *env->replica.commit;
  CHECK(got.incarnation == 0xfeedULL);
  CHECK(got.seq == 7);
  CHECK_FALSE(got.reset);
  CHECK(got.more);
  REQUIRE(got.ops.size() == 3);
  for (size_t i = 0; i < 3; ++i) {
    CHECK(got.ops[i].kind == commit.ops[i].kind);
    CHECK(got.ops[i].db == commit.ops[i].db);
    CHECK(got.ops[i].key == commit.ops[i].key);
    CHECK(got.ops[i].value == commit.ops[i].value);
  }

  rill::net::ReplicaReply ack;
  ack.seq = 7;
  ack.outcome = rill::net::ReplicaReply::Outcome::failed;
  ack.error = "replica store: MDB_MAP_FULL";
  env = rill::net::decode_envelope(rill::net::encode_replicated(4, 9, ack), g.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(env->kind == rill::net::EnvelopeKind::replicated);
  CHECK(env->replica_reply.seq == 7);
  CHECK(env->replica_reply.outcome == rill::net::ReplicaReply::Outcome::failed);
  CHECK(env->replica_reply.error == ack.error);

  env = rill::net::decode_envelope(rill::net::encode_restore(5, 1), g.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(env->kind == rill::net::EnvelopeKind::restore);
  CHECK(env->replica.restore);

  rill::net::ReplicaReply copy;
  copy.found = true;
  copy.contents = commit;
  copy.contents.reset = true;
  env = rill::net::decode_envelope(rill::net::encode_restored(5, 1, copy), g.graph(), {});
  REQUIRE(env.is_ok());
  CHECK(env->kind == rill::net::EnvelopeKind::restored);
  CHECK(env->replica_reply.found);
  CHECK(env->replica_reply.contents.reset);
  CHECK(env->replica_reply.contents.ops.size() == 3);
  rill::net::ReplicaReply none;
  env = rill::net::decode_envelope(rill::net::encode_restored(5, 2, none), g.graph(), {});
  REQUIRE(env.is_ok());
  CHECK_FALSE(env->replica_reply.found);

  // An op of a kind or on a database the store does not have is refused, saying which.
  rill::net::StoreCopy bad = commit;
  bad.ops[1].kind = 9;
  auto refused = rill::net::decode_envelope(rill::net::encode_replicate(4, 10, bad), g.graph(), {});
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("store op of unknown kind 9"));
  bad = commit;
  bad.ops[0].db = 4;
  refused = rill::net::decode_envelope(rill::net::encode_replicate(4, 11, bad), g.graph(), {});
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("store op on unknown database 4"));
  ack.outcome = static_cast<rill::net::ReplicaReply::Outcome>(7);
  refused = rill::net::decode_envelope(rill::net::encode_replicated(4, 12, ack), g.graph(), {});
  REQUIRE_FALSE(refused.is_ok());
  CHECK_THAT(refused.status().message(), Catch::Contains("unknown outcome 7"));
}
