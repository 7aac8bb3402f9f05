#include "tests/support/nats_server.hpp"

#include <arpa/inet.h>
#include <nats/nats.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <thread>

#include "tests/support/crash_harness.hpp"

namespace rill::test {

namespace {

// A port the kernel just handed out on 127.0.0.1, free once the probe socket closes.
int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof addr;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0)
    throw std::runtime_error("cannot find a free loopback port");
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string server_binary() {
  const char* p = std::getenv("RILL_NATS_SERVER");
  return p && *p ? p : "/usr/sbin/nats-server";
}

int count_of(const std::string& text, const std::string& what) {
  int n = 0;
  for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
  return n;
}

void check(natsStatus s, const std::string& what) {
  if (s != NATS_OK) {
    const char* detail = nats_GetLastError(nullptr);
    throw std::runtime_error(what + ": " + natsStatus_GetText(s) +
                             (detail ? std::string(" ") + detail : ""));
  }
}

}  // namespace

NatsServer::NatsServer(std::filesystem::path store_dir)
    : dir_(std::move(store_dir)), port_(free_port()) {
  std::filesystem::create_directories(dir_);
  start();
}

NatsServer::~NatsServer() = default;  // ChildProcess SIGKILLs a server still running

std::string NatsServer::log() const {
  std::ifstream in(dir_ / "server.log");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

void NatsServer::start() {
  if (access(server_binary().c_str(), X_OK) != 0)
    throw std::runtime_error(server_binary() +
                             " is missing: run ./dev setup (installs nats-server)");
  process_ = std::make_unique<ChildProcess>(
      ChildOptions{.binary = server_binary(),
                   .args = {"-js", "-a", "127.0.0.1", "-p", std::to_string(port_), "-sd",
                            (dir_ / "store").string()},
                   .control = false,
                   .log_file = dir_ / "server.log"});
  // Ready means listening with JetStream recovered: the server logs it after both.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(15);
  while (count_of(log(), "Server is ready") <= ready_seen_) {
    if (process_->wait(std::chrono::milliseconds(20)))
      throw std::runtime_error("nats-server exited: " + process_->status()->describe() + "\n" +
                               log());
    if (std::chrono::steady_clock::now() > deadline)
      throw std::runtime_error("nats-server not ready after 15 s:\n" + log());
  }
  ready_seen_ = count_of(log(), "Server is ready");
}

void NatsServer::stop() { end(SIGTERM); }

void NatsServer::kill() { end(SIGKILL); }

void NatsServer::end(int signal) {
  if (!process_) return;
  ::kill(process_->pid(), signal);
  if (!process_->wait(std::chrono::seconds(15)))
    throw std::runtime_error("nats-server did not exit on signal " + std::to_string(signal));
  process_.reset();
}

JetStreamClient::JetStreamClient(const std::string& url) {
  natsConnection* nc = nullptr;
  check(natsConnection_ConnectTo(&nc, url.c_str()), "connect to " + url);
  nc_ = nc;
  jsCtx* js = nullptr;
  check(natsConnection_JetStream(&js, nc, nullptr), "JetStream context");
  js_ = js;
}

JetStreamClient::~JetStreamClient() {
  jsCtx_Destroy(static_cast<jsCtx*>(js_));
  natsConnection_Destroy(static_cast<natsConnection*>(nc_));
}

void JetStreamClient::add_stream(const std::string& name,
                                 const std::vector<std::string>& subjects) {
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = name.c_str();
  std::vector<const char*> subject_ptrs;
  for (const auto& s : subjects) subject_ptrs.push_back(s.c_str());
  config.Subjects = subject_ptrs.data();
  config.SubjectsLen = static_cast<int>(subject_ptrs.size());
  config.Storage = js_FileStorage;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  check(js_AddStream(nullptr, static_cast<jsCtx*>(js_), &config, nullptr, &jerr),
        "add stream " + name);
}

uint64_t JetStreamClient::publish(const std::string& subject, const std::string& payload) {
  jsPubAck* ack = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  check(js_Publish(&ack, static_cast<jsCtx*>(js_), subject.c_str(), payload.data(),
                   static_cast<int>(payload.size()), nullptr, &jerr),
        "publish to " + subject);
  uint64_t seq = ack->Sequence;
  jsPubAck_Destroy(ack);
  return seq;
}

void JetStreamClient::delete_stream(const std::string& name) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  check(js_DeleteStream(static_cast<jsCtx*>(js_), name.c_str(), nullptr, &jerr),
        "delete stream " + name);
}

void JetStreamClient::delete_message(const std::string& stream, uint64_t seq) {
  jsErrCode jerr = static_cast<jsErrCode>(0);
  check(js_DeleteMsg(static_cast<jsCtx*>(js_), stream.c_str(), seq, nullptr, &jerr),
        "delete message " + std::to_string(seq) + " of " + stream);
}

}  // namespace rill::test
