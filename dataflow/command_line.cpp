#include "dataflow/command_line.hpp"

#include <cstdlib>
#include <string_view>

namespace rill {
namespace {

constexpr const char* kRillUsage =
    "rill options (every rill application has them):\n"
    "  --config FILE      run as a node of the cluster described in FILE (TOML)\n"
    "  --node NAME        which node of FILE this process is (optional when FILE has one node)\n"
    "  --check            validate FILE (and --node) and exit: 0 and OK, or 2 and the error\n"
    "  --log-level LEVEL  debug, info, warn, error or off (default warn; RILL_LOG, when set,\n"
    "                     wins: the runtime applies it at start)\n"
    "  --help             this text\n";

}  // namespace

CommandLine::CommandLine(int argc, const char* const* argv, std::string app_usage,
                         std::set<std::string> app_flags)
    : app_usage_(std::move(app_usage)) {
  program_ = argc > 0 && argv[0] ? argv[0] : "rill-app";
  if (auto slash = program_.rfind('/'); slash != std::string::npos) program_.erase(0, slash + 1);
  bool options_ended = false;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (options_ended || arg.rfind("--", 0) != 0 || arg == "--") {
      if (arg == "--" && !options_ended)
        options_ended = true;
      else if (arg == "-h" && !options_ended)
        help_ = true;
      else
        positionals_.push_back(std::move(arg));
      continue;
    }
    std::string name = arg.substr(2);
    std::optional<std::string> value;
    if (auto eq = name.find('='); eq != std::string::npos) {
      value = name.substr(eq + 1);
      name.erase(eq);
    }
    bool is_flag = name == "check" || name == "help" || app_flags.count(name);
    if (is_flag && value) {
      fail("--" + name + " takes no value");
      continue;
    }
    bool rill_option = name == "config" || name == "node" || name == "log-level";
    // A value never starts with "--" unless given as --name=VALUE: an unknown option must not
    // swallow the option after it (`--bogus --config F` reports --bogus, keeps --config).
    if (!is_flag && !value && i + 1 < argc && std::string_view(argv[i + 1]).rfind("--", 0) != 0)
      value = argv[++i];
    if (!is_flag && !value && rill_option) {
      fail("--" + name + " needs a value");
      continue;
    }
    if (name == "check")
      check_ = true;
    else if (name == "help")
      help_ = true;
    else if (name == "config")
      config_path_ = *value;
    else if (name == "node")
      node_ = *value;
    else if (name == "log-level")
      log_level_ = *value;
    else
      options_[name] = is_flag ? std::optional<std::string>("") : value;  // a repeat wins
  }
}

std::optional<std::string> CommandLine::take(const std::string& name) {
  read_.insert(name);
  auto it = options_.find(name);
  if (it == options_.end()) return std::nullopt;
  if (!it->second) fail("--" + name + " needs a value");
  return it->second.value_or("");
}

bool CommandLine::flag(const std::string& name) { return take(name).has_value(); }

std::string CommandLine::text(const std::string& name, const std::string& fallback) {
  return take(name).value_or(fallback);
}

long long CommandLine::number(const std::string& name, long long fallback) {
  auto v = take(name);
  if (!v) return fallback;
  char* end = nullptr;
  long long n = std::strtoll(v->c_str(), &end, 10);
  if (v->empty() || *end != '\0' || n < 0) {
    fail("--" + name + " wants a non-negative integer, got '" + *v + "'");
    return fallback;
  }
  return n;
}

void CommandLine::expect_positionals(std::size_t min, std::size_t max) {
  min_positionals_ = min;
  max_positionals_ = max;
}

void CommandLine::fail(const std::string& message) {
  if (error_.empty()) error_ = message;
}

void CommandLine::finish() {
  for (const auto& [name, value] : options_)
    if (!read_.count(name)) fail("unknown option --" + name);
  std::size_t n = positionals_.size();
  if (n > max_positionals_ && max_positionals_ == 0)
    fail("unexpected argument '" + positionals_[0] + "' (this program takes no arguments)");
  else if (n < min_positionals_ || n > max_positionals_)
    fail("expected " +
         (min_positionals_ == max_positionals_
              ? std::to_string(min_positionals_)
              : std::to_string(min_positionals_) + " to " + std::to_string(max_positionals_)) +
         " argument(s), got " + std::to_string(n));
}

std::string CommandLine::usage() const {
  std::string out = app_usage_.empty() ? "usage: " + program_ + " [options]\n" : app_usage_;
  if (out.back() != '\n') out += '\n';
  return out + "\n" + kRillUsage;
}

}  // namespace rill
