#include "persistence/meta_log.hpp"

namespace rill::persistence {

Status InMemoryMetaLog::record_zero_time(Millis zero) {
  std::lock_guard lock(mu_);
  if (zero_ && *zero_ != zero)
    return {Errc::invalid_argument, "zero time already recorded as " + to_string(*zero_)};
  zero_ = zero;
  return Status::ok();
}

std::optional<Millis> InMemoryMetaLog::zero_time() const {
  std::lock_guard lock(mu_);
  return zero_;
}

Status InMemoryMetaLog::record_partitions(const std::string& stream, int partitions) {
  std::lock_guard lock(mu_);
  partitions_[stream] = partitions;
  return Status::ok();
}

std::optional<int> InMemoryMetaLog::partitions(const std::string& stream) const {
  std::lock_guard lock(mu_);
  auto it = partitions_.find(stream);
  if (it == partitions_.end()) return std::nullopt;
  return it->second;
}

Status InMemoryMetaLog::record_allocation(Millis t, const std::vector<BlockRef>& blocks) {
  std::lock_guard lock(mu_);
  // Allocation is write-once: a re-run of t must read the same blocks, never new ones.
  auto [it, inserted] = allocations_.emplace(t, blocks);
  if (!inserted) return {Errc::invalid_argument, "batch " + to_string(t) + " was already allocated"};
  return Status::ok();
}

std::optional<std::vector<BlockRef>> InMemoryMetaLog::allocation(Millis t) const {
  std::lock_guard lock(mu_);
  auto it = allocations_.find(t);
  if (it == allocations_.end()) return std::nullopt;
  return it->second;
}

Status InMemoryMetaLog::record_commit(int output, Millis t, int partition, uint64_t hash) {
  std::lock_guard lock(mu_);
  commits_[{output, t.count(), partition}] = hash;
  return Status::ok();
}

bool InMemoryMetaLog::is_committed(int output, Millis t, int partition) const {
  std::lock_guard lock(mu_);
  return commits_.count({output, t.count(), partition}) > 0;
}

std::optional<uint64_t> InMemoryMetaLog::commit_hash(int output, Millis t, int partition) const {
  std::lock_guard lock(mu_);
  auto it = commits_.find({output, t.count(), partition});
  if (it == commits_.end()) return std::nullopt;
  return it->second;
}

Status InMemoryMetaLog::record_completion(Millis t, bool checkpoint) {
  std::lock_guard lock(mu_);
  if (last_completed_ && *last_completed_ >= t)
    return {Errc::invalid_argument, "batch " + to_string(t) + " completed out of order"};
  last_completed_ = t;
  if (checkpoint) last_checkpoint_ = t;
  return Status::ok();
}

std::optional<Millis> InMemoryMetaLog::last_checkpoint() const {
  std::lock_guard lock(mu_);
  return last_checkpoint_;
}

Result<std::vector<Allocation>> InMemoryMetaLog::allocations_after(Millis t) const {
  std::lock_guard lock(mu_);
  std::vector<Allocation> out;
  for (auto it = allocations_.upper_bound(t); it != allocations_.end(); ++it) out.emplace_back(it->first, it->second);
  return out;
}

Status InMemoryMetaLog::record_job(const std::string& signature) {
  std::lock_guard lock(mu_);
  job_ = signature;
  return Status::ok();
}

std::optional<std::string> InMemoryMetaLog::job() const {
  std::lock_guard lock(mu_);
  return job_;
}

Status InMemoryMetaLog::record_downtime(Millis from, Millis to) {
  std::lock_guard lock(mu_);
  downtimes_.emplace_back(from, to);
  return Status::ok();
}

std::vector<std::pair<Millis, Millis>> InMemoryMetaLog::downtimes() const {
  std::lock_guard lock(mu_);
  return downtimes_;
}

std::optional<Millis> InMemoryMetaLog::last_completed() const {
  std::lock_guard lock(mu_);
  return last_completed_;
}

}  // namespace rill::persistence
