// Test support: a child process whose stdout and stderr the test reads, waiting for lines with
// a deadline (never sleep-and-hope). Owned by one test thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rill::test {

/// A forked and exec'd program with its stdout and stderr captured. The destructor SIGKILLs
/// its process group if it still runs, and reaps it. Throws std::runtime_error when it
/// cannot start.
class PipedChild {
 public:
  /// argv[0] is the program's path; env entries are set on top of the parent's environment.
  /// new_group: run in a process group of its own (kill_group() then reaches its children).
  explicit PipedChild(std::vector<std::string> argv, std::map<std::string, std::string> env = {},
                      bool new_group = true);
  ~PipedChild();
  PipedChild(const PipedChild&) = delete;
  PipedChild& operator=(const PipedChild&) = delete;

  pid_t pid() const { return pid_; }
  /// Reads output until `text` appears in stdout or stderr (after `from`, an offset into
  /// output()), or until timeout, or until both streams end. True when it appeared.
  bool wait_for(const std::string& text, std::chrono::milliseconds timeout, std::size_t from = 0);
  /// Sends a signal to the child.
  void signal(int sig);
  /// Reads output and reaps the child, waiting at most timeout. The exit code (128 + signal
  /// when a signal ended it), or nothing if it still runs.
  std::optional<int> wait(std::chrono::milliseconds timeout);
  /// Everything read so far from stdout and stderr, interleaved as it arrived.
  const std::string& output() const { return output_; }
  /// Stdout alone, so far.
  const std::string& out() const { return out_; }
  /// Stderr alone, so far.
  const std::string& err() const { return err_; }

 private:
  // Reads what is ready, waiting at most timeout: >0 read (or closed) something, 0 nothing
  // ready, -1 both streams ended.
  int pump(std::chrono::milliseconds timeout);

  pid_t pid_ = -1;
  int fds_[2] = {-1, -1};
  std::string output_, out_, err_;
  std::optional<int> exit_code_;
};

/// Runs argv to its end (at most timeout, else SIGKILL and a failed REQUIRE-able result).
struct RunResult {
  int code = -1;         ///< exit code; -1 when it timed out
  std::string out, err;  ///< its stdout and stderr
};
/// Runs a program to completion with a deadline.
RunResult run_to_end(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                     std::map<std::string, std::string> env = {});

/// True when no process with this pid exists (a zombie counts as existing).
bool process_gone(pid_t pid);

}  // namespace rill::test
