// A worker's endpoint in one process, spoken to by test actors that stand in for the driver's
// links: tasks of a session the driver replaced are refused, as are tasks for partitions placed
// on another worker and replication frames over a task session; a task naming a shuffle holder
// outside the cluster fails with a lost input, naming it, instead of being looked up.
#include <catch2/catch.hpp>

#include <caf/all.hpp>

#include "actors/cluster_actors.hpp"
#include "actors/type_ids.hpp"
#include "dataflow/queue_source.hpp"
#include "dataflow/streaming_context.hpp"
#include "net/handshake.hpp"
#include "net/task_frames.hpp"
#include "tests/cluster/word_count_graph.hpp"
#include "tests/support/log_lines.hpp"
#include "tests/support/memory_sink.hpp"

using namespace std::chrono_literals;
namespace actors = rill::actors;
namespace net = rill::net;
using rill::Millis;

namespace {

const char* kConfig = R"(name = "unit"
batch_interval = "1s"
secret = "endpoint-secret"
replication = 2
store_dir = "/nonexistent/rill-endpoint-test"
[[node]]
name = "driver"
host = "127.0.0.1"
port = 7100
role = "driver"
[[node]]
name = "worker-1"
host = "127.0.0.1"
port = 7101
role = "worker"
partitions = [0, 1]
[[node]]
name = "worker-2"
host = "127.0.0.1"
port = 7102
role = "worker"
partitions = [2, 3]
)";

// Worker-1's job: word count on 4 partitions (stage 1 reduces an exchange from stage 0),
// printed, or with `sink` written to it where computed.
struct Worker {
  rill::StreamingContext ssc{1000ms, {.partitions = 4}};
  actors::Job job;
  net::NodeIdentity driver;
  caf::actor_system_config config;
  std::optional<caf::actor_system> system;
  caf::actor endpoint;
  int reduce_stage = -1;
  int reduce_node = -1;

  explicit Worker(std::shared_ptr<rill::Sink> sink = nullptr) {
    rill::test::define_word_count(ssc, std::move(sink));
    job.graph = &ssc.graph();
    job.plan = std::make_shared<const rill::Plan>(ssc.graph());
    auto cluster = std::make_shared<net::ClusterConfig>(
        net::parse_cluster_config(kConfig, "/nonexistent/cluster.toml"));
    job.node = cluster->find_node("worker-1");
    job.identity = {cluster->name, "worker-1", 11, cluster->fingerprint, cluster->secret, {}};
    for (const auto& n : cluster->nodes) job.identity.known_nodes.push_back(n.name);
    driver = job.identity;
    driver.node = "driver";
    job.cluster = std::move(cluster);
    for (const rill::Stage& s : job.plan->stages())
      for (int n : s.nodes)
        if (ssc.graph().node(n).kind == "reduce_by_key") {
          reduce_stage = s.id;
          reduce_node = n;
        }
    REQUIRE(reduce_stage >= 0);
    system.emplace(config);
    endpoint = actors::spawn_node_endpoint(*system, job);
  }
  ~Worker() {
    caf::anon_send_exit(endpoint, caf::exit_reason::user_shutdown);
    endpoint = nullptr;
    system->await_all_actors_done();
  }

  // Sends `frame` as `self` and returns the endpoint's answer.
  net::Envelope ask(caf::scoped_actor& self, net::Frame frame) {
    self->send(endpoint, actors::frame_atom::value, std::move(frame));
    net::Envelope out;
    self->receive(
        [&](actors::frame_atom, const net::Frame& answer) {
          auto env = net::decode_envelope(answer, *job.graph, {});
          REQUIRE(env.is_ok());
          out = std::move(*env);
        },
        caf::after(std::chrono::seconds(20)) >> [] { FAIL("the endpoint did not answer"); });
    return out;
  }

  // The handshake, as the driver's link for `channel` opening `session`.
  void open(caf::scoped_actor& self, uint64_t session, const std::string& channel) {
    std::string nonce = net::make_nonce();
    net::Envelope welcome = ask(
        self, net::encode_hello(net::EnvelopeKind::hello,
                                net::make_step(driver, "worker-1", session, nonce, "", channel)));
    REQUIRE(welcome.kind == net::EnvelopeKind::welcome);
    REQUIRE(net::refusal_reason(driver, welcome.hello, nonce).empty());
    self->send(endpoint, actors::frame_atom::value,
               net::encode_hello(net::EnvelopeKind::proof,
                                 net::make_step(driver, "worker-1", session, nonce,
                                                welcome.hello.nonce, channel)));
  }

  // Two task sessions, the second replacing the first (the driver lost the node and came back).
  void open_replaced(caf::scoped_actor& old_link, caf::scoped_actor& new_link,
                     rill::test::LogLines& log) {
    open(old_link, 5, "tasks");
    REQUIRE(log.wait_for("tasks session 5 with node driver open"));
    open(new_link, 6, "tasks");
    REQUIRE(log.wait_for("tasks session 6 with node driver open"));
  }

  rill::TaskRequest reduce_task(int partition, const std::string& holder) {
    rill::TaskRequest t{reduce_stage, partition,    Millis{5000}, Millis{1000},
                        {},           std::nullopt, std::nullopt};
    std::vector<rill::AnyPart> buckets(4);
    buckets[0] = net::bucket_ref_part({holder, 0, 0});
    t.inputs.push_back({reduce_node, 0, nullptr, buckets});
    return t;
  }
};

}  // namespace

TEST_CASE("the endpoint refuses stale sessions, misplaced partitions and foreign holders") {
  rill::test::LogLines log;
  Worker w;
  caf::scoped_actor old_link{*w.system};
  caf::scoped_actor new_link{*w.system};
  w.open_replaced(old_link, new_link, log);  // the old session's tasks are stale
  old_link->send(w.endpoint, actors::frame_atom::value,
                 net::encode_task(*w.job.graph, 5, 1, w.reduce_task(0, "worker-2")));
  CHECK(log.wait_for("refused stage " + std::to_string(w.reduce_stage) +
                     " partition 0 at 5000 ms: session 5 is not the driver's open one"));

  // Partition 2 is worker-2's: refused here, not retried.
  new_link->send(w.endpoint, actors::frame_atom::value,
                 net::encode_task(*w.job.graph, 6, 2, w.reduce_task(2, "worker-2")));
  CHECK(log.wait_for("refused a task for stage " + std::to_string(w.reduce_stage) +
                     " partition 2: not in this job, or not placed here"));

  // Store commits do not travel over a task session.
  net::StoreCopy commit{1, 1, true, false, {}};
  new_link->send(w.endpoint, actors::frame_atom::value, net::encode_replicate(6, 3, commit));
  CHECK(log.wait_for("refused a replicate frame: not from the open replica session"));

  // Once the store is open (ready), a task runs; its shuffle holder is not a worker.
  caf::anon_send(w.endpoint, actors::ready_atom::value);
  net::Envelope done =
      w.ask(new_link, net::encode_task(*w.job.graph, 6, 4, w.reduce_task(0, "intruder")));
  REQUIRE(done.kind == net::EnvelopeKind::task_done);
  CHECK(done.session == 6);
  CHECK(done.id == 4);
  CHECK_FALSE(done.done.ok);
  CHECK(done.done.lost_input);
  CHECK_THAT(done.done.error.cause, Catch::EndsWith("on node intruder at 5000 ms: no such worker"));
  CHECK(log.contains("a task names 'intruder' as the holder of"));
  // The stale session's task never ran: the only answer went to the new session.
  CHECK(old_link->mailbox().empty());
}

TEST_CASE("the endpoint writes Sink parts only for the driver's session, and only those it holds") {
  rill::test::LogLines log;
  using KV = std::pair<std::string, int64_t>;
  Worker w(
      std::make_shared<rill::test::MemorySink<KV>>(std::make_shared<rill::test::CommittedRows>()));
  caf::scoped_actor old_link{*w.system};
  caf::scoped_actor new_link{*w.system};
  w.open_replaced(old_link, new_link, log);
  const net::OutputAsk ask{0, Millis{5000}, 0, std::nullopt};
  old_link->send(w.endpoint, actors::frame_atom::value, net::encode_output(5, 1, ask));
  CHECK(
      log.wait_for("refused to write output 0 partition 0 at 5000 ms: not from the driver's "
                   "open session, or not placed here"));
  net::OutputAsk elsewhere = ask;
  elsewhere.partition = 3;  // worker-2's
  new_link->send(w.endpoint, actors::frame_atom::value, net::encode_output(6, 2, elsewhere));
  CHECK(log.wait_for("refused to write output 0 partition 3 at 5000 ms"));
  // No task of that batch ran here (as after a restart): the part is not held, and the answer
  // says so, for the driver to run the batch again.
  net::Envelope done = w.ask(new_link, net::encode_output(6, 3, ask));
  REQUIRE(done.kind == net::EnvelopeKind::output_done);
  CHECK(done.session == 6);
  CHECK(done.id == 3);
  CHECK_FALSE(done.output_done.found);
  CHECK_THAT(*done.output_done.error,
             Catch::Contains("node worker-1 does not hold partition 0 of stream"));
  CHECK(old_link->mailbox().empty());
}
