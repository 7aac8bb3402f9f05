// How the samples wait: until --duration-s passes or SIGINT/SIGTERM arrives, then a graceful
// stop (every received record processed first). Call from main, after ssc.start().
#pragma once

#include <csignal>
#include <cstdio>

#include <rill/rill.hpp>

namespace rill::samples {

inline volatile std::sig_atomic_t stop_signal = 0;

/// duration 0: until a signal or the job's end. Returns the exit code.
inline int run_until_stopped(StreamingContext& ssc, Millis duration) {
  // The handler only sets a flag; the main thread polls it and stops outside signal context.
  std::signal(SIGINT, [](int) { stop_signal = 1; });
  std::signal(SIGTERM, [](int) { stop_signal = 1; });
  Millis waited{0};
  const Millis step{100};
  try {
    while (!ssc.await_termination_or_timeout(step)) {
      waited += step;
      if (stop_signal || (duration.count() > 0 && waited >= duration)) {
        ssc.stop(/*stop_gracefully=*/true);
        return 0;
      }
    }
  } catch (const JobError& e) {
    std::fprintf(stderr, "%s\n", e.what());
    return 1;
  }
  return 0;
}

}  // namespace rill::samples
