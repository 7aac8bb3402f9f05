// The job's DAG signature: every stream's name, kind, record type, parents, partitions and
// slide, and the outputs. Stored with a job, compared on restart. Values; share freely.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "dataflow/graph.hpp"
#include "dataflow/result.hpp"

namespace rill {

struct StreamSignature {
  std::string name, kind, type, params;
  std::vector<std::string> parents;  ///< parent stream names, in input order
  int partitions = 0;
  int64_t slide_ms = 0;
  bool stateful = false;
  bool operator==(const StreamSignature&) const = default;
};

struct DagSignature {
  std::vector<StreamSignature> streams;  ///< in construction order
  std::vector<std::string> outputs;      ///< "output-name <- stream-name"
  int64_t interval_ms = 0;

  static DagSignature of(const JobGraph& graph);
  /// One line per stream and output: the stored form.
  std::string to_text() const;
  /// Parses to_text(); a malformed line is Errc::corrupt naming its number.
  static Result<DagSignature> from_text(const std::string& text);
  /// XXH3-64 of to_text(): equal DAGs, equal fingerprints.
  uint64_t fingerprint() const;
};

/// What changed between the DAG a job was stored with and the one the program builds now.
struct DagDiff {
  std::vector<std::string> added, removed, changed;  ///< stream descriptions
  bool interval_changed = false;
  /// True when the stored state still applies: nothing removed or changed, and every added
  /// stream is stateless (outputs may come and go).
  bool keeps_state() const;
  /// A message listing the differences and how to start fresh.
  std::string describe(const std::string& store) const;
};

DagDiff diff(const DagSignature& stored, const DagSignature& current);

}  // namespace rill
