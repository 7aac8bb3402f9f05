// The exception a wrong DAG, definition or config throws at definition or start time.
// Thrown and caught by value; the message names the operator, stream or file:line.
#pragma once

#include <stdexcept>
#include <string>

namespace rill {

/// A definition error found before any data flows (bad interval, use after start, bad config).
class ConfigError : public std::runtime_error {
 public:
  /// what, prefixed with "rill: ".
  explicit ConfigError(const std::string& what) : std::runtime_error("rill: " + what) {}
};

/// A batch failed and the job stopped: names the operator, batch time and cause.
class JobError : public std::runtime_error {
 public:
  /// what, prefixed with "rill: ".
  explicit JobError(const std::string& what) : std::runtime_error("rill: " + what) {}
};

}  // namespace rill
