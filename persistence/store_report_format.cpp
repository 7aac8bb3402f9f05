// format_text() and format_json() of a StoreReport. JSON is written by hand: the report is a few
// flat lists, not worth a library dependency for one tool.
#include <time.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <sstream>
#include <vector>

#include "persistence/store_report.hpp"

namespace rill::persistence {

namespace {

std::string utc(Millis t) {
  time_t secs = static_cast<time_t>(t.count() / 1000);
  long millis = static_cast<long>(t.count() % 1000);
  if (millis < 0) secs -= 1, millis += 1000;
  struct tm tm;
  char buf[64];
  if (!gmtime_r(&secs, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%d %H:%M:%S", &tm)) return "?";
  char out[80];
  std::snprintf(out, sizeof out, "%s.%03ld UTC", buf, millis);
  return out;
}

std::string ms(Millis t) { return std::to_string(t.count()) + " ms"; }
std::string ms_utc(Millis t) { return ms(t) + " (" + utc(t) + ")"; }
std::string opt_ms_utc(const std::optional<Millis>& t) { return t ? ms_utc(*t) : "none"; }

std::string human(uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u ? "%.1f %s" : "%.0f %s", v, units[u]);
  return buf;
}

std::string hex64(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%016" PRIx64, v);
  return buf;
}

std::string named(const char* what, uint32_t id, const std::string& name) {
  return std::string(what) + " " + std::to_string(id) + (name.empty() ? "" : " (" + name + ")");
}

// Text lists at most this many batches not completed: a store stuck for hours has thousands.
constexpr std::size_t kPendingShown = 10;

}  // namespace

std::string format_text(const StoreReport& r) {
  std::ostringstream o;
  // Rows are kept per section so its labels pad to the section's longest one.
  std::vector<std::pair<std::string, std::string>> rows;
  std::string title;
  auto row = [&](const std::string& label, const std::string& value) {
    rows.emplace_back(label, value);
  };
  auto section = [&](const std::string& next) {
    std::size_t width = 0;
    for (const auto& [label, value] : rows) width = std::max(width, label.size());
    if (!title.empty()) o << title << "\n";
    for (const auto& [label, value] : rows) {
      o << "  " << label;
      if (!value.empty()) o << std::string(width + 2 - label.size(), ' ') << value;
      o << "\n";
    }
    rows.clear();
    title = next;
  };
  section("rill store " + r.dir);
  row("format", std::to_string(r.format_version));
  row("data.mdb", human(r.file_bytes) + "; map " + human(r.map_bytes) + ", " + human(r.used_bytes) +
                      " in use (" +
                      std::to_string(r.map_bytes ? r.used_bytes * 100 / r.map_bytes : 0) + "%)");
  row("zero time", opt_ms_utc(r.zero_time));
  if (r.job) {
    std::size_t stateful = 0;
    for (const auto& s : r.job->streams) stateful += s.stateful;
    row("job", "batch interval " + std::to_string(r.job->interval_ms) + " ms, " +
                   std::to_string(r.job->streams.size()) + " streams (" + std::to_string(stateful) +
                   " stateful), " + std::to_string(r.job->outputs.size()) +
                   " outputs, fingerprint " + hex64(r.job->fingerprint()));
    for (std::size_t i = 0; i < r.job->outputs.size(); ++i)
      row(i ? "" : "outputs", std::to_string(i) + ": " + r.job->outputs[i]);
  } else {
    row("job", r.job_problem.empty() ? "none recorded" : "unreadable: " + r.job_problem);
  }
  std::string parts;
  for (const auto& [stream, n] : r.partitions)
    parts += (parts.empty() ? "" : ", ") + stream + ": " + std::to_string(n);
  row("partitions", parts.empty() ? "none recorded" : parts);

  section("batches");
  row("allocated",
      std::to_string(r.allocated) +
          (r.first_allocated ? ", " + ms(*r.first_allocated) + " .. " + ms(*r.last_allocated)
                             : "") +
          (r.start_record ? " (and the sources' start record)" : ""));
  row("completed",
      std::to_string(r.completed) + (r.first_completed ? ", from " + ms(*r.first_completed) : ""));
  row("last completed", opt_ms_utc(r.last_completed));
  std::string pending = std::to_string(r.pending.size());
  for (std::size_t i = 0; i < r.pending.size() && i < kPendingShown; ++i)
    pending += (i ? ", " : ": ") + ms(r.pending[i]);
  if (r.pending.size() > kPendingShown)
    pending += ", ... (" + std::to_string(r.pending.size() - kPendingShown) + " more)";
  row("not completed", pending);
  row("last checkpoint", opt_ms_utc(r.last_checkpoint));
  if (r.downtimes.empty()) row("downtimes", "none");
  for (std::size_t i = 0; i < r.downtimes.size(); ++i)
    row(i ? "" : "downtimes",
        ms(r.downtimes[i].first) + " .. " + ms(r.downtimes[i].second) + " skipped");

  section("wal (received blocks, per input stream)");
  if (r.wal.empty()) row("none", "");
  for (const auto& w : r.wal)
    row(named("stream", w.stream, w.name), std::to_string(w.blocks) + " blocks, " + human(w.bytes) +
                                               ", seq " + std::to_string(w.first_seq) + ".." +
                                               std::to_string(w.last_seq));
  section("state (snapshots, per operator and partition)");
  if (r.state.empty()) row("none", "");
  for (const auto& s : r.state)
    row(s.stream + " partition " + std::to_string(s.partition),
        std::to_string(s.full + s.delta) + " snapshots (" + std::to_string(s.full) + " full, " +
            std::to_string(s.delta) + " delta), " + human(s.bytes) + ", " + ms(s.first) + " .. " +
            ms(s.last));
  section("commits (the driver's sink commit markers, per output)");
  if (r.commits.empty()) row("none", "");
  for (const auto& c : r.commits)
    row(named("output", c.output, c.name), std::to_string(c.commits) + " markers for " +
                                               std::to_string(c.batches) + " batches, " +
                                               ms(c.first) + " .. " + ms(c.last));
  section("other");
  row("markers database", std::to_string(r.sink_markers) + " entries");
  if (r.unknown_meta) row("unknown meta records", std::to_string(r.unknown_meta));
  section("");
  return o.str();
}

namespace {

std::string quote(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string num(const std::optional<Millis>& t) { return t ? std::to_string(t->count()) : "null"; }
std::string num(Millis t) { return std::to_string(t.count()); }
template <class T>
std::string num(T v) {
  return std::to_string(v);
}

// Joins the strings fn(x) for x in xs as a JSON array.
template <class Range, class Fn>
std::string array(const Range& xs, Fn fn) {
  std::string out = "[";
  for (const auto& x : xs) out += (out.size() > 1 ? "," : "") + fn(x);
  return out + "]";
}

std::string job_json(const StoreReport& r) {
  if (!r.job) return "null";
  std::size_t id = 0;
  std::string streams = array(r.job->streams, [&](const StreamSignature& s) {
    return "{\"id\":" + num(id++) + ",\"name\":" + quote(s.name) + ",\"kind\":" + quote(s.kind) +
           ",\"type\":" + quote(s.type) + ",\"partitions\":" + num(s.partitions) +
           ",\"stateful\":" + (s.stateful ? "true" : "false") + "}";
  });
  return "{\"interval_ms\":" + num(r.job->interval_ms) +
         ",\"fingerprint\":" + quote(hex64(r.job->fingerprint())) + ",\"streams\":" + streams +
         ",\"outputs\":" + array(r.job->outputs, quote) + "}";
}

}  // namespace

std::string format_json(const StoreReport& r) {
  std::string partitions = "{";
  for (const auto& [stream, n] : r.partitions)
    partitions += (partitions.size() > 1 ? "," : "") + quote(stream) + ":" + num(n);
  partitions += "}";
  std::string o = "{";
  o += "\"store\":" + quote(r.dir) + ",\"format_version\":" + num(r.format_version);
  o += ",\"file_bytes\":" + num(r.file_bytes) + ",\"map_bytes\":" + num(r.map_bytes) +
       ",\"used_bytes\":" + num(r.used_bytes);
  o += ",\"zero_time_ms\":" + num(r.zero_time);
  o += ",\"job\":" + job_json(r) +
       ",\"job_problem\":" + (r.job_problem.empty() ? "null" : quote(r.job_problem));
  o += ",\"partitions\":" + partitions;
  o += ",\"batches\":{\"allocated\":" + num(r.allocated) +
       ",\"first_allocated_ms\":" + num(r.first_allocated) +
       ",\"last_allocated_ms\":" + num(r.last_allocated) + ",\"completed\":" + num(r.completed) +
       ",\"first_completed_ms\":" + num(r.first_completed) +
       ",\"last_completed_ms\":" + num(r.last_completed) +
       ",\"not_completed_ms\":" + array(r.pending, [](Millis t) { return num(t); }) +
       ",\"start_record\":" + (r.start_record ? "true" : "false") + "}";
  o += ",\"last_checkpoint_ms\":" + num(r.last_checkpoint);
  o += ",\"downtimes\":" + array(r.downtimes, [](const std::pair<Millis, Millis>& d) {
         return "{\"first_ms\":" + num(d.first) + ",\"last_ms\":" + num(d.second) + "}";
       });
  o += ",\"wal\":" + array(r.wal, [](const WalUsage& w) {
         return "{\"stream\":" + num(w.stream) + ",\"name\":" + quote(w.name) +
                ",\"blocks\":" + num(w.blocks) + ",\"bytes\":" + num(w.bytes) +
                ",\"first_seq\":" + num(w.first_seq) + ",\"last_seq\":" + num(w.last_seq) + "}";
       });
  o += ",\"state\":" + array(r.state, [](const StateUsage& s) {
         return "{\"operator\":" + quote(s.stream) + ",\"partition\":" + num(s.partition) +
                ",\"snapshots\":" + num(s.full + s.delta) + ",\"full\":" + num(s.full) +
                ",\"delta\":" + num(s.delta) + ",\"bytes\":" + num(s.bytes) +
                ",\"first_ms\":" + num(s.first) + ",\"last_ms\":" + num(s.last) + "}";
       });
  o += ",\"commits\":" + array(r.commits, [](const CommitUsage& c) {
         return "{\"output\":" + num(c.output) + ",\"name\":" + quote(c.name) +
                ",\"markers\":" + num(c.commits) + ",\"batches\":" + num(c.batches) +
                ",\"first_ms\":" + num(c.first) + ",\"last_ms\":" + num(c.last) + "}";
       });
  o += ",\"sink_markers\":" + num(r.sink_markers) +
       ",\"unknown_meta_records\":" + num(r.unknown_meta);
  return o + "}\n";
}

}  // namespace rill::persistence
