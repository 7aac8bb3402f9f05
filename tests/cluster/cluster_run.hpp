// Test support (suite cluster): a driver and two workers of cluster_wordcount on loopback, run
// on a manual clock the test advances, and the single-process run their outputs must equal.
#pragma once

#include <catch2/catch.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/cluster/cluster_files.hpp"
#include "tests/support/crash_harness.hpp"
#include "tests/support/piped_child.hpp"

namespace rill::test {

namespace fs = std::filesystem;

constexpr long long kClockStart = 1'700'000'000'500;
constexpr int kBatches = 6;

inline std::string app() {
  const char* path = std::getenv("RILL_CLUSTER_WORDCOUNT");
  REQUIRE(path != nullptr);
  return path;
}

// A port nothing listens on now (the kernel's pick; another process could take it first, which
// the test would show as a failure to listen, naming the port).
inline int free_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  REQUIRE(fd >= 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
  socklen_t len = sizeof addr;
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
  ::close(fd);
  return ntohs(addr.sin_port);
}

// Batch i's file: words w0..w11, a different mix each batch.
inline std::string file_text(int i) {
  std::ostringstream out;
  for (int line = 0; line < 5; ++line) {
    for (int w = 0; w < 6; ++w) out << (w ? " w" : "w") << (i * 7 + line * 3 + w * w) % 12;
    out << "\n";
  }
  return out.str();
}

struct Cluster {
  TempDir tmp;
  std::vector<int> ports{free_port(), free_port(), free_port()};
  std::string config;

  std::string heartbeat_timeout;
  std::string interval;
  int replication;
  std::string checkpoint_interval;
  std::string worker1_extra;           // more lines of worker-1's [[node]] table
  std::vector<std::string> app_extra;  // more arguments for every node's process

  explicit Cluster(std::string heartbeat = "10s", std::string batch = "1s", int copies = 1,
                   std::string checkpoint_every = "")
      : heartbeat_timeout(std::move(heartbeat)),
        interval(std::move(batch)),
        replication(copies),
        checkpoint_interval(std::move(checkpoint_every)) {
    fs::create_directories(tmp.path / "in");
    fs::create_directories(tmp.path / "out");
    config = write_config("cluster.toml", "test-secret");
  }
  std::string write_config(const std::string& name, const std::string& secret,
                           const std::string& tls = "") {
    return tmp.write(
        name, "name = \"test\"\nbatch_interval = \"" + interval + "\"\n" +
                  (checkpoint_interval.empty()
                       ? ""
                       : "checkpoint_interval = \"" + checkpoint_interval + "\"\n") +
                  "secret = \"" + secret +
                  "\"\nstore_dir = \"store\"\nreplication = " + std::to_string(replication) +
                  "\n[heartbeat]\ninterval = \"200ms\"\n"
                  "timeout = \"" +
                  heartbeat_timeout + "\"\n" + tls +
                  rill::test::node_table("driver", ports[0], "driver") +
                  rill::test::node_table("worker-1", ports[1], "worker",
                                         "partitions = [0, 1]\n" + worker1_extra) +
                  rill::test::node_table("worker-2", ports[2], "worker", "partitions = [2, 3]\n"));
  }
  std::vector<std::string> args(const std::string& config_file, const std::string& node) const {
    std::vector<std::string> a{(tmp.path / "in").string(),
                               "--out",
                               (tmp.path / "out" / "counts").string(),
                               "--config",
                               config_file,
                               "--node",
                               node,
                               "--log-level",
                               "info"};
    a.insert(a.end(), app_extra.begin(), app_extra.end());
    return a;
  }
  // The driver's process, driven over its control channel (a Harness) unless `controlled` is
  // false.
  ChildOptions driver(bool controlled = true) const {
    return ChildOptions{app(), args(config, "driver"), {}, controlled, tmp.path / "driver.log"};
  }
  ChildOptions worker(const std::string& node, const std::string& config_file = "",
                      std::vector<std::string> extra = {}) const {
    auto a = args(config_file.empty() ? config : config_file, node);
    a.insert(a.end(), extra.begin(), extra.end());
    return ChildOptions{app(), a, {}, false, tmp.path / (node + ".log")};
  }
  std::string log(const std::string& node) const {
    std::ifstream in(tmp.path / (node + ".log"));
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
};

// Publishes batch i's file, then advances one batch; `between` runs after batch `at`, and the
// time from its start to the next batch's completion is printed (a figure, not a check).
inline void run_batches(Harness& driver, const fs::path& in, int at = -1,
                        const std::function<void()>& between = {}) {
  std::chrono::steady_clock::time_point fault;
  for (int i = 0; i < kBatches + 3; ++i) {  // three more: the window empties
    if (i < kBatches) rill::test::publish_file(in, "f" + std::to_string(i) + ".txt", file_text(i));
    auto step = driver.advance(1000);
    INFO(step.describe());
    REQUIRE(step.ok());
    if (i == at + 1 && between)
      std::printf(
          "fault after batch %d: the next batch completed %.0f ms later\n", at,
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - fault)
              .count());
    if (i == at && between) {
      fault = std::chrono::steady_clock::now();
      between();
    }
  }
  REQUIRE(driver.stop().ok());
}

// The same job as one process, on the same files and batch times.
inline OutputTree single_process_run() {
  TempDir tmp;
  fs::create_directories(tmp.path / "in");
  std::vector<std::string> args{(tmp.path / "in").string(), "--out",
                                (tmp.path / "out" / "counts").string(), "--checkpoint",
                                (tmp.path / "ck").string()};
  Harness one(ChildOptions{app(), args, {}, true, tmp.path / "one.log"}, kClockStart);
  run_batches(one, tmp.path / "in");
  return rill::test::read_output_tree(tmp.path / "out");
}

inline void expect_equal_trees(const OutputTree& cluster, const OutputTree& one) {
  REQUIRE(cluster.size() == one.size());
  REQUIRE(one.size() >= 3 * kBatches);
  for (const auto& [dir, lines] : one) {
    INFO("output directory " << dir);
    REQUIRE(cluster.count(dir) == 1);
    CHECK(cluster.at(dir) == lines);
  }
}

// Every directory the Sink output (DirectorySink) committed was written by the worker that
// owns its partition (worker-1: 0 and 1, worker-2: 2 and 3), never by the driver. On the
// manual clock every batch has input: 4 partitions of each.
inline void check_sink_writers(const fs::path& out, int at_least = 4 * kBatches) {
  int dirs = 0;
  for (const auto& d : fs::directory_iterator(out)) {
    const std::string name = d.path().filename().string();
    if (name.rfind("counts-db-", 0) != 0 || name.find(".tmp") != std::string::npos) continue;
    const int partition = name.back() - '0';
    std::ifstream marker(d.path() / "_SUCCESS");
    std::string hash, writer;
    std::getline(marker, hash);
    std::getline(marker, writer);
    INFO("Sink directory " << name);
    CHECK(writer == (partition < 2 ? "worker-1" : "worker-2"));
    ++dirs;
  }
  CHECK(dirs >= at_least);
}

// Waits (at most 30 s) until `node`'s log has `text`.
inline void wait_for_log(const Cluster& c, const std::string& node, const std::string& text) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (c.log(node).find(text) == std::string::npos) {
    INFO(node << "'s log never said: " << text);
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

inline void stop_worker(ChildProcess& w) {
  ::kill(w.pid(), SIGTERM);
  auto status = w.wait(std::chrono::seconds(30));
  REQUIRE(status);
  CHECK(status->exited);
  CHECK(status->code == 0);
}

}  // namespace rill::test
