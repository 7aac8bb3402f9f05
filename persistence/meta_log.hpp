// The driver's bookkeeping: zero time, partition counts, which blocks each batch got, which
// outputs committed, which batches completed. An interface: in memory now, LMDB later.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "dataflow/result.hpp"
#include "dataflow/time.hpp"

namespace rill::persistence {

/// A received block: which input stream, its sequence number there, how many records.
struct BlockRef {
  int stream = -1;
  uint64_t seq = 0;
  int64_t records = 0;
  /// A replayable source's record of what it read (InputSource::replay); empty otherwise.
  std::string replay{};
  bool operator==(const BlockRef&) const = default;
};

/// A batch time and the inputs allocated to it.
using Allocation = std::pair<Millis, std::vector<BlockRef>>;

/// Each step is recorded before the next one starts: allocated(t) -> committed(output, t, p)
/// for every output partition -> completed(t). Implementations are thread-safe.
class MetaLog {
 public:
  virtual ~MetaLog() = default;
  virtual Status record_zero_time(Millis zero) = 0;
  virtual std::optional<Millis> zero_time() const = 0;
  virtual Status record_partitions(const std::string& stream, int partitions) = 0;
  virtual std::optional<int> partitions(const std::string& stream) const = 0;
  virtual Status record_allocation(Millis t, const std::vector<BlockRef>& blocks) = 0;
  virtual std::optional<std::vector<BlockRef>> allocation(Millis t) const = 0;
  /// Output `output` of batch t, partition p, is durable; hash identifies its content.
  virtual Status record_commit(int output, Millis t, int partition, uint64_t hash) = 0;
  virtual bool is_committed(int output, Millis t, int partition) const = 0;
  /// The hash recorded with the commit of (output, t, partition), or nullopt when it was not
  /// committed. 0 means the writer did not know the content's hash.
  virtual std::optional<uint64_t> commit_hash(int output, Millis t, int partition) const = 0;
  /// Batch t is complete; with `checkpoint`, every stateful operator's state at t is durable
  /// too, so recovery may restart from t (written atomically with the completion).
  virtual Status record_completion(Millis t, bool checkpoint = false) = 0;
  virtual std::optional<Millis> last_completed() const = 0;
  virtual std::optional<Millis> last_checkpoint() const = 0;
  /// Allocations with batch time > t, in time order (recovery re-runs them).
  virtual Result<std::vector<Allocation>> allocations_after(Millis t) const = 0;
  /// The job's DAG signature (DagSignature::to_text), overwritten when the DAG grows.
  virtual Status record_job(const std::string& signature) = 0;
  virtual std::optional<std::string> job() const = 0;
  /// The grid times in [from, to] were skipped while the job was down: one record per span.
  virtual Status record_downtime(Millis from, Millis to) = 0;
  virtual std::vector<std::pair<Millis, Millis>> downtimes() const = 0;
};

class InMemoryMetaLog final : public MetaLog {
 public:
  Status record_zero_time(Millis zero) override;
  std::optional<Millis> zero_time() const override;
  Status record_partitions(const std::string& stream, int partitions) override;
  std::optional<int> partitions(const std::string& stream) const override;
  Status record_allocation(Millis t, const std::vector<BlockRef>& blocks) override;
  std::optional<std::vector<BlockRef>> allocation(Millis t) const override;
  Status record_commit(int output, Millis t, int partition, uint64_t hash) override;
  bool is_committed(int output, Millis t, int partition) const override;
  std::optional<uint64_t> commit_hash(int output, Millis t, int partition) const override;
  Status record_completion(Millis t, bool checkpoint = false) override;
  std::optional<Millis> last_completed() const override;
  std::optional<Millis> last_checkpoint() const override;
  Result<std::vector<Allocation>> allocations_after(Millis t) const override;
  Status record_job(const std::string& signature) override;
  std::optional<std::string> job() const override;
  Status record_downtime(Millis from, Millis to) override;
  std::vector<std::pair<Millis, Millis>> downtimes() const override;

 private:
  mutable std::mutex mu_;
  std::optional<Millis> zero_;
  std::map<std::string, int> partitions_;
  std::map<Millis, std::vector<BlockRef>> allocations_;
  std::map<std::tuple<int, int64_t, int>, uint64_t> commits_;
  std::optional<Millis> last_completed_;
  std::optional<Millis> last_checkpoint_;
  std::optional<std::string> job_;
  std::vector<std::pair<Millis, Millis>> downtimes_;
};

}  // namespace rill::persistence
