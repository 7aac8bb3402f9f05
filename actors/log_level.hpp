// Log level control: RILL_LOG=debug|info|warn|error or --log-level. Thread-safe (spdlog).
// Call before start(); later calls change the level of every logger.
#pragma once

#include <string>

namespace rill::actors {

/// Sets spdlog's level; returns false (and changes nothing) for an unknown name.
bool set_log_level(const std::string& name);
/// Applies RILL_LOG when set; an unknown value is reported once and ignored.
void apply_log_level_from_env();

}  // namespace rill::actors
