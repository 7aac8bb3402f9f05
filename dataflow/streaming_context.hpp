// StreamingContext: where a program defines its input streams and runs them (Spark's
// StreamingContext). Define on one thread, then start(); stop() and await_* are thread-safe.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "dataflow/batch_info.hpp"
#include "dataflow/pid_rate_estimator.hpp"
#include "dataflow/clock.hpp"
#include "dataflow/fault_injector.hpp"
#include "dataflow/graph.hpp"
#include "dataflow/input_source.hpp"
#include "dataflow/queue_source.hpp"
#include "dataflow/receiver.hpp"

namespace rill {

template <class T>
class DStream;

/// How the runtime runs its actors (ContextOptions::scheduler).
enum class Scheduler {
  /// CAF's work-sharing scheduler on ContextOptions::threads threads: real parallelism, and an
  /// order of message handling that varies from run to run.
  threaded,
  /// One thread runs every actor on CAF's test coordinator, and each event from outside (a
  /// clock tick, stop(), a receiver's restart request) is let in only once the actors have
  /// settled: the order of handling follows from the job, its inputs and the fault injector's
  /// seed, so a failing chaos seed replays exactly. Timers run in virtual time. For tests on
  /// a ManualClock; actors/deterministic_pump.hpp says what stays nondeterministic.
  deterministic
};

/// Options of a context; each field says its default.
struct ContextOptions {
  /// The clock batches tick on. Default: a SystemClock. Tests pass a ManualClock.
  std::shared_ptr<Clock> clock{};
  /// Partitions of input streams and keyed operators. Default 0: the machine's cores.
  int partitions = 0;
  /// Worker threads of the actor runtime. Default 0: the machine's cores.
  int threads = 0;
  /// How actors are scheduled. Default threaded. deterministic (tests): one thread and a
  /// reproducible order; `threads` is ignored, receiver actors share the one thread (their
  /// receivers keep their own), and a clock tick returns once everything it caused settled.
  Scheduler scheduler = Scheduler::threaded;
  /// Application name for logs.
  std::string app_name = "rill";
  /// Where print() writes. Default: std::cout. Must outlive the context.
  std::ostream* print_to = nullptr;
  /// The checkpoint directory (ssc.checkpoint(dir) sets it). Default empty: no checkpoints,
  /// and operators that need them (update_state_by_key, map_with_state, inverse windows)
  /// are refused at start().
  std::string checkpoint_dir{};
  /// fsync every checkpoint commit. Default true. False survives a killed process but not
  /// a power cut (the OS still holds the writes): for tests.
  bool checkpoint_fsync = true;
  /// How often operator state is snapshotted: a multiple of the batch interval (Spark's
  /// DStream.checkpoint(interval); a cluster config's checkpoint_interval). Batches between
  /// checkpoints change state in memory only; a failure rolls back to the last checkpoint and
  /// runs the batches since again (their outputs skip what they committed). Default 0: the
  /// shortest interval a stream's checkpoint(interval) names, else every batch.
  Millis checkpoint_interval{0};

  // --- Receivers (Spark's spark.streaming.receiver.*) ------------------------------------
  /// Write every received block to the write-ahead log in the checkpoint directory before a
  /// batch may use it, so a restart re-reads it (spark.streaming.receiver.writeAheadLog.enable).
  /// Default false. Needs a checkpoint directory (ConfigError at start() otherwise). Costs a
  /// durable store write per block; a reliable store() waits for it.
  bool receiver_write_ahead_log = false;
  /// Records per second each receiver stream may store; store() waits beyond it. Default 0:
  /// unlimited.
  double receiver_max_rate = 0;
  /// Records a receiver stream holds in memory (stored, not yet in a batch) before store()
  /// waits. Default 1 Mi; 0: unbounded.
  std::size_t receiver_max_buffered = std::size_t{1} << 20;
  /// With the write-ahead log: how long unreliable store(record) calls gather into one block.
  /// Default 200 ms, as Spark. Shorter: more, smaller durable writes.
  Millis block_interval{200};
  /// Attempts of a failed task (a function threw, a stage died) before the job stops: the
  /// issue's task.max_attempts. Default 4, as Spark's spark.task.maxFailures.
  int task_max_attempts = 4;

  // --- Backpressure (Spark's spark.streaming.backpressure.*) -----------------------------
  /// Adapt each receiver stream's rate to what the job processes: after every batch a PID
  /// estimator (PidRateEstimator) sets the rate from the batch's records, processing time and
  /// scheduling delay, capped by receiver_max_rate. Default false.
  bool backpressure = false;
  /// Records per second each receiver stream may store until the first estimate. Default 0:
  /// unlimited (up to receiver_max_rate).
  double backpressure_initial_rate = 0;
  /// The estimator's gains and floor. Default: Spark's (1.0, 0.2, 0.0, 100 records/s).
  PidRateOptions backpressure_pid{};

  // --- Supervision (Erlang/OTP's intensity and period, Akka's backoff) ---------------------
  /// Restarts one supervisor may make within supervisor_period; one more and it gives up,
  /// which at the root stops the job with the error. Default 10 (in 30 s).
  int supervisor_max_restarts = 10;
  /// The window supervisor_max_restarts counts in. Default 30 s.
  Millis supervisor_period{30000};
  /// Delay before a restart: doubles from min to max while failures continue (with 20%
  /// jitter), back to min after a quiet spell. Default 10 ms to 1 s.
  Millis restart_backoff_min{10};
  /// The longest delay before a restart (before jitter). Default 1 s.
  Millis restart_backoff_max{1000};

  // --- Logs --------------------------------------------------------------------------------
  /// A batch, a replay or a stop that makes no progress for this long (real time) logs what it
  /// waits for: stages and partitions, an output, a stream's batch builder, receivers asked to
  /// stop; again each period while it lasts. Default 10 s; 0: never.
  Millis slow_wait_warning{10000};

  // --- Status endpoint (README: The status page) -------------------------------------------
  /// Port of the driver's HTTP endpoint: /metrics (Prometheus), /api/batches, /api/receivers,
  /// /api/supervision (JSON) and / (a status page). Default 0: off. kAnyFreePort (-1): any free
  /// port, read back with ssc.http_port() (tests). Costs three idle threads and a lock per event.
  int http_port = 0;
  /// The address the endpoint binds. Default 127.0.0.1: this machine only, as it has no
  /// authentication; "0.0.0.0" exposes it to the network.
  std::string http_host = "127.0.0.1";
  /// http_port's value for "any free port".
  static constexpr int kAnyFreePort = -1;

  // --- Several nodes (README: Running on several nodes) -------------------------------------
  /// A cluster config file (net/cluster_config.hpp). With it the context runs as node
  /// `cluster_node` of that cluster: the driver node runs the sources, the driver and the
  /// outputs and sends every stage partition's tasks to the worker that owns the partition; a
  /// worker runs the stage partitions it owns. rill::run sets both from --config and --node.
  /// Default empty: one machine.
  std::string cluster_config{};
  /// This node's name in cluster_config.
  std::string cluster_node{};

  // --- Fault injection ---------------------------------------------------------------------
  /// Injects faults into the running job: kills actors, fails, delays and pauses tasks (see
  /// rill::chaos::Monkey, for chaos tests). Default null: none.
  std::shared_ptr<FaultInjector> fault_injector{};
};

/// The supervision tree as the runtime reports it (ssc.supervision_tree()).
struct SupervisionNode {
  std::string name;                       ///< the actor's or supervisor's name
  std::string kind;                       ///< "supervisor", or the actor's kind (stage, sink, ...)
  int restarts = 0;                       ///< restarts so far by its supervisor
  std::vector<SupervisionNode> children;  ///< supervised children, in start order
};

class ContextRuntime;

/// Defines a job (input streams, then DStream operations) and runs it: Spark's StreamingContext.
class StreamingContext {
 public:
  /// Batches batch_interval apart. Throws ConfigError for a bad interval or partition count.
  explicit StreamingContext(Millis batch_interval, ContextOptions options = {});
  ~StreamingContext();
  StreamingContext(const StreamingContext&) = delete;
  StreamingContext& operator=(const StreamingContext&) = delete;

  /// The batch interval.
  Millis batch_interval() const { return graph_.interval(); }
  /// The clock batches tick on (ContextOptions::clock).
  Clock& clock() const { return *clock_; }
  /// Partitions of input streams and keyed operators unless an operator says otherwise.
  int default_partitions() const { return graph_.default_partitions(); }

  // --- Input streams ---------------------------------------------------------------------
  /// Lines of text from a TCP server; reconnects with backoff when the server goes away.
  DStream<std::string> socket_text_stream(const std::string& host, int port);
  /// Lines of files that appear in dir after start(), each file exactly once. Found by
  /// comparing listings (not mtimes); names starting with '.' or '_' are ignored, so writers
  /// should write elsewhere or under a dot-name and rename into place.
  DStream<std::string> text_file_stream(const std::string& dir);
  /// Lines appended to a growing file (log shipping), read by byte offset; follows rotation
  /// by rename. Replayable: each batch records its byte ranges and checksums.
  DStream<std::string> text_file_tail(const std::string& path);
  /// Records from a custom receiver; factory makes a fresh instance for every (re)start.
  template <class T, class Factory>
  DStream<T> receiver_stream(Factory factory, std::string name = {});
  /// Batches pushed by the program (tests): one queued batch per interval, or all at once.
  template <class T>
  DStream<T> queue_stream(std::shared_ptr<BatchQueue<T>> queue, bool one_at_a_time = true);
  /// Deterministic records made per (batch time, partition), for benchmarks and tests. gen may
  /// be called for a batch's partitions at once, from different threads.
  template <class T>
  DStream<T> generator_stream(std::function<std::vector<T>(Millis time, int partition)> gen);
  /// Any InputSource of records of type T.
  template <class T>
  DStream<T> source_stream(std::shared_ptr<InputSource> source, std::string name = {});

  // --- Checkpoints -------------------------------------------------------------------------
  /// Keeps the job's metadata, operator state and received data in `dir` (an LMDB store),
  /// so a restarted program recovers where this one stopped: Spark's ssc.checkpoint(dir).
  /// REQUIRES: not started.
  void checkpoint(const std::string& dir);
  /// The checkpoint directory; empty without one.
  const std::string& checkpoint_dir() const { return options_.checkpoint_dir; }
  /// Spark's StreamingContext.getOrCreate: `factory` defines the job (C++ code cannot be
  /// deserialized, so it runs every time) and the context checkpoints to dir. A fresh dir
  /// starts the job; one holding a checkpoint recovers it at start(): state as of the last
  /// checkpoint, the batches after it re-run from their recorded inputs, then live. A DAG
  /// that differs from the stored one in a way that breaks its state is refused at start().
  static std::unique_ptr<StreamingContext> get_or_create(
      const std::string& dir, const std::function<std::unique_ptr<StreamingContext>()>& factory);
  /// After start(): true when this run recovered from an existing checkpoint.
  bool recovered() const;

  // --- Lifecycle -------------------------------------------------------------------------
  /// Starts receiving and processing. Throws ConfigError on an invalid DAG or a second start.
  void start();
  /// Blocks until stop() or a failed job. Throws JobError when the job failed.
  void await_termination();
  /// As await_termination, for at most d; returns true when the context stopped.
  bool await_termination_or_timeout(Millis d);
  /// Stops. stop_gracefully: receive nothing more, process all received data first.
  void stop(bool stop_gracefully = false);
  /// True once stopped, by stop() or a failed job.
  bool is_stopped() const;

  /// Called with each batch's info after it completes (and on failures).
  void add_listener(std::shared_ptr<StreamingListener> listener);
  /// After start(): the port the status endpoint listens on (ContextOptions::http_port); 0 when
  /// it is off or the context stopped.
  int http_port() const;
  /// The runtime's supervision tree with restart counts (empty before start).
  SupervisionNode supervision_tree() const;
  /// Waits until batch t completed (or the job stopped); true when it completed. For tests.
  bool await_batch(Millis t, Millis timeout = Millis{10000});
  /// How many (output, batch, partition) were re-run with output that differs from the
  /// committed run's (logged as NONDETERMINISM); 0 before start.
  uint64_t nondeterministic_outputs() const;
  /// Under Scheduler::deterministic: idle actors woken by a send from another thread that
  /// bypassed the scheduler's pump, each a point where the order of message handling depended
  /// on thread timing (0 for a job the seed fully orders). 0 when threaded or before start.
  uint64_t stray_wakeups() const;

  /// REQUIRES: not started. The DAG under construction (used by DStream).
  JobGraph& graph_for_definition(const char* what);
  /// The DAG defined so far.
  const JobGraph& graph() const { return graph_; }
  /// Adds a source node reading `source`; returns the node id.
  int add_source(std::shared_ptr<InputSource> source, const std::string& kind, std::string name,
                 std::string type = {}, PartCodec codec = {});
  /// Renames a stream (REQUIRES: not started); throws ConfigError on a duplicate name.
  int rename(int node, const std::string& name) { return graph_.rename(node, name); }
  /// The input sources by node id (used by the runtime and the local executor).
  const std::vector<std::pair<int, std::shared_ptr<InputSource>>>& sources() const { return sources_; }
  /// Where print() writes (ContextOptions::print_to).
  std::ostream& print_output() const { return options_.print_to ? *options_.print_to : std::cout; }

 private:
  std::shared_ptr<Clock> clock_;
  ContextOptions options_;
  JobGraph graph_;
  std::vector<std::pair<int, std::shared_ptr<InputSource>>> sources_;
  std::vector<std::shared_ptr<StreamingListener>> listeners_;
  std::unique_ptr<ContextRuntime> runtime_;  // defined in actors/: CAF stays out of this header
  int state_ = 0;                            // 0 defined, 1 started, 2 stopped
};

}  // namespace rill

#include "dataflow/dstream.hpp"
#include "dataflow/part_codec.hpp"
#include "dataflow/type_name.hpp"

namespace rill {

template <class T, class Factory>
DStream<T> StreamingContext::receiver_stream(Factory factory, std::string name) {
  ReceiverOptions receiver_options{.write_ahead_log = options_.receiver_write_ahead_log,
                                   .max_rate = options_.receiver_max_rate,
                                   .max_buffered = options_.receiver_max_buffered,
                                   .block_interval = options_.block_interval};
  auto source = std::make_shared<ReceiverSource<T>>(
      name.empty() ? "receiver" : name, [factory] { return std::unique_ptr<Receiver<T>>(factory()); },
      receiver_options);
  return DStream<T>(this, add_source(source, "receiver", std::move(name), type_name_of<T>(),
                                     part_codec_for<T>()));
}

template <class T>
DStream<T> StreamingContext::queue_stream(std::shared_ptr<BatchQueue<T>> queue, bool one_at_a_time) {
  auto source = std::make_shared<QueueSource<T>>(std::move(queue), one_at_a_time);
  return DStream<T>(this, add_source(source, "queue", {}, type_name_of<T>(),
                                     part_codec_for<T>()));
}

template <class T>
DStream<T> StreamingContext::generator_stream(
    std::function<std::vector<T>(Millis time, int partition)> gen) {
  auto source = std::make_shared<GeneratorSource<T>>(std::move(gen));
  return DStream<T>(this, add_source(source, "generator", {}, type_name_of<T>(),
                                     part_codec_for<T>()));
}

template <class T>
DStream<T> StreamingContext::source_stream(std::shared_ptr<InputSource> source, std::string name) {
  std::string kind = source->kind();
  return DStream<T>(this, add_source(std::move(source), kind, std::move(name), type_name_of<T>(),
                                     part_codec_for<T>()));
}

}  // namespace rill
