// Typed reads of a parsed TOML file, each failure a ConfigError naming file:line:column and key
// (toml++ keeps every value's source position). Internal to net/: includes toml++. One thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include <toml++/toml.h>

#include "dataflow/time.hpp"

namespace rill::net {

/// "\"x\"": a value as messages quote it.
std::string in_quotes(std::string_view s);

/// "a string \"x\"", "an integer 5": what the file holds where something else was expected.
std::string describe(const toml::node& n);

/// Parses `text` read from `path`; a syntax error throws ConfigError "PATH:LINE:COLUMN: why".
toml::table parse_toml(std::string_view text, const std::string& path);

/// Reads values of one file's tables by key. `full` arguments name the key in messages
/// ("node[1].port"); missing optional keys are nullopt, values of the wrong type are errors.
class TomlFields {
 public:
  /// path: the file, as messages name it; relative paths in it resolve against its directory.
  explicit TomlFields(const std::string& path)
      : path_(path), base_(std::filesystem::path(path).parent_path()) {}

  /// Throws ConfigError "PATH:LINE:COLUMN: KEY: WHAT" at the start of `at`.
  [[noreturn]] void fail(const toml::source_region& at, const std::string& key,
                         const std::string& what) const;
  /// Fails at the first key of `t` not in `known`: a misspelt key never silently leaves a
  /// default in force. prefix goes before the key in the message ("node[0].").
  void check_keys(const toml::table& t, const std::string& prefix,
                  std::initializer_list<std::string_view> known) const;
  /// The sub-table `key` (`[key]` or an inline table), or null when absent.
  const toml::table* table(const toml::table& t, std::string_view key) const;
  /// A string value.
  std::optional<std::string> text(const toml::table& t, std::string_view key,
                                  const std::string& full) const;
  /// A non-empty string value; absent or empty fails, saying what it means.
  std::string required_text(const toml::table& t, std::string_view key, const std::string& full,
                            const std::string& meaning) const;
  /// An integer value.
  std::optional<int64_t> integer(const toml::table& t, std::string_view key,
                                 const std::string& full) const;
  /// A boolean value.
  std::optional<bool> boolean(const toml::table& t, std::string_view key,
                              const std::string& full) const;
  /// A positive duration written as a string ("100ms", "1s"; parse_duration).
  std::optional<Millis> duration(const toml::table& t, std::string_view key,
                                 const std::string& full) const;
  /// p as is when absolute, else resolved against the file's directory.
  std::string resolve(const std::string& p) const;
  /// The file, as given.
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::filesystem::path base_;
};

}  // namespace rill::net
