// The driver's stand-in for a stream whose receiver and batch builder run on a worker: each
// question goes to that worker over its link, which holds it while the worker is down and
// asks again in the next session. The worker's builder answers a repeated cut the same way, so
// a question asked twice is harmless.
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
  auto cut = [self, ask](net::SourceAsk q) {
    auto promise = self->make_response_promise<SourceBatch>();
    ask(std::move(q)).then([promise](net::SourceAnswer& a) mutable { promise.deliver(batch_of(a)); },
                           [promise](caf::error& e) mutable { promise.deliver(std::move(e)); });
    return promise;
  };
  using Kind = net::SourceAsk::Kind;
  return {
      [stream, cut](take_atom, int64_t t, const std::string& after) -> caf::result<SourceBatch> {
        return cut(net::SourceAsk{Kind::take, stream, Millis{t}, after, false, 0});
      },
      [stream, cut](replay_atom, int64_t t, const std::string& recorded) -> caf::result<SourceBatch> {
        return cut(net::SourceAsk{Kind::replay, stream, Millis{t}, recorded, false, 0});
      },
      [self, stream, ask](pending_atom) -> caf::result<bool> {
        auto promise = self->make_response_promise<bool>();
        ask(net::SourceAsk{Kind::pending, stream, Millis{0}, {}, false, 0})
            .then([promise](net::SourceAnswer& a) mutable { promise.deliver(a.pending); },
                  [promise](caf::error& e) mutable { promise.deliver(std::move(e)); });
        return promise;
      },
      [self, stream, ask](stop_atom, bool graceful) -> caf::result<bool> {
        auto promise = self->make_response_promise<bool>();
        ask(net::SourceAsk{Kind::stop, stream, Millis{0}, {}, graceful, 0})
            .then([promise](net::SourceAnswer&) mutable { promise.deliver(true); },
                  [promise](caf::error& e) mutable { promise.deliver(std::move(e)); });
        return promise;
      },
      [stream, ask](trim_atom, uint64_t below) {
        net::SourceAsk q{Kind::trim_wal, stream, Millis{0}, {}, false, 0, below};
        ask(std::move(q)).then([](net::SourceAnswer&) {}, [stream](caf::error& e) {
          spdlog::warn("retention: the WAL of stream {} was not trimmed: {}", stream, to_string(e));
        });
      },
      [stream, ask](rate_atom, double records_per_s) {
        ask(net::SourceAsk{Kind::set_rate, stream, Millis{0}, {}, false, records_per_s})
            .then([](net::SourceAnswer&) {}, [stream](caf::error& e) {
              spdlog::warn("backpressure: the rate of stream {} was not set: {}", stream, to_string(e));
            });
      },
  };
}

}  // namespace

caf::actor spawn_remote_source(caf::local_actor& parent, Job& job, int source_index) {
  return parent.spawn(remote_source, &job, source_index);
}

}  // namespace rill::actors
