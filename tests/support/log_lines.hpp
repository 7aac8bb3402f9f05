// Captures spdlog's default logger into memory for as long as it lives, so a test can wait
// (bounded) for a line the runtime logs from another thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include <spdlog/sinks/base_sink.h>
#include <spdlog/spdlog.h>

namespace rill::test {

class LogLines {
 public:
  LogLines() : sink_(std::make_shared<Sink>()), previous_(spdlog::default_logger()) {
    auto logger = std::make_shared<spdlog::logger>("test", sink_);
    logger->set_level(spdlog::level::debug);
    spdlog::set_default_logger(logger);
  }
  ~LogLines() { spdlog::set_default_logger(previous_); }
  LogLines(const LogLines&) = delete;
  LogLines& operator=(const LogLines&) = delete;

  /// Everything logged so far, one line per message.
  std::string text() const {
    std::lock_guard lock(sink_->lines_mu);
    return sink_->lines;
  }
  bool contains(const std::string& part) const { return text().find(part) != std::string::npos; }
  /// Waits until a logged line contains `part`; false after `timeout`.
  bool wait_for(const std::string& part,
                std::chrono::milliseconds timeout = std::chrono::seconds(20)) const {
    std::unique_lock lock(sink_->lines_mu);
    return sink_->logged.wait_for(lock, timeout,
                                  [&] { return sink_->lines.find(part) != std::string::npos; });
  }

 private:
  struct Sink : spdlog::sinks::base_sink<std::mutex> {
    mutable std::mutex lines_mu;
    std::condition_variable logged;
    std::string lines;
    void sink_it_(const spdlog::details::log_msg& msg) override {
      {
        std::lock_guard lock(lines_mu);
        lines.append(msg.payload.data(), msg.payload.size());
        lines += '\n';
      }
      logged.notify_all();
    }
    void flush_() override {}
  };
  std::shared_ptr<Sink> sink_;
  std::shared_ptr<spdlog::logger> previous_;
};

}  // namespace rill::test
