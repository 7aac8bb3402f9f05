#include "actors/log_level.hpp"

#include <cstdlib>

#include <spdlog/spdlog.h>

namespace rill::actors {

bool set_log_level(const std::string& name) {
  auto level = spdlog::level::from_str(name);
  // from_str answers "off" for anything it does not know; only accept "off" when asked for.
  if (level == spdlog::level::off && name != "off") return false;
  spdlog::set_level(level);
  return true;
}

void apply_log_level_from_env() {
  const char* env = std::getenv("RILL_LOG");
  if (env == nullptr || *env == '\0') return;
  if (!set_log_level(env)) spdlog::warn("RILL_LOG={}: unknown level (use debug, info, warn, error)", env);
}

}  // namespace rill::actors

namespace rill {
bool set_log_level(const std::string& name) { return actors::set_log_level(name); }
}  // namespace rill
