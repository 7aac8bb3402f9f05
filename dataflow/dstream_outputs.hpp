// Definitions of DStream's output operations: print, foreach_batch, save_as_text_files, output_to.
// Each registers an OutputOp; the runtime's sink actor runs it once per batch, in batch order.
#pragma once

#include "dataflow/config_error.hpp"
#include "dataflow/dstream.hpp"
#include "dataflow/record_text.hpp"
#include "dataflow/stable_hash.hpp"
#include "dataflow/text_output.hpp"

namespace rill {

namespace detail {
// The output hash of one partition: stable_hash of its records in order (the vector's length,
// then each record), so a re-run with the same records in the same order hashes equal.
template <class T>
uint64_t part_hash(const AnyPart& part) {
  if constexpr (is_record_v<T>)
    return stable_hash(part_cast<T>(part));
  else
    return 0;  // not a record type: unknown, never compared
}
}  // namespace detail

std::ostream& print_stream(const StreamingContext& ctx);

template <class T>
void DStream<T>::print(int n) const {
  JobGraph& g = definition_graph(*ctx_, "print");
  std::ostream* out = &print_stream(*ctx_);
  g.add_output(OutputOp{.name = "print-" + std::to_string(g.outputs().size()), .node = node_,
                        .run = [n, out](const OutputContext& ctx, std::span<const AnyPart> parts) {
                          std::vector<std::string> lines;
                          bool more = false;
                          for (const AnyPart& p : parts)
                            for (const T& x : part_cast<T>(p)) {
                              if (static_cast<int>(lines.size()) == n) {
                                more = true;
                                break;
                              }
                              lines.push_back(to_text(x));
                            }
                          *out << format_print_block(ctx.time, lines, more) << std::flush;
                        },
                        .hash = detail::part_hash<T>});
}

template <class T>
template <class F>
void DStream<T>::foreach_batch(F f) const {
  JobGraph& g = definition_graph(*ctx_, "foreach_batch");
  g.add_output(OutputOp{.name = "foreach_batch-" + std::to_string(g.outputs().size()), .node = node_,
                        .run = [f](const OutputContext& ctx, std::span<const AnyPart> parts) {
                          if (parts.size() == 1) {
                            f(part_cast<T>(parts[0]), ctx.time);
                            return;
                          }
                          auto all = ops::concat_parts<T>(parts);
                          f(part_cast<T>(all), ctx.time);
                        },
                        .hash = detail::part_hash<T>});
}

template <class T>
void DStream<T>::save_as_text_files(const std::string& prefix, const std::string& suffix) const {
  JobGraph& g = definition_graph(*ctx_, "save_as_text_files");
  g.add_output(OutputOp{.name = "save_as_text_files-" + std::to_string(g.outputs().size()), .node = node_,
                        .run = [prefix, suffix](const OutputContext& ctx, std::span<const AnyPart> parts) {
                          std::vector<std::optional<std::string>> texts;
                          for (size_t p = 0; p < parts.size(); ++p) {
                            if (ctx.committed && ctx.committed(static_cast<int>(p))) {
                              texts.emplace_back();  // written by an earlier run of this batch
                              continue;
                            }
                            std::string text;
                            for (const T& x : part_cast<T>(parts[p])) {
                              append_text(text, x);
                              text.push_back('\n');
                            }
                            texts.emplace_back(std::move(text));
                          }
                          write_text_batch(batch_dir_name(prefix, suffix, ctx.time), texts);
                        },
                        .hash = detail::part_hash<T>});
}

template <class T>
void DStream<T>::output_to(std::shared_ptr<Sink> sink, std::string name) const {
  JobGraph& g = definition_graph(*ctx_, "output_to");
  if (!sink) throw ConfigError("output_to(): the sink is null (stream '" + g.node(node_).name + "')");
  if (sink->record_type() != type_name_of<T>())
    throw ConfigError("output_to(): stream '" + g.node(node_).name + "' carries " + type_name_of<T>() +
                      " records but the sink takes " + sink->record_type());
  if (name.empty()) name = "output_to-" + std::to_string(g.outputs().size());
  for (const OutputOp& op : g.outputs())
    if (op.name == name) throw ConfigError("two outputs are named '" + name + "'");
  g.add_output(OutputOp{.name = std::move(name), .node = node_, .sink = std::move(sink),
                        .hash = detail::part_hash<T>});
}

}  // namespace rill
