#include "samples/jetstream_demo.hpp"

#include <fcntl.h>
#include <nats/nats.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <vector>

extern char** environ;

namespace rill::samples {

namespace {

[[noreturn]] void die(const std::string& what, natsStatus s) {
  std::fprintf(stderr, "thermostat --demo: %s: %s\n", what.c_str(), natsStatus_GetText(s));
  std::exit(1);
}

natsConnection* connect(const std::string& url) {
  natsConnection* nc = nullptr;
  return natsConnection_ConnectTo(&nc, url.c_str()) == NATS_OK ? nc : nullptr;
}

// "nats://127.0.0.1:4222" -> "4222"
std::string port_of(const std::string& url) {
  auto colon = url.rfind(':');
  return colon == std::string::npos ? "4222" : url.substr(colon + 1);
}

}  // namespace

JetStreamDemo::JetStreamDemo(const std::string& url, const std::string& stream,
                             const std::string& subject)
    : subject_(subject) {
  natsConnection* nc = connect(url);
  if (!nc) {
    char dir[] = "/tmp/rill-thermostat-XXXXXX";
    if (!mkdtemp(dir)) die("cannot create a store directory", NATS_ERR);
    store_dir_ = dir;
    std::string port = port_of(url);
    std::vector<std::string> argv_s = {"nats-server", "-js", "-a",  "127.0.0.1",
                                       "-p",          port,  "-sd", store_dir_};
    std::vector<char*> argv;
    for (auto& a : argv_s) argv.push_back(a.data());
    argv.push_back(nullptr);
    // The server's log goes to its store directory, not into the sample's output.
    posix_spawn_file_actions_t files;
    posix_spawn_file_actions_init(&files);
    std::string log = store_dir_ + "/server.log";
    posix_spawn_file_actions_addopen(&files, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_adddup2(&files, 1, 2);
    pid_t pid = -1;
    for (const char* bin : {"nats-server", "/usr/sbin/nats-server", "/usr/bin/nats-server"})
      if (posix_spawnp(&pid, bin, &files, nullptr, argv.data(), environ) == 0) break;
    posix_spawn_file_actions_destroy(&files);
    if (pid <= 0)
      die("no server at " + url + " and cannot run nats-server (./dev setup installs it)",
          NATS_ERR);
    server_pid_ = pid;
    std::fprintf(stderr, "thermostat --demo: started nats-server -js on port %s (store %s)\n",
                 port.c_str(), dir);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (!(nc = connect(url)) && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (!nc) die("nats-server did not answer at " + url, NATS_NO_SERVER);
  }
  connection_ = nc;
  jsCtx* js = nullptr;
  if (natsStatus s = natsConnection_JetStream(&js, nc, nullptr); s != NATS_OK) die("JetStream", s);
  js_ = js;
  jsStreamConfig config;
  jsStreamConfig_Init(&config);
  config.Name = stream.c_str();
  const char* subjects[] = {subject.c_str()};
  config.Subjects = subjects;
  config.SubjectsLen = 1;
  config.Storage = js_FileStorage;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_AddStream(nullptr, js, &config, nullptr, &jerr);
  if (s != NATS_OK && jerr != JSStreamNameExistErr) die("cannot create stream " + stream, s);
  thread_ = std::thread([this] { publish_loop(); });
}

void JetStreamDemo::publish_loop() {
  std::mt19937 random(42);
  const char* devices[] = {"kitchen", "bedroom", "garage"};
  const double base[] = {21.0, 19.0, 12.0};
  for (int n = 0; !stop_; ++n) {
    for (int d = 0; d < 3; ++d) {
      char text[64];
      std::snprintf(text, sizeof text, "%s %.1f", devices[d],
                    base[d] + std::uniform_int_distribution(-20, 20)(random) / 10.0);
      std::string payload = n % 50 == 49 && d == 0 ? "kitchen: warm" : text;  // a malformed one
      js_Publish(nullptr, static_cast<jsCtx*>(js_), subject_.c_str(), payload.data(),
                 static_cast<int>(payload.size()), nullptr, nullptr);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
}

JetStreamDemo::~JetStreamDemo() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  jsCtx_Destroy(static_cast<jsCtx*>(js_));
  natsConnection_Destroy(static_cast<natsConnection*>(connection_));
  if (server_pid_ > 0) {
    ::kill(server_pid_, SIGTERM);
    ::waitpid(server_pid_, nullptr, 0);
    std::error_code ec;
    std::filesystem::remove_all(store_dir_, ec);
  }
}

}  // namespace rill::samples
