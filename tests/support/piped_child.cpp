#include "tests/support/piped_child.hpp"

#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <stdexcept>
#include <string_view>

extern char** environ;

namespace rill::test {
namespace {
using Clock = std::chrono::steady_clock;
}

PipedChild::PipedChild(std::vector<std::string> args, std::map<std::string, std::string> env_set,
                       bool new_group) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0)
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  if (::pipe2(err, O_CLOEXEC) != 0) {
    ::close(out[0]);
    ::close(out[1]);
    throw std::runtime_error(std::string("pipe: ") + std::strerror(errno));
  }
  // Everything the child needs is built before fork: after it, only async-signal-safe calls.
  std::vector<std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string_view kv(*e);
    if (!env_set.count(std::string(kv.substr(0, kv.find('='))))) env.emplace_back(kv);
  }
  for (const auto& [k, v] : env_set) env.push_back(k + "=" + v);
  std::vector<char*> argv, envp;
  for (auto& a : args) argv.push_back(a.data());
  for (auto& e : env) envp.push_back(e.data());
  argv.push_back(nullptr);
  envp.push_back(nullptr);
  pid_ = ::fork();
  if (pid_ == 0) {
    if (new_group) ::setpgid(0, 0);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::signal(SIGPIPE, SIG_DFL);
    ::execve(argv[0], argv.data(), envp.data());
    const char msg[] = "piped_child: execve failed\n";
    (void)!::write(2, msg, sizeof msg - 1);
    ::_exit(127);
  }
  int fork_errno = errno;
  ::close(out[1]);
  ::close(err[1]);
  fds_[0] = out[0];
  fds_[1] = err[0];
  if (pid_ < 0) throw std::runtime_error(std::string("fork: ") + std::strerror(fork_errno));
  if (new_group) ::setpgid(pid_, pid_);
}

PipedChild::~PipedChild() {
  if (!exit_code_ && pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
  for (int fd : fds_)
    if (fd >= 0) ::close(fd);
}

int PipedChild::pump(std::chrono::milliseconds timeout) {
  pollfd p[2];
  int n = 0;
  for (int fd : fds_)
    if (fd >= 0) p[n++] = {fd, POLLIN, 0};
  if (n == 0) return -1;
  int r = ::poll(p, static_cast<nfds_t>(n), static_cast<int>(timeout.count()));
  if (r <= 0) return 0;
  for (int i = 0; i < n; ++i) {
    if (p[i].revents == 0) continue;
    char buffer[8192];
    ssize_t got = ::read(p[i].fd, buffer, sizeof buffer);
    if (got < 0 && errno == EINTR) continue;
    int which = p[i].fd == fds_[0] ? 0 : 1;
    if (got <= 0) {
      ::close(fds_[which]);
      fds_[which] = -1;
      continue;
    }
    output_.append(buffer, static_cast<std::size_t>(got));
    (which == 0 ? out_ : err_).append(buffer, static_cast<std::size_t>(got));
  }
  return r;
}

bool PipedChild::wait_for(const std::string& text, std::chrono::milliseconds timeout,
                          std::size_t from) {
  auto deadline = Clock::now() + timeout;
  while (output_.find(text, from) == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0 || pump(std::min(left, std::chrono::milliseconds(100))) < 0)
      return output_.find(text, from) != std::string::npos;
  }
  return true;
}

void PipedChild::signal(int sig) {
  if (!exit_code_) ::kill(pid_, sig);
}

std::optional<int> PipedChild::wait(std::chrono::milliseconds timeout) {
  auto deadline = Clock::now() + timeout;
  while (!exit_code_) {
    int status = 0;
    pid_t r = ::waitpid(pid_, &status, WNOHANG);
    if (r == pid_) {
      exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now());
    if (left.count() <= 0) return std::nullopt;
    // Keep reading while waiting: a child blocked on a full pipe would never exit.
    if (pump(std::min(left, std::chrono::milliseconds(20))) < 0)
      ::usleep(10'000);  // both streams ended: only the exit is left to see
  }
  // What it wrote last; a pipe still held by something it started is left open.
  while (pump(std::chrono::milliseconds(0)) > 0) {
  }
  return exit_code_;
}

RunResult run_to_end(std::vector<std::string> argv, std::chrono::milliseconds timeout,
                     std::map<std::string, std::string> env) {
  PipedChild child(std::move(argv), std::move(env));
  RunResult result;
  if (auto code = child.wait(timeout)) result.code = *code;
  result.out = child.out();
  result.err = child.err();
  return result;
}

bool process_gone(pid_t pid) { return ::kill(pid, 0) != 0 && errno == ESRCH; }

}  // namespace rill::test
