#include "actors/log_level.hpp"

#include <atomic>
#include <cstdlib>

#include <spdlog/spdlog.h>

namespace rill::actors {

namespace {
// Set once a level was chosen in code or by --log-level: RILL_LOG then no longer overrides it.
std::atomic<bool> pinned{false};
}  // namespace

bool set_log_level(const std::string& name) {
  auto level = spdlog::level::from_str(name);
  // from_str answers "off" for anything it does not know; only accept "off" when asked for.
  if (level == spdlog::level::off && name != "off") return false;
  spdlog::set_level(level);
  return true;
}

bool pin_log_level(const std::string& name) {
  if (!set_log_level(name)) return false;
  pinned = true;
  return true;
}

void apply_log_level_from_env() {
  if (pinned) return;
  const char* env = std::getenv("RILL_LOG");
  if (env == nullptr || *env == '\0') return;
  if (!set_log_level(env)) spdlog::warn("RILL_LOG={}: unknown level (use debug, info, warn, error)", env);
}

}  // namespace rill::actors

namespace rill {
bool set_log_level(const std::string& name) { return actors::pin_log_level(name); }
}  // namespace rill
