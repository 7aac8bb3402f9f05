#include "actors/job_status.hpp"

namespace rill::actors {

void JobStatus::batch_completed(const BatchInfo& info) {
  {
    std::lock_guard lock(mu_);
    completed_times_.insert(info.batch_time);
    infos_.push_back(info);
  }
  cv_.notify_all();
  for (auto& l : listeners_) l->on_batch_completed(info);
}

void JobStatus::batch_failed(const BatchInfo& info) {
  for (auto& l : listeners_) l->on_batch_failed(info);
}

void JobStatus::receiver_error(const std::string& receiver, const std::string& message) {
  for (auto& l : listeners_) l->on_receiver_error(receiver, message);
}

void JobStatus::actor_restarted(const std::string& kind, const std::string& name,
                                const std::string& reason) {
  restarts_.fetch_add(1);
  for (auto& l : listeners_) l->on_actor_restarted(kind, name, reason);
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

void JobStatus::receiver_started() {
  {
    std::lock_guard lock(mu_);
    ++receivers_started_;
  }
  cv_.notify_all();
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
