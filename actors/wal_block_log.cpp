#include "actors/wal_block_log.hpp"

#include <stdexcept>
#include <string>
#include <utility>

#include "net/codec.hpp"

namespace rill::actors {

namespace {

// The columns borrow the frame's bytes (or an aligned copy of them): keep both alive with them.
Result<StoredBlock> to_block(persistence::WalBlock&& stored, std::string_view type_signature) {
  auto frame = std::make_shared<const net::Frame>(std::move(stored.frame));
  auto columns = net::read_frame(*frame, net::DecodeLimits{}, type_signature);
  if (!columns)
    return Status(columns.status().code(), "write-ahead log block (stream " +
                                               std::to_string(stored.stream) + ", seq " +
                                               std::to_string(stored.seq) + "): " +
                                               columns.status().message());
  StoredBlock out{stored.seq, stored.source_offset, std::move(*columns)};
  out.columns.owner = std::make_shared<const std::pair<std::shared_ptr<const void>,
                                                       std::shared_ptr<const net::Frame>>>(
      std::move(out.columns.owner), std::move(frame));
  return out;
}

}  // namespace

Status WalBlockLog::append(int stream, uint64_t seq, uint64_t source_offset,
                           const EncodeColumns& block) {
  net::Frame frame;
  try {
    frame = net::write_frame(block);
  } catch (const std::length_error& e) {
    return Status(Errc::too_large, std::string("write-ahead log block: ") + e.what());
  }
  return store_->wal_writer()
      .append(static_cast<uint32_t>(stream), seq, source_offset, frame)
      .get();
}

Result<StoredBlock> WalBlockLog::read(int stream, uint64_t seq,
                                      std::string_view type_signature) const {
  auto stored = store_->wal_reader().read(static_cast<uint32_t>(stream), seq);
  if (!stored) return stored.status();
  return to_block(std::move(*stored), type_signature);
}

Result<std::vector<StoredBlock>> WalBlockLog::read_from(int stream, uint64_t from,
                                                        std::string_view type_signature) const {
  auto stored = store_->wal_reader().read_from(static_cast<uint32_t>(stream), from);
  if (!stored) return stored.status();
  std::vector<StoredBlock> out;
  out.reserve(stored->size());
  for (auto& b : *stored) {
    auto block = to_block(std::move(b), type_signature);
    if (!block) return block.status();
    out.push_back(std::move(*block));
  }
  return out;
}

}  // namespace rill::actors
