#include "dataflow/graph.hpp"

#include <map>

#include "dataflow/config_error.hpp"

namespace rill {

int JobGraph::add(Node node) {
  node.id = static_cast<int>(nodes_.size());
  if (node.name.empty()) {
    // Kind plus its count so far: identical programs get identical names without coordination.
    int same_kind = 0;
    for (const auto& n : nodes_) same_kind += n.kind == node.kind;
    node.name = node.kind + "-" + std::to_string(same_kind);
  }
  for (const auto& n : nodes_)
    if (n.name == node.name) throw ConfigError("two streams are named '" + node.name + "'");
  nodes_.push_back(std::move(node));
  return nodes_.back().id;
}

int JobGraph::rename(int id, const std::string& name) {
  // Names are keys in the stored fingerprint and state: one line, no tabs.
  if (name.empty() || name.find_first_of("\t\n\r") != std::string::npos)
    throw ConfigError("stream name '" + name + "' must be non-empty, without tabs or line breaks");
  for (const auto& n : nodes_)
    if (n.name == name && n.id != id) throw ConfigError("two streams are named '" + name + "'");
  nodes_.at(static_cast<size_t>(id)).name = name;
  return id;
}

int JobGraph::add_output(OutputOp op) {
  op.id = static_cast<int>(outputs_.size());
  if (op.name.empty()) op.name = "output-" + std::to_string(op.id);
  outputs_.push_back(std::move(op));
  return outputs_.back().id;
}

void JobGraph::validate() const {
  if (outputs_.empty())
    throw ConfigError("no output operations registered: add print(), foreach_batch(), "
                      "save_as_text_files() or output_to() before start(), as in Spark");
  for (const auto& n : nodes_) {
    if (n.slide.count() <= 0) throw ConfigError("stream '" + n.name + "' has no slide");
    for (const auto& e : n.inputs) {
      const Node& p = node(e.from);
      if (e.kind == Edge::Kind::one_to_one && p.partitions != n.partitions)
        throw ConfigError("stream '" + n.name + "' reads '" + p.name +
                          "' one-to-one but their partition counts differ (" +
                          std::to_string(n.partitions) + " vs " + std::to_string(p.partitions) +
                          ")");
    }
  }
}

Millis JobGraph::checkpoint_interval(Millis configured) const {
  Millis every = configured;
  if (every.count() == 0) {
    every = interval_;
    bool named = false;
    // Checkpoints are whole-job cuts (every stage at the same batch), so the most frequent
    // one a stream asks for serves all.
    for (const auto& n : nodes_)
      if (n.checkpoint_interval.count() > 0 && (!named || n.checkpoint_interval < every)) {
        every = n.checkpoint_interval;
        named = true;
      }
  }
  if (every.count() <= 0 || every.count() % interval_.count() != 0)
    throw ConfigError("checkpoint interval " + to_string(every) +
                      " must be a positive multiple of the batch interval " + to_string(interval_));
  return every;
}

bool JobGraph::written_where_computed(int id) const {
  bool any = false;
  for (const OutputOp& op : outputs_)
    if (op.node == id) {
      if (!op.sink) return false;
      any = true;
    }
  // A one-to-one reader may sit in another stage and read the part whole: conservatively, any
  // such reader keeps the part flowing through the driver. Exchange readers fetch buckets.
  for (const Node& n : nodes_)
    for (const Edge& e : n.inputs)
      if (e.from == id && e.kind == Edge::Kind::one_to_one) return false;
  return any;
}

}  // namespace rill
