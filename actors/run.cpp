#include "actors/run.hpp"

#include <chrono>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <string>

#include <spdlog/spdlog.h>

#include "actors/log_level.hpp"
#include "dataflow/config_error.hpp"
#include "net/cluster_config.hpp"

namespace rill {
namespace {

// What the handler records (it may make only async-signal-safe calls): the signal that asked
// for a stop.
volatile std::sig_atomic_t stop_signal = 0;

// Also puts the default action back for both signals (sigaction is async-signal-safe), so a
// second SIGINT or SIGTERM ends a stop that hangs.
extern "C" void on_stop_signal(int signal) {
  stop_signal = signal;
  struct sigaction default_action = {};
  default_action.sa_handler = SIG_DFL;
  sigaction(SIGINT, &default_action, nullptr);
  sigaction(SIGTERM, &default_action, nullptr);
}

// SIGINT and SIGTERM handlers for the length of one run; the previous ones come back after.
class StopSignals {
 public:
  StopSignals() {
    stop_signal = 0;
    struct sigaction action {};
    action.sa_handler = on_stop_signal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = 0;
    sigaction(SIGINT, &action, &old_int_);
    sigaction(SIGTERM, &action, &old_term_);
  }
  ~StopSignals() {
    sigaction(SIGINT, &old_int_, nullptr);
    sigaction(SIGTERM, &old_term_, nullptr);
  }
  StopSignals(const StopSignals&) = delete;
  StopSignals& operator=(const StopSignals&) = delete;

  int received() const { return stop_signal; }

 private:
  struct sigaction old_int_ {};
  struct sigaction old_term_ {};
};

std::string join(const std::vector<int>& values) {
  std::string out;
  for (int v : values) out += (out.empty() ? "" : " ") + std::to_string(v);
  return out.empty() ? "-" : out;
}

std::string join(const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) out += (out.empty() ? "" : " ") + v;
  return out.empty() ? "-" : out;
}

// What --check prints: the cluster on one line, then the node asked for.
std::string describe(const net::ClusterConfig& config, const net::NodeConfig* node) {
  char fingerprint[17];
  std::snprintf(fingerprint, sizeof fingerprint, "%016llx",
                static_cast<unsigned long long>(config.fingerprint));
  std::string out = "OK " + config.path + ": cluster \"" + config.name + "\", " +
                    std::to_string(config.nodes.size()) + " node(s) (" + config.node_names() +
                    "), " + std::to_string(config.partitions) + " partition(s), batch interval " +
                    to_string(config.batch_interval) + ", config fingerprint " + fingerprint + "\n";
  if (node)
    out += "node " + node->name + ": " + net::node_role_name(node->role) + " at " + node->host +
           ":" + std::to_string(node->port) + ", partitions " + join(node->partitions) +
           ", receivers " + join(node->receivers) + ", store " + node->store_dir + "\n";
  return out;
}

// Waits until the job ends, a stop signal arrives or run_for passes; the last two stop it
// gracefully. Throws JobError when the job failed.
void wait_until_stopped(StreamingContext& ssc, const StopSignals& signals, Millis run_for) {
  auto start = std::chrono::steady_clock::now();
  while (!ssc.await_termination_or_timeout(Millis{100})) {
    bool due = run_for.count() > 0 && std::chrono::steady_clock::now() - start >= run_for;
    if (signals.received() || due) {
      if (signals.received())
        spdlog::info("signal {}: stopping gracefully (a second one ends the process)",
                     signals.received());
      ssc.stop(/*stop_gracefully=*/true);
      return;
    }
  }
}

}  // namespace

int run(int argc, char** argv, const BuildJob& build) {
  CommandLine cli(argc, argv);
  return run(cli, {}, build);
}

int run(CommandLine& cli, const RunOptions& options, const BuildJob& build) {
  cli.finish();
  if (cli.help()) {
    std::cout << cli.usage();
    return 0;
  }
  auto refuse = [&cli](const std::string& message) {
    std::cerr << cli.program() << ": " << message << "\n";
    return 2;
  };
  if (!cli.error().empty())
    return refuse(cli.error() + " (" + cli.program() + " --help lists the options)");
  // --log-level wins over RILL_LOG; the app's default does not.
  std::string level = cli.log_level().empty() ? options.log_level : cli.log_level();
  if (!(cli.log_level().empty() ? actors::set_log_level(level) : actors::pin_log_level(level)))
    return refuse("--log-level " + level + ": unknown level (debug, info, warn, error or off)");

  Millis interval = options.batch_interval;
  ContextOptions context = options.context;
  if (cli.config_path().empty()) {
    if (cli.check()) return refuse("--check needs --config FILE: it validates a cluster config");
    if (!cli.node().empty()) return refuse("--node needs --config FILE");
  } else {
    net::ClusterConfig config;
    try {
      config = net::load_cluster_config(cli.config_path());
    } catch (const ConfigError& e) {
      return refuse(e.what());
    }
    const net::NodeConfig* node = nullptr;
    if (!cli.node().empty() && !(node = config.find_node(cli.node())))
      return refuse("--node " + cli.node() + ": " + config.path +
                    " has no such node (its nodes: " + config.node_names() + ")");
    if (cli.check()) {
      std::cout << describe(config, node);
      return 0;
    }
    if (node == nullptr && config.nodes.size() > 1)
      return refuse("--node NAME is needed: " + config.path + " has " +
                    std::to_string(config.nodes.size()) + " nodes (" + config.node_names() + ")");
    if (node == nullptr) node = &config.nodes[0];
    interval = config.batch_interval;
    context.checkpoint_interval = config.checkpoint_interval;
    context.checkpoint_dir = node->store_dir;
    if (config.partitions > 0) context.partitions = config.partitions;
    if (context.app_name == ContextOptions{}.app_name) context.app_name = config.name;
    if (config.nodes.size() > 1) {
      context.cluster_config = cli.config_path();
      context.cluster_node = node->name;
      spdlog::info("{}: node {} ({}) of cluster {} ({})", context.app_name, node->name,
                   net::node_role_name(node->role), config.name, config.path);
    } else {
      spdlog::info("{}: node {} of cluster {} ({}), the config's only node: runs as one machine",
                   context.app_name, node->name, config.name, config.path);
    }
  }

  try {
    StreamingContext ssc(interval, context);
    build(ssc);
    StopSignals signals;  // before start(): a signal while starting still stops gracefully
    ssc.start();
    if (options.drive) return options.drive(ssc);
    wait_until_stopped(ssc, signals, options.run_for);
  } catch (const ConfigError& e) {
    return refuse(e.what());
  } catch (const JobError& e) {
    std::cerr << cli.program() << ": " << e.what() << "\n";
    return 1;
  }
  return 0;
}

}  // namespace rill
