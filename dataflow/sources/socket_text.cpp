#include "dataflow/sources/socket_text.hpp"

#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <spdlog/spdlog.h>

#include "dataflow/config_error.hpp"
#include "dataflow/streaming_context.hpp"

namespace rill {

namespace {

std::string errno_text(int err) { return std::strerror(err); }

// Used only when the wake pipe could not be made: poll this often to notice a stop.
constexpr int kStopPollMs = 100;
constexpr size_t kReadSize = 64 * 1024;

}  // namespace

void LineSplitter::feed(std::string_view bytes, std::vector<std::string>& out) {
  size_t begin = 0;
  for (size_t nl = bytes.find('\n'); nl != std::string_view::npos; nl = bytes.find('\n', begin)) {
    std::string line = std::move(partial_);
    partial_.clear();
    line.append(bytes.substr(begin, nl - begin));
    // A '\r' that ended the previous feed is only known to end the line now.
    if (!line.empty() && line.back() == '\r') line.pop_back();
    out.push_back(std::move(line));
    begin = nl + 1;
  }
  partial_.append(bytes.substr(begin));
}

bool LineSplitter::finish(std::string& last) {
  if (partial_.empty()) return false;
  last = std::move(partial_);
  partial_.clear();
  if (last.back() == '\r') last.pop_back();
  return true;
}

SocketTextReceiver::SocketTextReceiver(std::string host, int port, SocketBackoff backoff)
    : host_(std::move(host)), port_(port), backoff_(backoff) {
  if (::pipe(wake_) != 0) {
    wake_[0] = wake_[1] = -1;  // degrade to polling with a timeout
    return;
  }
  for (int fd : wake_) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
}

SocketTextReceiver::~SocketTextReceiver() {
  for (int fd : wake_)
    if (fd >= 0) ::close(fd);
}

std::string SocketTextReceiver::address() const { return host_ + ":" + std::to_string(port_); }

void SocketTextReceiver::on_start() {
  start_thread([this] { run(); });
}

void SocketTextReceiver::on_stop() {
  // is_stopped() is already true: a poll that starts after this write sees the byte, and one
  // that started before returns because of it.
  if (wake_[1] >= 0) {
    char byte = 0;
    [[maybe_unused]] ssize_t n = ::write(wake_[1], &byte, 1);
  }
}

bool SocketTextReceiver::wait_for(int fd, short events) {
  pollfd fds[2] = {{fd, events, 0}, {wake_[0], POLLIN, 0}};
  const int timeout = wake_[0] >= 0 ? -1 : kStopPollMs;
  // A manual clock's advance() waits while this thread is busy: from its start or wake-up
  // until it sleeps on the clock. Waiting on the network is idle time (no clock drives it), so
  // give the count back now, or every advance() stalls for the settle timeout while a
  // connection is open; and take it again when the network wakes the thread, so that what
  // the thread then does (store, report, go to sleep) finishes before time moves on.
  // Both calls are no-ops on the system clock.
  clock().idle();
  while (!is_stopped()) {
    int r = ::poll(fds, 2, timeout);
    if (r < 0 && errno != EINTR) {
      // Not a network failure (EINVAL, ENOMEM): a fresh instance is the best hope.
      restart(address() + ": poll: " + errno_text(errno));
      return false;
    }
    if (r <= 0) continue;
    if (fds[1].revents != 0) return false;
    if (fds[0].revents != 0) {
      clock().busy();
      return true;
    }
  }
  return false;
}

int SocketTextReceiver::connect_any(std::string& error) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_NUMERICSERV;
  addrinfo* found = nullptr;
  const std::string port = std::to_string(port_);
  if (int rc = ::getaddrinfo(host_.c_str(), port.c_str(), &hints, &found); rc != 0) {
    error = std::string("cannot resolve: ") + ::gai_strerror(rc);
    return -1;
  }
  int fd = -1;
  error = "no address";
  for (addrinfo* a = found; a != nullptr && fd < 0 && !is_stopped(); a = a->ai_next) {
    fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC | SOCK_NONBLOCK, a->ai_protocol);
    if (fd < 0) {
      error = "socket: " + errno_text(errno);
      continue;
    }
    // Non-blocking, so that stop() can interrupt a connect to a host that never answers.
    int err = ::connect(fd, a->ai_addr, a->ai_addrlen) == 0 ? 0 : errno;
    if (err == EINPROGRESS) {
      err = ETIMEDOUT;
      if (wait_for(fd, POLLOUT)) {
        socklen_t len = sizeof err;
        if (::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0) err = errno;
      }
    }
    if (err != 0) {
      error = "connect: " + errno_text(err);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(found);
  return fd;
}

SocketTextReceiver::End SocketTextReceiver::read_lines(int fd, std::string& error) {
  LineSplitter splitter;
  std::vector<char> buf(kReadSize);
  for (;;) {
    if (!wait_for(fd, POLLIN)) return End::stopped;
    ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK) continue;
      error = "read: " + errno_text(errno);
      if (splitter.pending_bytes() > 0)
        error += " (dropped an unterminated line of " + std::to_string(splitter.pending_bytes()) + " bytes)";
      return End::failed;
    }
    std::vector<std::string> lines;
    if (n == 0) {
      std::string last;
      if (splitter.finish(last)) lines.push_back(std::move(last));
    } else {
      splitter.feed(std::string_view(buf.data(), static_cast<size_t>(n)), lines);
    }
    // store() refuses once this instance is stopped or replaced: nothing more is wanted.
    if (!lines.empty() && !store(std::move(lines))) return End::stopped;
    if (n == 0) return End::closed;
  }
}

void SocketTextReceiver::run() {
  Millis delay = backoff_.initial;
  while (!is_stopped()) {
    std::string error;
    int fd = connect_any(error);
    if (is_stopped()) {
      if (fd >= 0) ::close(fd);
      return;
    }
    if (fd >= 0) {
      spdlog::info("socket {}: connected", address());
      delay = backoff_.initial;
      End end = read_lines(fd, error);
      ::close(fd);
      if (end == End::stopped) return;
      if (end == End::closed) error = "connection closed by the server";
    }
    report_error(address() + ": " + error + "; retrying in " + to_string(delay));
    if (!sleep_for(delay)) return;
    delay = std::min(delay * 2, backoff_.max);
  }
}

DStream<std::string> StreamingContext::socket_text_stream(const std::string& host, int port) {
  const std::string address = host + ":" + std::to_string(port);
  if (host.empty()) throw ConfigError("socket_text_stream(" + address + "): the host is empty");
  if (port < 1 || port > 65535)
    throw ConfigError("socket_text_stream(" + address + "): port " + std::to_string(port) +
                      " is not in 1..65535");
  // Stream names must be unique: a second socket to one address gets an automatic name.
  std::string name = "socket-" + address;
  for (const Node& n : graph().nodes())
    if (n.name == name) {
      name.clear();
      break;
    }
  return receiver_stream<std::string>(
      [host, port] { return std::make_unique<SocketTextReceiver>(host, port); }, std::move(name));
}

}  // namespace rill
