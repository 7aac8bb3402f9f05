// Test support: a BlockLog in memory, with a gate that holds appends and injected failures.
// Thread-safe.
#pragma once

#include <condition_variable>
#include <map>
#include <mutex>
#include <utility>

#include "dataflow/block_log.hpp"

namespace rill::test {

class MemoryBlockLog final : public BlockLog {
 public:
  Status append(int stream, uint64_t seq, uint64_t source_offset, const EncodeColumns& block) override {
    std::unique_lock lock(mu_);
    gate_.wait(lock, [this] { return open_; });
    ++appends_;
    auto key = std::pair{stream, seq};
    if (blocks_.count(key)) return Status(Errc::invalid_argument, "block exists");
    if (fail_next_) {
      fail_next_ = false;
      if (commit_failed_) blocks_[key] = {source_offset, columns_of(block)};
      return Status(Errc::io_error, "injected failure");
    }
    blocks_[key] = {source_offset, columns_of(block)};
    return Status::ok();
  }
  Result<StoredBlock> read(int stream, uint64_t seq, std::string_view) const override {
    std::lock_guard lock(mu_);
    auto it = blocks_.find({stream, seq});
    if (it == blocks_.end()) return Status(Errc::not_found, "no block " + std::to_string(seq));
    return StoredBlock{seq, it->second.first, it->second.second};
  }
  Result<std::vector<StoredBlock>> read_from(int stream, uint64_t from, std::string_view) const override {
    std::lock_guard lock(mu_);
    std::vector<StoredBlock> out;
    for (auto it = blocks_.lower_bound({stream, from}); it != blocks_.end() && it->first.first == stream; ++it)
      out.push_back(StoredBlock{it->first.second, it->second.first, it->second.second});
    return out;
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return blocks_.size();
  }
  /// Holds appends until open() (a slow fsync).
  void close() {
    std::lock_guard lock(mu_);
    open_ = false;
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    gate_.notify_all();
  }
  /// The next append fails; with `committed`, after storing the block (a lost answer).
  void fail_next(bool committed) {
    std::lock_guard lock(mu_);
    fail_next_ = true;
    commit_failed_ = committed;
  }

 private:
  mutable std::mutex mu_;
  std::condition_variable gate_;
  bool open_ = true;
  bool fail_next_ = false, commit_failed_ = false;
  int appends_ = 0;
  std::map<std::pair<int, uint64_t>, std::pair<uint64_t, DecodeColumns>> blocks_;
};

}  // namespace rill::test
