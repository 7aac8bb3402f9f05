#include "tests/support/crash_harness.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sqlite3.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <stdexcept>
#include <thread>

extern char** environ;

namespace rill::test {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

std::string ExitStatus::describe() const {
  if (exited) return "exit code " + std::to_string(code);
  return "killed by signal " + std::to_string(signal) + " (" + ::strsignal(signal) + ")";
}

std::string Step::describe() const {
  switch (kind) {
    case Kind::ok:
      return "ok: " + reply;
    case Kind::error:
      return "error reply: " + reply;
    case Kind::died:
      return "child died: " + (exit ? exit->describe() : std::string("?"));
    case Kind::timeout:
      return "no reply in time (child still running)";
  }
  return "?";
}

ChildProcess::ChildProcess(const ChildOptions& options) {
  // A write to a dead child's pipe must fail with EPIPE, not kill the test.
  std::signal(SIGPIPE, SIG_IGN);
  int to[2], from[2];
  if (::pipe2(to, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(from, O_CLOEXEC) != 0) {
    ::close(to[0]), ::close(to[1]);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> args{options.binary};
  args.insert(args.end(), options.args.begin(), options.args.end());
  if (options.control) {
    args.push_back("--control");
    args.push_back(std::to_string(to[0]) + "," + std::to_string(from[1]));
  }
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    if (!options.env.count(std::string(kv.substr(0, kv.find('='))))) env.emplace_back(kv);
  }
  for (const auto& [k, v] : options.env) env.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  for (auto& e : env) envp.push_back(e.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  int log = -1;
  if (!options.log_file.empty()) {
    log = ::open(options.log_file.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (log < 0)
      throw std::runtime_error("cannot open " + options.log_file.string() + ": " +
                               std::strerror(errno));
  }

  pid_ = ::fork();
  if (pid_ == 0) {
    if (log >= 0) ::dup2(log, 1), ::dup2(log, 2);
    ::fcntl(to[0], F_SETFD, 0);  // the control fds survive exec, nothing else of ours does
    ::fcntl(from[1], F_SETFD, 0);
    ::signal(SIGPIPE, SIG_DFL);  // ignored dispositions would be inherited through exec
    ::execve(options.binary.c_str(), argv.data(), envp.data());
    const char msg[] = "crash_harness: execve failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  int fork_errno = errno;
  if (log >= 0) ::close(log);
  ::close(to[0]);
  ::close(from[1]);
  to_child_ = to[1];
  from_child_ = from[0];
  if (pid_ < 0) {
    ::close(to_child_), ::close(from_child_);
    throw std::runtime_error(std::string("fork: ") + std::strerror(fork_errno));
  }
}

ChildProcess::~ChildProcess() {
  if (!status_) {
    kill();
    (void)wait(std::chrono::seconds(10));
  }
  if (to_child_ >= 0) ::close(to_child_);
  if (from_child_ >= 0) ::close(from_child_);
}

bool ChildProcess::send(const std::string& line) {
  std::string data = line + "\n";
  for (size_t done = 0; done < data.size();) {
    ssize_t n = ::write(to_child_, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    done += static_cast<size_t>(n);
  }
  return true;
}

std::optional<std::string> ChildProcess::read_line(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  for (;;) {
    if (size_t nl = buffer_.find('\n'); nl != std::string::npos) {
      std::string line = buffer_.substr(0, nl);
      buffer_.erase(0, nl + 1);
      return line;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    pollfd p{from_child_, POLLIN, 0};
    int r = ::poll(&p, 1, static_cast<int>(left.count()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) return std::nullopt;
    char buf[4096];
    ssize_t n = ::read(from_child_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;  // closed: the child is gone
    buffer_.append(buf, static_cast<size_t>(n));
  }
}

void ChildProcess::kill() {
  if (!status_ && pid_ > 0) ::kill(pid_, SIGKILL);
}

std::optional<ExitStatus> ChildProcess::wait(std::chrono::milliseconds timeout) {
  if (status_) return status_;
  auto deadline = Clock::now() + timeout;
  for (;;) {
    int st = 0;
    pid_t r = ::waitpid(pid_, &st, WNOHANG);
    if (r == pid_) {
      ExitStatus s;
      s.exited = WIFEXITED(st);
      s.code = s.exited ? WEXITSTATUS(st) : 0;
      s.signal = WIFSIGNALED(st) ? WTERMSIG(st) : 0;
      status_ = s;
      return status_;
    }
    if (r < 0 && errno != EINTR)
      throw std::runtime_error(std::string("waitpid: ") + std::strerror(errno));
    if (Clock::now() >= deadline) return std::nullopt;
    // No portable wait-with-timeout on a pid before pidfd; a child's exit is rare here.
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

ChildOptions Harness::with_clock(ChildOptions options, long long clock_start_ms) {
  options.control = true;
  options.args.push_back("--clock-start");
  options.args.push_back(std::to_string(clock_start_ms));
  return options;
}

Harness::Harness(ChildOptions options, long long clock_start_ms,
                 std::chrono::milliseconds step_timeout)
    : step_timeout_(step_timeout),
      child_(with_clock(std::move(options), clock_start_ms)),
      now_ms_(clock_start_ms) {
  Step ready = await_reply("ready ");
  if (!ready.ok()) throw std::runtime_error("sample did not start: " + ready.describe());
}

Step Harness::await_reply(const std::string& expect_prefix) {
  Step step;
  if (auto line = child_.read_line(step_timeout_)) {
    step.reply = *line;
    if (line->rfind(expect_prefix, 0) != 0) {
      step.kind = Step::Kind::error;
      return step;
    }
    if (expect_prefix == "ok " || expect_prefix == "ready ")
      now_ms_ = step.now_ms = std::atoll(line->c_str() + expect_prefix.size());
    return step;
  }
  // No line: the child closed its end (it died) or is silent. A dead child's exit is
  // seen at once; a silent one is left running for the test to kill.
  step.exit = child_.wait(std::chrono::seconds(10));
  step.kind = step.exit ? Step::Kind::died : Step::Kind::timeout;
  return step;
}

Step Harness::advance(long long ms) {
  (void)child_.send("advance " + std::to_string(ms));  // a dead child shows in the reply
  return await_reply("ok ");
}

Step Harness::stop() {
  (void)child_.send("stop");
  Step step = await_reply("bye");
  if (!step.ok()) return step;
  step.exit = child_.wait(step_timeout_);
  if (!step.exit)
    step.kind = Step::Kind::timeout;
  else if (!step.exit->exited || step.exit->code != 0)
    step.kind = Step::Kind::died;
  return step;
}

ExitStatus Harness::kill() {
  child_.kill();
  auto status = child_.wait(std::chrono::seconds(10));
  if (!status) throw std::runtime_error("child did not die after SIGKILL");
  return *status;
}

OutputTree read_output_tree(const fs::path& dir) {
  OutputTree tree;
  for (const auto& batch : fs::directory_iterator(dir)) {
    if (!batch.is_directory()) continue;
    std::vector<std::string> lines;
    for (const auto& file : fs::directory_iterator(batch.path())) {
      std::string name = file.path().filename().string();
      if (name.rfind("part-", 0) != 0) continue;  // _SUCCESS, .part-NNNNN.tmp
      std::ifstream in(file.path(), std::ios::binary);
      for (std::string line; std::getline(in, line);) lines.push_back(line);
    }
    std::sort(lines.begin(), lines.end());
    std::string key = batch.path().filename().string();
    if (!fs::exists(batch.path() / "_SUCCESS")) key += " (incomplete)";
    tree[key] = std::move(lines);
  }
  return tree;
}

void publish_file(const fs::path& dir, const std::string& name, const std::string& content) {
  fs::path tmp = dir / ("." + name + ".tmp");
  {
    std::ofstream out(tmp, std::ios::binary);
    out << content;
    if (!out.flush()) throw std::runtime_error("cannot write " + tmp.string());
  }
  fs::rename(tmp, dir / name);
}

std::vector<std::string> sqlite_rows(const fs::path& path, const std::string& sql) {
  std::vector<std::string> rows;
  if (!fs::exists(path)) return rows;
  sqlite3* db = nullptr;
  auto fail = [&](const std::string& what) {
    std::string msg =
        path.string() + ": " + what + ": " + (db ? sqlite3_errmsg(db) : "out of memory");
    sqlite3_close(db);
    throw std::runtime_error(msg);
  };
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) fail("open");
  sqlite3_busy_timeout(db, 5000);
  sqlite3_stmt* stmt = nullptr;
  if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) != SQLITE_OK) fail(sql);
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    std::string row;
    for (int i = 0; i < sqlite3_column_count(stmt); ++i) {
      const unsigned char* v = sqlite3_column_text(stmt, i);
      row += (i ? "|" : "") + std::string(v ? reinterpret_cast<const char*>(v) : "NULL");
    }
    rows.push_back(std::move(row));
  }
  sqlite3_finalize(stmt);
  if (rc != SQLITE_DONE) fail(sql);
  sqlite3_close(db);
  std::sort(rows.begin(), rows.end());
  return rows;
}

TempTree::TempTree(const std::string& prefix) {
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  if (!::mkdtemp(tmpl.data()))
    throw std::runtime_error("mkdtemp: " + std::string(std::strerror(errno)));
  root_ = tmpl;
}

TempTree::~TempTree() {
  std::error_code ec;
  if (!std::getenv("RILL_KEEP_TEMP")) fs::remove_all(root_, ec);
}

}  // namespace rill::test
