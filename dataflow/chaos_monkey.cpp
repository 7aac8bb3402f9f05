#include "dataflow/chaos_monkey.hpp"

#include <fnmatch.h>

#include <algorithm>
#include <random>

#include <spdlog/spdlog.h>


namespace rill {

const char* to_string(FaultPhase phase) {
  switch (phase) {
    case FaultPhase::batch_start: return "batch_start";
    case FaultPhase::after_allocation: return "after_allocation";
    case FaultPhase::outputs_start: return "outputs_start";
    case FaultPhase::before_completion: return "before_completion";
  }
  return "?";
}

namespace chaos {

namespace {

uint64_t mix(uint64_t x) {  // splitmix64's finaliser
  x += 0x9e3779b97f4a7c15ULL;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
  return x ^ (x >> 31);
}

uint64_t text_hash(const std::string& s) {
  uint64_t h = 1469598103934665603ULL;  // FNV-1a: stable across runs and builds
  for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
  return h;
}

}  // namespace

std::string MonkeyStats::summary() const {
  std::string by_kind;
  for (const auto& [kind, n] : kills_by_kind) by_kind += (by_kind.empty() ? "" : ", ") + kind + "=" + std::to_string(n);
  return "kills=" + std::to_string(kills) + " (" + by_kind + ") task_failures=" + std::to_string(task_failures) +
         " delays=" + std::to_string(delays) + " pauses=" + std::to_string(pauses);
}

Monkey::Monkey(MonkeyOptions options) : options_(std::move(options)) {}

MonkeyStats Monkey::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

std::vector<std::string> Monkey::fault_log() const {
  std::lock_guard lock(mu_);
  return log_;
}

bool Monkey::targeted(const ActorRef& actor) const {
  const auto& kinds = options_.target.kinds;
  if (!kinds.empty() && std::find(kinds.begin(), kinds.end(), actor.kind) == kinds.end()) return false;
  return ::fnmatch(options_.target.name_pattern.c_str(), actor.name.c_str(), 0) == 0;
}

double Monkey::draw(Millis t, const std::string& what, uint64_t salt) const {
  uint64_t h = mix(options_.seed ^ mix(static_cast<uint64_t>(t.count()) ^ mix(text_hash(what) ^ mix(salt))));
  return static_cast<double>(h >> 11) * 0x1.0p-53;
}

bool Monkey::first_time(const std::string& what, Millis t) {
  std::lock_guard lock(mu_);
  return asked_.insert({what, t}).second;
}

std::vector<std::string> Monkey::kills(Millis t, FaultPhase phase, std::span<const ActorRef> actors) {
  std::vector<std::string> out;
  if (!enabled_ || options_.kills_per_batch <= 0) return out;
  // Only the first time a phase of a batch comes round: a re-run after a driver restart
  // passes through the same phases again.
  if (!first_time(std::string("phase ") + to_string(phase), t)) return out;
  std::vector<ActorRef> candidates;
  for (const ActorRef& a : actors)
    if (targeted(a)) candidates.push_back(a);
  if (candidates.empty()) return out;
  // Sorted by name: the choice must not depend on the order the runtime listed them in.
  std::sort(candidates.begin(), candidates.end(), [](const ActorRef& a, const ActorRef& b) { return a.name < b.name; });
  std::mt19937_64 rng(mix(options_.seed ^ mix(static_cast<uint64_t>(t.count()) ^ mix(static_cast<uint64_t>(phase) + 1))));
  std::poisson_distribution<int> count(options_.kills_per_batch / 4.0);
  int n = count(rng);
  std::lock_guard lock(mu_);
  for (int i = 0; i < n; ++i) {
    const ActorRef& victim = candidates[std::uniform_int_distribution<size_t>(0, candidates.size() - 1)(rng)];
    if (std::find(out.begin(), out.end(), victim.name) != out.end()) continue;
    out.push_back(victim.name);
    ++stats_.kills;
    ++stats_.kills_by_kind[victim.kind];
    log_.push_back("batch " + to_string(t) + " " + to_string(phase) + ": kill " + victim.name + " (" + victim.kind + ")");
    spdlog::warn("chaos seed={} {}", options_.seed, log_.back());
  }
  return out;
}

bool Monkey::fail_task(const std::string& stage, Millis t) {
  if (!enabled_ || draw(t, stage, 1) >= options_.task_failure_rate) return false;
  if (!first_time("fail " + stage, t)) return false;
  std::lock_guard lock(mu_);
  ++stats_.task_failures;
  log_.push_back("batch " + to_string(t) + ": " + stage + " task fails as if a user function threw");
  spdlog::warn("chaos seed={} {}", options_.seed, log_.back());
  return true;
}

Millis Monkey::delay_task(const std::string& stage, Millis t) {
  if (!enabled_ || draw(t, stage, 2) >= options_.delay_rate) return Millis{0};
  if (!first_time("delay " + stage, t)) return Millis{0};
  Millis d{static_cast<int64_t>(draw(t, stage, 3) * static_cast<double>(options_.max_delay.count()))};
  std::lock_guard lock(mu_);
  ++stats_.delays;
  log_.push_back("batch " + to_string(t) + ": " + stage + " task held back " + std::to_string(d.count()) + " ms");
  spdlog::warn("chaos seed={} {}", options_.seed, log_.back());
  return d;
}

Millis Monkey::pause_stage(const std::string& stage, Millis t) {
  if (!enabled_ || draw(t, stage, 4) >= options_.pause_rate) return Millis{0};
  if (!first_time("pause " + stage, t)) return Millis{0};
  Millis d{static_cast<int64_t>(draw(t, stage, 5) * static_cast<double>(options_.max_pause.count()))};
  std::lock_guard lock(mu_);
  ++stats_.pauses;
  log_.push_back("batch " + to_string(t) + ": " + stage + " stalls " + std::to_string(d.count()) + " ms");
  spdlog::warn("chaos seed={} {}", options_.seed, log_.back());
  return d;
}

}  // namespace chaos
}  // namespace rill
