// An application's command line: the options rill::run gives every application (--config,
// --node, --check, --log-level, --help) and the application's own, read on demand. One thread.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace rill {

/// Parses argv once: rill's options into their fields, the rest kept for the application,
/// which reads its options by name (flag, text, number) and then calls finish(). Errors are
/// recorded, not thrown: rill::run prints the first with the usage and exits 2.
///
/// Options are `--name VALUE` or `--name=VALUE`; the names in `app_flags` take no value. `--`
/// ends the options; everything after it is positional.
class CommandLine {
 public:
  /// app_usage: the application's usage and options, printed by --help above rill's.
  /// app_flags: the application's options that take no value ("demo" for --demo).
  CommandLine(int argc, const char* const* argv, std::string app_usage = {},
              std::set<std::string> app_flags = {});

  // --- rill's options ----------------------------------------------------------------------
  /// --config FILE: the cluster config; empty without it (one machine).
  const std::string& config_path() const { return config_path_; }
  /// --node NAME: which node of the config this process is; empty without it.
  const std::string& node() const { return node_; }
  /// --check: validate the config and exit.
  bool check() const { return check_; }
  /// --log-level LEVEL (debug, info, warn, error, off); empty without it.
  const std::string& log_level() const { return log_level_; }
  /// --help or -h.
  bool help() const { return help_; }
  /// The program's name (argv[0] without its directory), for messages.
  const std::string& program() const { return program_; }

  // --- The application's options -----------------------------------------------------------
  /// True when the flag (one of app_flags) was given.
  bool flag(const std::string& name);
  /// The option's value, or fallback when absent.
  std::string text(const std::string& name, const std::string& fallback);
  /// The option's value as a non-negative integer, or fallback when absent; anything else is
  /// an error naming the option (and fallback is returned).
  long long number(const std::string& name, long long fallback);
  /// The arguments that are not options, in order.
  const std::vector<std::string>& positionals() const { return positionals_; }
  /// How many positionals the application takes (default 0): fewer or more is an error.
  void expect_positionals(std::size_t min, std::size_t max);

  /// Records an error naming what is wrong (the first one counts).
  void fail(const std::string& message);
  /// Ends reading: every option given that neither rill nor the application read is an
  /// error naming it, and so is a positional count outside expect_positionals. rill::run
  /// calls it.
  void finish();
  /// The first error; empty when none.
  const std::string& error() const { return error_; }
  /// The application's usage, then rill's options: what --help prints.
  std::string usage() const;

 private:
  std::optional<std::string> take(const std::string& name);

  std::string program_;
  std::string app_usage_;
  std::string config_path_, node_, log_level_;
  bool check_ = false;
  bool help_ = false;
  // Application options by name without "--"; nullopt: given without a value.
  std::map<std::string, std::optional<std::string>> options_;
  std::set<std::string> read_;  // the names the application asked for
  std::vector<std::string> positionals_;
  std::size_t min_positionals_ = 0, max_positionals_ = 0;
  std::string error_;
};

}  // namespace rill
