#include "dataflow/failpoint.hpp"

#include <spdlog/spdlog.h>

#include <atomic>
#include <cctype>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "dataflow/config_error.hpp"

namespace rill {

namespace {

enum class Action { kill, count };

struct Point {
  std::string name;
  uint64_t at = 0;
  Action action = Action::kill;
  mutable std::atomic<uint64_t> hits{0};
};

// Immutable once installed, except the hit counters.
struct Table {
  std::vector<std::unique_ptr<Point>> points;
  const Point* find(std::string_view name) const {
    for (const auto& p : points)
      if (p->name == name) return p.get();
    return nullptr;
  }
};

constexpr const char* kEnv = "RILL_FAILPOINTS";

std::mutex g_mu;                      // serialises loading and replacing the table
std::atomic<bool> g_loaded{false};    // g_table is final until the next reset/set
std::atomic<const Table*> g_table{};  // null: no failpoint configured
// Every table ever installed. Never freed: a failpoint() racing with a test's replacement
// may still read the old one, and tests install a handful at most.
std::vector<std::unique_ptr<Table>> g_tables;

bool valid_name(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-'))
      return false;
  return true;
}

// Parses spec into table; on error returns a message naming the entry.
std::string parse(std::string_view spec, Table& table) {
  size_t begin = 0;
  while (begin <= spec.size()) {
    size_t end = spec.find(',', begin);
    if (end == std::string_view::npos) end = spec.size();
    std::string_view entry = spec.substr(begin, end - begin);
    std::string where = "entry '" + std::string(entry) + "'";
    size_t c1 = entry.find(':');
    if (c1 == std::string_view::npos) return where + ": expected name:n[:kill|count]";
    size_t c2 = entry.find(':', c1 + 1);
    std::string_view name = entry.substr(0, c1);
    std::string_view count =
        entry.substr(c1 + 1, c2 == std::string_view::npos ? std::string_view::npos : c2 - c1 - 1);
    std::string_view action = c2 == std::string_view::npos ? "kill" : entry.substr(c2 + 1);
    if (!valid_name(name)) return where + ": the name must be letters, digits, '.', '_' or '-'";
    uint64_t n = 0;
    bool digits = !count.empty() && count.size() <= 18;  // 18 digits cannot overflow
    for (char ch : count) digits = digits && ch >= '0' && ch <= '9';
    if (digits)
      for (char ch : count) n = n * 10 + static_cast<uint64_t>(ch - '0');
    if (!digits || n == 0) return where + ": '" + std::string(count) + "' is not a count >= 1";
    auto point = std::make_unique<Point>();
    point->name = name;
    point->at = n;
    if (action == "count")
      point->action = Action::count;
    else if (action != "kill")
      return where + ": unknown action '" + std::string(action) + "' (kill or count)";
    if (table.find(name)) return where + ": '" + std::string(name) + "' is configured twice";
    table.points.push_back(std::move(point));
    begin = end + 1;
  }
  return {};
}

// REQUIRES: g_mu held.
void install(std::unique_ptr<Table> table) {
  const Table* t = table->points.empty() ? nullptr : table.get();
  g_tables.push_back(std::move(table));
  g_table.store(t, std::memory_order_release);
  g_loaded.store(true, std::memory_order_release);
}

const Table* table() {
  if (g_loaded.load(std::memory_order_acquire)) return g_table.load(std::memory_order_acquire);
  std::lock_guard lock(g_mu);
  if (!g_loaded.load(std::memory_order_relaxed)) {
    auto parsed = std::make_unique<Table>();
    const char* env = std::getenv(kEnv);
    if (env && *env) {
      if (std::string error = parse(env, *parsed); !error.empty()) {
        spdlog::critical("{}={}: {}", kEnv, env, error);
        spdlog::default_logger()->flush();
        std::fprintf(stderr, "rill: %s=%s: %s\n", kEnv, env, error.c_str());
        std::abort();
      }
      for (const auto& p : parsed->points)
        spdlog::warn("failpoint {} armed: {} at hit {}", p->name,
                     p->action == Action::kill ? "kill" : "count", p->at);
    }
    install(std::move(parsed));
  }
  return g_table.load(std::memory_order_acquire);
}

}  // namespace

void failpoint(std::string_view name) {
  const Table* t = table();
  if (!t) return;
  const Point* p = t->find(name);
  if (!p) return;
  uint64_t hit = p->hits.fetch_add(1, std::memory_order_relaxed) + 1;
  if (hit != p->at) return;
  if (p->action == Action::count) {
    spdlog::info("failpoint {} hit {}", p->name, hit);
    return;
  }
  spdlog::critical("failpoint {} hit {}", p->name, hit);
  spdlog::default_logger()->flush();
  std::fflush(stderr);
  std::raise(SIGKILL);
}

uint64_t failpoint_hits(std::string_view name) {
  const Table* t = table();
  const Point* p = t ? t->find(name) : nullptr;
  return p ? p->hits.load(std::memory_order_relaxed) : 0;
}

void set_failpoints_for_testing(std::string_view spec) {
  auto parsed = std::make_unique<Table>();
  if (!spec.empty())
    if (std::string error = parse(spec, *parsed); !error.empty())
      throw ConfigError("failpoints '" + std::string(spec) + "': " + error);
  std::lock_guard lock(g_mu);
  install(std::move(parsed));
}

void reset_failpoints_for_testing() {
  std::lock_guard lock(g_mu);
  g_loaded.store(false, std::memory_order_release);
  g_table.store(nullptr, std::memory_order_release);
}

}  // namespace rill
