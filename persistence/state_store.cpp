#include "persistence/state_store.hpp"

#include "persistence/keys.hpp"

#include <optional>

namespace rill::persistence {

namespace {

// Key: u32 name length + name + u32 partition + i64 t, so one (stream, partition) is one
// contiguous range in time order.
std::string prefix(const std::string& stream, int partition) {
  std::string out;
  put_u32(out, static_cast<uint32_t>(stream.size()));
  out += stream;
  put_u32(out, static_cast<uint32_t>(partition));
  return out;
}

std::string key_at(const std::string& stream, int partition, Millis t) {
  std::string out = prefix(stream, partition);
  put_i64(out, t.count());
  return out;
}

constexpr uint8_t kFull = 1, kDelta = 2;

}  // namespace

std::future<Status> StateStore::write(const std::string& stream, int partition,
                                      const StateSnapshot& snapshot,
                                      std::optional<Millis> drop_before) {
  WriteBatch batch;
  if (snapshot.full && drop_before) {
    std::string p = prefix(stream, partition);
    auto txn = env_.begin_read();  // ends before submit(): never wait on the writer holding it
    if (txn) {
      (void)txn->scan(Db::state, p, p, [&](std::span<const uint8_t> key, std::span<const uint8_t>) {
        if (get_i64(key.data() + key.size() - 8) >= drop_before->count()) return false;
        batch.del(Db::state, std::string(key.begin(), key.end()));
        return true;
      });
    }
  }
  std::string key = key_at(stream, partition, snapshot.t);
  std::string payload;
  payload.reserve(1 + snapshot.bytes.size());
  payload.push_back(static_cast<char>(snapshot.full ? kFull : kDelta));
  payload += snapshot.bytes;
  batch.put(Db::state, key, seal_value(key, payload));
  return writer_.submit(std::move(batch));
}

Result<std::vector<StateSnapshot>> StateStore::read_for_restore(const std::string& stream,
                                                                int partition, Millis c) const {
  auto txn = env_.begin_read();
  if (!txn) return txn.status();
  std::vector<StateSnapshot> out;
  Status bad;
  std::string p = prefix(stream, partition);
  Status st = txn->scan(Db::state, p, p, [&](std::span<const uint8_t> key, std::span<const uint8_t> payload) {
    Millis t(get_i64(key.data() + key.size() - 8));
    if (t > c) return false;
    if (payload.empty() || (payload[0] != kFull && payload[0] != kDelta)) {
      bad = Status(Errc::corrupt, "store " + env_.dir() + ": state of '" + stream + "' partition " +
                                      std::to_string(partition) + " at " + to_string(t) + ": unknown snapshot kind");
      return false;
    }
    bool full = payload[0] == kFull;
    if (full) out.clear();  // a full snapshot supersedes everything before it
    out.push_back({t, full, std::string(reinterpret_cast<const char*>(payload.data()) + 1, payload.size() - 1)});
    return true;
  });
  if (!st) return st;
  if (!bad) return bad;
  return out;
}

Status StateStore::drop_after(const std::string& stream, int partition, Millis c) {
  WriteBatch batch;
  {  // the read txn ends before waiting for the writer (it may need to grow the map)
    auto txn = env_.begin_read();
    if (!txn) return txn.status();
    std::string p = prefix(stream, partition);
    std::string from = key_at(stream, partition, c + Millis{1});
    Status st = txn->scan(Db::state, from, p, [&](std::span<const uint8_t> key, std::span<const uint8_t>) {
      batch.del(Db::state, std::string(key.begin(), key.end()));
      return true;
    });
    if (!st) return st;
  }
  if (batch.empty()) return Status::ok();
  return writer_.write(std::move(batch));
}

Result<std::size_t> StateStore::add_retention(const ReadTxn& txn, Millis c, WriteBatch& batch) const {
  // One pass over the db in key order: (stream, partition) ranges are contiguous and in time
  // order, so each range's entries are held until its last full snapshot at or before c. The
  // values are not verified as they pass (that would hash every snapshot on every pass): only a
  // full snapshot that would make older entries go, before they go.
  std::size_t deleted = 0;
  std::string range;                 // the (stream, partition) prefix being scanned
  std::vector<std::string> pending;  // its keys before the latest full snapshot seen
  Status bad;
  Status st = txn.scan_unverified(Db::state, {}, {}, [&](std::span<const uint8_t> key, std::span<const uint8_t> value) {
    if (key.size() < 8) return true;
    std::string_view prefix(reinterpret_cast<const char*>(key.data()), key.size() - 8);
    if (prefix != range) {
      range.assign(prefix);
      pending.clear();
    }
    if (get_i64(key.data() + key.size() - 8) > c.count()) return true;
    if (value.size() > kChecksumBytes && value[kChecksumBytes] == kFull && !pending.empty()) {
      if (!open_value(key, value)) {
        bad = Status(Errc::corrupt, "store " + env_.dir() + ", db " + describe_key(Db::state, key) +
                                        ": checksum mismatch (stored value damaged)");
        return false;
      }
      for (auto& k : pending) batch.del(Db::state, std::move(k));
      deleted += pending.size();
      pending.clear();
    }
    pending.emplace_back(key.begin(), key.end());
    return true;
  });
  if (!st) return st;
  if (!bad) return bad;
  return deleted;
}

std::pair<size_t, size_t> StateStore::usage(const std::string& stream, int partition) const {
  std::pair<size_t, size_t> out{0, 0};
  auto txn = env_.begin_read();
  if (!txn) return out;
  std::string p = prefix(stream, partition);
  (void)txn->scan(Db::state, p, p, [&](std::span<const uint8_t>, std::span<const uint8_t> payload) {
    ++out.first;
    out.second += payload.size();
    return true;
  });
  return out;
}

}  // namespace rill::persistence
