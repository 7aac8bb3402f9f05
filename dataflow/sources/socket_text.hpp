// socket_text_stream's receiver: lines of text from a TCP server, reconnecting with backoff.
// One instance per receiver generation; only its own thread touches the socket.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "dataflow/receiver.hpp"

namespace rill {

/// Cuts a byte stream into lines at '\n' and drops one trailing '\r' from each, joining lines
/// that arrive across several feeds. Empty lines are kept. Not thread-safe: one reader.
class LineSplitter {
 public:
  /// Appends to out the lines that bytes completes, in order; keeps the unterminated rest.
  void feed(std::string_view bytes, std::vector<std::string>& out);
  /// At end of stream: moves the unterminated rest, if any, into last and returns true.
  bool finish(std::string& last);
  /// Bytes of the line not terminated yet.
  size_t pending_bytes() const { return partial_.size(); }

 private:
  std::string partial_;
};

/// Reconnection delays of a SocketTextReceiver, slept on the context's clock.
struct SocketBackoff {
  /// Delay after the first failure, and after a connection ends. Default 100 ms.
  Millis initial{100};
  /// Each further consecutive failure doubles the delay up to this. Default 2 s.
  Millis max{2000};
};

/// Reads lines from host:port (Spark's socketTextStream receiver) and stores the lines of each
/// read as one chunk. A final unterminated line is stored when the server closes the
/// connection; one cut by a connection error or by stop() is dropped. A refused, failed or
/// closed connection is reported with report_error() (naming host:port and the cause) and
/// retried after a backoff. on_stop() wakes the reading thread at once, wherever it blocks.
///
/// Under a ManualClock the backoff waits for advance(), while waiting on the network does not
/// hold advance() back: when lines arrive relative to batches is up to the network.
class SocketTextReceiver final : public Receiver<std::string> {
 public:
  /// REQUIRES: host non-empty, 1 <= port <= 65535 (socket_text_stream checks both).
  SocketTextReceiver(std::string host, int port, SocketBackoff backoff = {});
  ~SocketTextReceiver() override;
  SocketTextReceiver(const SocketTextReceiver&) = delete;
  SocketTextReceiver& operator=(const SocketTextReceiver&) = delete;

  /// Starts the thread that connects, reads and reconnects.
  void on_start() override;
  /// Wakes the thread from any poll(2); the slot then joins it.
  void on_stop() override;
  /// "host:port", as errors and logs name it.
  std::string address() const;

 private:
  enum class End { closed, failed, stopped };
  void run();
  int connect_any(std::string& error);
  End read_lines(int fd, std::string& error);
  bool wait_for(int fd, short events);

  std::string host_;
  int port_;
  SocketBackoff backoff_;
  // Self-pipe: on_stop() writes to wake_[1], so a poll(2) on wake_[0] returns at once.
  int wake_[2] = {-1, -1};
};

}  // namespace rill
