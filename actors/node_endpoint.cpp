// A worker's endpoint. Only the driver that completed the handshake last may run tasks here;
// tasks and results of any other session are refused, so a driver declared dead (or a link
// that timed out while this node was paused) cannot have stale work run or counted.
#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/cluster_actors.hpp"
#include "actors/type_ids.hpp"
#include "net/task_frames.hpp"

namespace rill::actors {
namespace {

struct EndpointState {
  std::string nonce;       // of the handshake in progress
  net::HelloStep opening;  // its hello
  caf::actor_addr greeter;
  caf::actor driver;  // the open session's link
  uint64_t session = 0;
  static inline const char* name = "node-endpoint";
};

using Self = caf::stateful_actor<EndpointState>;

void answer(Self* self, net::Frame frame) {
  if (auto to = caf::actor_cast<caf::actor>(self->current_sender()))
    self->send(to, frame_atom::value, std::move(frame));
}

void refuse(Self* self, Job* job, const std::string& reason) {
  spdlog::error("node {}: refused node '{}': {}", job->node->name, self->state.opening.from,
                reason);
  answer(self, net::encode_refusal(reason));
}

// Runs the task on this node's stage actor; a stage that died mid-task is restarted by its
// supervisor, and the task goes to the new one.
void run_task(Self* self, Job* job, uint64_t session, uint64_t id, TaskRequest task) {
  caf::actor stage = job->directory.get("stage", stage_index(task.stage, task.partition));
  if (!stage) {
    self->delayed_send(self, std::chrono::milliseconds(20), run_atom::value, session, id,
                       std::move(task));
    return;
  }
  self->request(stage, caf::infinite, run_atom::value, task)
      .then(
          [self, job, session, id](TaskReply& reply) {
            auto& st = self->state;
            if (session != st.session || !st.driver) {
              spdlog::warn(
                  "node {}: result of stage {} partition {} at {} dropped: its session {} is over",
                  job->node->name, reply.stage, reply.partition, to_string(reply.time), session);
              return;
            }
            self->send(st.driver, frame_atom::value,
                       net::encode_task_done(*job->graph, session, id, reply));
          },
          [self, session, id, task](caf::error&) mutable {
            self->delayed_send(self, std::chrono::milliseconds(20), run_atom::value, session, id,
                               std::move(task));
          });
}

void on_frame(Self* self, Job* job, const net::Frame& frame) {
  auto& st = self->state;
  auto env = net::decode_envelope(frame, *job->graph, net::DecodeLimits{});
  if (!env) {
    spdlog::error("node {}: malformed frame refused: {}", job->node->name,
                  env.status().to_string());
    answer(self, net::encode_refusal("malformed frame: " + env.status().message()));
    return;
  }
  switch (env->kind) {
    case net::EnvelopeKind::hello: {
      st.opening = env->hello;
      if (auto reason = net::refusal_reason(job->identity, env->hello, ""); !reason.empty())
        return refuse(self, job, reason);
      st.nonce = net::make_nonce();
      st.greeter = self->current_sender() ? self->current_sender()->address() : caf::actor_addr{};
      answer(self,
             net::encode_hello(net::EnvelopeKind::welcome,
                               net::make_step(job->identity, env->hello.from, env->hello.session,
                                              st.nonce, env->hello.nonce)));
      return;
    }
    case net::EnvelopeKind::proof: {
      if (!self->current_sender() || self->current_sender()->address() != st.greeter ||
          st.nonce.empty())
        return refuse(self, job, "a proof without a hello");
      std::string reason = net::refusal_reason(job->identity, env->hello, st.nonce);
      if (reason.empty() && env->hello.session != st.opening.session)
        reason = "the proof names another session";
      if (!reason.empty()) return refuse(self, job, reason);
      if (st.driver) self->demonitor(st.driver);
      st.driver = caf::actor_cast<caf::actor>(self->current_sender());
      self->monitor(st.driver);
      st.session = env->hello.session;
      st.nonce.clear();
      spdlog::info("node {}: session {} with node {} open", job->node->name, st.session,
                   env->hello.from);
      return;
    }
    case net::EnvelopeKind::task: {
      const auto& t = env->task;
      bool current = st.driver && self->current_sender() &&
                     self->current_sender()->address() == st.driver.address() &&
                     env->session == st.session;
      if (!current) {
        spdlog::warn(
            "node {}: refused stage {} partition {} at {}: session {} is not the open one ({})",
            job->node->name, t.stage, t.partition, to_string(t.time), env->session, st.session);
        return;
      }
      const auto& stages = job->plan->stages();
      if (t.stage < 0 || static_cast<size_t>(t.stage) >= stages.size() || t.partition < 0 ||
          t.partition >= stages[static_cast<size_t>(t.stage)].partitions) {
        spdlog::error("node {}: refused a task for stage {} partition {}: not in this job",
                      job->node->name, t.stage, t.partition);
        return;
      }
      return run_task(self, job, env->session, env->id, std::move(env->task));
    }
    case net::EnvelopeKind::refusal:
      spdlog::error("node {}: refused by the driver: {}", job->node->name, env->refusal);
      return;
    default:
      spdlog::warn("node {}: unexpected {} frame ignored", job->node->name,
                   net::envelope_kind_name(env->kind));
  }
}

caf::behavior node_endpoint(Self* self, Job* job) {
  self->set_down_handler([self, job](caf::down_msg& m) {
    auto& st = self->state;
    if (m.source != st.driver.address()) return;
    spdlog::warn("node {}: the driver's link is gone ({}); waiting for a new session",
                 job->node->name, self->system().render(m.reason));
    st.driver = nullptr;
  });
  return {
      [self, job](frame_atom, const net::Frame& frame) { on_frame(self, job, frame); },
      [self, job](run_atom, uint64_t session, uint64_t id, TaskRequest& task) {
        if (session == self->state.session) run_task(self, job, session, id, std::move(task));
      },
  };
}

}  // namespace

caf::actor spawn_node_endpoint(caf::actor_system& system, Job& job) {
  return system.spawn(node_endpoint, &job);
}

}  // namespace rill::actors
