#include "samples/demo_line_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <random>
#include <stdexcept>
#include <vector>

namespace rill::samples {

DemoLineServer::DemoLineServer(int line_ms) : line_ms_(line_ms) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  socklen_t len = sizeof addr;
  if (listen_fd_ < 0 || ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 4) != 0 || ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("demo line server: cannot listen on 127.0.0.1");
  port_ = ntohs(addr.sin_port);
  thread_ = std::thread([this] { serve(); });
}

DemoLineServer::~DemoLineServer() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

void DemoLineServer::serve() {
  static const std::vector<std::string> kWords = {"the", "stream", "flows", "once", "and", "only",
                                                  "once", "rill", "batch", "window"};
  std::mt19937 rng(42);
  std::vector<int> clients;
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, line_ms_) > 0) {
      int c = ::accept(listen_fd_, nullptr, nullptr);
      if (c >= 0) clients.push_back(c);
    }
    if (clients.empty()) continue;
    std::string line;
    int n = 1 + static_cast<int>(rng() % 6);
    for (int i = 0; i < n; ++i) line += (i ? " " : "") + kWords[rng() % kWords.size()];
    line += "\n";
    for (size_t i = 0; i < clients.size();) {
      if (::send(clients[i], line.data(), line.size(), MSG_NOSIGNAL) < 0) {
        ::close(clients[i]);
        clients.erase(clients.begin() + static_cast<long>(i));
      } else {
        ++i;
      }
    }
    ++lines_;
  }
  for (int c : clients) ::close(c);
}

}  // namespace rill::samples
