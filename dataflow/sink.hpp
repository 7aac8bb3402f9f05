// Sink: the contract of an exactly-once output (write a partition of a batch, commit it with
// its marker, tell which (batch, partition) an earlier run committed). Called by one thread at a time.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/graph.hpp"
#include "dataflow/time.hpp"
#include "dataflow/type_name.hpp"

namespace rill {

/// What a sink learns when its output starts.
struct SinkContext {
  std::string output;   ///< the output's name: stable across runs, part of the idempotency key
  std::string stream;   ///< the name of the stream it consumes
  int partitions = 1;   ///< partitions of that stream: write() sees 0 .. partitions-1
  /// The cluster node running this instance ("" on one machine). On a cluster each worker
  /// opens its own instance and writes the partitions it computed.
  std::string node{};
};

/// An output with its own durable store. For each partition p of batch t the runtime calls
///
///     if (auto h = committed(t, p)) -> skip (an earlier run wrote it; h is compared)
///     else write(t, p, records); commit(t, p, hash)
///
/// and then records the commit in the driver's log. The idempotency key is
/// (output, batch time, partition): a batch re-run after a failure brings the same records
/// (the same hash) for the same key, so a sink that makes write + marker atomic in commit()
/// shows every batch once. Implement it through TypedSink<T>; DStream<T>::output_to checks
/// the record type. Calls come from the output's sink actor, one at a time; after an actor
/// restart open() is called again on the same object. On a cluster, when only Sinks read the
/// stream, each worker's process writes the partitions it computed (its own instance, its
/// own open()); otherwise the driver writes them all. Any method may throw: the batch fails
/// with an error naming the output, batch time and partition.
class Sink {
 public:
  virtual ~Sink() = default;

  /// Before the first write of each sink actor: connect, create tables. Must tolerate a
  /// second call (reopen or do nothing).
  virtual void open(const SinkContext& context) = 0;
  /// Stage partition `partition` of batch t; nothing needs to be visible before commit().
  /// `records` is a std::vector<T> behind AnyPart (TypedSink unpacks it).
  virtual void write(Millis t, int partition, const AnyPart& records) = 0;
  /// Makes what write() staged for (t, partition) durable together with a marker holding
  /// output_hash, atomically where the store allows (one transaction, a rename). Called again
  /// for the same (t, partition) only when no marker was seen, so it must replace, not append.
  virtual void commit(Millis t, int partition, uint64_t output_hash) = 0;
  /// The hash an earlier run committed for (t, partition), or nullopt. A sink that keeps no
  /// markers returns nullopt and relies on the driver's log of commits.
  virtual std::optional<uint64_t> committed(Millis t, int partition) = 0;

  /// The record type it accepts (type_name_of<T>), checked against the stream's at output_to.
  virtual std::string record_type() const = 0;
};

/// The typed face of Sink: implement write(t, partition, const std::vector<T>&) plus open,
/// commit and committed. For example, a sink into a keyed store:
///
///     struct Totals : rill::TypedSink<std::pair<std::string, int64_t>> {
///       void open(const rill::SinkContext& c) override { output_ = c.output; }
///       void write(rill::Millis t, int p, const std::vector<record_type_t>& rows) override {
///         staged_[{t, p}] = rows;  // replace, never append: a re-run writes the same key again
///       }
///       void commit(rill::Millis t, int p, uint64_t h) override {
///         // one transaction: upsert staged_[{t, p}], insert marker (output_, t, p, h)
///       }
///       std::optional<uint64_t> committed(rill::Millis t, int p) override {
///         // SELECT hash FROM markers WHERE output = output_ AND time = t AND partition = p
///       }
///     };
template <class T>
class TypedSink : public Sink {
 public:
  /// The record type this sink takes.
  using record_type_t = T;

  /// Stages partition's records of batch t; the following commit() makes them visible.
  virtual void write(Millis t, int partition, const std::vector<T>& records) = 0;

  void write(Millis t, int partition, const AnyPart& records) final {
    write(t, partition, part_cast<T>(records));
  }
  std::string record_type() const final { return type_name_of<T>(); }
};

}  // namespace rill
