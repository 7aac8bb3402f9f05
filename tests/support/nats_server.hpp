// Test support: a throwaway nats-server with JetStream on a free loopback port and a store
// directory, stopped and restarted at will, and a synchronous JetStream publisher. One thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

namespace rill::test {

class ChildProcess;

/// `nats-server -js -a 127.0.0.1 -p PORT -sd DIR`, its output appended to DIR/server.log.
/// The binary is $RILL_NATS_SERVER (meson sets it), else nats-server from /usr/sbin.
class NatsServer {
 public:
  /// Picks a free port and starts; throws std::runtime_error naming the log when the server
  /// is not ready (JetStream up) within 15 s.
  explicit NatsServer(std::filesystem::path store_dir);
  ~NatsServer();
  NatsServer(const NatsServer&) = delete;
  NatsServer& operator=(const NatsServer&) = delete;

  int port() const { return port_; }
  std::string url() const { return "nats://127.0.0.1:" + std::to_string(port_); }
  /// Starts again on the same port and store; waits until ready (as the constructor).
  void start();
  /// SIGTERM (JetStream flushes its store), then waits for the exit.
  void stop();
  /// SIGKILL: the server gets no chance to flush; what it acknowledged is in its files (the OS
  /// still holds them). Waits for the exit.
  void kill();
  /// The server's log so far, for failure messages.
  std::string log() const;

 private:
  void end(int signal);
  std::filesystem::path dir_;
  int port_ = 0;
  int ready_seen_ = 0;  // "Server is ready" lines in the log so far
  std::unique_ptr<ChildProcess> process_;
};

/// A NATS connection with a JetStream context; every call waits for the server's answer and
/// throws std::runtime_error naming what failed.
class JetStreamClient {
 public:
  explicit JetStreamClient(const std::string& url);
  ~JetStreamClient();
  JetStreamClient(const JetStreamClient&) = delete;
  JetStreamClient& operator=(const JetStreamClient&) = delete;

  /// Creates a file-backed limits stream over subjects.
  void add_stream(const std::string& name, const std::vector<std::string>& subjects);
  /// Publishes and waits for the ack; returns the message's stream sequence.
  uint64_t publish(const std::string& subject, const std::string& payload);
  /// Deletes a stream with its messages.
  void delete_stream(const std::string& name);
  /// Deletes the message at stream sequence seq (as retention limits would).
  void delete_message(const std::string& stream, uint64_t seq);

 private:
  void* nc_ = nullptr;  // natsConnection*
  void* js_ = nullptr;  // jsCtx*
};

}  // namespace rill::test
