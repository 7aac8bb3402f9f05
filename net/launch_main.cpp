// rill-launch [options] CONFIG -- APP [ARGS...]: every node of a cluster config as a process on
// this machine, for development and tests (production: one systemd unit per node, README).
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "dataflow/config_error.hpp"
#include "net/cluster_config.hpp"
#include "net/node_launcher.hpp"

namespace {

constexpr const char* kUsage =
    "usage: rill-launch [options] CONFIG -- APP [ARGS...]\n"
    "Starts every node of the cluster config CONFIG on this machine, each as\n"
    "`APP ARGS --config CONFIG --node NAME`, prefixes each line they write with [NAME], restarts\n"
    "a node that dies abnormally, and stops them all on SIGINT or SIGTERM (SIGTERM, then SIGKILL\n"
    "after the grace period). A node that exits 0 is not restarted, nor one that exits 2 (its\n"
    "command line or config was refused) or 127 (APP could not be run).\n"
    "  --max-restarts N     restarts of one node allowed within the window (default 3);\n"
    "                       one more failure stops every node and rill-launch exits 1\n"
    "  --restart-window D   the sliding window, a duration: 500ms, 30s, 5m, 1h (default 60s)\n"
    "  --restart-delay D    the pause before a restart (default 200ms)\n"
    "  --grace D            how long nodes get to stop after SIGTERM (default 10s)\n"
    "  --help               this text\n"
    "Exit status: 0 when every node exited 0 or a signal stopped rill-launch, 1 when a node\n"
    "failed for good, 2 for a bad command line or config.\n";

int usage_error(const std::string& what) {
  std::fprintf(stderr, "rill-launch: %s\n(rill-launch --help lists the options)\n", what.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  rill::net::LaunchOptions options;
  int i = 1;
  for (; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--") break;
    if (!arg.starts_with("--")) {
      if (!options.config_path.empty()) return usage_error("one CONFIG only, then -- APP");
      options.config_path = argv[i];
      continue;
    }
    if (i + 1 >= argc) return usage_error(std::string(arg) + " needs a value");
    std::string value = argv[++i];
    if (arg == "--max-restarts") {
      char* end = nullptr;
      long n = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || n < 0 || n > 1000)
        return usage_error("--max-restarts wants 0..1000, got '" + value + "'");
      options.max_restarts = static_cast<int>(n);
      continue;
    }
    rill::Millis* duration = arg == "--restart-window"  ? &options.restart_window
                             : arg == "--restart-delay" ? &options.restart_delay
                             : arg == "--grace"         ? &options.stop_grace
                                                        : nullptr;
    if (!duration) return usage_error("unknown option " + std::string(arg));
    auto d = rill::net::parse_duration(value);
    if (!d)
      return usage_error(std::string(arg) + " wants a duration such as 500ms or 30s, got '" +
                         value + "'");
    *duration = *d;
  }
  if (options.config_path.empty()) return usage_error("no CONFIG given");
  if (i >= argc) return usage_error("no -- APP given: the command every node runs");
  for (++i; i < argc; ++i) options.command.emplace_back(argv[i]);
  if (options.command.empty()) return usage_error("no APP after --");

  std::vector<std::string> nodes;
  try {
    auto config = rill::net::load_cluster_config(options.config_path);
    for (const auto& node : config.nodes) nodes.push_back(node.name);
    options.stop_first = {config.driver().name};
  } catch (const rill::ConfigError& e) {
    std::fprintf(stderr, "rill-launch: %s\n", e.what());
    return 2;
  }
  return rill::net::NodeLauncher(std::move(options), std::move(nodes)).run();
}
