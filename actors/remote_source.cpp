// The driver's stand-in for a stream whose receiver and batch builder run on a worker: each
// question goes to that worker over its link, which holds it while the worker is down and
// asks again in the next session. The worker's builder answers a repeated cut the same way, so
// a question asked twice is harmless.
#include <utility>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/cluster_actors.hpp"
#include "actors/cluster_runtime.hpp"
#include "actors/type_ids.hpp"

namespace rill::actors {
namespace {

SourceBatch batch_of(net::SourceAnswer& a) {
  SourceBatch b{a.stream, a.time, static_cast<uint64_t>(a.time.count()), a.records, std::move(a.parts),
                std::move(a.replay), std::move(a.error)};
  return b;
}

caf::behavior remote_source(caf::event_based_actor* self, Job* job, int index) {
  const int stream = job->sources[static_cast<size_t>(index)].first;
  const net::NodeConfig* host = job->source_hosts[static_cast<size_t>(index)];
  // The link restarts with its supervisor: look it up on every question.
  auto ask = [self, job, host](net::SourceAsk q) {
    return self->request(job->directory.get("link", node_index(*job->cluster, *host)), caf::infinite,
                         source_atom::value, std::move(q));
  };
  // Each answer says how the receiver fares on its worker: the driver's status shows it.
  auto mirror = [job, host](const net::SourceAnswer& a) {
    if (!a.receiver) return;
    ReceiverInfo info = *a.receiver;
    info.node = host->name;
    job->status->mirror_receiver(info, a.incarnation);
  };
  // Answers the asker with result(the worker's answer), or with the link's error.
  auto forward = [self, ask, mirror](net::SourceAsk q, auto result) {
    auto promise = self->make_response_promise<decltype(result(std::declval<net::SourceAnswer&>()))>();
    ask(std::move(q)).then(
        [promise, result, mirror](net::SourceAnswer& a) mutable {
          mirror(a);
          promise.deliver(result(a));
        },
        [promise](caf::error& e) mutable { promise.deliver(std::move(e)); });
    return promise;
  };
  // No one waits: a failure is logged.
  auto tell = [stream, ask, mirror](net::SourceAsk q, const char* what) {
    ask(std::move(q)).then([mirror](net::SourceAnswer& a) { mirror(a); }, [stream, what](caf::error& e) {
      spdlog::warn("stream {}: {} on its worker failed: {}", stream, what, to_string(e));
    });
  };
  using Kind = net::SourceAsk::Kind;
  return {
      [stream, forward](take_atom, int64_t t, const std::string& after) -> caf::result<SourceBatch> {
        return forward(net::SourceAsk{Kind::take, stream, Millis{t}, after, false, 0}, batch_of);
      },
      [stream, forward](replay_atom, int64_t t, const std::string& recorded) -> caf::result<SourceBatch> {
        return forward(net::SourceAsk{Kind::replay, stream, Millis{t}, recorded, false, 0}, batch_of);
      },
      [stream, forward](pending_atom) -> caf::result<bool> {
        return forward(net::SourceAsk{Kind::pending, stream, Millis{0}, {}, false, 0},
                       [](net::SourceAnswer& a) { return a.pending; });
      },
      [stream, forward](stop_atom, bool graceful) -> caf::result<bool> {
        return forward(net::SourceAsk{Kind::stop, stream, Millis{0}, {}, graceful, 0},
                       [](net::SourceAnswer&) { return true; });
      },
      [stream, tell](trim_atom, uint64_t below) {
        tell(net::SourceAsk{Kind::trim_wal, stream, Millis{0}, {}, false, 0, below}, "retention's WAL trim");
      },
      [stream, tell](rate_atom, double records_per_s) {
        tell(net::SourceAsk{Kind::set_rate, stream, Millis{0}, {}, false, records_per_s}, "the backpressure rate");
      },
  };
}

}  // namespace

caf::actor spawn_remote_source(caf::local_actor& parent, Job& job, int source_index) {
  return parent.spawn(remote_source, &job, source_index);
}

}  // namespace rill::actors
