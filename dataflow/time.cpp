#include "dataflow/time.hpp"

#include "dataflow/config_error.hpp"

namespace rill {

std::string to_string(Millis d) { return std::to_string(d.count()) + " ms"; }

void check_interval(Millis interval, const std::string& what) {
  if (interval.count() <= 0)
    throw ConfigError(what + " must be positive, got " + to_string(interval));
}

void check_multiple(Millis duration, Millis batch, const std::string& what) {
  check_interval(duration, what);
  if (duration.count() % batch.count() != 0)
    throw ConfigError(what + " (" + to_string(duration) +
                      ") must be a multiple of the batch interval (" + to_string(batch) + ")");
}

}  // namespace rill
