// Failpoints: named places where a crash test kills the process (SIGKILL) on the n-th visit,
// configured by RILL_FAILPOINTS. Thread-safe; two atomic loads per call when none is configured.
#pragma once

#include <cstdint>
#include <string_view>

namespace rill {

/// Marks a place where a crash test may kill the process.
///
/// RILL_FAILPOINTS is a comma-separated list of entries `name:n[:action]`: at the n-th time
/// (n >= 1, counted from process start) that failpoint(name) is reached, the action runs.
///   - kill (default): logs "failpoint <name> hit <n>" at critical level, flushes spdlog and
///     stderr, and raise(SIGKILL)s the process: no destructors, no atexit, no stdio flush,
///     as an OOM kill or a power cut would leave it (minus the page cache).
///   - count: logs the same line at info level and goes on; failpoint_hits() tells how often
///     the point was reached. For unit tests of code that calls failpoint().
/// Example: RILL_FAILPOINTS=text_output.after_part_rename:2,store.after_commit:7:count
///
/// The variable is read once, at the first call of failpoint() or failpoint_hits(). A
/// malformed value (the message names the entry) is logged at critical level and the
/// process abort()s (SIGABRT, so a harness tells it from a planned SIGKILL): the first call
/// may be on any thread (the store writer, a sink), where an exception would become a failed
/// batch or std::terminate, and a crash test must never run on without the fault it asked for.
///
/// Points (name: where; what a kill there leaves behind):
///   text_output.after_part_rename  write_text_batch, after each part file is renamed into
///                                  place, before _SUCCESS: a batch dir with some parts
///   store.after_commit             StoreWriter, after a group's txn committed (durable per
///                                  the env's SyncMode), before its callers' futures are set
/// Added by the runtime (keep this list complete when adding one):
///   driver.after_allocation, stage.mid_batch, sink.after_commit, checkpoint.mid_write,
///   checkpoint.mid_compaction, wal.after_fsync_before_ack
void failpoint(std::string_view name);

/// How often failpoint(name) was reached since the configuration was installed. Counted only
/// for configured names (0 for the others), so unconfigured points stay one atomic load.
uint64_t failpoint_hits(std::string_view name);

/// Tests: replaces the configuration (RILL_FAILPOINTS is no longer read) with spec, in
/// RILL_FAILPOINTS's syntax; "" configures none. Counters restart at 0. Throws ConfigError
/// naming the entry on a malformed spec (and keeps the previous configuration).
void set_failpoints_for_testing(std::string_view spec);

/// Tests: forgets the configuration, so that the next call reads RILL_FAILPOINTS again.
void reset_failpoints_for_testing();

}  // namespace rill
