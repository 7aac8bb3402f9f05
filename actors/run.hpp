// rill::run: an application's main. Reads the command line and the cluster config, builds the
// job, starts it and waits until a signal or the job's end. Call once, from main's thread.
#pragma once

#include <functional>

#include "dataflow/command_line.hpp"
#include "dataflow/streaming_context.hpp"

namespace rill {

/// Defines the job on a context that is not started yet: input streams, operations, outputs.
using BuildJob = std::function<void(StreamingContext&)>;

/// How rill::run makes the context when no config file says otherwise.
struct RunOptions {
  /// The batch interval. Default 1 s. With --config, the config's batch_interval replaces it.
  Millis batch_interval{1000};
  /// The context's options. With --config, the node's store directory replaces
  /// checkpoint_dir, and the workers' partition count (when the config has workers) replaces
  /// partitions.
  ContextOptions context{};
  /// Stop gracefully after this long. Default 0: run until SIGINT, SIGTERM or the job's end.
  Millis run_for{0};
  /// The log level without --log-level. Default "warn" (per-batch logs are info).
  std::string log_level = "warn";
  /// Runs the started context instead of waiting for a signal, and returns the exit code:
  /// for applications that drive their own clock (tests over a control channel). Default
  /// empty: wait as described at run().
  std::function<int(StreamingContext&)> drive{};
};

/// The application's main with only rill's options (--config, --node, --check, --log-level,
/// --help; any other argument is an error naming it): run(cli, {}, build).
int run(int argc, char** argv, const BuildJob& build);

/// The application's main, after it read its own options from `cli` (CommandLine::flag,
/// text, number):
/// - with --help, prints cli.usage() and returns 0;
/// - a wrong command line (CommandLine::finish) prints the error and returns 2;
/// - with --config FILE --check, validates FILE (and that --node names one of its nodes):
///   prints OK and returns 0, or prints the error (FILE:LINE:COLUMN: KEY: ...) and returns 2;
/// - with --config FILE, runs the node named by --node. Until multi-node execution exists,
///   only a config with exactly one node runs (as one machine, with the config's batch
///   interval and the node's store directory); any other is refused with a message saying so
///   (returns 2);
/// - without --config, runs on this machine with `options`.
/// Running means: make the context, build(context), start, and wait; SIGINT or SIGTERM stops
/// it gracefully (received data processed first; a second signal ends the process at once).
/// Returns 0 after a stop, 1 when the job failed (JobError, printed), 2 when build() or
/// start() threw ConfigError (printed).
int run(CommandLine& cli, const RunOptions& options, const BuildJob& build);

}  // namespace rill
