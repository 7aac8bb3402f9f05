// StreamingContext's lifecycle: start() builds the ContextRuntime, stop() and the waits go
// through it, and supervision_tree() reads the running tree.
#include <thread>

#include <caf/all.hpp>

#include "actors/cluster_runtime.hpp"
#include "actors/context_runtime.hpp"
#include "actors/log_level.hpp"
#include "actors/type_ids.hpp"

namespace rill {

namespace {
SupervisionNode convert(const actors::SupervisionNode& n) {
  SupervisionNode out{n.name, n.kind, n.restarts, {}};
  for (const auto& c : n.children) out.children.push_back(convert(c));
  return out;
}
}  // namespace

namespace {
int default_cores() {
  unsigned n = std::thread::hardware_concurrency();
  return n == 0 ? 1 : static_cast<int>(n);
}
}  // namespace

StreamingContext::StreamingContext(Millis batch_interval, ContextOptions options)
    : options_(std::move(options)), graph_(batch_interval) {
  check_interval(batch_interval, "batch interval");
  if (options_.partitions < 0) throw ConfigError("partitions must be positive");
  clock_ = options_.clock ? options_.clock : std::make_shared<SystemClock>();
  graph_.set_default_partitions(options_.partitions > 0 ? options_.partitions : default_cores());
}


StreamingContext::~StreamingContext() {
  if (runtime_) runtime_->shutdown();
}

void StreamingContext::start() {
  if (state_ == 1) throw ConfigError("start(): the context was already started");
  if (state_ == 2) throw ConfigError("start(): a stopped context cannot be restarted, as in Spark");
  graph_.validate();
  actors::apply_log_level_from_env();
  runtime_ = std::make_unique<ContextRuntime>(*this, options_, sources_, listeners_);
  state_ = 1;
  // Return only once the first tick is scheduled, so a test's first advance() is never lost.
  int receivers = 0;
  const actors::Job& job = runtime_->job;
  for (size_t i = 0; i < job.sources.size(); ++i)  // those this node runs
    receivers += job.sources[i].second->receiver_slot() != nullptr && !actors::runs_elsewhere(job, i);
  // Waits up to 30 s, saying what it waits for every slow_wait_warning.
  auto wait_logged = [&](const std::function<bool(Millis)>& wait, const std::string& what) {
    const Millis limit{30000};
    Millis step = options_.slow_wait_warning.count() > 0 ? std::min(options_.slow_wait_warning, limit) : limit;
    for (Millis waited{0}; waited < limit; waited += step) {
      if (wait(std::min(step, limit - waited))) return;
      if (waited + step < limit) spdlog::warn("start(): {} ms waiting for {}", (waited + step).count(), what);
    }
    throw JobError("start(): " + what + " did not happen within 30 s");
  };
  auto& status = *runtime_->job.status;
  wait_logged([&](Millis m) { return status.wait_ready(m); }, "the driver to schedule its first batch");
  wait_logged([&](Millis m) { return status.wait_receivers(receivers, m); },
              std::to_string(receivers) + " receiver(s) to start (on_start() must return)");
  runtime_->job.status->streaming_started(runtime_->job.clock->now());
  spdlog::info("{}: started, batch interval {} ms, {} partitions, {} stages", options_.app_name,
               graph_.interval().count(), graph_.default_partitions(), runtime_->job.plan->stages().size());
  if (spdlog::should_log(spdlog::level::info)) {
    std::string tree;
    std::function<void(const SupervisionNode&, int)> draw = [&](const SupervisionNode& n, int depth) {
      tree += "\n" + std::string(static_cast<size_t>(depth) * 2, ' ') + n.name + " (" + n.kind + ")";
      for (const auto& c : n.children) draw(c, depth + 1);
    };
    draw(supervision_tree(), 1);
    spdlog::info("supervision tree:{}", tree);
  }
}

void StreamingContext::await_termination() {
  if (!runtime_) throw ConfigError("await_termination(): the context was not started");
  runtime_->job.status->wait_terminated(std::nullopt);
  if (auto e = runtime_->job.status->error()) throw JobError(*e);
}

bool StreamingContext::await_termination_or_timeout(Millis d) {
  if (!runtime_) throw ConfigError("await_termination_or_timeout(): the context was not started");
  bool done = runtime_->job.status->wait_terminated(d);
  if (auto e = runtime_->job.status->error()) throw JobError(*e);
  return done;
}

void StreamingContext::stop(bool stop_gracefully) {
  if (state_ != 1) {
    state_ = 2;
    return;
  }
  runtime_->stop(stop_gracefully);
  runtime_->shutdown();
  state_ = 2;
}

bool StreamingContext::is_stopped() const {
  return state_ == 2 || (runtime_ && runtime_->job.status->terminated());
}

bool StreamingContext::recovered() const {
  return runtime_ && runtime_->job.recovery.resumed;
}

bool StreamingContext::await_batch(Millis t, Millis timeout) {
  if (!runtime_) return false;
  // A batch an earlier run of this job completed (recovery) counts as completed.
  if (auto last = runtime_->job.meta->last_completed(); last && *last >= t) return true;
  return runtime_->job.status->wait_batch(t, timeout);
}

uint64_t StreamingContext::nondeterministic_outputs() const {
  return runtime_ ? runtime_->job.status->nondeterministic_outputs() : 0;
}

uint64_t StreamingContext::stray_wakeups() const {
  return runtime_ && runtime_->job.pump ? runtime_->job.pump->stray_wakeups() : 0;
}


SupervisionNode ContextRuntime::tree() {
  refuse_on_pump_thread(job, "supervision_tree()");
  std::shared_lock lock(system_mu_);
  if (shut_down_ || !system) return {};
  auto t = actors::supervision_tree(*system, root_, std::chrono::milliseconds(2000), job.pump.get());
  if (!t) return {};
  return convert(*t);
}

SupervisionNode StreamingContext::supervision_tree() const {
  if (!runtime_) return {};
  return runtime_->tree();
}

}  // namespace rill
