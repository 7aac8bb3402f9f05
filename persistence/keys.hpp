// The store's on-disk key and value layout (persistence/FORMAT.md is the prose): shared by every
// reader and writer. Pure functions and constants: share freely.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace rill::persistence {

/// Store format version, kept in `meta` under kFormatVersionKey. Bump on any layout change;
/// a store with a newer version is refused at open.
inline constexpr uint32_t kFormatVersion = 1;

/// The named LMDB databases of a store (LMDB "maxdbs" is kDbCount).
enum class Db : uint8_t { meta = 0, wal = 1, state = 2, markers = 3 };
inline constexpr int kDbCount = 4;
const char* db_name(Db db) noexcept;

/// First byte of every `meta` key: the record type. Values are append-only; never reuse one.
enum class MetaType : uint8_t {
  format_version = 0x01,  ///< key: type only; payload: u32 version
  zero_time = 0x02,       ///< key: type only; payload: i64 ms
  partitions = 0x03,      ///< key: type + stream name bytes; payload: i32 count
  allocation = 0x04,      ///< key: type + time; payload: u32 n, n x (u32 stream, u64 seq, i64 records, u32 len, replay)
  commit = 0x05,          ///< key: type + u32 output + time + u32 partition; payload: u64 hash
  completion = 0x06,      ///< key: type + time; payload: empty
  last_completed = 0x07,  ///< key: type only; payload: i64 ms
  last_checkpoint = 0x08, ///< key: type only; payload: i64 ms
  job = 0x09,             ///< key: type only; payload: the DAG signature text
  downtime = 0x0A,        ///< key: type + i64 first skipped time; payload: i64 last skipped time
  replica_position = 0x0B,  ///< a replica's only: key: type only; payload: u64 incarnation, u64 seq
};

/// Size of the XXH3-64 checksum that opens every value (big-endian).
inline constexpr std::size_t kChecksumBytes = 8;
/// WAL key: u32 stream id BE + u64 block seq BE, so LMDB order is (stream, seq) order.
inline constexpr std::size_t kWalKeyBytes = 12;
/// WAL payload header: u64 source offset BE, then the frame bytes.
inline constexpr std::size_t kWalHeaderBytes = 8;

// Big-endian fixed-width encoding. Signed times flip the sign bit so byte order = numeric order.
void put_u32(std::string& out, uint32_t v);
void put_u64(std::string& out, uint64_t v);
inline void put_i64(std::string& out, int64_t v) {
  put_u64(out, static_cast<uint64_t>(v) ^ (uint64_t{1} << 63));
}
uint32_t get_u32(const uint8_t* p) noexcept;
uint64_t get_u64(const uint8_t* p) noexcept;
inline int64_t get_i64(const uint8_t* p) noexcept {
  return static_cast<int64_t>(get_u64(p) ^ (uint64_t{1} << 63));
}

std::string wal_key(uint32_t stream, uint64_t seq);
std::string meta_key(MetaType type);
std::string meta_key(MetaType type, std::string_view suffix);
std::string meta_time_key(MetaType type, int64_t t_ms);
std::string commit_key(uint32_t output, int64_t t_ms, uint32_t partition);

/// Value = checksum(key, payload) BE + payload. The checksum covers the key too, so a value
/// copied under the wrong key is caught as well as flipped bits.
std::string seal_value(std::string_view key, std::string_view payload);
/// The payload of a sealed value (a view into `value`), or nullopt when the checksum fails.
std::optional<std::span<const uint8_t>> open_value(std::span<const uint8_t> key,
                                                   std::span<const uint8_t> value);

/// "wal stream 3 seq 17", "meta allocation t=1500", or hex: how keys appear in errors.
std::string describe_key(Db db, std::span<const uint8_t> key);

}  // namespace rill::persistence
