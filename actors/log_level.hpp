// Log level control: RILL_LOG=debug|info|warn|error or --log-level. Thread-safe (spdlog).
// Call before start(); later calls change the level of every logger.
#pragma once

#include <string>

namespace rill::actors {

/// Sets spdlog's level; returns false (and changes nothing) for an unknown name.
bool set_log_level(const std::string& name);
/// As set_log_level, and RILL_LOG no longer overrides it (rill::set_log_level, --log-level).
bool pin_log_level(const std::string& name);
/// Applies RILL_LOG when set and no level was pinned; an unknown value is reported and ignored.
void apply_log_level_from_env();

}  // namespace rill::actors
