// What a checkpoint store holds, collected in one read snapshot of a read-only environment: the
// report `rill-inspect` prints as text or JSON. Values; share freely.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "dataflow/fingerprint.hpp"
#include "dataflow/result.hpp"
#include "dataflow/time.hpp"

namespace rill::persistence {

/// The WAL blocks of one input stream.
struct WalUsage {
  uint32_t stream = 0;  ///< the stream's node id
  std::string name{};   ///< from the job signature; empty when the store has none
  uint64_t blocks = 0;
  uint64_t bytes = 0;  ///< stored value bytes: checksum, source offset and frame
  uint64_t first_seq = 0, last_seq = 0;
};

/// The state snapshots of one (operator, partition).
struct StateUsage {
  std::string stream{};
  int partition = 0;
  uint64_t full = 0, delta = 0;
  uint64_t bytes = 0;  ///< stored value bytes: checksum, kind byte and frame
  Millis first{0}, last{0};
};

/// The driver's commit records (FORMAT.md `meta` commit) of one output.
struct CommitUsage {
  uint32_t output = 0;   ///< the output's id, in definition order
  std::string name{};    ///< from the job signature; empty when the store has none
  uint64_t commits = 0;  ///< (batch, partition) markers
  uint64_t batches = 0;
  Millis first{0}, last{0};
};

struct StoreReport {
  std::string dir{};
  uint32_t format_version = 0;
  std::optional<Millis> zero_time{};
  std::optional<DagSignature> job{};
  std::string job_problem{};  ///< why the stored signature did not parse; empty otherwise
  std::vector<std::pair<std::string, int>> partitions{};
  /// The allocation at the zero time: the replayable sources' start record, not a batch.
  bool start_record = false;
  uint64_t allocated = 0;  ///< allocation records of batches (retention deletes old ones)
  std::optional<Millis> first_allocated{}, last_allocated{};
  uint64_t completed = 0;  ///< completion records (retention deletes old ones)
  std::optional<Millis> first_completed{};
  std::optional<Millis> last_completed{};  ///< the last_completed record, which retention keeps
  /// Allocated after the last completion: the batches a restart re-runs first.
  std::vector<Millis> pending{};
  std::optional<Millis> last_checkpoint{};
  std::vector<std::pair<Millis, Millis>> downtimes{};  ///< skipped grid times, first and last
  std::vector<WalUsage> wal{};
  std::vector<StateUsage> state{};
  std::vector<CommitUsage> commits{};
  uint64_t sink_markers = 0;  ///< entries of the `markers` database
  uint64_t unknown_meta = 0;  ///< meta records of a type this build does not know
  uint64_t file_bytes = 0;    ///< size of data.mdb
  uint64_t map_bytes = 0;     ///< the map size recorded in the store
  uint64_t used_bytes = 0;    ///< pages in use up to the last one, times the page size
};

/// Reads the store in dir without writing to it (LmdbEnv::open_read_only), so it works while a
/// job holds the store open. Errors name dir: not a directory, not a rill store, a newer
/// format, a damaged record (with its key), whatever LMDB reports.
Result<StoreReport> inspect_store(const std::string& dir);

/// The report for a terminal: one section per kind of record, times in ms and UTC.
std::string format_text(const StoreReport& report);
/// The same report as one JSON object (times in ms since the epoch, sizes in bytes).
std::string format_json(const StoreReport& report);

}  // namespace rill::persistence
