#include "actors/supervisor.hpp"

#include <algorithm>
#include <memory>
#include <optional>
#include <utility>

#include <caf/all.hpp>
#include <spdlog/spdlog.h>

#include "actors/caller_actor.hpp"
#include "actors/deterministic_pump.hpp"
#include "dataflow/result.hpp"

namespace rill::actors {

namespace {

// Sent to self only. The number names the timer, so a stale one is ignored.
using backoff_atom = caf::atom_constant<caf::atom("sv_backoff")>;
using kill_atom = caf::atom_constant<caf::atom("sv_kill")>;

// How long a supervisor waits for a child supervisor's subtree.
constexpr std::chrono::seconds kTreeTimeout{1};

// TODO(api): move to actors/type_ids.hpp once it exists, with a renderer for the category.
caf::error make_rill_error(Errc code, std::string text) {
  return caf::error(static_cast<uint8_t>(code), caf::atom("rill"), caf::make_message(text));
}

struct Child {
  ChildSpec spec;
  int restarts = 0;
  bool started_once = false;
  bool to_stop = false;  // part of a restart or shutdown; stopped one at a time, highest first
  bool pending = false;  // to start, lowest first, once nothing is to stop and the delay is over
};

struct SupervisorState {
  std::string name;  // names the actor in CAF's logs
  Strategy strategy = Strategy::one_for_one;
  std::vector<Child> children;
  // The running handle of children[i], empty while down. Shared with the cleanup hook, which
  // outlives this state when the supervisor dies without stopping its children (kill).
  std::shared_ptr<std::vector<caf::actor>> handles;
  std::optional<RestartPolicy> policy;
  bool restart_due = false;        // the newest backoff delay is over
  uint64_t restart_timer = 0;      // id of the newest backoff delay
  std::optional<size_t> stopping;  // the child we told to exit and await a down_msg from
  uint64_t stop_seq = 0;           // id of that stop, for its kill timer
  bool shutting_down = false;
  caf::error exit_reason;  // ours, once shutting down
  std::function<void(const ChildSpec&, const std::string&)> on_restart;
};

using SupervisorPtr = caf::stateful_actor<SupervisorState>*;

// A rill error's own text, so an escalation chain reads as one sentence; CAF's rendering else.
// (CAF 0.17's category() and context() dereference null on a none error: test it first.)
std::string describe(SupervisorPtr self, const caf::error& reason) {
  return exit_reason_text(self->system(), reason);
}

bool is_normal_exit(const caf::error& reason) {
  return !reason || reason == caf::exit_reason::user_shutdown;
}

const char* strategy_name(Strategy s) {
  switch (s) {
    case Strategy::one_for_one:
      return "one_for_one";
    case Strategy::one_for_all:
      return "one_for_all";
    case Strategy::rest_for_one:
      return "rest_for_one";
  }
  return "?";
}

void begin_shutdown(SupervisorPtr self, caf::error reason) {
  auto& st = self->state;
  st.shutting_down = true;
  st.exit_reason = std::move(reason);
  for (auto& c : st.children) {
    c.to_stop = true;
    c.pending = false;
  }
}

// Decides what the failure of child `i` means: nothing, a restart of a set of children after a
// backoff, or escalation. The caller pumps afterwards.
void on_child_failed(SupervisorPtr self, size_t i, const caf::error& reason) {
  auto& st = self->state;
  auto& failed = st.children[i];
  const auto why = describe(self, reason);
  const bool restart = failed.spec.restart == RestartType::permanent ||
                       (failed.spec.restart == RestartType::transient && !is_normal_exit(reason));
  if (!restart) {
    spdlog::info("supervisor {}: {} child {} exited, not restarted: {}", st.name, failed.spec.kind,
                 failed.spec.name, why);
    return;
  }
  const auto decision = st.policy->on_failure(self->clock().now());
  if (decision.escalate) {
    const auto& opts = st.policy->options();
    auto text = "supervisor " + st.name + ": restart intensity exceeded (" +
                std::to_string(opts.max_restarts) + " in " + std::to_string(opts.period.count()) +
                " ms) by " + failed.spec.kind + " child " + failed.spec.name + ": " + why;
    spdlog::error("{}", text);
    begin_shutdown(self, make_rill_error(Errc::unavailable, std::move(text)));
    return;
  }
  size_t begin = i;
  size_t end = i + 1;
  if (st.strategy == Strategy::one_for_all) begin = 0;
  if (st.strategy != Strategy::one_for_one) end = st.children.size();
  for (size_t j = begin; j < end; ++j) {
    auto& c = st.children[j];
    if (j != i && !(*st.handles)[j]) continue;  // a sibling that is down stays down
    c.to_stop = j != i;
    c.pending = c.spec.restart != RestartType::temporary;
  }
  if (st.on_restart) st.on_restart(failed.spec, why);
  spdlog::warn("supervisor {}: {} child {} failed: {}; restarting ({}) in {} ms", st.name,
               failed.spec.kind, failed.spec.name, why, strategy_name(st.strategy),
               std::chrono::duration_cast<std::chrono::milliseconds>(decision.delay).count());
  st.restart_due = decision.delay.count() == 0;
  const auto timer = ++st.restart_timer;
  if (!st.restart_due) self->delayed_send(self, decision.delay, backoff_atom::value, timer);
}

// Starts child `i`; false if `start` gave no actor.
bool start_child(SupervisorPtr self, size_t i) {
  auto& st = self->state;
  auto& c = st.children[i];
  caf::actor handle = c.spec.start ? c.spec.start(*self) : caf::actor{};
  if (!handle) return false;
  self->monitor(handle);
  (*st.handles)[i] = handle;
  if (c.started_once) ++c.restarts;
  c.started_once = true;
  if (c.spec.on_started) c.spec.on_started(handle);
  return true;
}

// Advances the one thing the supervisor may do next: stop the next child (highest index first,
// waiting for its down_msg), quit once all are down when shutting down, or start pending
// children in order once the backoff delay is over.
void pump(SupervisorPtr self) {
  auto& st = self->state;
  auto& handles = *st.handles;
  while (!st.stopping) {
    for (size_t j = st.children.size(); j-- > 0;) {
      if (!st.children[j].to_stop || !handles[j]) continue;
      const auto seq = ++st.stop_seq;
      st.stopping = j;
      spdlog::debug("supervisor {}: stopping {}", st.name, st.children[j].spec.name);
      self->send_exit(handles[j], caf::exit_reason::user_shutdown);
      const auto timeout = st.children[j].spec.shutdown_timeout;
      if (timeout.count() > 0) self->delayed_send(self, timeout, kill_atom::value, seq);
      return;
    }
    for (auto& c : st.children) c.to_stop = false;
    if (st.shutting_down) {
      spdlog::debug("supervisor {}: every child stopped; exiting", st.name);
      self->quit(st.exit_reason);
      return;
    }
    if (!st.restart_due) return;
    auto next = std::find_if(st.children.begin(), st.children.end(),
                             [](const Child& c) { return c.pending; });
    if (next == st.children.end()) return;
    next->pending = false;
    const auto i = static_cast<size_t>(next - st.children.begin());
    if (!start_child(self, i))
      on_child_failed(self, i, make_rill_error(Errc::unavailable, "start gave no actor"));
  }
}

void on_down(SupervisorPtr self, caf::down_msg& msg) {
  auto& st = self->state;
  auto& handles = *st.handles;
  auto it = std::find_if(handles.begin(), handles.end(),
                         [&](const caf::actor& h) { return h && h.address() == msg.source; });
  if (it == handles.end()) return;
  const auto i = static_cast<size_t>(it - handles.begin());
  *it = caf::actor{};
  if (st.stopping == i)
    st.stopping.reset();
  else if (!st.shutting_down)
    on_child_failed(self, i, msg.reason);
  pump(self);
}

struct TreeRequest {
  caf::typed_response_promise<SupervisionNode> promise;
  SupervisionNode node;
  size_t outstanding = 0;

  void answered() {
    if (--outstanding == 0) promise.deliver(std::move(node));
  }
};

caf::typed_response_promise<SupervisionNode> report_tree(SupervisorPtr self) {
  auto& st = self->state;
  auto req = std::make_shared<TreeRequest>();
  req->promise = self->make_response_promise<SupervisionNode>();
  req->node = {st.name, kSupervisorKind, 0, true, {}};
  req->outstanding = 1;  // released below, after every request is sent
  for (size_t i = 0; i < st.children.size(); ++i) {
    const auto& c = st.children[i];
    const auto& handle = (*st.handles)[i];
    req->node.children.push_back({c.spec.name, c.spec.kind, c.restarts, bool(handle), {}});
    if (!handle || c.spec.kind != kSupervisorKind) continue;
    ++req->outstanding;
    self->request(handle, kTreeTimeout, tree_atom::value)
        .then(
            [req, i](SupervisionNode& sub) {
              req->node.children[i].children = std::move(sub.children);
              req->answered();
            },
            [req](caf::error&) { req->answered(); });
  }
  auto promise = req->promise;
  req->answered();
  return promise;
}

caf::behavior supervisor_actor(SupervisorPtr self, SupervisorSpec spec) {
  auto& st = self->state;
  st.name = std::move(spec.name);
  st.strategy = spec.strategy;
  st.policy.emplace(spec.policy, spec.seed);
  st.on_restart = spec.on_restart;
  for (auto& c : spec.children) st.children.push_back({std::move(c)});
  st.handles = std::make_shared<std::vector<caf::actor>>(st.children.size());
  // Killed (or failing in a handler), the supervisor cannot stop its children in order;
  // killing them beats leaving them unsupervised.
  self->attach_functor([handles = st.handles](const caf::error&) {
    for (auto& h : *handles)
      if (h) caf::anon_send_exit(h, caf::exit_reason::kill);
  });
  self->set_down_handler([self](caf::down_msg& msg) { on_down(self, msg); });
  // Children are monitored, not linked, so every exit_msg is a request to shut down. A normal
  // one is ignored, as by any actor that does not trap exits.
  self->set_exit_handler([self](caf::exit_msg& msg) {
    if (!msg.reason || self->state.shutting_down) return;
    begin_shutdown(self, std::move(msg.reason));
    pump(self);
  });
  for (auto& c : st.children) c.pending = true;
  st.restart_due = true;
  pump(self);
  return {
      [self](tree_atom) { return report_tree(self); },
      [self](backoff_atom, uint64_t timer) {
        if (timer != self->state.restart_timer) return;
        self->state.restart_due = true;
        pump(self);
      },
      [self](kill_atom, uint64_t seq) {
        auto& st = self->state;
        if (st.stopping && st.stop_seq == seq)
          self->send_exit((*st.handles)[*st.stopping], caf::exit_reason::kill);
      },
  };
}

}  // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, SupervisorSpec spec) {
  return sys.spawn(supervisor_actor, std::move(spec));
}

ChildSpec supervisor_child(SupervisorSpec spec) {
  ChildSpec child;
  child.name = spec.name;
  child.kind = kSupervisorKind;
  child.start = [spec = std::move(spec)](caf::local_actor& parent) {
    return parent.spawn(supervisor_actor, spec);
  };
  child.shutdown_timeout = std::chrono::milliseconds{0};
  return child;
}

caf::expected<SupervisionNode> supervision_tree(caf::actor_system& sys, const caf::actor& sup,
                                                std::chrono::milliseconds timeout, DeterministicPump* pump) {
  CallerActor self{sys};
  caf::expected<SupervisionNode> result{caf::sec::request_timeout};
  from_outside(pump, [&] { return self->request(sup, timeout, tree_atom::value); })
      .receive([&](SupervisionNode& node) { result = std::move(node); },
               [&](caf::error& err) { result = std::move(err); });
  return result;
}

std::string exit_reason_text(caf::actor_system& sys, const caf::error& reason) {
  if (reason && reason.category() == caf::atom("rill") && reason.context().match_elements<std::string>())
    return reason.context().get_as<std::string>(0);
  return sys.render(reason);
}

}  // namespace rill::actors
