#include "persistence/keys.hpp"

#define XXH_STATIC_LINKING_ONLY  // XXH3_state_t on the stack
#include <xxhash.h>

#include <cstring>

namespace rill::persistence {

const char* db_name(Db db) noexcept {
  switch (db) {
    case Db::meta: return "meta";
    case Db::wal: return "wal";
    case Db::state: return "state";
    case Db::markers: return "markers";
  }
  return "?";
}

void put_u32(std::string& out, uint32_t v) {
  for (int s = 24; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

void put_u64(std::string& out, uint64_t v) {
  for (int s = 56; s >= 0; s -= 8) out.push_back(static_cast<char>((v >> s) & 0xff));
}

uint32_t get_u32(const uint8_t* p) noexcept {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | p[i];
  return v;
}

uint64_t get_u64(const uint8_t* p) noexcept {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | p[i];
  return v;
}

std::string wal_key(uint32_t stream, uint64_t seq) {
  std::string k;
  k.reserve(kWalKeyBytes);
  put_u32(k, stream);
  put_u64(k, seq);
  return k;
}

std::string meta_key(MetaType type) { return std::string(1, static_cast<char>(type)); }

std::string meta_key(MetaType type, std::string_view suffix) {
  std::string k = meta_key(type);
  k.append(suffix);
  return k;
}

std::string meta_time_key(MetaType type, int64_t t_ms) {
  std::string k = meta_key(type);
  put_i64(k, t_ms);
  return k;
}

std::string commit_key(uint32_t output, int64_t t_ms, uint32_t partition) {
  std::string k = meta_key(MetaType::commit);
  put_u32(k, output);
  put_i64(k, t_ms);
  put_u32(k, partition);
  return k;
}

namespace {
uint64_t checksum(const void* key, std::size_t key_len, const void* payload, std::size_t len) {
  XXH3_state_t state;
  XXH3_64bits_reset(&state);
  XXH3_64bits_update(&state, key, key_len);
  XXH3_64bits_update(&state, payload, len);
  return XXH3_64bits_digest(&state);
}
}  // namespace

std::string seal_value(std::string_view key, std::string_view payload) {
  std::string v;
  v.reserve(kChecksumBytes + payload.size());
  put_u64(v, checksum(key.data(), key.size(), payload.data(), payload.size()));
  v.append(payload);
  return v;
}

std::optional<std::span<const uint8_t>> open_value(std::span<const uint8_t> key,
                                                   std::span<const uint8_t> value) {
  if (value.size() < kChecksumBytes) return std::nullopt;
  auto payload = value.subspan(kChecksumBytes);
  if (get_u64(value.data()) != checksum(key.data(), key.size(), payload.data(), payload.size()))
    return std::nullopt;
  return payload;
}

std::string describe_key(Db db, std::span<const uint8_t> key) {
  std::string out = db_name(db);
  if (db == Db::wal && key.size() == kWalKeyBytes) {
    return out + " stream " + std::to_string(get_u32(key.data())) + " seq " +
           std::to_string(get_u64(key.data() + 4));
  }
  if (db == Db::meta && !key.empty()) {
    auto type = static_cast<MetaType>(key[0]);
    if ((type == MetaType::allocation || type == MetaType::completion) && key.size() == 9)
      return out + (type == MetaType::allocation ? " allocation" : " completion") +
             " t=" + std::to_string(get_i64(key.data() + 1)) + " ms";
    if (type == MetaType::commit && key.size() == 17)
      return out + " commit output " + std::to_string(get_u32(key.data() + 1)) +
             " t=" + std::to_string(get_i64(key.data() + 5)) + " ms partition " +
             std::to_string(get_u32(key.data() + 13));
    if (type == MetaType::partitions)
      return out + " partitions '" +
             std::string(reinterpret_cast<const char*>(key.data()) + 1, key.size() - 1) + "'";
  }
  static const char* kHex = "0123456789abcdef";
  out += " key 0x";
  for (uint8_t b : key) {
    out.push_back(kHex[b >> 4]);
    out.push_back(kHex[b & 15]);
  }
  return out;
}

}  // namespace rill::persistence
