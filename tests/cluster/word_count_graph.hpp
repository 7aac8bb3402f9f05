// Test support (cluster suite): the word-count job whose tasks the frame and endpoint tests
// encode. Nodes: 0 lines (source), 1 flat_map, 2 map, 3 reduce_by_key (edge 0: an exchange).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include "dataflow/queue_source.hpp"
#include "dataflow/streaming_context.hpp"
#include "dataflow/text_output.hpp"

namespace rill::test {

inline void define_word_count(StreamingContext& ssc) {
  auto q = std::make_shared<BatchQueue<std::string>>();
  ssc.queue_stream(q)
      .flat_map([](const std::string& l) { return split(l); })
      .map([](const std::string& w) {
        return std::pair{w, int64_t{1}};
      })
      .reduce_by_key(std::plus<>{})
      .print();
}

}  // namespace rill::test
