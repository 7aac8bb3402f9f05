// The driver's link to a worker, against a stand-in worker in a second actor system of this
// process: after the worker refuses the link, it comes back in a new session and sends its
// waiting task again; a result of the older session is refused and logged, and only the new
// session's answers the task.
#include <catch2/catch.hpp>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/cluster_actors.hpp"
#include "actors/cluster_runtime.hpp"
#include "actors/type_ids.hpp"
#include "dataflow/queue_source.hpp"
#include "dataflow/streaming_context.hpp"
#include "net/handshake.hpp"
#include "net/task_frames.hpp"
#include "tests/support/log_lines.hpp"

using namespace std::chrono_literals;
namespace actors = rill::actors;
namespace net = rill::net;
using rill::Millis;

namespace {

std::string config_text(int worker_port) {
  return "name = \"unit\"\nbatch_interval = \"1s\"\nsecret = \"link-secret\"\n"
         "[heartbeat]\ninterval = \"200ms\"\ntimeout = \"5s\"\n"
         "[[node]]\nname = \"driver\"\nhost = \"127.0.0.1\"\nport = 7200\nrole = \"driver\"\n"
         "[[node]]\nname = \"worker-1\"\nhost = \"127.0.0.1\"\nport = " +
         std::to_string(worker_port) + "\nrole = \"worker\"\npartitions = 2\n";
}

// The stand-in worker: hands every frame to the test and sends what the test tells it to the
// link that last spoke.
caf::behavior stand_in(caf::event_based_actor* self, caf::actor test) {
  auto link = std::make_shared<caf::actor>();
  return {
      [self, test, link](actors::frame_atom, const net::Frame& frame) {
        *link = caf::actor_cast<caf::actor>(self->current_sender());
        self->send(test, actors::frame_atom::value, frame);
      },
      [self, link](actors::link_atom, const net::Frame& frame) {
        self->send(*link, actors::frame_atom::value, frame);  // the link checks the sender
      },
  };
}

}  // namespace

TEST_CASE("the driver's link refuses a result of an older session and resends in the new one") {
  rill::test::LogLines log;
  rill::StreamingContext ssc{1000ms, {.partitions = 2}};
  auto q = std::make_shared<rill::BatchQueue<std::string>>();
  ssc.queue_stream(q).map([](const std::string& l) { return l + "!"; }).print();
  const rill::JobGraph& graph = ssc.graph();

  // The worker's side: a system of its own, the stand-in published on a free port.
  auto placeholder = net::parse_cluster_config(config_text(7201), "/nonexistent/cluster.toml");
  caf::actor_system_config worker_config;
  actors::configure_middleman(worker_config, placeholder);
  caf::actor_system worker_system{worker_config};
  caf::scoped_actor test{worker_system};
  caf::actor worker = worker_system.spawn(stand_in, caf::actor{test});
  auto port = worker_system.middleman().publish(worker, 0, "127.0.0.1", true);
  REQUIRE(port);

  // The driver's side.
  auto cluster = std::make_shared<net::ClusterConfig>(
      net::parse_cluster_config(config_text(*port), "/nonexistent/cluster.toml"));
  actors::Job job;
  job.graph = &graph;
  job.plan = std::make_shared<const rill::Plan>(graph);
  job.node = cluster->find_node("driver");
  job.identity = {cluster->name,        "driver",        21,
                  cluster->fingerprint, cluster->secret, {"driver", "worker-1"}};
  net::NodeIdentity worker_id = job.identity;
  worker_id.node = "worker-1";
  job.cluster = cluster;
  caf::actor_system_config driver_config;
  actors::configure_middleman(driver_config, *cluster);
  caf::actor_system driver_system{driver_config};
  caf::scoped_actor driver{driver_system};
  caf::actor link =
      actors::spawn_node_link(driver_system, job, *cluster->find_node("worker-1"), "tasks");

  auto next_frame = [&](net::EnvelopeKind kind) {
    net::Envelope out;
    test->receive(
        [&](actors::frame_atom, const net::Frame& frame) {
          auto env = net::decode_envelope(frame, graph, {});
          REQUIRE(env.is_ok());
          out = std::move(*env);
        },
        caf::after(std::chrono::seconds(30)) >> [] { FAIL("the link sent nothing"); });
    REQUIRE(out.kind == kind);
    return out;
  };
  // Answers the link's hello: its session is open once the proof comes.
  auto welcome = [&] {
    net::Envelope hello = next_frame(net::EnvelopeKind::hello);
    CHECK(hello.hello.channel == "tasks");
    std::string nonce = net::make_nonce();
    test->send(worker, actors::link_atom::value,
               net::encode_hello(net::EnvelopeKind::welcome,
                                 net::make_step(worker_id, "driver", hello.hello.session, nonce,
                                                hello.hello.nonce, "tasks")));
    net::Envelope proof = next_frame(net::EnvelopeKind::proof);
    CHECK(net::refusal_reason(worker_id, proof.hello, nonce).empty());
    return hello.hello.session;
  };

  const uint64_t first = welcome();
  rill::TaskRequest task{0, 1, Millis{3000}, Millis{1000}, {}, std::nullopt, std::nullopt};
  task.inputs.push_back({0, -1, rill::make_part(std::vector<std::string>{"a"})});
  auto answer = driver->request(link, caf::infinite, actors::run_atom::value, task);
  net::Envelope sent = next_frame(net::EnvelopeKind::task);
  CHECK(sent.session == first);

  // The worker refuses the link (as a restarted one would refuse a stale link); the link
  // comes back in a new session and sends the waiting task again.
  test->send(worker, actors::link_atom::value, net::encode_refusal("test: start over"));
  const uint64_t second = welcome();
  CHECK(second > first);
  net::Envelope again = next_frame(net::EnvelopeKind::task);
  CHECK(again.session == second);
  CHECK(again.id == sent.id);

  // A result of the first session arrives late: refused, and the task still waits.
  rill::TaskReply reply{0, 1, Millis{3000}, true, {}, {}};
  test->send(worker, actors::link_atom::value, net::encode_task_done(graph, first, sent.id, reply));
  CHECK(log.wait_for("refused the result of stage 0 partition 1 at 3000 ms: session " +
                     std::to_string(first) + " is over (now " + std::to_string(second) + ")"));
  // The new session's result answers it.
  test->send(worker, actors::link_atom::value,
             net::encode_task_done(graph, second, again.id, reply));
  bool answered = false;
  answer.receive([&](rill::TaskReply& r) { answered = r.ok && r.time == Millis{3000}; },
                 [](caf::error& e) { FAIL("the task failed: " << to_string(e)); });
  CHECK(answered);
  caf::anon_send_exit(link, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(worker, caf::exit_reason::user_shutdown);
}
