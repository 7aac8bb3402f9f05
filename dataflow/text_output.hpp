// The text forms of output operations: print()'s block and save_as_text_files' directories.
// Pure formatting plus one atomic directory writer; call from one sink at a time.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "dataflow/time.hpp"

namespace rill {

/// Spark's print() block: separator, "Time: <ms> ms", separator, lines, "..." if more, blank.
std::string format_print_block(Millis time, const std::vector<std::string>& lines, bool more);

/// prefix-<ms>, with .suffix appended when suffix is not empty.
std::string batch_dir_name(const std::string& prefix, const std::string& suffix, Millis time);

/// Writes part-NNNNN for every partition with text (nullopt: keep the file an earlier run
/// wrote), each under a temporary name renamed into place, then _SUCCESS last. A re-run of
/// the batch replaces its files atomically one by one. Throws std::runtime_error naming the
/// path on I/O failure.
void write_text_batch(const std::string& dir, const std::vector<std::optional<std::string>>& parts);

/// Words of a line: split on sep, empty tokens dropped.
std::vector<std::string> split(const std::string& line, char sep = ' ');

}  // namespace rill
