// The demo publisher of `thermostat --demo`: plays the thermostats, publishing readings to a
// JetStream subject, and starts a throwaway nats-server when none answers. Owned by main.
#pragma once

#include <atomic>
#include <string>
#include <thread>

namespace rill::samples {

class JetStreamDemo {
 public:
  /// Connects to url (starting `nats-server -js` on its port with a temporary store when
  /// nothing answers), creates stream (subjects: subject) if missing, and publishes a reading
  /// per device every 100 ms, with a malformed one now and then. Exits the process with a
  /// message when it cannot.
  JetStreamDemo(const std::string& url, const std::string& stream, const std::string& subject);
  ~JetStreamDemo();
  JetStreamDemo(const JetStreamDemo&) = delete;
  JetStreamDemo& operator=(const JetStreamDemo&) = delete;

 private:
  void publish_loop();
  std::string subject_;
  void* connection_ = nullptr;  // natsConnection*: nats.h stays in the .cpp
  void* js_ = nullptr;          // jsCtx*
  int server_pid_ = -1;         // the nats-server this demo started, or -1
  std::string store_dir_;       // its store, removed at the end
  std::atomic<bool> stop_{false};
  std::thread thread_;
};

}  // namespace rill::samples
