// rill-inspect STORE_DIR [--json]: what a checkpoint store holds, read without writing to it, so
// it is safe on the store of a running job. Exit 0, or 2 with one line naming the path.
#include <cstdio>
#include <string>
#include <string_view>

#include "persistence/store_report.hpp"

namespace {

constexpr const char* kUsage =
    "usage: rill-inspect [--json] STORE_DIR\n"
    "Prints what the rill checkpoint store in STORE_DIR holds: format, zero time, job, "
    "partitions,\n"
    "batches allocated and completed (and those not completed), the last checkpoint, downtimes,\n"
    "WAL blocks and bytes per stream, state snapshots per operator and partition, commit markers\n"
    "per output, file size and map usage. The store is opened read-only: safe while a job runs.\n"
    "  --json   one JSON object instead of text\n"
    "  --help   this text\n"
    "Exit status: 0, or 2 when STORE_DIR is not a readable rill store (the reason on stderr).\n";

int usage_error(const std::string& what) {
  std::fprintf(stderr, "rill-inspect: %s\n%s", what.c_str(), kUsage);
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  bool json = false;
  const char* dir = nullptr;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(kUsage, stdout);
      return 0;
    }
    if (arg == "--json")
      json = true;
    else if (arg.starts_with("--"))
      return usage_error("unknown option " + std::string(arg));
    else if (dir)
      return usage_error("one STORE_DIR only");
    else
      dir = argv[i];
  }
  if (!dir) return usage_error("no STORE_DIR given");
  auto report = rill::persistence::inspect_store(dir);
  if (!report) {
    std::fprintf(stderr, "rill-inspect: %s\n", report.status().message().c_str());
    return 2;
  }
  std::string out = json ? format_json(*report) : format_text(*report);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return std::fflush(stdout) == 0 ? 0 : 2;
}
