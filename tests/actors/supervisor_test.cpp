// Tests of supervisors on a real actor system: restarts per strategy and restart type,
// escalation, shutdown order, backoff, the supervision tree. Every wait has a deadline.
#include "actors/supervisor.hpp"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>

#include <caf/all.hpp>
#include <catch2/catch.hpp>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

using namespace std::chrono_literals;
using namespace rill::actors;

namespace {

using quit_atom = caf::atom_constant<caf::atom("t_quit")>;

constexpr auto kWait = 5s;  // generous: CI machines are shared

/// What happened, in order: "start:a" (on_started), "stop:a" (a stops on request), "kill:a"
/// (the test kills a); each start's handle; and, unordered, how many times each child ended.
class EventLog {
 public:
  void push(std::string event) {
    std::lock_guard<std::mutex> guard{mutex_};
    events_.push_back(std::move(event));
    cv_.notify_all();
  }
  /// Called as a child terminates, for any reason. Supervisors may see the down_msg first, so
  /// these are kept out of the ordered events.
  void ended(const std::string& name) {
    std::lock_guard<std::mutex> guard{mutex_};
    ++ends_[name];
    cv_.notify_all();
  }
  bool wait_ended(const std::string& name) {
    std::unique_lock<std::mutex> lock{mutex_};
    return cv_.wait_for(lock, kWait, [&] { return ends_[name] > 0; });
  }
  void started(const std::string& name, const caf::actor& handle) {
    std::lock_guard<std::mutex> guard{mutex_};
    handles_[name].push_back(handle.address());
    events_.push_back("start:" + name);
    cv_.notify_all();
  }
  /// Waits until `event` happened `n` times; false on timeout.
  bool wait_count(const std::string& event, size_t n) {
    std::unique_lock<std::mutex> lock{mutex_};
    return cv_.wait_for(lock, kWait, [&] { return count_locked(event) >= n; });
  }
  size_t count(const std::string& event) {
    std::lock_guard<std::mutex> guard{mutex_};
    return count_locked(event);
  }
  std::vector<std::string> events() {
    std::lock_guard<std::mutex> guard{mutex_};
    return events_;
  }
  std::vector<caf::actor_addr> handles(const std::string& name) {
    std::lock_guard<std::mutex> guard{mutex_};
    return handles_[name];
  }
  /// The newest handle of `name`; an invalid address if it never started.
  caf::actor_addr latest(const std::string& name) {
    auto all = handles(name);
    return all.empty() ? caf::actor_addr{} : all.back();
  }

 private:
  size_t count_locked(const std::string& event) const {
    return static_cast<size_t>(std::count(events_.begin(), events_.end(), event));
  }
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<std::string> events_;
  std::map<std::string, std::vector<caf::actor_addr>> handles_;
  std::map<std::string, int> ends_;
};

using LogPtr = std::shared_ptr<EventLog>;

/// A child that records how it stops and quits normally when told to. A stubborn one ignores
/// exit requests, so only its supervisor's kill timer ends it.
caf::behavior worker(caf::event_based_actor* self, LogPtr log, std::string name, bool stubborn) {
  self->attach_functor([log, name](const caf::error&) { log->ended(name); });
  self->set_exit_handler([self, log, name, stubborn](caf::exit_msg& msg) {
    log->push((stubborn ? "ignore:" : "stop:") + name);
    if (!stubborn) self->quit(std::move(msg.reason));
  });
  return {[self](quit_atom) { self->quit(); }};
}

ChildSpec worker_spec(LogPtr log, std::string name, RestartType restart = RestartType::permanent,
                      bool stubborn = false) {
  ChildSpec spec;
  spec.name = name;
  spec.kind = "stage";
  spec.restart = restart;
  spec.start = [log, name, stubborn](caf::local_actor& parent) {
    return parent.spawn(worker, log, name, stubborn);
  };
  spec.on_started = [log, name](const caf::actor& handle) { log->started(name, handle); };
  return spec;
}

/// Restarts at once and allows plenty of them, unless a test says otherwise.
SupervisorSpec sup_spec(std::string name, Strategy strategy, std::vector<ChildSpec> children) {
  SupervisorSpec spec;
  spec.name = std::move(name);
  spec.strategy = strategy;
  spec.policy.max_restarts = 100;
  spec.policy.period = 60s;
  spec.policy.backoff_min = 0ms;
  spec.children = std::move(children);
  return spec;
}

struct TestConfig : caf::actor_system_config {
  TestConfig() { set("scheduler.policy", caf::atom("sharing")); }
};

/// Sends the supervisors' log lines to `text` for as long as it lives.
struct LogCapture {
  std::ostringstream text;
  std::shared_ptr<spdlog::logger> previous = spdlog::default_logger();
  LogCapture() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(text);
    spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
  }
  ~LogCapture() { spdlog::set_default_logger(previous); }
};

struct Fixture {
  LogCapture logged;  // first, so that it outlives every actor
  TestConfig cfg;
  caf::actor_system sys{cfg};
  caf::scoped_actor self{sys};
  LogPtr log = std::make_shared<EventLog>();

  caf::actor spawn(SupervisorSpec spec) {
    auto sup = spawn_supervisor(sys, std::move(spec));
    self->monitor(sup);
    return sup;
  }
  /// Waits for `sup` (monitored by spawn) to end; its exit reason, or none on timeout.
  std::optional<caf::error> await_down(const caf::actor& sup) {
    std::optional<caf::error> reason;
    self->receive(
        [&](caf::down_msg& msg) {
          if (msg.source == sup) reason = msg.reason;
        },
        caf::after(kWait) >> [] {});
    return reason;
  }
  caf::error shutdown(const caf::actor& sup) {
    caf::anon_send_exit(sup, caf::exit_reason::user_shutdown);
    auto reason = await_down(sup);
    REQUIRE(reason);
    return *reason;
  }
  SupervisionNode tree(const caf::actor& sup) {
    auto result = supervision_tree(sys, sup, kWait);
    REQUIRE(result);
    return *result;
  }
  /// Asks for the tree until `pred` holds; supervisors handle downs asynchronously.
  template <class Pred>
  bool wait_tree(const caf::actor& sup, Pred pred) {
    const auto deadline = std::chrono::steady_clock::now() + kWait;
    while (std::chrono::steady_clock::now() < deadline) {
      auto node = supervision_tree(sys, sup, kWait);
      if (node && pred(*node)) return true;
    }
    return false;
  }
  /// The events from the `n`-th occurrence of `from` on.
  std::vector<std::string> events_since(const std::string& from, size_t n = 1) {
    auto all = log->events();
    auto it = all.begin();
    for (size_t seen = 0; it != all.end(); ++it)
      if (*it == from && ++seen == n) break;
    return {it, all.end()};
  }
  void kill(const std::string& child) {
    log->push("kill:" + child);
    caf::anon_send_exit(log->latest(child), caf::exit_reason::kill);
  }
  void tell_quit(const std::string& child) {
    caf::anon_send(caf::actor_cast<caf::actor>(log->latest(child)), quit_atom::value);
  }
};

using Events = std::vector<std::string>;

}  // namespace

TEST_CASE_METHOD(Fixture, "a killed child is restarted with a new handle", "[supervisor]") {
  auto sup = spawn(
      sup_spec("root", Strategy::one_for_one, {worker_spec(log, "a"), worker_spec(log, "b")}));
  REQUIRE(log->wait_count("start:b", 1));
  const auto first = log->latest("a");
  kill("a");
  REQUIRE(log->wait_count("start:a", 2));
  CHECK(log->latest("a") != first);
  CHECK(log->count("start:b") == 1);
  CHECK(log->count("stop:b") == 0);
  const auto node = tree(sup);
  REQUIRE(node.children.size() == 2);
  CHECK(node.children[0].name == "a");
  CHECK(node.children[0].restarts == 1);
  CHECK(node.children[0].running);
  CHECK(node.children[1].restarts == 0);
  CHECK(logged.text.str().find("supervisor root: stage child a failed") != std::string::npos);
  CHECK(shutdown(sup) == caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(Fixture, "shutdown stops children in reverse start order", "[supervisor]") {
  auto sup = spawn(sup_spec("root", Strategy::one_for_one,
                            {worker_spec(log, "a"), worker_spec(log, "b"), worker_spec(log, "c")}));
  REQUIRE(log->wait_count("start:c", 1));
  CHECK(log->events() == Events{"start:a", "start:b", "start:c"});
  CHECK(shutdown(sup) == caf::exit_reason::user_shutdown);
  CHECK(log->events() == Events{"start:a", "start:b", "start:c", "stop:c", "stop:b", "stop:a"});
}

TEST_CASE_METHOD(Fixture, "a child ignoring the exit request is killed after its timeout",
                 "[supervisor]") {
  auto stubborn = worker_spec(log, "s", RestartType::permanent, true);
  stubborn.shutdown_timeout = 50ms;
  auto sup = spawn(sup_spec("root", Strategy::one_for_one, {worker_spec(log, "a"), stubborn}));
  REQUIRE(log->wait_count("start:s", 1));
  CHECK(shutdown(sup) == caf::exit_reason::user_shutdown);
  CHECK(log->wait_ended("s"));
  CHECK(log->events() == Events{"start:a", "start:s", "ignore:s", "stop:a"});
}

TEST_CASE_METHOD(Fixture, "one_for_all restarts every sibling", "[supervisor]") {
  auto sup = spawn(sup_spec("root", Strategy::one_for_all,
                            {worker_spec(log, "a"), worker_spec(log, "b"), worker_spec(log, "c")}));
  REQUIRE(log->wait_count("start:c", 1));
  const auto old_a = log->latest("a");
  const auto old_c = log->latest("c");
  kill("b");
  REQUIRE(log->wait_count("start:c", 2));
  CHECK(events_since("kill:b") ==
        Events{"kill:b", "stop:c", "stop:a", "start:a", "start:b", "start:c"});
  CHECK(log->latest("a") != old_a);
  CHECK(log->latest("c") != old_c);
  const auto node = tree(sup);
  for (const auto& child : node.children) CHECK(child.restarts == 1);
  CHECK(shutdown(sup) == caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(Fixture, "rest_for_one restarts exactly the later siblings", "[supervisor]") {
  auto sup = spawn(sup_spec("root", Strategy::rest_for_one,
                            {worker_spec(log, "a"), worker_spec(log, "b"), worker_spec(log, "c"),
                             worker_spec(log, "d")}));
  REQUIRE(log->wait_count("start:d", 1));
  kill("b");
  REQUIRE(log->wait_count("start:d", 2));
  CHECK(events_since("kill:b") ==
        Events{"kill:b", "stop:d", "stop:c", "start:b", "start:c", "start:d"});
  CHECK(log->count("start:a") == 1);
  CHECK(log->count("stop:a") == 0);
  const auto node = tree(sup);
  CHECK(node.children[0].restarts == 0);
  CHECK(node.children[1].restarts == 1);
  CHECK(node.children[3].restarts == 1);
  CHECK(shutdown(sup) == caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(Fixture, "permanent, transient and temporary children", "[supervisor]") {
  auto sup = spawn(sup_spec(
      "root", Strategy::one_for_one,
      {worker_spec(log, "p", RestartType::permanent), worker_spec(log, "t", RestartType::transient),
       worker_spec(log, "x", RestartType::temporary)}));
  REQUIRE(log->wait_count("start:x", 1));
  tell_quit("p");  // permanent: restarted even after a normal exit
  REQUIRE(log->wait_count("start:p", 2));
  kill("t");  // transient, abnormal exit: restarted
  REQUIRE(log->wait_count("start:t", 2));
  tell_quit("t");  // transient, normal exit: stays down
  kill("x");       // temporary: never restarted
  // Restarts are immediate (backoff 0), so a child the tree reports down stays down.
  CHECK(wait_tree(sup, [](const SupervisionNode& n) {
    return !n.children[1].running && !n.children[2].running;
  }));
  const auto node = tree(sup);
  CHECK(node.children[0].running);
  CHECK(node.children[1].restarts == 1);
  CHECK(node.children[2].restarts == 0);
  CHECK(log->count("start:t") == 2);
  CHECK(log->count("start:x") == 1);
  CHECK(shutdown(sup) == caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(Fixture, "temporary siblings stop with a one_for_all restart but stay down",
                 "[supervisor]") {
  auto sup =
      spawn(sup_spec("root", Strategy::one_for_all,
                     {worker_spec(log, "x", RestartType::temporary), worker_spec(log, "a")}));
  REQUIRE(log->wait_count("start:a", 1));
  kill("a");
  REQUIRE(log->wait_count("start:a", 2));
  CHECK(events_since("kill:a") == Events{"kill:a", "stop:x", "start:a"});
  CHECK_FALSE(tree(sup).children[0].running);
  CHECK(shutdown(sup) == caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(Fixture, "a root exceeding its intensity exits with an error naming it",
                 "[supervisor]") {
  auto spec =
      sup_spec("root", Strategy::one_for_one, {worker_spec(log, "a"), worker_spec(log, "b")});
  spec.policy.max_restarts = 2;
  auto sup = spawn(std::move(spec));
  REQUIRE(log->wait_count("start:b", 1));
  for (size_t n = 2; n <= 3; ++n) {
    kill("a");
    REQUIRE(log->wait_count("start:a", n));
  }
  kill("a");
  auto reason = await_down(sup);
  REQUIRE(reason);
  const auto text = sys.render(*reason);
  CHECK(text.find("supervisor root: restart intensity exceeded") != std::string::npos);
  CHECK(text.find("child a") != std::string::npos);
  CHECK(log->count("stop:b") == 1);  // siblings are stopped before the supervisor exits
  CHECK(log->count("start:a") == 3);
}

TEST_CASE_METHOD(Fixture, "a child that cannot start escalates", "[supervisor]") {
  ChildSpec broken;
  broken.name = "broken";
  broken.kind = "receiver";
  broken.start = [](caf::local_actor&) { return caf::actor{}; };
  auto spec = sup_spec("root", Strategy::one_for_one, {worker_spec(log, "a"), broken});
  spec.policy.max_restarts = 3;
  auto sup = spawn(std::move(spec));
  auto reason = await_down(sup);
  REQUIRE(reason);
  CHECK(sys.render(*reason).find("receiver child broken") != std::string::npos);
  CHECK(log->events() == Events{"start:a", "stop:a"});
}

TEST_CASE_METHOD(Fixture, "a nested supervisor exceeding its intensity is restarted by its parent",
                 "[supervisor]") {
  auto mid_spec = sup_spec("mid", Strategy::one_for_one, {worker_spec(log, "w")});
  mid_spec.policy.max_restarts = 1;
  auto mid = supervisor_child(std::move(mid_spec));
  mid.on_started = [log = log](const caf::actor& handle) { log->started("mid", handle); };
  auto sup = spawn(sup_spec("root", Strategy::one_for_one, {mid, worker_spec(log, "s")}));
  REQUIRE(log->wait_count("start:s", 1));
  REQUIRE(log->wait_count("start:w", 1));  // mid starts w on its own time
  const auto first_mid = log->latest("mid");
  kill("w");
  REQUIRE(log->wait_count("start:w", 2));
  kill("w");  // the second restart in mid's window: mid escalates, root restarts it
  REQUIRE(log->wait_count("start:mid", 2));
  REQUIRE(log->wait_count("start:w", 3));
  CHECK(log->latest("mid") != first_mid);
  CHECK(log->count("start:s") == 1);  // one_for_one at the root: the sibling is untouched
  CHECK(logged.text.str().find("supervisor mid: restart intensity exceeded") != std::string::npos);
  const auto node = tree(sup);
  CHECK(node.name == "root");
  REQUIRE(node.children.size() == 2);
  const auto& mid_node = node.children[0];
  CHECK(mid_node.name == "mid");
  CHECK(mid_node.kind == kSupervisorKind);
  CHECK(mid_node.restarts == 1);
  REQUIRE(mid_node.children.size() == 1);
  CHECK(mid_node.children[0].name == "w");
  CHECK(mid_node.children[0].restarts == 0);  // a fresh mid counts afresh
  CHECK(mid_node.children[0].running);
  CHECK(shutdown(sup) == caf::exit_reason::user_shutdown);
  // The nested supervisor stops its own children before its parent moves on.
  CHECK(events_since("stop:s") == Events{"stop:s", "stop:w"});
}

TEST_CASE_METHOD(Fixture, "restarts wait out the backoff", "[supervisor]") {
  auto spec = sup_spec("root", Strategy::one_for_one, {worker_spec(log, "a")});
  spec.policy.backoff_min = 100ms;
  spec.policy.random_factor = 0;
  auto sup = spawn(std::move(spec));
  REQUIRE(log->wait_count("start:a", 1));
  const auto killed_at = std::chrono::steady_clock::now();
  kill("a");
  REQUIRE(log->wait_count("start:a", 2));
  CHECK(std::chrono::steady_clock::now() - killed_at >= 100ms);
  CHECK(logged.text.str().find("restarting (one_for_one) in 100 ms") != std::string::npos);
  CHECK(shutdown(sup) == caf::exit_reason::user_shutdown);
}

TEST_CASE_METHOD(Fixture, "a killed supervisor takes its children with it", "[supervisor]") {
  auto sup = spawn(
      sup_spec("root", Strategy::one_for_one, {worker_spec(log, "a"), worker_spec(log, "b")}));
  REQUIRE(log->wait_count("start:b", 1));
  caf::anon_send_exit(sup, caf::exit_reason::kill);
  auto reason = await_down(sup);
  REQUIRE(reason);
  CHECK(*reason == caf::exit_reason::kill);
  CHECK(log->wait_ended("a"));
  CHECK(log->wait_ended("b"));
  CHECK(log->count("stop:a") == 0);  // killed, not asked
}
