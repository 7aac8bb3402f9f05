// A tiny command-line parser for the samples: positionals, --name value options, --flags,
// --help. Errors name the argument. Until rill::run arrives, each sample parses its own.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rill::samples {

/// --control and --clock-start: how the crash harness drives a sample (control_channel.hpp).
struct ControlFlags {
  int read_fd = -1;             ///< commands come in here; -1: no --control
  int write_fd = -1;            ///< replies go out here
  long long clock_start_ms = 0; ///< the ManualClock's start (a restart resumes the old time)
  bool enabled() const { return read_fd >= 0; }
};

/// Usage lines for the flags ControlFlags reads.
inline constexpr const char* kControlUsage =
    "  --control R,W      test harness: run on a manual clock advanced by commands read from\n"
    "                     inherited fd R, replies on fd W (samples/control_channel.hpp)\n"
    "  --clock-start MS   with --control: the manual clock's start time, default 0\n";

/// Usage line for --http-port (SampleArgs::http_port()).
inline constexpr const char* kHttpUsage =
    "  --http-port N      serve the status page, /metrics and /api/* on http://127.0.0.1:N/\n";

class SampleArgs {
 public:
  /// usage: printed for --help and after an error. flags: the options that take no value.
  SampleArgs(int argc, char** argv, std::string usage, std::set<std::string> flags = {})
      : usage_(std::move(usage)) {
    for (int i = 1; i < argc; ++i) {
      std::string a = argv[i];
      if (a == "--help" || a == "-h") {
        std::cout << usage_;
        std::exit(0);
      }
      if (a.rfind("--", 0) != 0) {
        positional.push_back(a);
        continue;
      }
      std::string name = a.substr(2);
      if (flags.count(name)) {
        options_[name] = "1";
      } else if (i + 1 < argc) {
        options_[name] = argv[++i];
      } else {
        fail("option --" + name + " needs a value");
      }
    }
  }

  bool flag(const std::string& name) { return take(name).has_value(); }
  std::string text(const std::string& name, const std::string& fallback) {
    auto v = take(name);
    return v ? *v : fallback;
  }
  long long number(const std::string& name, long long fallback) {
    auto v = take(name);
    if (!v) return fallback;
    char* end = nullptr;
    long long n = std::strtoll(v->c_str(), &end, 10);
    if (end == v->c_str() || *end != '\0' || n < 0) fail("--" + name + " wants a non-negative number, got '" + *v + "'");
    return n;
  }
  /// --http-port N: ContextOptions::http_port, 0 (off) when absent.
  int http_port() {
    long long port = number("http-port", 0);
    if (port > 65535) fail("--http-port wants a port (1..65535), got " + std::to_string(port));
    return static_cast<int>(port);
  }
  /// --control R,W and --clock-start MS; without --control, enabled() is false (real clock).
  ControlFlags control_flags() {
    ControlFlags flags;
    flags.clock_start_ms = number("clock-start", 0);
    auto v = take("control");
    if (!v) {
      if (flags.clock_start_ms != 0) fail("--clock-start needs --control");
      return flags;
    }
    int r = -1, w = -1, used = 0;
    if (std::sscanf(v->c_str(), "%d,%d%n", &r, &w, &used) != 2 || v->c_str()[used] != '\0' ||
        r < 0 || w < 0)
      fail("--control wants two fd numbers R,W, got '" + *v + "'");
    flags.read_fd = r;
    flags.write_fd = w;
    return flags;
  }
  /// Fails on options nobody asked for and on a wrong positional count.
  void finish(size_t positionals) {
    for (const auto& [name, value] : options_)
      if (!used_.count(name)) fail("unknown option --" + name);
    if (positional.size() != positionals) fail("expected " + std::to_string(positionals) + " argument(s)");
  }
  [[noreturn]] void fail(const std::string& message) {
    std::cerr << "error: " << message << "\n\n" << usage_;
    std::exit(2);
  }

  std::vector<std::string> positional;

 private:
  std::optional<std::string> take(const std::string& name) {
    used_.insert(name);
    auto it = options_.find(name);
    if (it == options_.end()) return std::nullopt;
    return it->second;
  }
  std::string usage_;
  std::map<std::string, std::string> options_;
  std::set<std::string> used_;
};

}  // namespace rill::samples
