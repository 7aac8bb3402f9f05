#include "dataflow/receiver.hpp"

#include <charconv>

#include <spdlog/spdlog.h>

namespace rill {

ReceiverBase::~ReceiverBase() {
  // A receiver destroyed without stop() (runtime torn down mid-start) must not leave threads.
  stopped_ = true;
  if (clock_ != nullptr) clock_->wake();
  for (auto& t : threads_)
    if (t.joinable()) t.join();
}

void ReceiverBase::restart(const std::string& reason) {
  if (slot_ != nullptr && !is_stopped()) slot_->request_restart(reason);
}

void ReceiverBase::report_error(const std::string& message) {
  if (slot_ != nullptr) slot_->report_error(message);
}

void ReceiverBase::start_thread(std::function<void()> body) {
  Clock* clock = clock_;
  // Under the manual clock a new thread runs until its first sleep before time moves on.
  clock->hold();
  threads_.emplace_back([clock, body = std::move(body)] {
    clock->adopt();
    body();
    clock->thread_finished();
  });
}

void ReceiverSlot::set_handlers(std::function<void(std::string)> on_restart,
                                std::function<void(std::string)> on_error) {
  std::lock_guard lock(mu_);
  on_restart_ = std::move(on_restart);
  on_error_ = std::move(on_error);
}

void ReceiverSlot::request_restart(const std::string& reason) {
  std::function<void(std::string)> fn;
  {
    std::lock_guard lock(mu_);
    fn = on_restart_;
  }
  if (!fn) return;
  // Held until the new instance started (restart_done), so a manual clock waits for it.
  if (clock_ != nullptr) clock_->hold();
  fn(reason);
}

void ReceiverSlot::restart_done() {
  if (clock_ != nullptr) clock_->release();
}

void ReceiverSlot::report_error(const std::string& message) {
  std::function<void(std::string)> fn;
  {
    std::lock_guard lock(mu_);
    fn = on_error_;
  }
  spdlog::warn("receiver {}: {}", name_, message);
  if (fn) fn(message);
}

void ReceiverSlot::start() {
  stop();
  std::unique_ptr<ReceiverBase> next = factory_();
  next->clock_ = clock_;
  next->slot_ = this;
  next->generation_ = ++generation_;
  if (bind) bind(*next, next->generation_);
  ReceiverBase* r = next.get();
  {
    std::lock_guard lock(mu_);
    current_ = std::move(next);
  }
  r->on_start();
}

void ReceiverSlot::stop() {
  std::unique_ptr<ReceiverBase> old;
  {
    std::lock_guard lock(mu_);
    old = std::move(current_);
  }
  if (!old) return;
  if (revoke) revoke();
  old->stopped_ = true;
  if (clock_ != nullptr) clock_->wake();
  old->on_stop();
  for (auto& t : old->threads_)
    if (t.joinable()) t.join();
}

}  // namespace rill

namespace rill::detail {

std::optional<std::pair<uint64_t, uint64_t>> parse_block_range(std::string_view recorded) {
  auto space = recorded.find(' ');
  if (space == std::string_view::npos) return std::nullopt;
  uint64_t first = 0, end = 0;
  auto a = std::from_chars(recorded.data(), recorded.data() + space, first);
  auto b = std::from_chars(recorded.data() + space + 1, recorded.data() + recorded.size(), end);
  if (a.ec != std::errc{} || a.ptr != recorded.data() + space || b.ec != std::errc{} ||
      b.ptr != recorded.data() + recorded.size() || end < first)
    return std::nullopt;
  return std::pair{first, end};
}

}  // namespace rill::detail
