// The logical DAG a program builds through DStream handles: type-erased nodes, edges and outputs.
// Built on one thread before start(); immutable and shared by every task after that.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "dataflow/result.hpp"
#include "dataflow/time.hpp"

namespace rill {

struct EncodeColumns;  // dataflow/record_columns.hpp
struct DecodeColumns;
struct DeadLetter;  // dataflow/dead_letter.hpp
class RecordStep;  // dataflow/record_step.hpp
class BucketBuilder;

/// One partition of one node's output at one batch time: a std::vector<T> behind a
/// type-erased pointer. Null means the node produced nothing at that time (not on its slide).
using AnyPart = std::shared_ptr<const void>;

template <class T>
AnyPart make_part(std::vector<T> records) {
  return std::make_shared<const std::vector<T>>(std::move(records));
}

/// REQUIRES: part was made by make_part<T> (the typed DStream API guarantees it).
template <class T>
const std::vector<T>& part_cast(const AnyPart& part) {
  return *static_cast<const std::vector<T>*>(part.get());
}

/// Where a task runs and for which batch; passed to every operator.
struct TaskContext {
  Millis time{0};      ///< batch time t
  Millis zero{0};      ///< the job's zero time: batch times are zero + k * interval
  Millis interval{0};  ///< batch interval
  int partition = 0;
  int partitions = 1;
  /// Set by Plan::run_task only while a node with Node::dead_letters runs: its per-record
  /// operator appends the records whose function threw here and skips them.
  std::vector<DeadLetter>* dead_letters = nullptr;
  /// This task's dead letters so far, by node id: what a dead_letters() stream reads. Set by
  /// Plan::run_task; valid during the compute call only.
  const std::map<int, std::vector<DeadLetter>>* dead_letters_by_node = nullptr;
};

/// Per-partition state of a stateful operator (window slices, keyed state). Owned by the
/// task that runs the partition; the durability layer snapshots it between batches.
class NodeState {
 public:
  virtual ~NodeState() = default;
  /// False when the state's key/value types are not records (the job then refuses
  /// checkpointing at start with the operator's name).
  virtual bool can_snapshot() const { return false; }
  /// Type signature of the records snapshot() writes (checked on restore).
  virtual std::string snapshot_type() const { return {}; }
  /// Appends to `out` the entries changed since the previous snapshot() call (every live
  /// entry when full), removed keys as tombstones. Returns the number of entries written in
  /// live_entries()'s unit (a window slice weighs its records; out.record_count counts
  /// records) — 0: nothing changed; the runtime then writes nothing. The columns borrow strings from the
  /// state: they stay valid until the state's next batch step, restore() or snapshot() call, so
  /// encode them to a frame before any of those.
  virtual size_t snapshot(bool full, EncodeColumns& out) {
    (void)full;
    (void)out;
    return 0;
  }
  /// Number of live entries, in the unit snapshot() returns (the runtime compacts — asks for
  /// a full snapshot — once the deltas written since the last full one exceed this).
  virtual size_t live_entries() const { return 0; }
  /// Applies one snapshot written by snapshot(): the last full one first (into a fresh state),
  /// then later deltas in order. Errors (wrong type, malformed) name what was wrong; on error
  /// the state is left as it was.
  virtual Status restore(const DecodeColumns& in) {
    (void)in;
    return Status(Errc::invalid_argument, "state cannot be restored");
  }
};

/// How a node's output records become columns and back, type-erased (dataflow/part_codec.hpp
/// fills it). encode and decode are empty when the record type is not a record: such a stream
/// cannot be checkpointed or written ahead.
struct PartCodec {
  std::string type_signature{};  ///< type_signature<T>(), as net::read_frame checks it
  /// Appends the records of a part made by make_part<T>.
  std::function<void(const AnyPart&, EncodeColumns&)> encode{};
  /// The part held by columns of T records (at most max_records of them).
  std::function<Result<AnyPart>(const DecodeColumns&, uint64_t max_records)> decode{};
};

/// How a node reads one parent.
struct Edge {
  enum class Kind {
    one_to_one,  ///< partition p reads the parent's partition p (same partition count)
    exchange,    ///< partition p reads bucket p of every parent partition (shuffle, gather)
  };
  int from = -1;
  Kind kind = Kind::one_to_one;
  /// exchange only: cut one parent partition into `buckets` parts (by key hash, all-to-0, ...),
  /// combining map-side where the operator allows.
  std::function<std::vector<AnyPart>(const AnyPart& part, int buckets)> split;
  /// exchange only: join the buckets for one partition, in parent-partition order so a
  /// re-run gives byte-identical output. Null buckets (inactive parent) are skipped.
  std::function<AnyPart(std::span<const AnyPart> buckets)> merge;
  /// exchange only, optional: the same split fed one record at a time, so a chain of
  /// per-record nodes ending at this edge never builds its output part (Plan fuses them).
  std::function<std::unique_ptr<BucketBuilder>(int buckets)> push_split{};
};

/// The per-partition function of a node. inputs[i] is the (merged) input from edges[i].
using ComputeFn =
    std::function<AnyPart(const TaskContext&, std::span<const AnyPart> inputs, NodeState* state)>;

struct Node {
  int id = -1;
  std::string kind{};  ///< operator family: "map", "reduce_by_key", "window", "source", ...
  std::string name{};  ///< stable name: user-given or kind + construction order
  std::vector<Edge> inputs{};
  int partitions = 0;  ///< 0 until derive() fills in the parent's count
  Millis slide{0};  ///< the node produces output at zero + k * slide
  ComputeFn compute{};
  std::function<std::unique_ptr<NodeState>()> make_state{};  ///< empty for stateless nodes
  bool is_source = false;
  std::string type{};  ///< the record type's signature (type_name_of); part of the fingerprint
  std::string params{};  ///< parameters that shape state, e.g. "length=60000 ms"; fingerprinted
  PartCodec codec{};     ///< the output's columnar codec; not fingerprinted (type covers it)
  /// Records whose per-record function throws go to TaskContext::dead_letters instead of
  /// failing the task (set by DStream::dead_letters(); the "dead_letters" node that reads
  /// them is fingerprinted, so this flag is not).
  bool dead_letters = false;
  /// DStream::checkpoint(interval), recorded for Spark compatibility; 0 = every batch. The
  /// runtime snapshots every batch regardless; not fingerprinted (it does not shape state).
  Millis checkpoint_interval{0};
  /// Set on map, flat_map and filter: compute's function one record at a time, which lets
  /// Plan run a chain of them without the parts in between. Not fingerprinted.
  std::shared_ptr<const RecordStep> per_record{};
};

class Sink;

/// What an output operation sees of one batch.
struct OutputContext {
  Millis time{0};
  /// True when (this output, time, partition) was committed by an earlier run of the batch:
  /// the sink must not write that partition again.
  std::function<bool(int partition)> committed{};
};

/// An output operation (print, foreach_batch, save_as_text_files, output_to a Sink, ...).
/// Exactly one of run and sink is set.
struct OutputOp {
  int id = -1;
  std::string name{};
  int node = -1;  ///< the stream it consumes
  /// Whole-batch outputs: writes every partition of the batch; parts[p] is partition p (all
  /// non-null). Throws on failure (the sink actor turns it into a batch error). Its commits
  /// are recorded per partition after it returns.
  std::function<void(const OutputContext&, std::span<const AnyPart> parts)> run{};
  /// Per-partition outputs: written and committed partition by partition (dataflow/sink.hpp).
  std::shared_ptr<Sink> sink{};
  /// stable_hash of one partition's records in order, kept with its commit so a re-run that
  /// produces different output is reported. 0 = unknown (records that are not rill records).
  std::function<uint64_t(const AnyPart& part)> hash{};
};

/// The whole DAG, in construction order (so ids are stable for identical programs).
class JobGraph {
 public:
  explicit JobGraph(Millis interval) : interval_(interval) {}

  Millis interval() const { return interval_; }
  int default_partitions() const { return default_partitions_; }
  void set_default_partitions(int n) { default_partitions_ = n; }

  /// Adds node, assigns its id and (when empty) its name; returns the id.
  int add(Node node);
  int add_output(OutputOp op);
  /// Renames node id; throws ConfigError when another stream has the name. Returns id.
  int rename(int id, const std::string& name);

  const Node& node(int id) const { return nodes_.at(static_cast<size_t>(id)); }
  /// For builder calls that annotate an existing node (dead_letters, checkpoint); before start.
  Node& edit(int id) { return nodes_.at(static_cast<size_t>(id)); }
  const std::vector<Node>& nodes() const { return nodes_; }
  const std::vector<OutputOp>& outputs() const { return outputs_; }

  /// Throws ConfigError when the graph cannot run (no outputs, ...).
  void validate() const;

  /// How often the job snapshots its state: `configured` when set (ContextOptions's, a cluster
  /// config's), else the shortest interval a stream's checkpoint(interval) names, else every
  /// batch. Throws ConfigError unless it is a positive multiple of the batch interval.
  Millis checkpoint_interval(Millis configured) const;

  /// True when every reader of node's output is an output_to(Sink) and no stream reads it
  /// whole: on a cluster its partitions stay on the workers that computed them, and each is
  /// written to the sink there (the driver sees only where they are).
  bool written_where_computed(int node) const;

 private:
  Millis interval_;
  int default_partitions_ = 2;
  std::vector<Node> nodes_;
  std::vector<OutputOp> outputs_;
};

}  // namespace rill
