# rill wire format: the Cap'n Proto messages that cross the network and land in the WAL.
# A contract: comment every field, append ordinals only, rename retired fields obsoleteX.
@0xad7056ef30ca9dc7;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("rill::wire");

# A frame is one message in the standard Cap'n Proto stream framing (segment table, then
# segments); rill::net::Frame holds its bytes.

# A batch of records of one C++ type, stored column by column. The encoder walks each record's
# leaves in canonical order (rill::visit_leaves in dataflow/record_traits.hpp: declaration order;
# a vector's length before its elements, an optional's presence before its value) and appends
# each leaf to the column of its kind. The decoder walks the same type and takes from the
# columns in the same order, so the columns carry no per-record framing; every entry must be
# consumed, exactly.
struct RecordBatch {
  typeTag @0 :UInt64;
  # XXH3-64 of rill::type_signature<T>() (e.g. "pair<string,i64>"), never 0. A decoder for a
  # different type rejects the frame instead of reading garbage. 0 means "not a record batch".

  recordCount @1 :UInt64;
  # Number of records in the batch; 0 is a valid, empty batch.

  ints @2 :List(Int64);
  # bool (0/1) and integer leaves, widened to 64 bits; unsigned values keep their bit pattern.

  floats @3 :List(Float64);
  # float and double leaves; a float is widened exactly. Bit patterns (-0.0, NaN payloads) kept.

  strings @4 :List(Data);
  # std::string leaves. Data, not Text: records may hold non-UTF-8 bytes and embedded NULs.

  shape @5 :List(UInt32);
  # Container structure: each std::vector's length and each std::optional's presence (0/1).
}

# Everything nodes of a cluster say to each other travels as one Envelope per frame, through
# CAF's middleman (net/node_link.hpp). Blocks for the WAL stay RecordBatch roots.
struct Envelope {
  union {
    hello @0 :Hello;       # opens a session: the driver to a worker
    welcome @1 :Hello;     # the worker's answer: its proof and its own nonce
    proof @2 :Hello;       # the driver's proof over the worker's nonce; the session is open
    refusal @3 :Refusal;   # either side, instead of the next step; the link then closes
    task @4 :Task;         # the driver asks a worker to run one stage partition of a batch
    taskDone @5 :TaskDone; # the worker's answer
    fetch @6 :Fetch;       # a worker asks another for one shuffle bucket
    fetched @7 :Fetched;   # the answer
    replicate @8 :ReplicaFrame;  # one commit of a node's store, to its replica peer
    replicated @9 :ReplicaAck;   # the peer's answer
    restore @10 :Restore;        # a node whose store is gone asks its replica peer for the copy
    restored @11 :ReplicaFrame;  # the answer: the whole copy, or found = false
    source @12 :SourceAsk;       # the driver asks for a stream whose receiver runs on a worker
    sourced @13 :SourceAnswer;   # the worker's answer
    output @14 :OutputAsk;       # the driver asks a worker to write a part it holds to a Sink
    outputDone @15 :OutputDone;  # the worker's answer
  }
}

# A handshake step. Every field is checked by the receiver; any mismatch is a Refusal.
struct Hello {
  cluster @0 :Text;             # the config's `name`
  from @1 :Text;                # the sender's node name, as in the config
  to @2 :Text;                  # the node it means to reach
  dagFingerprint @3 :UInt64;    # rill::DagSignature of the job, hashed: both run the same job
  configFingerprint @4 :UInt64; # ClusterConfig::fingerprint: both read the same cluster
  nonce @5 :Data;               # 32 random bytes the other side must prove the secret over
  proof @6 :Data;               # HMAC-SHA256(secret, the other side's nonce + context); empty in hello
  session @7 :UInt64;           # the driver's session number: frames of older sessions are refused
  channel @8 :Text;             # "tasks", "fetch" or "replica": one session per peer and channel
}

struct Refusal {
  reason @0 :Text;              # for both sides' logs: what did not match, never the secret
}

# One input a task reads from outside its stage: a source's records or one parent's buckets.
struct TaskInput {
  node @0 :Int32;               # the consuming node
  edge @1 :Int32;               # index into its inputs; -1 for a source's own records
  present @2 :Bool;             # false: the parent was inactive this batch (a null part)
  batch @3 :RecordBatch;        # records typed as the parent's output (the source's, for -1)
  buckets @4 :List(BucketRef);  # an exchange edge: where each parent partition's bucket for this
                                # task's partition is, in parent-partition order (batch unset)
}

# Where a shuffle bucket is: the worker that ran the producing task keeps it (ShuffleOutputs).
struct BucketRef {
  present @0 :Bool;             # false: the bucket is empty; nothing to fetch
  holder @1 :Text;              # the node that ran the producing task
  stage @2 :Int32;              # the producing task
  partition @3 :Int32;
}

struct Fetch {
  session @0 :UInt64;
  id @1 :UInt64;
  time @2 :Int64;               # the batch
  stage @3 :Int32;              # the producing task
  partition @4 :Int32;
  node @5 :Int32;               # the consuming node and edge (they give the record type)
  edge @6 :Int32;
  bucket @7 :Int32;             # the consumer's partition
}

struct Fetched {
  session @0 :UInt64;
  id @1 :UInt64;
  node @2 :Int32;               # as in the Fetch: the batch's type
  edge @3 :Int32;
  found @4 :Bool;               # false: the holder no longer has that task's output
  present @5 :Bool;             # false: an empty bucket
  batch @6 :RecordBatch;
  error @7 :Text;               # when not found: why
}

struct Task {
  session @0 :UInt64;
  id @1 :UInt64;                # the driver's request number, echoed in TaskDone
  stage @2 :Int32;
  partition @3 :Int32;
  time @4 :Int64;               # batch time, ms since the epoch
  zero @5 :Int64;               # the job's zero time
  hasBase @6 :Bool;             # false: the task runs on the empty state
  base @7 :Int64;               # the last checkpoint when the batch started
  inputs @8 :List(TaskInput);
  hasAfter @9 :Bool;            # false: the batch follows the empty state
  after @10 :Int64;             # the batch this one follows (state as of it)
  checkpoint @11 :Bool;         # snapshot the state after this batch
}

# A node's whole output for this partition (read by outputs or other stages).
struct ExportedPart {
  node @0 :Int32;
  present @1 :Bool;
  batch @2 :RecordBatch;
  held @3 :Bool;                # the part stays with the worker, which writes it to the stream's
                                # Sinks when asked (OutputAsk); no batch travels
}

# One exchange edge's buckets from this partition: bucket q goes to consumer partition q.
struct Buckets {
  node @0 :Int32;               # the consuming node
  edge @1 :Int32;
  present @2 :List(Bool);       # per bucket
  buckets @3 :List(RecordBatch);
}

struct TaskDone {
  session @0 :UInt64;
  id @1 :UInt64;
  stage @2 :Int32;
  partition @3 :Int32;
  time @4 :Int64;
  ok @5 :Bool;
  errorNode @6 :Text;           # when not ok: operator, batch time and cause
  errorTime @7 :Int64;
  errorCause @8 :Text;
  exported @9 :List(ExportedPart);
  buckets @10 :List(Buckets);   # between workers: presence flags only, the data stays on the worker
  snapshotBytes @11 :Int64;     # the state snapshot the task wrote, for CheckpointInfo
  snapshotKeys @12 :Int64;
  snapshotMs @13 :Float64;
  lostInput @14 :Bool;          # not ok because a shuffle input was lost: run the batch again
  staleState @15 :Bool;         # not ok because the state is not as of the task's after: roll back
}

# What the driver asks of a worker's batch builder or receiver of one stream.
struct SourceAsk {
  session @0 :UInt64;
  id @1 :UInt64;
  stream @2 :Int32;             # the source node
  kind @3 :UInt8;               # 0 take, 1 replay, 2 pending, 3 stop, 4 set rate, 5 trim WAL
  time @4 :Int64;               # take, replay: the batch time
  recorded @5 :Data;            # replay: what the batch read; take: the stream's last recorded read
  graceful @6 :Bool;            # stop
  rate @7 :Float64;             # set rate: records per second
  below @8 :UInt64;             # trim WAL: delete the stream's blocks before this seq
}

struct SourceAnswer {
  session @0 :UInt64;
  id @1 :UInt64;
  stream @2 :Int32;
  time @3 :Int64;
  records @4 :Int64;
  present @5 :List(Bool);       # per partition; false: an empty part
  parts @6 :List(RecordBatch);  # per partition, typed as the stream's records
  replay @7 :Data;              # a replayable stream's record of what the take read
  hasError @8 :Bool;
  error @9 :Text;               # the take or replay failed: why, naming the stream
  pending @10 :Bool;            # pending: data waits at the worker
  hasReceiver @11 :Bool;        # the worker's view of the stream's receiver, for the driver's
  receiverActive @12 :Bool;     # status page: a running instance
  receiverStarts @13 :Int32;    # instances started in the worker's process
  receiverError @14 :Text;      # its last reported error, and when (clock ms)
  receiverErrorTime @15 :Int64;
  incarnation @16 :UInt64;      # the worker's process, random per start
}

# The driver asks the worker holding partition `partition` of an output's stream at `time`
# (ExportedPart.held) to write it to that output's Sink and commit it.
struct OutputAsk {
  session @0 :UInt64;
  id @1 :UInt64;
  output @2 :Int32;             # the output operation
  time @3 :Int64;
  partition @4 :Int32;
  hasLogged @5 :Bool;           # the driver's log holds this partition's commit: do not write
  logged @6 :UInt64;            # that commit's output hash, to compare
}

struct OutputDone {
  session @0 :UInt64;
  id @1 :UInt64;
  output @2 :Int32;
  time @3 :Int64;
  partition @4 :Int32;
  found @5 :Bool;               # false: the worker no longer holds the part (it restarted)
  hash @6 :UInt64;              # the committed output hash (0: unknown)
  hasError @7 :Bool;
  error @8 :Text;               # the sink failed: why, naming output, batch time and partition
  differed @9 :Bool;            # a re-run's output differed from the committed (NONDETERMINISM)
}

# One put, delete or clear of a store (persistence::WriteBatch), value sealed as stored.
struct StoreOp {
  kind @0 :UInt8;               # 0 put, 1 put (write-once at the origin), 2 delete, 3 clear the db
  db @1 :UInt8;                 # 0 meta, 1 wal, 2 state, 3 markers
  key @2 :Data;
  value @3 :Data;
}

# A store commit (replicate), or the whole copy a replica holds (restored).
struct ReplicaFrame {
  session @0 :UInt64;
  id @1 :UInt64;
  found @2 :Bool;               # restored: false when the peer holds no copy of the asker
  incarnation @3 :UInt64;       # the origin writer's, random per process start
  seq @4 :UInt64;
  reset @5 :Bool;               # the ops are the whole store (each db cleared first)
  ops @6 :List(StoreOp);
  error @7 :Text;               # restored: why the copy could not be read
  more @8 :Bool;                # the whole store continues in the next commit
}

struct ReplicaAck {
  session @0 :UInt64;
  id @1 :UInt64;
  seq @2 :UInt64;
  outcome @3 :UInt8;            # 0 applied, 1 gap (send the whole store), 2 failed
  error @4 :Text;
}

struct Restore {
  session @0 :UInt64;
  id @1 :UInt64;
}
