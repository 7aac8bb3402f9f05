// Envelopes to frames and back. Decoding checks every index against the job graph before it
// is used: a frame from a peer is untrusted, and a node or edge out of range would otherwise
// index past the graph's vectors.
#include "net/task_frames.hpp"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <stdexcept>

#include "net/envelope_wire.hpp"
#include "net/record_batch_wire.hpp"

namespace rill::net {
namespace {

void fill_hello(wire::Hello::Builder out, const HelloStep& step) {
  out.setCluster(step.cluster);
  out.setFrom(step.from);
  out.setTo(step.to);
  out.setDagFingerprint(step.dag_fingerprint);
  out.setConfigFingerprint(step.config_fingerprint);
  out.setNonce(data_of(step.nonce));
  out.setProof(data_of(step.proof));
  out.setSession(step.session);
  out.setChannel(step.channel);
}

HelloStep read_hello(wire::Hello::Reader in) {
  HelloStep out;
  out.cluster = in.getCluster();
  out.from = in.getFrom();
  out.to = in.getTo();
  out.dag_fingerprint = in.getDagFingerprint();
  out.config_fingerprint = in.getConfigFingerprint();
  auto nonce = in.getNonce();
  out.nonce.assign(reinterpret_cast<const char*>(nonce.begin()), nonce.size());
  auto proof = in.getProof();
  out.proof.assign(reinterpret_cast<const char*>(proof.begin()), proof.size());
  out.session = in.getSession();
  out.channel = in.getChannel();
  return out;
}

bool exchange_edge(const JobGraph& graph, int node, int edge) {
  return edge >= 0 &&
         graph.node(node).inputs[static_cast<size_t>(edge)].kind == Edge::Kind::exchange;
}

void read_task(Decoder& d, wire::Task::Reader in, Envelope& out) {
  out.session = in.getSession();
  out.id = in.getId();
  TaskRequest& t = out.task;
  t.stage = in.getStage();
  t.partition = in.getPartition();
  t.time = Millis{in.getTime()};
  t.zero = Millis{in.getZero()};
  if (in.getHasBase()) t.base = Millis{in.getBase()};
  if (in.getHasAfter()) t.after = Millis{in.getAfter()};
  t.checkpoint = in.getCheckpoint();
  auto inputs = in.getInputs();
  t.inputs.reserve(inputs.size());
  for (auto input : inputs) {
    TaskInput ti{input.getNode(), input.getEdge(), nullptr};
    if (!d.edge_ok(ti.node, ti.edge)) return;
    std::string where = "input " + std::to_string(t.inputs.size()) + " of stream '" +
                        d.graph.node(ti.node).name + "'";
    if (!d.part(input.getBatch(), input.getPresent(), producer(d.graph, ti.node, ti.edge), ti.part,
                where))
      return;
    auto refs = input.getBuckets();
    if (refs.size() > 0 && !exchange_edge(d.graph, ti.node, ti.edge)) {
      d.refuse(where + ": bucket references on an edge that is not an exchange");
      return;
    }
    for (auto ref : refs)
      ti.buckets.push_back(
          ref.getPresent()
              ? bucket_ref_part(BucketRef{ref.getHolder(), ref.getStage(), ref.getPartition()})
              : nullptr);
    t.inputs.push_back(std::move(ti));
  }
}

void read_task_done(Decoder& d, wire::TaskDone::Reader in, Envelope& out,
                    const std::string& sender) {
  out.session = in.getSession();
  out.id = in.getId();
  TaskReply& r = out.done;
  r.stage = in.getStage();
  r.partition = in.getPartition();
  r.time = Millis{in.getTime()};
  r.ok = in.getOk();
  r.error = TaskError{in.getErrorNode(), Millis{in.getErrorTime()}, in.getErrorCause()};
  r.snapshot_bytes = in.getSnapshotBytes();
  r.snapshot_keys = in.getSnapshotKeys();
  r.snapshot_ms = in.getSnapshotMs();
  r.lost_input = in.getLostInput();
  r.stale_state = in.getStaleState();
  for (auto e : in.getExported()) {
    int node = e.getNode();
    if (!d.node_ok(node)) return;
    if (e.getHeld() != d.graph.written_where_computed(node)) {
      d.refuse("output of stream '" + d.graph.node(node).name + "' " +
               (e.getHeld() ? "held by the worker: only Sinks read it where it is computed"
                            : "sent whole: only Sinks read it, it stays where it is computed"));
      return;
    }
    if (e.getHeld()) {
      if (e.hasBatch()) {
        d.refuse("held output of stream '" + d.graph.node(node).name + "' carries data");
        return;
      }
      r.result.exported.emplace_back(
          node,
          e.getPresent() ? bucket_ref_part(BucketRef{sender, r.stage, r.partition}) : nullptr);
      continue;
    }
    AnyPart part;
    if (!d.part(e.getBatch(), e.getPresent(), node, part,
                "output of stream '" + d.graph.node(node).name + "'"))
      return;
    r.result.exported.emplace_back(node, std::move(part));
  }
  for (auto b : in.getBuckets()) {
    TaskBuckets tb{b.getNode(), b.getEdge(), {}};
    if (!d.edge_ok(tb.node, tb.edge) || !exchange_edge(d.graph, tb.node, tb.edge)) {
      d.refuse("buckets for an edge that is not an exchange");
      return;
    }
    if (b.getBuckets().size() != 0) {
      d.refuse("buckets of stream '" + d.graph.node(tb.node).name +
               "' carry data: they stay with the worker that cut them");
      return;
    }
    for (bool present : b.getPresent())
      tb.buckets.push_back(present ? bucket_ref_part(BucketRef{sender, r.stage, r.partition})
                                   : nullptr);
    r.result.buckets.push_back(std::move(tb));
  }
}

void read_fetch(Decoder& d, wire::Fetch::Reader in, Envelope& out) {
  out.session = in.getSession();
  out.id = in.getId();
  out.fetch = FetchRequest{Millis{in.getTime()}, in.getStage(), in.getPartition(),
                           in.getNode(),         in.getEdge(),  in.getBucket()};
  if (d.edge_ok(out.fetch.node, out.fetch.edge) &&
      !exchange_edge(d.graph, out.fetch.node, out.fetch.edge))
    d.refuse("a fetch on an edge that is not an exchange");
}

void read_fetched(Decoder& d, wire::Fetched::Reader in, Envelope& out) {
  out.session = in.getSession();
  out.id = in.getId();
  int node = in.getNode(), edge = in.getEdge();
  if (!d.edge_ok(node, edge)) return;
  if (!exchange_edge(d.graph, node, edge)) {
    d.refuse("fetched a bucket of an edge that is not an exchange");
    return;
  }
  FetchReply& r = out.fetched;
  r.found = in.getFound();
  r.error = in.getError();
  if (r.found)
    d.part(in.getBatch(), in.getPresent(), producer(d.graph, node, edge), r.part,
           "bucket for stream '" + d.graph.node(node).name + "'");
}

}  // namespace

// The standard stream framing written straight into the frame's bytes: one copy of the
// segments (messageToFlatArray and a vector of its bytes would be two).
Frame to_frame(capnp::MessageBuilder& message) {
  const auto segments = message.getSegmentsForOutput();
  const size_t table_words = (segments.size() + 2) / 2;  // count-1 and each size, as u32s
  size_t words = table_words;
  for (const auto& segment : segments) words += segment.size();
  std::vector<uint8_t> bytes(words * sizeof(capnp::word));  // zeroed once; segments overwrite
  auto put_u32 = [&bytes](size_t at, uint32_t v) {
    for (int i = 0; i < 4; ++i) bytes[at + i] = static_cast<uint8_t>(v >> (8 * i));
  };
  put_u32(0, static_cast<uint32_t>(segments.size() - 1));
  for (size_t i = 0; i < segments.size(); ++i)
    put_u32(4 * (i + 1), static_cast<uint32_t>(segments[i].size()));
  uint8_t* at = bytes.data() + table_words * sizeof(capnp::word);
  for (const auto& segment : segments) {
    std::memcpy(at, segment.begin(), segment.size() * sizeof(capnp::word));
    at += segment.size() * sizeof(capnp::word);
  }
  return Frame(std::move(bytes));
}

AnyPart bucket_ref_part(BucketRef ref) { return std::make_shared<const BucketRef>(std::move(ref)); }

const BucketRef& bucket_ref_of(const AnyPart& part) {
  return *static_cast<const BucketRef*>(part.get());
}

const char* envelope_kind_name(EnvelopeKind kind) noexcept {
  switch (kind) {
    case EnvelopeKind::hello:
      return "hello";
    case EnvelopeKind::welcome:
      return "welcome";
    case EnvelopeKind::proof:
      return "proof";
    case EnvelopeKind::refusal:
      return "refusal";
    case EnvelopeKind::task:
      return "task";
    case EnvelopeKind::task_done:
      return "task done";
    case EnvelopeKind::fetch:
      return "fetch";
    case EnvelopeKind::fetched:
      return "fetched";
    case EnvelopeKind::replicate:
      return "replicate";
    case EnvelopeKind::replicated:
      return "replicated";
    case EnvelopeKind::restore:
      return "restore";
    case EnvelopeKind::restored:
      return "restored";
    case EnvelopeKind::source:
      return "source";
    case EnvelopeKind::sourced:
      return "sourced";
    case EnvelopeKind::output:
      return "output";
    case EnvelopeKind::output_done:
      return "output done";
  }
  return "?";
}

Frame encode_hello(EnvelopeKind kind, const HelloStep& step) {
  capnp::MallocMessageBuilder message;
  auto env = message.initRoot<wire::Envelope>();
  switch (kind) {
    case EnvelopeKind::hello:
      fill_hello(env.initHello(), step);
      break;
    case EnvelopeKind::welcome:
      fill_hello(env.initWelcome(), step);
      break;
    case EnvelopeKind::proof:
      fill_hello(env.initProof(), step);
      break;
    default:
      throw std::invalid_argument("encode_hello: not a handshake step");
  }
  return to_frame(message);
}

Frame encode_refusal(const std::string& reason) {
  capnp::MallocMessageBuilder message;
  message.initRoot<wire::Envelope>().initRefusal().setReason(reason);
  return to_frame(message);
}

Frame encode_task(const JobGraph& graph, uint64_t session, uint64_t id, const TaskRequest& task) {
  std::vector<EncodeColumns> parts(task.inputs.size());
  size_t words = kEnvelopeWords;
  for (size_t i = 0; i < task.inputs.size(); ++i) {
    const TaskInput& in = task.inputs[i];
    words += kEntryWords + in.buckets.size() * kEntryWords;
    if (!in.part) continue;
    parts[i] = encode_part(graph, producer(graph, in.node, in.edge), in.part);
    words += record_batch_words(parts[i]);
  }
  capnp::MallocMessageBuilder message(first_segment(words));
  auto out = message.initRoot<wire::Envelope>().initTask();
  out.setSession(session);
  out.setId(id);
  out.setStage(task.stage);
  out.setPartition(task.partition);
  out.setTime(task.time.count());
  out.setZero(task.zero.count());
  out.setHasBase(task.base.has_value());
  out.setBase(task.base.value_or(Millis{0}).count());
  out.setHasAfter(task.after.has_value());
  out.setAfter(task.after.value_or(Millis{0}).count());
  out.setCheckpoint(task.checkpoint);
  auto inputs = out.initInputs(static_cast<unsigned>(task.inputs.size()));
  for (unsigned i = 0; i < task.inputs.size(); ++i) {
    const TaskInput& in = task.inputs[i];
    inputs[i].setNode(in.node);
    inputs[i].setEdge(in.edge);
    inputs[i].setPresent(in.part != nullptr);
    if (in.part) fill_record_batch(inputs[i].initBatch(), parts[i]);
    auto refs = inputs[i].initBuckets(static_cast<unsigned>(in.buckets.size()));
    for (unsigned q = 0; q < in.buckets.size(); ++q) {
      refs[q].setPresent(in.buckets[q] != nullptr);
      if (!in.buckets[q]) continue;
      const BucketRef& ref = bucket_ref_of(in.buckets[q]);
      refs[q].setHolder(ref.holder);
      refs[q].setStage(ref.stage);
      refs[q].setPartition(ref.partition);
    }
  }
  return to_frame(message);
}

Frame encode_task_done(const JobGraph& graph, uint64_t session, uint64_t id,
                       const TaskReply& done) {
  const auto& exported = done.result.exported;
  std::vector<EncodeColumns> parts(exported.size());
  std::vector<bool> held(exported.size());  // stays with the worker: presence only
  size_t words = kEnvelopeWords + (done.error.node.size() + done.error.cause.size()) / 8;
  for (size_t i = 0; i < exported.size(); ++i) {
    words += kEntryWords;
    held[i] = graph.written_where_computed(exported[i].first);
    if (!exported[i].second || held[i]) continue;
    parts[i] = encode_part(graph, exported[i].first, exported[i].second);
    words += record_batch_words(parts[i]);
  }
  for (const TaskBuckets& tb : done.result.buckets) words += kEntryWords + tb.buckets.size() / 64;
  capnp::MallocMessageBuilder message(first_segment(words));
  auto out = message.initRoot<wire::Envelope>().initTaskDone();
  out.setSession(session);
  out.setId(id);
  out.setStage(done.stage);
  out.setPartition(done.partition);
  out.setTime(done.time.count());
  out.setOk(done.ok);
  out.setErrorNode(done.error.node);
  out.setErrorTime(done.error.time.count());
  out.setErrorCause(done.error.cause);
  out.setSnapshotBytes(done.snapshot_bytes);
  out.setSnapshotKeys(done.snapshot_keys);
  out.setSnapshotMs(done.snapshot_ms);
  out.setLostInput(done.lost_input);
  out.setStaleState(done.stale_state);
  auto ex = out.initExported(static_cast<unsigned>(exported.size()));
  for (unsigned i = 0; i < exported.size(); ++i) {
    ex[i].setNode(exported[i].first);
    ex[i].setPresent(exported[i].second != nullptr);
    ex[i].setHeld(held[i]);
    if (exported[i].second && !held[i]) fill_record_batch(ex[i].initBatch(), parts[i]);
  }
  const auto& buckets = done.result.buckets;
  auto bs = out.initBuckets(static_cast<unsigned>(buckets.size()));
  for (unsigned i = 0; i < buckets.size(); ++i) {
    const TaskBuckets& tb = buckets[i];
    bs[i].setNode(tb.node);
    bs[i].setEdge(tb.edge);
    auto present = bs[i].initPresent(static_cast<unsigned>(tb.buckets.size()));
    for (unsigned q = 0; q < tb.buckets.size(); ++q) present.set(q, tb.buckets[q] != nullptr);
  }
  return to_frame(message);
}

Frame encode_fetch(uint64_t session, uint64_t id, const FetchRequest& f) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<wire::Envelope>().initFetch();
  out.setSession(session);
  out.setId(id);
  out.setTime(f.time.count());
  out.setStage(f.stage);
  out.setPartition(f.partition);
  out.setNode(f.node);
  out.setEdge(f.edge);
  out.setBucket(f.bucket);
  return to_frame(message);
}

Frame encode_fetched(const JobGraph& graph, uint64_t session, uint64_t id, const FetchRequest& f,
                     const FetchReply& reply) {
  EncodeColumns part;
  size_t words = kEnvelopeWords + reply.error.size() / 8;
  if (reply.part) {
    part = encode_part(graph, producer(graph, f.node, f.edge), reply.part);
    words += record_batch_words(part);
  }
  capnp::MallocMessageBuilder message(first_segment(words));
  auto out = message.initRoot<wire::Envelope>().initFetched();
  out.setSession(session);
  out.setId(id);
  out.setNode(f.node);
  out.setEdge(f.edge);
  out.setFound(reply.found);
  out.setPresent(reply.part != nullptr);
  out.setError(reply.error);
  if (reply.part) fill_record_batch(out.initBatch(), part);
  return to_frame(message);
}

Result<Envelope> decode_envelope(const Frame& frame, const JobGraph& graph,
                                 const DecodeLimits& limits, const std::string& sender) {
  auto reader = AlignedFrameReader::open(frame, limits);
  if (!reader) return reader.status();
  Decoder d{graph, limits, "frame of " + std::to_string(frame.size()) + " bytes", std::nullopt};
  Envelope out;
  auto thrown = kj::runCatchingExceptions([&] {
    auto env = reader->message().getRoot<wire::Envelope>();
    switch (env.which()) {
      case wire::Envelope::HELLO:
        out.kind = EnvelopeKind::hello;
        out.hello = read_hello(env.getHello());
        break;
      case wire::Envelope::WELCOME:
        out.kind = EnvelopeKind::welcome;
        out.hello = read_hello(env.getWelcome());
        break;
      case wire::Envelope::PROOF:
        out.kind = EnvelopeKind::proof;
        out.hello = read_hello(env.getProof());
        break;
      case wire::Envelope::REFUSAL:
        out.kind = EnvelopeKind::refusal;
        out.refusal = env.getRefusal().getReason();
        break;
      case wire::Envelope::TASK:
        out.kind = EnvelopeKind::task;
        read_task(d, env.getTask(), out);
        break;
      case wire::Envelope::TASK_DONE:
        out.kind = EnvelopeKind::task_done;
        read_task_done(d, env.getTaskDone(), out, sender);
        break;
      case wire::Envelope::FETCH:
        out.kind = EnvelopeKind::fetch;
        read_fetch(d, env.getFetch(), out);
        break;
      case wire::Envelope::FETCHED:
        out.kind = EnvelopeKind::fetched;
        read_fetched(d, env.getFetched(), out);
        break;
      case wire::Envelope::REPLICATE: {
        out.kind = EnvelopeKind::replicate;
        auto in = env.getReplicate();
        out.session = in.getSession();
        out.id = in.getId();
        if (auto bad = read_replica_frame(in, out.replica_reply)) d.refuse(*bad);
        out.replica.commit =
            std::make_shared<const StoreCopy>(std::move(out.replica_reply.contents));
        out.replica_reply = {};
        break;
      }
      case wire::Envelope::REPLICATED: {
        out.kind = EnvelopeKind::replicated;
        auto in = env.getReplicated();
        out.session = in.getSession();
        out.id = in.getId();
        if (auto bad = read_replica_ack(in, out.replica_reply)) d.refuse(*bad);
        break;
      }
      case wire::Envelope::RESTORE:
        out.kind = EnvelopeKind::restore;
        out.session = env.getRestore().getSession();
        out.id = env.getRestore().getId();
        out.replica.restore = true;
        break;
      case wire::Envelope::RESTORED: {
        out.kind = EnvelopeKind::restored;
        auto in = env.getRestored();
        out.session = in.getSession();
        out.id = in.getId();
        if (auto bad = read_replica_frame(in, out.replica_reply)) d.refuse(*bad);
        break;
      }
      case wire::Envelope::SOURCE:
        out.kind = EnvelopeKind::source;
        read_source(d, env.getSource(), out);
        break;
      case wire::Envelope::SOURCED:
        out.kind = EnvelopeKind::sourced;
        read_sourced(d, env.getSourced(), out);
        break;
      case wire::Envelope::OUTPUT:
        out.kind = EnvelopeKind::output;
        read_output(d, env.getOutput(), out);
        break;
      case wire::Envelope::OUTPUT_DONE:
        out.kind = EnvelopeKind::output_done;
        read_output_done(d, env.getOutputDone(), out);
        break;
      default:
        d.refuse("not a rill envelope (unknown kind " + std::to_string(int(env.which())) + ")");
    }
  });
  KJ_IF_MAYBE (exception, thrown) {
    return Status(Errc::corrupt, d.what + ": " + exception->getDescription().cStr());
  }
  if (d.refused) return *std::move(d.refused);
  return out;
}

std::string stream_without_codec(const JobGraph& graph) {
  for (const Node& n : graph.nodes())
    if (!n.codec.encode || !n.codec.decode) return n.name + " (records " + n.type + ")";
  return {};
}

}  // namespace rill::net
