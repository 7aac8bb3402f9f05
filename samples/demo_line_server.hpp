// An in-process TCP line server for `network_wordcount --demo`: plays `nc -lk` with generated
// text so ./dev run needs no second terminal. Owned by main; stops in its destructor.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace rill::samples {

class DemoLineServer {
 public:
  /// Listens on 127.0.0.1 (ephemeral port) and, to each client, writes a line of words every
  /// line_ms milliseconds, drawn with a fixed seed.
  explicit DemoLineServer(int line_ms = 20);
  ~DemoLineServer();
  int port() const { return port_; }
  /// Lines written so far (all clients).
  long lines_sent() const { return lines_.load(); }

 private:
  void serve();
  int listen_fd_ = -1;
  int port_ = 0;
  int line_ms_;
  std::atomic<bool> stop_{false};
  std::atomic<long> lines_{0};
  std::thread thread_;
};

}  // namespace rill::samples
