// Test support for the durability suite: runs a sample as a child process on a logical clock
// over its control channel, kills it, and reads its output trees. Owned by one test thread.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace rill::test {

/// How a child process ended.
struct ExitStatus {
  bool exited = false;  ///< by exit(): code is set
  int code = 0;
  int signal = 0;  ///< by a signal: its number
  bool killed_by(int sig) const { return !exited && signal == sig; }
  /// "exit code 0", "killed by signal 9 (Killed)".
  std::string describe() const;
};

/// What a child process runs with.
struct ChildOptions {
  std::string binary;
  std::vector<std::string> args;
  /// Set in the child's environment on top of the parent's (RILL_FAILPOINTS=...).
  std::map<std::string, std::string> env{};
  /// Give the child a control channel: "--control R,W" is appended to args.
  bool control = true;
  /// Where the child's stdout and stderr go (appended); empty: inherited.
  std::filesystem::path log_file{};
};

/// A forked and exec'd child with pipes for its control channel. Killed (SIGKILL) and
/// reaped by the destructor if still running. Throws std::runtime_error when it cannot start.
class ChildProcess {
 public:
  explicit ChildProcess(const ChildOptions& options);
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  pid_t pid() const { return pid_; }
  /// Writes line + '\n' to the child's command fd; false if the child is gone.
  bool send(const std::string& line);
  /// The next reply line, waiting at most timeout; nullopt on timeout or when the child
  /// closed its reply fd (it died or exited: see wait()).
  std::optional<std::string> read_line(std::chrono::milliseconds timeout);
  /// SIGKILL (if still running).
  void kill();
  /// Reaps the child, waiting at most timeout; nullopt if it is still running then.
  std::optional<ExitStatus> wait(std::chrono::milliseconds timeout);
  /// Set once wait() reaped the child.
  const std::optional<ExitStatus>& status() const { return status_; }

 private:
  pid_t pid_ = -1;
  int to_child_ = -1;    // its command fd's other end
  int from_child_ = -1;  // its reply fd's other end
  std::string buffer_;   // reply bytes after the last full line
  std::optional<ExitStatus> status_;
};

/// The result of one harness step.
struct Step {
  enum class Kind { ok, error, died, timeout };
  Kind kind = Kind::ok;
  std::string reply;                 ///< the child's reply line ("ok 3000", "error ...")
  std::optional<ExitStatus> exit{};  ///< when kind is died
  long long now_ms = -1;             ///< the clock after an ok advance
  bool ok() const { return kind == Kind::ok; }
  bool died_by(int sig) const { return kind == Kind::died && exit && exit->killed_by(sig); }
  std::string describe() const;
};

/// Drives a sample through batches over its control channel. The sample gets
/// "--control R,W --clock-start MS" on top of options.args.
class Harness {
 public:
  /// Starts the child and waits for its "ready" (its sources started: files published from
  /// now on are new to it). step_timeout bounds each reply (a batch that hangs is a failure).
  /// Throws std::runtime_error when the child does not get ready.
  Harness(ChildOptions options, long long clock_start_ms,
          std::chrono::milliseconds step_timeout = std::chrono::seconds(60));
  /// "advance ms"; waits for "ok <now>". A child that dies meanwhile is reaped and reported.
  Step advance(long long ms);
  /// "stop"; waits for "bye" and the child's exit.
  Step stop();
  /// SIGKILLs and reaps the child.
  ExitStatus kill();
  ChildProcess& child() { return child_; }
  /// The clock after the last ok advance (a restart passes it as the new clock start).
  long long now_ms() const { return now_ms_; }

 private:
  Step await_reply(const std::string& expect_prefix);
  static ChildOptions with_clock(ChildOptions options, long long clock_start_ms);

  std::chrono::milliseconds step_timeout_;
  ChildProcess child_;
  long long now_ms_;
};

/// A save_as_text_files output tree: batch dir name -> its part files' lines, sorted. A dir
/// without _SUCCESS (a batch cut short) is keyed "<name> (incomplete)". Hidden and temporary
/// files are ignored.
using OutputTree = std::map<std::string, std::vector<std::string>>;
OutputTree read_output_tree(const std::filesystem::path& dir);

/// The rows `sql` returns from the SQLite file at path, columns joined by '|', sorted; empty
/// when the file does not exist. Throws std::runtime_error naming the file on an error.
std::vector<std::string> sqlite_rows(const std::filesystem::path& path, const std::string& sql);

/// Writes content to dir/.name.tmp, then renames it to dir/name (what WatchedDirSource wants).
void publish_file(const std::filesystem::path& dir, const std::string& name,
                  const std::string& content);

/// A fresh directory under the system temp dir, removed (recursively) by the destructor
/// unless RILL_KEEP_TEMP is set (to look at a failed run).
class TempTree {
 public:
  explicit TempTree(const std::string& prefix = "rill-crash");
  ~TempTree();
  TempTree(const TempTree&) = delete;
  TempTree& operator=(const TempTree&) = delete;
  const std::filesystem::path& path() const { return root_; }
  std::filesystem::path operator/(const std::string& name) const { return root_ / name; }

 private:
  std::filesystem::path root_;
};

}  // namespace rill::test
