// MetaLog kept durably in a store's `meta` database: writes go through the StoreWriter, reads
// use read txns. Thread-safe. REQUIRES: env and writer outlive it.
#pragma once

#include <cstdint>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "persistence/lmdb_env.hpp"
#include "persistence/meta_log.hpp"
#include "persistence/store_writer.hpp"

namespace rill::persistence {

/// An allocation's payload (FORMAT.md, `meta` allocation): for the log and retention's rewrite.
std::string encode_allocation(const std::vector<BlockRef>& blocks);
/// The blocks of an allocation payload, or nullopt when it is malformed.
std::optional<std::vector<BlockRef>> decode_allocation(std::span<const uint8_t> payload);

class LmdbMetaLog final : public MetaLog {
 public:
  LmdbMetaLog(const LmdbEnv& env, StoreWriter& writer) noexcept : env_(env), writer_(writer) {}

  Status record_zero_time(Millis zero) override;
  std::optional<Millis> zero_time() const override;
  Status record_partitions(const std::string& stream, int partitions) override;
  std::optional<int> partitions(const std::string& stream) const override;
  Status record_allocation(Millis t, const std::vector<BlockRef>& blocks) override;
  std::optional<std::vector<BlockRef>> allocation(Millis t) const override;
  Status record_commit(int output, Millis t, int partition, uint64_t hash) override;
  bool is_committed(int output, Millis t, int partition) const override;
  Status record_completion(Millis t, bool checkpoint = false) override;
  std::optional<uint64_t> commit_hash(int output, Millis t, int partition) const override;
  std::optional<Millis> last_completed() const override;
  std::optional<Millis> last_checkpoint() const override;
  Result<std::vector<Allocation>> allocations_after(Millis t) const override;
  Status record_job(const std::string& signature) override;
  std::optional<std::string> job() const override;
  Status record_downtime(Millis from, Millis to) override;
  std::vector<std::pair<Millis, Millis>> downtimes() const override;

  /// Checks every meta record's checksum and shape: run at start so a damaged store stops the
  /// job with an error naming the key instead of reading as "absent".
  Status verify() const;
  /// The first read error the optional-returning getters met (they answer nullopt/false then).
  Status first_read_error() const;

 private:
  // Reads key's payload; a read error is kept in first_error_ and reads as absent.
  std::optional<std::string> read(const std::string& key) const;

  const LmdbEnv& env_;
  StoreWriter& writer_;
  std::mutex completion_mu_;  // serializes record_completion's read-check-write
  mutable std::mutex error_mu_;
  mutable Status first_error_;  // guarded by error_mu_
};

}  // namespace rill::persistence
