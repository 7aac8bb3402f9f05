// Batch times, intervals and the window/slide arithmetic every operator and the driver share.
// Pure values: share freely.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace rill {

/// Durations and batch times are whole milliseconds (batch times: since the clock's epoch).
using Millis = std::chrono::milliseconds;

/// "1500 ms" — how times appear in errors and logs.
std::string to_string(Millis d);

/// Throws ConfigError unless interval is positive.
void check_interval(Millis interval, const std::string& what);

/// Throws ConfigError naming both values unless duration is a positive multiple of batch.
void check_multiple(Millis duration, Millis batch, const std::string& what);

/// True when t lies on the grid zero + k * step (k >= 1).
inline bool on_grid(Millis t, Millis zero, Millis step) {
  return t > zero && (t - zero).count() % step.count() == 0;
}

}  // namespace rill
