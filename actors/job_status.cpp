#include "actors/job_status.hpp"

#include <algorithm>

#include <spdlog/spdlog.h>

namespace rill::actors {

template <class Event>
void JobStatus::notify(Event&& event) {
  std::lock_guard lock(notify_mu_);
  for (auto& l : listeners_) {
    try {
      event(*l);
    } catch (const std::exception& e) {
      spdlog::error("a streaming listener threw: {}", e.what());
    } catch (...) {
      spdlog::error("a streaming listener threw a non-exception");
    }
  }
}

void JobStatus::streaming_started(Millis time) {
  notify([&](StreamingListener& l) { l.on_streaming_started(time); });
}

void JobStatus::batch_submitted(const BatchInfo& info) {
  notify([&](StreamingListener& l) { l.on_batch_submitted(info); });
}

void JobStatus::batch_started(const BatchInfo& info) {
  notify([&](StreamingListener& l) { l.on_batch_started(info); });
}

void JobStatus::batch_completed(const BatchInfo& info) {
  {
    std::lock_guard lock(mu_);
    completed_times_.insert(info.batch_time);
    infos_.push_back(info);
  }
  cv_.notify_all();
  notify([&](StreamingListener& l) { l.on_batch_completed(info); });
}

void JobStatus::batch_failed(const BatchInfo& info) {
  notify([&](StreamingListener& l) { l.on_batch_failed(info); });
}

void JobStatus::output_started(const OutputOperationInfo& info) {
  notify([&](StreamingListener& l) { l.on_output_operation_started(info); });
}

void JobStatus::output_completed(const OutputOperationInfo& info) {
  notify([&](StreamingListener& l) { l.on_output_operation_completed(info); });
}

void JobStatus::checkpoint_completed(const CheckpointInfo& info) {
  notify([&](StreamingListener& l) { l.on_checkpoint_completed(info); });
}

void JobStatus::receiver_error(const std::string& receiver, const std::string& message,
                               Millis time) {
  {
    std::lock_guard lock(mu_);
    ReceiverInfo& r = receivers_[receiver];
    r.name = receiver;
    r.last_error = message;
    r.last_error_time = time;
  }
  notify([&](StreamingListener& l) { l.on_receiver_error(receiver, message); });
}

void JobStatus::receiver_started(const std::string& receiver) {
  ReceiverInfo info;
  {
    std::lock_guard lock(mu_);
    ++receivers_started_;
    ReceiverInfo& r = receivers_[receiver];
    r.name = receiver;
    r.active = true;
    ++r.starts;
    info = r;
  }
  cv_.notify_all();
  notify([&](StreamingListener& l) { l.on_receiver_started(info); });
}

void JobStatus::receiver_stopped(const std::string& receiver) {
  ReceiverInfo info;
  {
    std::lock_guard lock(mu_);
    ReceiverInfo& r = receivers_[receiver];
    if (!r.active) return;  // stopped already (a stop, then the actor's exit)
    r.active = false;
    info = r;
  }
  notify([&](StreamingListener& l) { l.on_receiver_stopped(info); });
}

std::optional<ReceiverInfo> JobStatus::receiver(const std::string& receiver) const {
  std::lock_guard lock(mu_);
  auto it = receivers_.find(receiver);
  if (it == receivers_.end()) return std::nullopt;
  return it->second;
}

void JobStatus::mirror_receiver(const ReceiverInfo& remote, uint64_t incarnation) {
  ReceiverInfo now;
  bool started = false, failed = false, stopped = false;
  {
    std::lock_guard lock(mu_);
    ReceiverInfo& r = receivers_[remote.name];
    Mirrored& m = mirrored_[remote.name];
    if (m.incarnation != incarnation) {  // the worker's process restarted: its count did too
      m.incarnation = incarnation;
      m.earlier_starts = r.starts;
    } else if (remote.starts < m.remote_starts) {
      return;  // an older view than one already recorded
    }
    m.remote_starts = remote.starts;
    now = remote;
    now.starts = m.earlier_starts + std::min(remote.starts, 1 << 20);
    started = now.starts > r.starts;
    failed = !now.last_error.empty() &&
             (now.last_error != r.last_error || now.last_error_time != r.last_error_time);
    stopped = r.active && !now.active;
    receivers_started_ += now.starts - std::min(now.starts, r.starts);
    r = now;
  }
  if (started) {
    spdlog::info("stream {}: its receiver on node {} started (start {})", now.name, now.node,
                 now.starts);
    cv_.notify_all();
    notify([&](StreamingListener& l) { l.on_receiver_started(now); });
  }
  if (failed) notify([&](StreamingListener& l) { l.on_receiver_error(now.name, now.last_error); });
  if (stopped) notify([&](StreamingListener& l) { l.on_receiver_stopped(now); });
}

void JobStatus::actor_restarted(const std::string& kind, const std::string& name,
                                const std::string& reason) {
  restarts_.fetch_add(1);
  notify([&](StreamingListener& l) { l.on_actor_restarted(kind, name, reason); });
}

void JobStatus::terminate(std::optional<std::string> error) {
  {
    std::lock_guard lock(mu_);
    if (terminated_) return;
    terminated_ = true;
    error_ = std::move(error);
  }
  cv_.notify_all();
}

void JobStatus::drained() {
  {
    std::lock_guard lock(mu_);
    drained_ = true;
  }
  cv_.notify_all();
}

void JobStatus::ready() {
  {
    std::lock_guard lock(mu_);
    ready_ = true;
  }
  cv_.notify_all();
}

bool JobStatus::wait_ready(Millis timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return ready_ || terminated_; });
}

bool JobStatus::wait_receivers(int n, Millis timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return receivers_started_ >= n || terminated_; });
}

void JobStatus::nondeterministic_output() {
  std::lock_guard lock(mu_);
  ++nondeterministic_outputs_;
}

uint64_t JobStatus::nondeterministic_outputs() const {
  std::lock_guard lock(mu_);
  return nondeterministic_outputs_;
}

bool JobStatus::terminated() const {
  std::lock_guard lock(mu_);
  return terminated_;
}

std::optional<std::string> JobStatus::error() const {
  std::lock_guard lock(mu_);
  return error_;
}

bool JobStatus::wait_terminated(std::optional<Millis> timeout) {
  std::unique_lock lock(mu_);
  if (!timeout) {
    cv_.wait(lock, [this] { return terminated_; });
    return true;
  }
  return cv_.wait_for(lock, *timeout, [this] { return terminated_; });
}

bool JobStatus::wait_batch(Millis t, Millis timeout) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [&] { return completed_times_.count(t) > 0 || terminated_; });
  return completed_times_.count(t) > 0;
}

bool JobStatus::wait_drained(Millis timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return drained_ || terminated_; });
}

std::vector<BatchInfo> JobStatus::completed() const {
  std::lock_guard lock(mu_);
  return infos_;
}

}  // namespace rill::actors
