#include "net/toml_fields.hpp"

#include <algorithm>

#include "dataflow/config_error.hpp"
#include "net/cluster_config.hpp"

namespace rill::net {
namespace {

std::string position(const std::string& path, const toml::source_region& at) {
  return path + ":" + std::to_string(at.begin.line) + ":" + std::to_string(at.begin.column);
}

}  // namespace

std::string in_quotes(std::string_view s) { return "\"" + std::string(s) + "\""; }

std::string describe(const toml::node& n) {
  switch (n.type()) {
    case toml::node_type::string:
      return "a string " + in_quotes(n.as_string()->get());
    case toml::node_type::integer:
      return "an integer " + std::to_string(n.as_integer()->get());
    case toml::node_type::floating_point:
      return "a float";
    case toml::node_type::boolean:
      return n.as_boolean()->get() ? "a boolean true" : "a boolean false";
    case toml::node_type::array:
      return "an array";
    case toml::node_type::table:
      return "a table";
    default:
      return "a date or time";
  }
}

toml::table parse_toml(std::string_view text, const std::string& path) {
  try {
    return toml::parse(text, path);
  } catch (const toml::parse_error& e) {
    throw ConfigError(position(path, e.source()) + ": " + std::string(e.description()));
  }
}

void TomlFields::fail(const toml::source_region& at, const std::string& key,
                      const std::string& what) const {
  throw ConfigError(position(path_, at) + ": " + key + ": " + what);
}

void TomlFields::check_keys(const toml::table& t, const std::string& prefix,
                            std::initializer_list<std::string_view> known) const {
  for (auto&& [k, v] : t) {
    if (std::find(known.begin(), known.end(), k.str()) != known.end()) continue;
    std::string names;
    for (auto name : known) names += (names.empty() ? "" : ", ") + std::string(name);
    fail(k.source(), prefix + std::string(k.str()), "unknown key (known here: " + names + ")");
  }
}

const toml::table* TomlFields::table(const toml::table& t, std::string_view key) const {
  const toml::node* n = t.get(key);
  if (n && !n->is_table())
    fail(n->source(), std::string(key),
         "expected a table ([" + std::string(key) + "]), got " + describe(*n));
  return n ? n->as_table() : nullptr;
}

std::optional<std::string> TomlFields::text(const toml::table& t, std::string_view key,
                                            const std::string& full) const {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  if (!n->is_string()) fail(n->source(), full, "expected a string, got " + describe(*n));
  return n->as_string()->get();
}

std::string TomlFields::required_text(const toml::table& t, std::string_view key,
                                      const std::string& full, const std::string& meaning) const {
  auto v = text(t, key, full);
  if (!v) fail(t.source(), full, "missing (" + meaning + ")");
  if (v->empty()) fail(t.get(key)->source(), full, "must not be empty (" + meaning + ")");
  return *v;
}

std::optional<int64_t> TomlFields::integer(const toml::table& t, std::string_view key,
                                           const std::string& full) const {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  if (!n->is_integer()) fail(n->source(), full, "expected an integer, got " + describe(*n));
  return n->as_integer()->get();
}

std::optional<bool> TomlFields::boolean(const toml::table& t, std::string_view key,
                                        const std::string& full) const {
  const toml::node* n = t.get(key);
  if (!n) return std::nullopt;
  if (!n->is_boolean()) fail(n->source(), full, "expected true or false, got " + describe(*n));
  return n->as_boolean()->get();
}

std::optional<Millis> TomlFields::duration(const toml::table& t, std::string_view key,
                                           const std::string& full) const {
  auto v = text(t, key, full);
  if (!v) return std::nullopt;
  auto d = parse_duration(*v);
  if (!d)
    fail(t.get(key)->source(), full,
         in_quotes(*v) + " is not a duration (an integer and ms, s, m or h: \"100ms\", \"1s\")");
  if (d->count() == 0)
    fail(t.get(key)->source(), full, "must be longer than 0, got " + in_quotes(*v));
  return d;
}

std::string TomlFields::resolve(const std::string& p) const {
  if (std::filesystem::path(p).is_absolute() || base_.empty()) return p;
  return (base_ / p).lexically_normal().string();
}

}  // namespace rill::net
