// The template bodies of ReceiverBlocks<T> (dataflow/receiver_blocks.hpp); include that header.
// Kept apart so the class reads as its interface.
#pragma once

#include "dataflow/receiver_blocks.hpp"

namespace rill {

template <class T>
Status ReceiverBlocks<T>::attach(BlockLog* log, int stream, Millis zero, Millis interval) {
  std::lock_guard w(write_mu_);
  zero_ = zero;
  interval_ = interval;
  stream_ = stream;
  log_ = options_.write_ahead_log ? log : nullptr;
  {
    std::lock_guard lock(mu_);
    logged_ = log_ != nullptr;
  }
  if (log_ == nullptr) return Status::ok();
  if constexpr (is_record_v<T>) {
    const uint64_t from = resume_at_.value_or(0);
    auto stored = log_->read_from(stream, from, type_signature<T>());
    if (!stored) return stored.status();
    // Without a resume point (a worker's receiver: the driver's cuts align it), the log starts
    // where retention trimmed it.
    const uint64_t first = !resume_at_ && !stored->empty() ? stored->front().seq : from;
    // Durable but never allocated: the first batch after the restart takes them.
    auto reloaded = reload(*stored, first, UINT64_MAX);
    if (!reloaded) return reloaded.status();
    std::optional<uint64_t> offset = reloaded->offset;
    if (!offset && first > 0) {
      auto previous = log_->read(stream, first - 1, type_signature<T>());
      if (previous) offset = previous->source_offset;
      else if (previous.status().code() != Errc::not_found) return previous.status();
    }
    next_seq_ = reloaded->next;
    std::lock_guard lock(mu_);
    if (!reloaded->blocks.empty())
      spdlog::info("receiver stream '{}': {} block(s), {} records, were durable but not allocated: "
                   "they go to the next batch", name_, reloaded->blocks.size(), reloaded->records);
    sealed_ = std::move(reloaded->blocks);
    sealed_records_ = reloaded->records;
    taken_until_ = first;
    last_offset_ = offset;
  }
  return Status::ok();
}

template <class T>
auto ReceiverBlocks<T>::reload(std::vector<StoredBlock>& stored, uint64_t first, uint64_t until) const
    -> Result<Reloaded> {
  Reloaded out;
  out.next = first;
  for (StoredBlock& b : stored) {
    if (b.seq >= until) break;
    if (b.seq != out.next)
      return Status(Errc::corrupt, "receiver stream '" + name_ + "': write-ahead log block " +
                                       std::to_string(out.next) + " is missing (next is " +
                                       std::to_string(b.seq) + ")");
    auto decoded = decode(b.columns);
    if (!decoded) return decoded.status();
    out.records += decoded->size();
    out.blocks.push_back(Block{b.seq, Millis::min(), std::move(*decoded)});
    out.offset = b.source_offset;
    ++out.next;
  }
  return out;
}

template <class T>
void ReceiverBlocks<T>::admit(uint64_t generation, std::size_t n, Clock& clock) {
  std::unique_lock lock(mu_);
  auto ready = [&] {
    const std::size_t held = sealed_records_ + buffer_.size();
    return options_.max_buffered == 0 || held == 0 || held + n <= options_.max_buffered ||
           !buffer_.is_current(generation);
  };
  if (ready()) return;
  lock.unlock();
  clock.idle();  // a ManualClock may move on, and tick the batch that makes room
  lock.lock();
  space_.wait(lock, ready);
  lock.unlock();
  clock.busy();
}

template <class T>
bool ReceiverBlocks<T>::store(uint64_t generation, Millis at, std::vector<T>&& records) {
  if (!options_.write_ahead_log) return buffer_.append(generation, at, std::move(records));
  std::lock_guard w(write_mu_);
  auto first = buffer_.front_time();
  // Blocks never straddle a batch boundary, so sealing early never moves a record's batch.
  if (log_ != nullptr && first &&
      (slot(*first) != slot(at) || at - *first >= options_.block_interval)) {
    Appending appending(*this, *first);
    if (Status s = seal_open(Millis::max()); !s)
      spdlog::warn("receiver stream '{}': {}; the records stay in memory", name_, s.to_string());
  }
  return buffer_.append(generation, at, std::move(records));
}

template <class T>
Status ReceiverBlocks<T>::store(uint64_t generation, Millis at, std::vector<T>&& records,
                                uint64_t offset) {
  {
    std::lock_guard w(write_mu_);
    if (!buffer_.is_current(generation)) {
      buffer_.count_rejected();
      return Status(Errc::stopped, "receiver stream '" + name_ +
                                       "': this receiver instance was stopped or replaced");
    }
    if (log_ == nullptr) {
      if (!buffer_.append(generation, at, std::move(records)))
        return Status(Errc::stopped, "receiver stream '" + name_ + "': instance stopped");
      return Status::ok();
    }
    // Unreliable records stored earlier go first, so blocks keep the order of store().
    auto open = buffer_.front_time();
    Appending appending(*this, open ? std::min(*open, at) : at);
    if (Status s = seal_open(Millis::max()); !s) return s;
    if (Status s = append(at, records, offset); !s) return s;
  }
  failpoint("wal.after_fsync_before_ack");
  return Status::ok();
}

template <class T>
Status ReceiverBlocks<T>::seal_open(Millis before) {
  auto first = buffer_.front_time();
  if (!first || *first >= before) return Status::ok();
  std::vector<T> records = buffer_.take_before(before);
  uint64_t offset = 0;
  {
    std::lock_guard lock(mu_);
    offset = last_offset_.value_or(0);  // unreliable blocks carry the last offset forward
  }
  Status s = append(*first, records, offset);
  if (!s) buffer_.put_back(*first, std::move(records));
  return s;
}

template <class T>
Status ReceiverBlocks<T>::append(Millis at, std::vector<T>& records, uint64_t offset) {
  if constexpr (is_record_v<T>) {
    EncodeColumns columns;
    encode_records(records, columns);
    const uint64_t seq = next_seq_;
    if (Status s = log_->append(stream_, seq, offset, columns); !s) {
      // The commit may have been durable with only its answer lost: then the block counts,
      // or a restart would hand it out while the receiver sends its records again.
      if (!log_->read(stream_, seq, type_signature<T>()))
        return Status(s.code(), "receiver stream '" + name_ + "', block " + std::to_string(seq) +
                                    ": " + s.message());
    }
    ++next_seq_;
    std::lock_guard lock(mu_);
    sealed_records_ += records.size();
    sealed_.push_back(Block{seq, at, std::move(records)});
    last_offset_ = offset;
    return Status::ok();
  } else {
    (void)at, (void)records, (void)offset;
    return Status(Errc::invalid_argument, "receiver stream '" + name_ + "': not a record type");
  }
}

template <class T>
Taken ReceiverBlocks<T>::take(Millis t, int partitions) {
  // write_mu_ only when there is something to seal or no log: with the log, blocks enter
  // sealed_ in seq order and an append's `at` only grows, so once no block before t is being
  // appended, the sealed blocks before t are a complete prefix of the batch's range.
  std::unique_lock w(write_mu_, std::defer_lock);
  bool logged = false;
  {
    std::unique_lock lock(mu_);
    logged = logged_;
    const auto open = buffer_.front_time();
    if (!logged || (open && *open < t)) {
      lock.unlock();
      w.lock();
      logged = log_ != nullptr;
    } else {
      appended_.wait(lock, [this, t] { return !appending_at_ || *appending_at_ >= t; });
    }
  }
  if (w.owns_lock() && logged) {
    if (Status s = seal_open(t); !s)
      spdlog::warn("receiver stream '{}': {}; its records wait for a later batch", name_, s.to_string());
  }
  std::vector<T> out;
  std::string replay;
  {
    std::lock_guard lock(mu_);
    const uint64_t first = taken_until_;
    while (!sealed_.empty() && sealed_.front().at < t) {
      auto& records = sealed_.front().records;
      sealed_records_ -= records.size();
      if (out.empty()) out = std::move(records);
      else out.insert(out.end(), std::make_move_iterator(records.begin()), std::make_move_iterator(records.end()));
      taken_until_ = sealed_.front().seq + 1;
      sealed_.pop_front();
    }
    if (logged) replay = std::to_string(first) + " " + std::to_string(taken_until_);
  }
  if (!logged) {  // no log, or detached at stop: what is left in memory
    std::vector<T> rest = buffer_.take_before(t);
    if (out.empty()) out = std::move(rest);
    else out.insert(out.end(), std::make_move_iterator(rest.begin()), std::make_move_iterator(rest.end()));
  }
  {
    std::lock_guard lock(mu_);
    space_.notify_all();
  }
  Taken taken = split_even(std::move(out), partitions);
  taken.replay = std::move(replay);
  return taken;
}

template <class T>
Status ReceiverBlocks<T>::align(uint64_t next) {
  std::lock_guard w(write_mu_);
  if (log_ == nullptr) return Status::ok();
  std::lock_guard lock(mu_);
  next_seq_ = std::max(next_seq_, next);  // new blocks never reuse a recorded range's seqs
  if (next > taken_until_) {  // behind the record: what a restart reloaded was allocated
    while (!sealed_.empty() && sealed_.front().seq < next) {
      sealed_records_ -= sealed_.front().records.size();
      sealed_.pop_front();
    }
    taken_until_ = next;
    return Status::ok();
  }
  if constexpr (is_record_v<T>) {
    if (next == taken_until_) return Status::ok();
    // Ahead of the record: the blocks [next, taken_until_) went to a cut no batch recorded
    // (its asker died first); they belong to the next take.
    auto stored = log_->read_from(stream_, next, type_signature<T>());
    if (!stored) return stored.status();
    auto back = reload(*stored, next, taken_until_);
    if (!back) return back.status();
    sealed_records_ += back->records;
    sealed_.insert(sealed_.begin(), std::make_move_iterator(back->blocks.begin()),
                   std::make_move_iterator(back->blocks.end()));
    taken_until_ = next;
  }
  return Status::ok();
}

template <class T>
Result<Taken> ReceiverBlocks<T>::replay(std::string_view recorded, int partitions) const {
  std::vector<T> out;
  if (!recorded.empty()) {
    auto range = detail::parse_block_range(recorded);
    if (!range)
      return Status(Errc::corrupt, "receiver stream '" + name_ + "': recorded block range '" +
                                       std::string(recorded) + "' is malformed");
    BlockLog* log = nullptr;
    int stream = 0;
    {
      std::lock_guard w(write_mu_);
      log = log_;
      stream = stream_;
    }
    if (range->first != range->second && log == nullptr)
      return Status(Errc::unavailable, "receiver stream '" + name_ + "': no write-ahead log to replay from");
    if constexpr (is_record_v<T>) {
      for (uint64_t seq = range->first; seq < range->second; ++seq) {
        auto block = log->read(stream, seq, type_signature<T>());
        if (!block)
          return Status(block.status().code(), "receiver stream '" + name_ + "', block " +
                                                   std::to_string(seq) + ": " + block.status().message());
        auto records = decode(block->columns);
        if (!records) return records.status();
        out.insert(out.end(), std::make_move_iterator(records->begin()), std::make_move_iterator(records->end()));
      }
    }
  }
  Taken taken = split_even(std::move(out), partitions);
  taken.replay = std::string(recorded);
  return taken;
}

template <class T>
Result<std::vector<T>> ReceiverBlocks<T>::decode(const DecodeColumns& columns) const {
  if constexpr (is_record_v<T>) {
    auto records = decode_records<T>(columns, uint64_t{1} << 40);
    if (!records)
      return Status(records.status().code(), "receiver stream '" + name_ + "': " + records.status().message());
    return records;
  } else {
    (void)columns;
    return Status(Errc::invalid_argument, "receiver stream '" + name_ + "': not a record type");
  }
}

}  // namespace rill
