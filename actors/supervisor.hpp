// Supervisors: Erlang/OTP-style actors that start, monitor and restart rill's runtime actors
// (one_for_one, one_for_all, rest_for_one; restart intensity, then escalation; backoff).
// Specs are values (copy freely); a running supervisor is an actor, reached only by messages.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include <caf/atom.hpp>
#include <caf/fwd.hpp>
#include <caf/meta/type_name.hpp>

#include "actors/restart_policy.hpp"

namespace rill::actors {

class DeterministicPump;

/// Which children restart when one fails (OTP's names and meaning).
enum class Strategy {
  one_for_one,   ///< the failed child alone
  one_for_all,   ///< every child: the others stop in reverse start order, then all start in order
  rest_for_one,  ///< the failed child and those started after it, the same way
};

/// When a child is restarted (OTP's names and meaning).
enum class RestartType {
  permanent,  ///< always, even after a normal exit
  transient,  ///< only after an abnormal exit (anything but normal or user_shutdown)
  temporary,  ///< never; stopped with its siblings, but not started again
};

/// How to start one child. The supervisor monitors what `start` returns and never links to it,
/// so no child exit, not even exit_reason::kill, takes the supervisor down; `start` must not
/// link either (no `spawn<caf::linked>`).
struct ChildSpec {
  std::string name;  ///< unique among its siblings; used in logs, errors and the tree
  std::string kind;  ///< "receiver", "stage", ...; kSupervisorKind children report subtrees
  RestartType restart = RestartType::permanent;
  /// Spawns the child, on the supervisor's thread. An invalid handle counts as a failure of the
  /// child; a throw fails the supervisor itself (its children are killed, its parent decides).
  std::function<caf::actor(caf::local_actor& parent)> start;
  /// Optional: told each (re)start's handle, on the supervisor's thread, so the runtime can
  /// re-wire. Keep it short and non-blocking (e.g. send the handle to whoever routes to it).
  std::function<void(const caf::actor&)> on_started;
  /// Time a child gets to stop after exit_reason::user_shutdown before it is killed (OTP's
  /// `shutdown`). Default 5 s; 0 waits forever, as nested supervisors do (they bound their own).
  std::chrono::milliseconds shutdown_timeout{5000};
};

/// ChildSpec::kind of nested supervisors.
inline constexpr const char* kSupervisorKind = "supervisor";

/// A supervisor and the children it starts, in start order.
struct SupervisorSpec {
  std::string name;  ///< names the supervisor in logs and in its escalation error
  Strategy strategy = Strategy::one_for_one;
  RestartPolicyOptions policy;  ///< intensity and backoff (restart_policy.hpp)
  std::vector<ChildSpec> children;
  uint64_t seed = 0;  ///< seeds the backoff jitter, so runs are reproducible
  /// Optional: told (on the supervisor's thread) of each child it decided to restart, with
  /// the reason, before the backoff; e.g. to count restarts and tell listeners.
  std::function<void(const ChildSpec& child, const std::string& reason)> on_restart{};
};

/// A snapshot of one supervised actor and, for supervisors, their children.
struct SupervisionNode {
  std::string name;
  std::string kind;
  int restarts = 0;      ///< times its parent restarted it (0 for a root)
  bool running = false;  ///< false while waiting out a backoff, or when not restarted
  std::vector<SupervisionNode> children;
};

template <class Inspector>
typename Inspector::result_type inspect(Inspector& f, SupervisionNode& x) {
  return f(caf::meta::type_name("rill::actors::SupervisionNode"), x.name, x.kind, x.restarts,
           x.running, x.children);
}

/// Ask any supervisor `(tree_atom) -> SupervisionNode` for its subtree. It answers without
/// blocking, asking child supervisors in turn (a child that does not answer within 1 s is
/// reported without its children).
using tree_atom = caf::atom_constant<caf::atom("rill_tree")>;

/// Spawns a root supervisor, which starts `spec.children` in order before it handles any
/// message. Stop it with `anon_send_exit(sup, exit_reason::user_shutdown)`: it stops its
/// children in reverse start order, then exits with that reason. If its restart intensity is
/// exceeded it stops its children and exits with an error naming itself and the failing child.
caf::actor spawn_supervisor(caf::actor_system& sys, SupervisorSpec spec);

/// A nested supervisor as a child of another one (kind kSupervisorKind, permanent, waits for
/// its own children on shutdown). Its escalation is an abnormal exit its parent handles.
ChildSpec supervisor_child(SupervisorSpec spec);

/// A supervisor's exit reason as text: a rill error's own message (an escalation reads as one
/// sentence naming the supervisor and the failing child), CAF's rendering otherwise.
std::string exit_reason_text(caf::actor_system& sys, const caf::error& reason);

/// Blocking form of tree_atom for code outside actors (e.g. ssc.supervision_tree()). Never
/// call it from inside an actor. Needs <caf/expected.hpp> at the call site. `pump`: the
/// deterministic scheduler's, which must send the request (null when threaded).
caf::expected<SupervisionNode> supervision_tree(caf::actor_system& sys, const caf::actor& sup,
                                                std::chrono::milliseconds timeout,
                                                DeterministicPump* pump = nullptr);

}  // namespace rill::actors
