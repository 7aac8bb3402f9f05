// A stand-in node for rill-launch's tests: prints lines, records its pid, and crashes, exits or
// ignores SIGTERM when a file in $RILL_PROBE_DIR tells it to. Run as `launch_probe ... --node N`.
#include <unistd.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

namespace {

volatile std::sig_atomic_t terminated = 0;

bool take_file(const std::filesystem::path& p) {  // true when it existed (and is gone now)
  return std::filesystem::remove(p);
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  std::string node = "?";
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--node") node = argv[i + 1];
  const char* dir_env = std::getenv("RILL_PROBE_DIR");
  if (!dir_env) {
    std::fprintf(stderr, "launch_probe: RILL_PROBE_DIR is not set\n");
    return 2;
  }
  std::filesystem::path dir = dir_env;
  std::ofstream(dir / "pids", std::ios::app) << node << " " << ::getpid() << "\n";
  std::fprintf(stderr, "%s says hello on stderr\n", node.c_str());
  if (take_file(dir / ("crash-once-" + node)) ||
      std::filesystem::exists(dir / ("crash-always-" + node))) {
    std::printf("%s crashing\n", node.c_str());
    std::abort();
  }
  if (std::filesystem::exists(dir / ("exit-ok-" + node))) {
    std::printf("%s done\n", node.c_str());
    return 0;
  }
  if (std::filesystem::exists(dir / ("ignore-term-" + node)))
    std::signal(SIGTERM, SIG_IGN);
  else
    std::signal(SIGTERM, [](int) { terminated = 1; });
  std::printf("%s ready (pid %d)\n", node.c_str(), static_cast<int>(::getpid()));
  // A polled flag: a test node needs no faster reaction than 100 ms.
  while (!terminated) ::usleep(100'000);
  std::printf("%s stopping on SIGTERM\n", node.c_str());
  return 0;
}
