#include "dataflow/fingerprint.hpp"

#include <map>
#include <sstream>

#include <xxhash.h>

namespace rill {

namespace {

std::vector<std::string> split_on(const std::string& s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string::npos ? std::string::npos : end - start));
    if (end == std::string::npos) return out;
    start = end + 1;
  }
}

std::string describe_stream(const StreamSignature& s) {
  std::string parents;
  for (const auto& p : s.parents) parents += (parents.empty() ? "" : ", ") + p;
  return "'" + s.name + "' (" + s.kind + (s.params.empty() ? "" : " " + s.params) + " of " + s.type +
         (parents.empty() ? "" : ", from " + parents) +
         ", " + std::to_string(s.partitions) + " partitions, slide " + std::to_string(s.slide_ms) + " ms" +
         (s.stateful ? ", stateful" : "") + ")";
}

}  // namespace

DagSignature DagSignature::of(const JobGraph& graph) {
  DagSignature sig;
  sig.interval_ms = graph.interval().count();
  for (const Node& n : graph.nodes()) {
    StreamSignature s{n.name, n.kind, n.type, n.params, {}, n.partitions, n.slide.count(),
                      static_cast<bool>(n.make_state)};
    for (const Edge& e : n.inputs) s.parents.push_back(graph.node(e.from).name);
    sig.streams.push_back(std::move(s));
  }
  for (const OutputOp& op : graph.outputs()) sig.outputs.push_back(op.name + " <- " + graph.node(op.node).name);
  return sig;
}

std::string DagSignature::to_text() const {
  std::ostringstream out;
  out << "interval\t" << interval_ms << "\n";
  for (const auto& s : streams) {
    out << "stream\t" << s.name << "\t" << s.kind << "\t" << s.type << "\t" << s.params << "\t" << s.partitions << "\t"
        << s.slide_ms << "\t" << (s.stateful ? 1 : 0) << "\t";
    for (size_t i = 0; i < s.parents.size(); ++i) out << (i ? "\x1f" : "") << s.parents[i];
    out << "\n";
  }
  for (const auto& o : outputs) out << "output\t" << o << "\n";
  return out.str();
}

Result<DagSignature> DagSignature::from_text(const std::string& text) {
  DagSignature sig;
  int line_no = 0;
  for (const std::string& line : split_on(text, '\n')) {
    ++line_no;
    if (line.empty()) continue;
    auto f = split_on(line, '\t');
    auto bad = [&] { return Status(Errc::corrupt, "DAG signature line " + std::to_string(line_no) + ": '" + line + "'"); };
    try {
      if (f[0] == "interval" && f.size() == 2) {
        sig.interval_ms = std::stoll(f[1]);
      } else if (f[0] == "stream" && f.size() == 9) {
        StreamSignature s{f[1], f[2], f[3], f[4], {}, std::stoi(f[5]), std::stoll(f[6]), f[7] == "1"};
        if (!f[8].empty()) s.parents = split_on(f[8], '\x1f');
        sig.streams.push_back(std::move(s));
      } else if (f[0] == "output" && f.size() == 2) {
        sig.outputs.push_back(f[1]);
      } else {
        return bad();
      }
    } catch (const std::exception&) {
      return bad();
    }
  }
  return sig;
}

uint64_t DagSignature::fingerprint() const {
  std::string text = to_text();
  return XXH3_64bits(text.data(), text.size());
}

bool DagDiff::keeps_state() const { return removed.empty() && changed.empty() && !interval_changed; }

std::string DagDiff::describe(const std::string& store) const {
  std::string out = "the program's DAG differs from the one stored in " + store + ":";
  if (interval_changed) out += "\n  batch interval changed";
  for (const auto& s : removed) out += "\n  removed " + s;
  for (const auto& s : changed) out += "\n  changed " + s;
  for (const auto& s : added) out += "\n  added " + s;
  out += "\nName streams with .name(...) so their names do not depend on construction order; to "
         "start fresh, use a new checkpoint directory or delete " + store + ".";
  return out;
}

DagDiff diff(const DagSignature& stored, const DagSignature& current) {
  DagDiff d;
  d.interval_changed = stored.interval_ms != current.interval_ms;
  std::map<std::string, const StreamSignature*> before, after;
  for (const auto& s : stored.streams) before[s.name] = &s;
  for (const auto& s : current.streams) after[s.name] = &s;
  for (const auto& s : stored.streams) {
    auto it = after.find(s.name);
    if (it == after.end()) d.removed.push_back(describe_stream(s));
    else if (!(*it->second == s)) d.changed.push_back(describe_stream(s) + " -> " + describe_stream(*it->second));
  }
  for (const auto& s : current.streams) {
    if (before.count(s.name)) continue;
    d.added.push_back(describe_stream(s));
    // A new stateful stream would start with empty state in the middle of a job's history.
    if (s.stateful) d.changed.push_back("new stateful stream " + describe_stream(s) + " has no stored state");
  }
  return d;
}

}  // namespace rill
