#include "net/node_launcher.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace rill::net {
namespace {

std::string join_names(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& n : names) out += (out.empty() ? "" : ", ") + n;
  return out;
}

using Clock = std::chrono::steady_clock;

// The self-pipe: handlers write the signal's number, the poll loop reads it. The only state
// the handler touches, as a handler may only make async-signal-safe calls.
int signal_pipe[2] = {-1, -1};

extern "C" void on_launcher_signal(int signal) {
  int saved = errno;
  unsigned char byte = static_cast<unsigned char>(signal);
  [[maybe_unused]] ssize_t n = ::write(signal_pipe[1], &byte, 1);
  errno = saved;
}

constexpr int kHandled[] = {SIGINT, SIGTERM, SIGCHLD};

void write_all(int fd, std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // our own output is gone (a closed pipe): the nodes still get stopped
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return "exited with status " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return "was killed by signal " + std::to_string(WTERMSIG(status)) + " (" +
           ::strsignal(WTERMSIG(status)) + ")";
  return "ended with wait status " + std::to_string(status);
}

}  // namespace

std::string PrefixedLines::feed(std::string_view bytes) {
  std::string out;
  while (!bytes.empty()) {
    std::size_t newline = bytes.find('\n');
    std::size_t take = newline == std::string_view::npos ? bytes.size() : newline;
    std::size_t room = kMaxLine - partial_.size();
    if (take > room) {  // cut an overlong line where the bound is
      partial_.append(bytes.substr(0, room));
      bytes.remove_prefix(room);
      out += prefix_ + partial_ + "\n";
      partial_.clear();
      continue;
    }
    partial_.append(bytes.substr(0, take));
    bytes.remove_prefix(take);
    if (newline == std::string_view::npos) break;
    bytes.remove_prefix(1);
    out += prefix_ + partial_ + "\n";
    partial_.clear();
  }
  return out;
}

std::string PrefixedLines::flush() {
  if (partial_.empty()) return {};
  std::string out = prefix_ + partial_ + "\n";
  partial_.clear();
  return out;
}

int RestartBudget::used(Clock::time_point now) {
  while (!restarts_.empty() && now - restarts_.front() >= window_) restarts_.pop_front();
  return static_cast<int>(restarts_.size());
}

bool RestartBudget::try_restart(Clock::time_point now) {
  if (used(now) >= max_) return false;
  restarts_.push_back(now);
  return true;
}

struct NodeLauncher::Node {
  Node(std::string node_name, const LaunchOptions& options)
      : name(std::move(node_name)),
        lines{PrefixedLines("[" + name + "] "), PrefixedLines("[" + name + "] ")},
        budget(options.max_restarts, options.restart_window) {}

  std::string name;
  pid_t pid = -1;          // while running
  int fds[2] = {-1, -1};   // read ends of its stdout and stderr
  PrefixedLines lines[2];  // what was read of each, cut into lines
  RestartBudget budget;
  int starts = 0;
  std::optional<Clock::time_point> restart_at;  // a restart is due then
};

NodeLauncher::NodeLauncher(LaunchOptions options, std::vector<std::string> nodes)
    : options_(std::move(options)) {
  nodes_.reserve(nodes.size());  // Node& stays valid: the vector never grows after this
  for (auto& name : nodes) nodes_.emplace_back(std::move(name), options_);
}

NodeLauncher::~NodeLauncher() {
  for (Node& node : nodes_)
    for (int& fd : node.fds)
      if (fd >= 0) ::close(fd);
}

void NodeLauncher::say(const std::string& line) { write_all(2, "rill-launch: " + line + "\n"); }

void NodeLauncher::start(Node& node) {
  int out[2], err[2];
  if (::pipe2(out, O_CLOEXEC) != 0) out[0] = out[1] = -1;
  if (out[0] < 0 || ::pipe2(err, O_CLOEXEC) != 0) {
    say("cannot make pipes for " + node.name + ": " + std::strerror(errno));
    if (out[0] >= 0) {
      ::close(out[0]);
      ::close(out[1]);
    }
    failed_ = true;
    begin_stop(node.name + " could not be started");
    return;
  }
  // Everything the child needs is made before fork(). This process has one thread, so the
  // child may call anything until exec; the signals are blocked across fork so that none
  // reaches our handler inside the child.
  std::vector<std::string> args = options_.command;
  args.insert(args.end(), {"--config", options_.config_path, "--node", node.name});
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);
  sigset_t blocked, previous;
  sigemptyset(&blocked);
  for (int s : kHandled) sigaddset(&blocked, s);
  ::sigprocmask(SIG_BLOCK, &blocked, &previous);
  pid_t launcher = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group: signals to the group reach whatever the node starts
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != launcher) ::_exit(1);  // the launcher died before prctl
    for (int s : {SIGINT, SIGTERM, SIGCHLD, SIGPIPE}) ::signal(s, SIG_DFL);
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(out[1], 1);
    ::dup2(err[1], 2);
    ::execvp(argv[0], argv.data());
    std::string why = "rill-launch: cannot run " + args[0] + ": " + std::strerror(errno) + "\n";
    write_all(2, why);
    ::_exit(127);
  }
  int fork_errno = errno;
  ::sigprocmask(SIG_SETMASK, &previous, nullptr);
  ::close(out[1]);
  ::close(err[1]);
  if (pid < 0) {
    ::close(out[0]);
    ::close(err[0]);
    say("cannot fork for " + node.name + ": " + std::strerror(fork_errno));
    failed_ = true;
    begin_stop(node.name + " could not be started");
    return;
  }
  ::setpgid(pid, pid);  // here too, so the group exists before we may signal it
  for (int fd : {out[0], err[0]}) ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  node.pid = pid;
  node.fds[0] = out[0];
  node.fds[1] = err[0];
  node.starts += 1;
  say(node.name + " started (pid " + std::to_string(pid) + ", start " +
      std::to_string(node.starts) + ")");
}

void NodeLauncher::read_output(Node& node, int which) {
  char buffer[16384];
  // Bounded, so one chatty node cannot starve the others' output or the signals.
  for (int round = 0; round < 16 && node.fds[which] >= 0; ++round) {
    ssize_t n = ::read(node.fds[which], buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) return;
    if (n > 0) {
      write_all(which == 0 ? 1 : 2, node.lines[which].feed({buffer, static_cast<std::size_t>(n)}));
      continue;
    }
    write_all(which == 0 ? 1 : 2, node.lines[which].flush());  // end of stream (or an error)
    ::close(node.fds[which]);
    node.fds[which] = -1;
  }
}

void NodeLauncher::reap() {
  int status = 0;
  pid_t pid;
  while ((pid = ::waitpid(-1, &status, WNOHANG)) > 0)
    for (Node& node : nodes_)
      if (node.pid == pid) ended(node, status);
}

void NodeLauncher::ended(Node& node, int status) {
  // What it wrote before it ended is in its pipes: relay that first. A pipe still open after
  // draining is held by something the node started; it is not the node's any more.
  for (int which : {0, 1}) {
    read_output(node, which);
    if (node.fds[which] < 0) continue;
    write_all(which == 0 ? 1 : 2, node.lines[which].flush());
    ::close(node.fds[which]);
    node.fds[which] = -1;
  }
  node.pid = -1;
  std::string how = node.name + " " + describe_status(status);
  if (stopping_) {
    say(how);
    return;
  }
  if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
    say(how);
    return;
  }
  if (WIFEXITED(status) && (WEXITSTATUS(status) == 2 || WEXITSTATUS(status) == 127)) {
    say(how +
        (WEXITSTATUS(status) == 2 ? ": it refused its command line or config"
                                  : ": its command could not be run") +
        "; a restart cannot help, not restarted");
    failed_ = true;
    begin_stop(node.name + " failed");
    return;
  }
  auto now = Clock::now();
  if (!node.budget.try_restart(now)) {
    say(how + "; it was restarted " + std::to_string(options_.max_restarts) + " time(s) within " +
        to_string(options_.restart_window) + " already: giving up");
    failed_ = true;
    begin_stop(node.name + " exhausted its restarts");
    return;
  }
  say(how + "; restarting it in " + to_string(options_.restart_delay) + " (restart " +
      std::to_string(node.budget.used(now)) + " of " + std::to_string(options_.max_restarts) +
      " within " + to_string(options_.restart_window) + ")");
  node.restart_at = now + options_.restart_delay;
}

void NodeLauncher::begin_stop(const std::string& why) {
  if (stopping_) {  // asked again: do not wait out the grace period
    kill_at_ = Clock::now();
    return;
  }
  stopping_ = true;
  kill_at_ = Clock::now() + options_.stop_grace;
  bool first = std::any_of(nodes_.begin(), nodes_.end(),
                           [this](const Node& n) { return n.pid > 0 && stops_first(n); });
  say("stopping every node (" + why + "): SIGTERM" +
      (first ? " to " + join_names(options_.stop_first) + " first, then the others," : "") +
      " SIGKILL after " + to_string(options_.stop_grace));
  for (Node& node : nodes_) {
    node.restart_at.reset();
    if (node.pid > 0 && (!first || stops_first(node))) ::kill(-node.pid, SIGTERM);
  }
  if (!first) rest_signalled_ = true;
}

bool NodeLauncher::stops_first(const Node& node) const {
  return std::find(options_.stop_first.begin(), options_.stop_first.end(), node.name) !=
         options_.stop_first.end();
}

// The first nodes have exited: the others get SIGTERM and a grace period of their own.
void NodeLauncher::signal_rest() {
  rest_signalled_ = true;
  kill_at_ = Clock::now() + options_.stop_grace;
  for (Node& node : nodes_)
    if (node.pid > 0) ::kill(-node.pid, SIGTERM);
}

int NodeLauncher::run() {
  if (::pipe2(signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
    say(std::string("cannot make the signal pipe: ") + std::strerror(errno));
    return 1;
  }
  struct sigaction action = {};
  struct sigaction previous[3] = {};
  struct sigaction previous_pipe = {};
  action.sa_handler = on_launcher_signal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART | SA_NOCLDSTOP;
  for (int i = 0; i < 3; ++i) ::sigaction(kHandled[i], &action, &previous[i]);
  // A closed stdout must not kill the launcher before it stops its nodes: writes fail instead.
  struct sigaction ignore = {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &previous_pipe);

  for (Node& node : nodes_)
    if (!stopping_) start(node);
  while (true) {
    auto now = Clock::now();
    for (Node& node : nodes_)
      if (node.restart_at && *node.restart_at <= now) {
        node.restart_at.reset();
        start(node);
      }
    if (stopping_ && !rest_signalled_ && !killed_ &&
        std::none_of(nodes_.begin(), nodes_.end(),
                     [this](const Node& n) { return n.pid > 0 && stops_first(n); }))
      signal_rest();
    if (stopping_ && !killed_ && now >= kill_at_) {
      for (Node& node : nodes_)
        if (node.pid > 0) {
          say(node.name + " did not stop within " + to_string(options_.stop_grace) + ": SIGKILL");
          ::kill(-node.pid, SIGKILL);
        }
      killed_ = true;
    }
    bool alive = std::any_of(nodes_.begin(), nodes_.end(),
                             [](const Node& n) { return n.pid > 0 || n.restart_at.has_value(); });
    if (!alive) break;

    std::optional<Clock::time_point> wake;
    for (const Node& node : nodes_)
      if (node.restart_at) wake = std::min(wake.value_or(*node.restart_at), *node.restart_at);
    if (stopping_ && !killed_) wake = std::min(wake.value_or(kill_at_), kill_at_);
    int timeout_ms = -1;
    if (wake) {
      auto left = std::chrono::ceil<Millis>(*wake - now).count();
      timeout_ms = static_cast<int>(std::clamp<long long>(left, 0, 60'000));
    }
    std::vector<pollfd> fds{{signal_pipe[0], POLLIN, 0}};
    std::vector<std::pair<Node*, int>> owners{{nullptr, 0}};
    for (Node& node : nodes_)
      for (int which : {0, 1})
        if (node.fds[which] >= 0) {
          fds.push_back({node.fds[which], POLLIN, 0});
          owners.emplace_back(&node, which);
        }
    if (::poll(fds.data(), fds.size(), timeout_ms) < 0 && errno != EINTR) {
      say(std::string("poll: ") + std::strerror(errno));
      begin_stop("poll failed");
    }
    for (std::size_t i = 1; i < fds.size(); ++i)
      if (fds[i].revents != 0) read_output(*owners[i].first, owners[i].second);
    unsigned char signals[64];
    ssize_t n;
    while ((n = ::read(signal_pipe[0], signals, sizeof signals)) > 0)
      for (ssize_t i = 0; i < n; ++i)
        if (signals[i] != SIGCHLD) begin_stop(signals[i] == SIGINT ? "got SIGINT" : "got SIGTERM");
    reap();  // every round, not only on SIGCHLD: cheap, and no exit can be missed
  }

  for (int i = 0; i < 3; ++i) ::sigaction(kHandled[i], &previous[i], nullptr);
  ::sigaction(SIGPIPE, &previous_pipe, nullptr);
  ::close(signal_pipe[0]);
  ::close(signal_pipe[1]);
  signal_pipe[0] = signal_pipe[1] = -1;
  return failed_ ? 1 : 0;
}

}  // namespace rill::net
