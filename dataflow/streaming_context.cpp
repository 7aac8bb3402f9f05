// The definition-time half of StreamingContext (graph building); start/stop/await live in
// actors/context_runtime.cpp because running means spawning actors.
#include "dataflow/streaming_context.hpp"

#include <iostream>

#include "dataflow/config_error.hpp"

namespace rill {

JobGraph& StreamingContext::graph_for_definition(const char* what) {
  if (state_ == 1)
    throw ConfigError(std::string(what) + ": cannot add streams or outputs after start(), as in Spark");
  if (state_ == 2) throw ConfigError(std::string(what) + ": the context was stopped");
  return graph_;
}

int StreamingContext::add_source(std::shared_ptr<InputSource> source, const std::string& kind,
                                 std::string name, std::string type, PartCodec codec) {
  JobGraph& g = graph_for_definition(kind.c_str());
  Node n{.kind = kind, .name = std::move(name), .partitions = g.default_partitions(),
         .slide = g.interval(),
         .compute = [](const TaskContext&, std::span<const AnyPart> in, NodeState*) { return in[0]; },
         .is_source = true,
         .type = std::move(type),
         .codec = std::move(codec)};
  int id = g.add(std::move(n));
  sources_.emplace_back(id, std::move(source));
  return id;
}

void StreamingContext::checkpoint(const std::string& dir) {
  graph_for_definition("checkpoint");
  if (dir.empty()) throw ConfigError("checkpoint(): the directory name is empty");
  options_.checkpoint_dir = dir;
}

std::unique_ptr<StreamingContext> StreamingContext::get_or_create(
    const std::string& dir, const std::function<std::unique_ptr<StreamingContext>()>& factory) {
  std::unique_ptr<StreamingContext> ssc = factory();
  if (!ssc) throw ConfigError("get_or_create(" + dir + "): the factory returned no context");
  if (ssc->checkpoint_dir().empty()) ssc->checkpoint(dir);
  else if (ssc->checkpoint_dir() != dir)
    throw ConfigError("get_or_create(" + dir + "): the factory set checkpoint directory '" +
                      ssc->checkpoint_dir() + "'");
  return ssc;
}

void StreamingContext::add_listener(std::shared_ptr<StreamingListener> listener) {
  listeners_.push_back(std::move(listener));
}

JobGraph& definition_graph(StreamingContext& ctx, const char* what) {
  return ctx.graph_for_definition(what);
}

const JobGraph& context_graph(const StreamingContext& ctx) { return ctx.graph(); }

int rename_stream(StreamingContext& ctx, int node, const std::string& name) {
  ctx.graph_for_definition("name");
  return ctx.rename(node, name);
}

std::ostream& print_stream(const StreamingContext& ctx) { return ctx.print_output(); }

}  // namespace rill
