// The checkpoint store's size for the metrics endpoint: WAL blocks and bytes, state bytes, store
// size, from LMDB's page statistics (no scan). Pure function of the env, any thread.
#pragma once

#include "dataflow/job_metrics.hpp"
#include "dataflow/result.hpp"
#include "persistence/lmdb_env.hpp"

namespace rill::persistence {

/// Reads the statistics in one read snapshot: a few microseconds, safe beside the store's
/// writer. Bytes count whole pages (branch, leaf and overflow) times the page size.
Result<StoreStats> store_stats(const LmdbEnv& env);

}  // namespace rill::persistence
