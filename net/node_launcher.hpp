// NodeLauncher: rill-launch's engine. Runs every node of a cluster config as a child process
// on this machine, prefixes their output, restarts failed ones within a budget. One thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "dataflow/time.hpp"

namespace rill::net {

/// Cuts a byte stream into lines and puts a prefix before each, as rill-launch does with
/// every node's output ("[worker-1] "). A partial line waits for its end, up to kMaxLine bytes.
class PrefixedLines {
 public:
  /// A line longer than this is cut there: memory stays bounded whatever a node writes.
  static constexpr std::size_t kMaxLine = 64 * 1024;

  /// prefix: put before every line.
  explicit PrefixedLines(std::string prefix) : prefix_(std::move(prefix)) {}
  /// Takes more bytes; returns the complete lines among them, each prefixed and ending '\n'.
  std::string feed(std::string_view bytes);
  /// At the end of the stream: the partial line, prefixed and ended; empty when none.
  std::string flush();

 private:
  std::string prefix_;
  std::string partial_;
};

/// At most `max_restarts` restarts within a sliding `window`, as YARN counts application
/// attempts. Pure: the caller passes the time.
class RestartBudget {
 public:
  /// max_restarts: restarts allowed within any `window`.
  RestartBudget(int max_restarts, Millis window) : max_(max_restarts), window_(window) {}
  /// Records a restart at `now` and returns true when the budget allows one more; false
  /// (recording nothing) when max_restarts already happened within the window before now.
  bool try_restart(std::chrono::steady_clock::time_point now);
  /// Restarts recorded within the window before `now`.
  int used(std::chrono::steady_clock::time_point now);

 private:
  int max_;
  Millis window_;
  std::deque<std::chrono::steady_clock::time_point> restarts_;
};

/// What rill-launch runs and how it supervises it; each field says its default.
struct LaunchOptions {
  /// The cluster config; passed to every node as --config, as given.
  std::string config_path;
  /// The application and its arguments; each node runs them followed by
  /// `--config CONFIG --node NAME`.
  std::vector<std::string> command;
  /// Restarts of one node allowed within restart_window; a failure beyond them stops every
  /// node and rill-launch exits 1. Default 3.
  int max_restarts = 3;
  /// The sliding window max_restarts counts in. Default 60 s.
  Millis restart_window{60000};
  /// The pause before a restart (a port still held, a peer not back yet). Default 200 ms.
  Millis restart_delay{200};
  /// After SIGTERM, how long nodes get to stop before SIGKILL. Default 10 s.
  Millis stop_grace{10000};
  /// Nodes stopped first, on SIGINT or SIGTERM; the others get SIGTERM once these have
  /// exited (each group gets its own stop_grace). rill-launch names the driver: its graceful
  /// stop runs the last batches on the workers, which must still be there. Default empty:
  /// every node at once.
  std::vector<std::string> stop_first{};
};

/// Starts the nodes, relays their output, restarts a node that died abnormally (a signal or
/// an exit status other than 0, 2 and 127), and stops them all on SIGINT or SIGTERM or when a
/// node exhausts its restarts. Exit status 2 (rill::run refused its command line or config)
/// and 127 (the command could not be run) are not restarted: a restart cannot fix them.
/// Each node runs in its own process group, which gets the signals; a node whose launcher
/// dies gets SIGTERM from the kernel (PR_SET_PDEATHSIG), so no node outlives it.
class NodeLauncher {
 public:
  /// nodes: the names to start, in order.
  NodeLauncher(LaunchOptions options, std::vector<std::string> nodes);
  ~NodeLauncher();
  NodeLauncher(const NodeLauncher&) = delete;
  NodeLauncher& operator=(const NodeLauncher&) = delete;

  /// Runs until every node has ended. Installs SIGINT, SIGTERM and SIGCHLD handlers for the
  /// duration. Returns 0 when every node exited 0 or was stopped by a signal to rill-launch,
  /// 1 when a node failed for good (restarts exhausted, or exit status 2 or 127).
  int run();

 private:
  struct Node;
  void start(Node& node);
  void read_output(Node& node, int which);
  void reap();
  void ended(Node& node, int wait_status);
  void begin_stop(const std::string& why);
  void say(const std::string& line);

  LaunchOptions options_;
  std::vector<Node> nodes_;
  bool stopping_ = false;
  bool failed_ = false;
  bool killed_ = false;
  bool rest_signalled_ = false;  // the nodes after stop_first got their SIGTERM
  bool stops_first(const Node& node) const;
  void signal_rest();
  std::chrono::steady_clock::time_point kill_at_{};
};

}  // namespace rill::net
