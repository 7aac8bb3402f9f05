// Test support (cluster suite): the word-count job whose tasks the frame and endpoint tests
// encode. Nodes: 0 lines (source), 1 flat_map, 2 map, 3 reduce_by_key (edge 0: an exchange),
// printed; or, with a sink, 4 a map of the counts into it (its parts stay on the workers).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "dataflow/queue_source.hpp"
#include "dataflow/sink.hpp"
#include "dataflow/streaming_context.hpp"
#include "dataflow/text_output.hpp"

namespace rill::test {

inline void define_word_count(StreamingContext& ssc, std::shared_ptr<Sink> sink = nullptr) {
  using KV = std::pair<std::string, int64_t>;
  auto q = std::make_shared<BatchQueue<std::string>>();
  auto counts = ssc.queue_stream(q)
                    .flat_map([](const std::string& l) { return split(l); })
                    .map([](const std::string& w) {
                      return KV{w, 1};
                    })
                    .reduce_by_key(std::plus<>{});
  if (sink)
    counts.map([](const KV& kv) { return kv; }).output_to(std::move(sink), "db");
  else
    counts.print();
}

}  // namespace rill::test
