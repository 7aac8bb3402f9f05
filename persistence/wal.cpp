#include "persistence/wal.hpp"

#include <string>

namespace rill::persistence {

namespace {

WalBlock decode(std::span<const uint8_t> key, std::span<const uint8_t> payload) {
  WalBlock b;
  b.stream = get_u32(key.data());
  b.seq = get_u64(key.data() + 4);
  b.source_offset = get_u64(payload.data());
  b.frame = net::Frame(std::vector<uint8_t>(payload.begin() + kWalHeaderBytes, payload.end()));
  return b;
}

Status malformed(const LmdbEnv& env, std::span<const uint8_t> key) {
  return {Errc::corrupt, "store " + env.dir() + ", db " + describe_key(Db::wal, key) +
                             ": record shorter than its header"};
}

}  // namespace

WriteBatch& WalWriter::add_block(WriteBatch& batch, uint32_t stream, uint64_t seq,
                                 uint64_t source_offset, const net::Frame& frame) {
  std::string key = wal_key(stream, seq);
  std::string payload;
  payload.reserve(kWalHeaderBytes + frame.size());
  put_u64(payload, source_offset);
  payload.append(reinterpret_cast<const char*>(frame.data()), frame.size());
  std::string value = seal_value(key, payload);
  return batch.put_new(Db::wal, std::move(key), std::move(value));
}

std::future<Status> WalWriter::append(uint32_t stream, uint64_t seq, uint64_t source_offset,
                                      const net::Frame& frame) {
  WriteBatch batch;
  add_block(batch, stream, seq, source_offset, frame);
  return writer_.submit(std::move(batch));
}

Result<WalBlock> WalReader::read(uint32_t stream, uint64_t seq) const {
  auto txn = env_.begin_read();
  if (!txn) return txn.status();
  std::string key = wal_key(stream, seq);
  auto got = txn->get(Db::wal, key);
  if (!got) return got.status();
  if (!*got)
    return Status(Errc::not_found, "store " + env_.dir() + ", db " +
                                       describe_key(Db::wal, to_span(key)) + ": no such block");
  if ((*got)->size() < kWalHeaderBytes) return malformed(env_, to_span(key));
  return decode(to_span(key), **got);
}

Result<std::vector<WalBlock>> WalReader::read_from(uint32_t stream, uint64_t from,
                                                   std::size_t max_blocks) const {
  auto txn = env_.begin_read();
  if (!txn) return txn.status();
  std::string prefix;
  put_u32(prefix, stream);
  std::vector<WalBlock> out;
  Status bad;
  Status st = txn->scan(Db::wal, wal_key(stream, from), prefix,
                        [&](std::span<const uint8_t> key, std::span<const uint8_t> payload) {
                          if (key.size() != kWalKeyBytes || payload.size() < kWalHeaderBytes) {
                            bad = malformed(env_, key);
                            return false;
                          }
                          out.push_back(decode(key, payload));
                          return out.size() < max_blocks;
                        });
  if (!st.is_ok()) return st;
  if (!bad.is_ok()) return bad;
  return out;
}

Result<std::size_t> WalReader::delete_up_to(StoreWriter& writer, uint32_t stream,
                                            uint64_t up_to) const {
  WriteBatch batch;
  {
    // Collect keys under a read txn, then release it before waiting on the writer.
    auto txn = env_.begin_read();
    if (!txn) return txn.status();
    std::string prefix;
    put_u32(prefix, stream);
    std::string from = wal_key(stream, 0);
    // Keys only: verifying each block on the way would hash every byte being deleted.
    Status st = txn->scan_unverified(Db::wal, from, prefix,
                                     [&](std::span<const uint8_t> key, std::span<const uint8_t>) {
                                       if (get_u64(key.data() + 4) > up_to) return false;
                                       batch.del(Db::wal, std::string(key.begin(), key.end()));
                                       return true;
                                     });
    if (!st.is_ok()) return st;
  }
  std::size_t n = batch.ops().size();
  if (n == 0) return n;
  Status st = writer.write(std::move(batch));
  if (!st.is_ok()) return st;
  return n;
}

}  // namespace rill::persistence
