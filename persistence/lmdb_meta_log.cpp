#include "persistence/lmdb_meta_log.hpp"

#include "persistence/keys.hpp"

namespace rill::persistence {

namespace {

const uint8_t* bytes(const std::string& s) { return reinterpret_cast<const uint8_t*>(s.data()); }

std::string encode_i64(int64_t v) {
  std::string out;
  put_i64(out, v);
  return out;
}

}  // namespace

std::string encode_allocation(const std::vector<BlockRef>& blocks) {
  std::string out;
  put_u32(out, static_cast<uint32_t>(blocks.size()));
  for (const auto& b : blocks) {
    put_u32(out, static_cast<uint32_t>(b.stream));
    put_u64(out, b.seq);
    put_i64(out, b.records);
    put_u32(out, static_cast<uint32_t>(b.replay.size()));
    out += b.replay;
  }
  return out;
}

std::optional<std::vector<BlockRef>> decode_allocation(std::span<const uint8_t> v) {
  constexpr std::size_t kFixed = 4 + 8 + 8 + 4;
  if (v.size() < 4) return std::nullopt;
  uint32_t n = get_u32(v.data());
  std::size_t at = 4;
  std::vector<BlockRef> out;
  for (uint32_t i = 0; i < n; ++i) {
    if (v.size() - at < kFixed) return std::nullopt;
    const uint8_t* p = v.data() + at;
    BlockRef b{static_cast<int>(get_u32(p)), get_u64(p + 4), get_i64(p + 12), {}};
    uint32_t len = get_u32(p + 20);
    at += kFixed;
    if (v.size() - at < len) return std::nullopt;
    b.replay.assign(reinterpret_cast<const char*>(v.data() + at), len);
    at += len;
    out.push_back(std::move(b));
  }
  if (at != v.size()) return std::nullopt;
  return out;
}

std::optional<std::string> LmdbMetaLog::read(const std::string& key) const {
  Status st;
  {
    auto txn = env_.begin_read();
    if (txn) {
      auto got = txn->get(Db::meta, key);
      if (got && *got) return std::string((*got)->begin(), (*got)->end());
      if (got) return std::nullopt;
      st = got.status();
    } else {
      st = txn.status();
    }
  }
  std::lock_guard lock(error_mu_);
  if (first_error_.is_ok()) first_error_ = st;
  return std::nullopt;
}

Status LmdbMetaLog::first_read_error() const {
  std::lock_guard lock(error_mu_);
  return first_error_;
}

Status LmdbMetaLog::record_zero_time(Millis zero) {
  std::string key = meta_key(MetaType::zero_time);
  Status st = writer_.write(WriteBatch().put_new(Db::meta, key, seal_value(key, encode_i64(zero.count()))));
  if (st.code() != Errc::invalid_argument) return st;
  // Already recorded: the same value again is fine, a different one is not.
  auto have = zero_time();
  if (have && *have == zero) return Status::ok();
  return {Errc::invalid_argument,
          "store " + env_.dir() + ": zero time already recorded as " +
              (have ? to_string(*have) : std::string("(unreadable)"))};
}

std::optional<Millis> LmdbMetaLog::zero_time() const {
  auto v = read(meta_key(MetaType::zero_time));
  if (!v || v->size() != 8) return std::nullopt;
  return Millis(get_i64(bytes(*v)));
}

Status LmdbMetaLog::record_partitions(const std::string& stream, int partitions) {
  std::string key = meta_key(MetaType::partitions, stream);
  std::string payload;
  put_u32(payload, static_cast<uint32_t>(partitions));
  return writer_.write(WriteBatch().put(Db::meta, key, seal_value(key, payload)));
}

std::optional<int> LmdbMetaLog::partitions(const std::string& stream) const {
  auto v = read(meta_key(MetaType::partitions, stream));
  if (!v || v->size() != 4) return std::nullopt;
  return static_cast<int>(get_u32(bytes(*v)));
}

Status LmdbMetaLog::record_allocation(Millis t, const std::vector<BlockRef>& blocks) {
  // Allocation is write-once: a re-run of t must read the same blocks, never new ones.
  std::string key = meta_time_key(MetaType::allocation, t.count());
  Status st = writer_.write(WriteBatch().put_new(Db::meta, key, seal_value(key, encode_allocation(blocks))));
  if (st.code() == Errc::invalid_argument)
    return {Errc::invalid_argument, "batch " + to_string(t) + " was already allocated (" + st.message() + ")"};
  return st;
}

std::optional<std::vector<BlockRef>> LmdbMetaLog::allocation(Millis t) const {
  auto v = read(meta_time_key(MetaType::allocation, t.count()));
  if (!v) return std::nullopt;
  return decode_allocation(to_span(*v));
}

Result<std::vector<Allocation>> LmdbMetaLog::allocations_after(Millis t) const {
  auto txn = env_.begin_read();
  if (!txn) return txn.status();
  std::vector<Allocation> out;
  Status bad;
  std::string from = meta_time_key(MetaType::allocation, t.count() + 1);
  Status st = txn->scan(Db::meta, from, meta_key(MetaType::allocation),
                        [&](std::span<const uint8_t> key, std::span<const uint8_t> payload) {
                          auto blocks = decode_allocation(payload);
                          if (!blocks || key.size() != 9) {
                            bad = Status(Errc::corrupt, "store " + env_.dir() + ": " + describe_key(Db::meta, key) +
                                                            ": malformed allocation");
                            return false;
                          }
                          out.emplace_back(Millis(get_i64(key.data() + 1)), std::move(*blocks));
                          return true;
                        });
  if (!st) return st;
  if (!bad) return bad;
  return out;
}

Status LmdbMetaLog::record_job(const std::string& signature) {
  std::string key = meta_key(MetaType::job);
  return writer_.write(WriteBatch().put(Db::meta, key, seal_value(key, signature)));
}

std::optional<std::string> LmdbMetaLog::job() const { return read(meta_key(MetaType::job)); }

Status LmdbMetaLog::record_downtime(Millis from, Millis to) {
  std::string key = meta_time_key(MetaType::downtime, from.count());
  return writer_.write(WriteBatch().put(Db::meta, key, seal_value(key, encode_i64(to.count()))));
}

std::vector<std::pair<Millis, Millis>> LmdbMetaLog::downtimes() const {
  std::vector<std::pair<Millis, Millis>> out;
  auto txn = env_.begin_read();
  if (!txn) return out;
  (void)txn->scan(Db::meta, meta_key(MetaType::downtime), meta_key(MetaType::downtime),
                  [&](std::span<const uint8_t> key, std::span<const uint8_t> payload) {
                    if (key.size() == 9 && payload.size() == 8)
                      out.emplace_back(Millis(get_i64(key.data() + 1)), Millis(get_i64(payload.data())));
                    return true;
                  });
  return out;
}

Status LmdbMetaLog::record_commit(int output, Millis t, int partition, uint64_t hash) {
  std::string key = commit_key(static_cast<uint32_t>(output), t.count(), static_cast<uint32_t>(partition));
  std::string payload;
  put_u64(payload, hash);
  return writer_.write(WriteBatch().put(Db::meta, key, seal_value(key, payload)));
}

bool LmdbMetaLog::is_committed(int output, Millis t, int partition) const {
  return read(commit_key(static_cast<uint32_t>(output), t.count(), static_cast<uint32_t>(partition)))
      .has_value();
}

std::optional<uint64_t> LmdbMetaLog::commit_hash(int output, Millis t, int partition) const {
  auto v = read(commit_key(static_cast<uint32_t>(output), t.count(), static_cast<uint32_t>(partition)));
  if (!v || v->size() != 8) return std::nullopt;
  return get_u64(bytes(*v));
}

Status LmdbMetaLog::record_completion(Millis t, bool checkpoint) {
  std::lock_guard lock(completion_mu_);
  auto last = last_completed();
  if (last && *last >= t)
    return {Errc::invalid_argument, "batch " + to_string(t) + " completed out of order"};
  std::string ckey = meta_time_key(MetaType::completion, t.count());
  std::string lkey = meta_key(MetaType::last_completed);
  WriteBatch batch;
  batch.put(Db::meta, ckey, seal_value(ckey, {}));
  batch.put(Db::meta, lkey, seal_value(lkey, encode_i64(t.count())));
  if (checkpoint) {
    std::string ckpt = meta_key(MetaType::last_checkpoint);
    batch.put(Db::meta, ckpt, seal_value(ckpt, encode_i64(t.count())));
  }
  return writer_.write(std::move(batch));
}

std::optional<Millis> LmdbMetaLog::last_checkpoint() const {
  auto v = read(meta_key(MetaType::last_checkpoint));
  if (!v || v->size() != 8) return std::nullopt;
  return Millis(get_i64(bytes(*v)));
}

std::optional<Millis> LmdbMetaLog::last_completed() const {
  auto v = read(meta_key(MetaType::last_completed));
  if (!v || v->size() != 8) return std::nullopt;
  return Millis(get_i64(bytes(*v)));
}

Status LmdbMetaLog::verify() const {
  auto txn = env_.begin_read();
  if (!txn) return txn.status();
  return txn->scan(Db::meta, {}, {}, [](std::span<const uint8_t>, std::span<const uint8_t>) {
    return true;
  });
}

}  // namespace rill::persistence
