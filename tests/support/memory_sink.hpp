// Test support: an exactly-once sink into memory that outlives the contexts writing to it, as
// an external database would; both a chaos run and its fault-free reference fill one.
#pragma once

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "dataflow/record_text.hpp"
#include "dataflow/sink.hpp"

namespace rill::test {

/// What every output committed: "output t=… p=…" -> the partition's records as text, sorted.
struct CommittedRows {
  std::mutex mu;
  std::map<std::string, std::vector<std::string>> rows;
  std::map<std::string, uint64_t> markers;
  std::map<std::string, std::vector<std::string>> snapshot() {
    std::lock_guard lock(mu);
    return rows;
  }
};

/// write() stages; commit() publishes the rows and the marker under one lock, as one
/// transaction would; committed() reads the marker. A second commit of a key is a bug.
template <class T>
class MemorySink final : public TypedSink<T> {
 public:
  explicit MemorySink(std::shared_ptr<CommittedRows> out) : out_(std::move(out)) {}
  void open(const SinkContext& c) override { output_ = c.output; }
  void write(Millis t, int p, const std::vector<T>& records) override {
    std::vector<std::string> text;
    for (const T& r : records) text.push_back(to_text(r));
    std::sort(text.begin(), text.end());
    std::lock_guard lock(out_->mu);
    staged_[{t, p}] = std::move(text);
  }
  void commit(Millis t, int p, uint64_t hash) override {
    std::lock_guard lock(out_->mu);
    std::string k = key(t, p);
    if (out_->rows.count(k)) throw std::logic_error("second commit of " + k);
    out_->rows[k] = std::move(staged_[{t, p}]);
    out_->markers[k] = hash;
  }
  std::optional<uint64_t> committed(Millis t, int p) override {
    std::lock_guard lock(out_->mu);
    auto it = out_->markers.find(key(t, p));
    if (it == out_->markers.end()) return std::nullopt;
    return it->second;
  }

 private:
  std::string key(Millis t, int p) const {
    return output_ + " t=" + std::to_string(t.count()) + " p=" + std::to_string(p);
  }
  std::shared_ptr<CommittedRows> out_;
  std::string output_;
  std::map<std::pair<Millis, int>, std::vector<std::string>> staged_;
};

}  // namespace rill::test
