// Source frames to Cap'n Proto and back; decoding checks the stream and kind against the job
// before anything is used, as for every envelope.
#include "net/source_frames.hpp"

#include <capnp/message.h>

#include <algorithm>

#include "net/envelope_wire.hpp"

namespace rill::net {

Frame encode_source(uint64_t session, uint64_t id, const SourceAsk& ask) {
  capnp::MallocMessageBuilder message(first_segment(kEnvelopeWords + ask.recorded.size() / 8));
  auto out = message.initRoot<wire::Envelope>().initSource();
  out.setSession(session);
  out.setId(id);
  out.setStream(ask.stream);
  out.setKind(static_cast<uint8_t>(ask.kind));
  out.setTime(ask.time.count());
  out.setRecorded(data_of(ask.recorded));
  out.setGraceful(ask.graceful);
  out.setRate(ask.rate);
  out.setBelow(ask.below);
  return to_frame(message);
}

Frame encode_sourced(const JobGraph& graph, uint64_t session, uint64_t id, const SourceAnswer& a) {
  std::vector<EncodeColumns> parts(a.parts.size());
  size_t words = kEnvelopeWords + (a.replay.size() + a.error.value_or("").size() +
                                   (a.receiver ? a.receiver->last_error.size() : 0)) /
                                      8;
  for (size_t i = 0; i < a.parts.size(); ++i) {
    words += kEntryWords;
    if (!a.parts[i]) continue;
    parts[i] = encode_part(graph, a.stream, a.parts[i]);
    words += record_batch_words(parts[i]);
  }
  capnp::MallocMessageBuilder message(first_segment(words));
  auto out = message.initRoot<wire::Envelope>().initSourced();
  out.setSession(session);
  out.setId(id);
  out.setStream(a.stream);
  out.setTime(a.time.count());
  out.setRecords(a.records);
  auto present = out.initPresent(static_cast<unsigned>(a.parts.size()));
  auto batches = out.initParts(static_cast<unsigned>(a.parts.size()));
  for (unsigned i = 0; i < a.parts.size(); ++i) {
    present.set(i, a.parts[i] != nullptr);
    if (a.parts[i]) fill_record_batch(batches[i], parts[i]);
  }
  out.setReplay(data_of(a.replay));
  out.setHasError(a.error.has_value());
  out.setError(a.error.value_or(""));
  out.setPending(a.pending);
  out.setHasReceiver(a.receiver.has_value());
  if (a.receiver) {
    out.setReceiverActive(a.receiver->active);
    out.setReceiverStarts(a.receiver->starts);
    out.setReceiverError(a.receiver->last_error);
    out.setReceiverErrorTime(a.receiver->last_error_time.count());
  }
  out.setIncarnation(a.incarnation);
  return to_frame(message);
}

namespace {

std::string text_of(capnp::Data::Reader data) {
  return std::string(reinterpret_cast<const char*>(data.begin()), data.size());
}

bool source_ok(Decoder& d, int stream) {
  if (!d.node_ok(stream)) return false;
  if (d.graph.node(stream).is_source) return true;
  return d.refuse("stream '" + d.graph.node(stream).name + "' is not an input stream");
}

}  // namespace

void read_source(Decoder& d, wire::SourceAsk::Reader in, Envelope& out) {
  out.session = in.getSession();
  out.id = in.getId();
  SourceAsk& ask = out.source;
  ask.stream = in.getStream();
  if (!source_ok(d, ask.stream)) return;
  if (in.getKind() >= kSourceAskKinds)
    return (void)d.refuse("unknown source ask kind " + std::to_string(in.getKind()));
  ask.kind = static_cast<SourceAsk::Kind>(in.getKind());
  ask.time = Millis{in.getTime()};
  ask.recorded = text_of(in.getRecorded());
  ask.graceful = in.getGraceful();
  ask.rate = in.getRate();
  ask.below = in.getBelow();
}

void read_sourced(Decoder& d, wire::SourceAnswer::Reader in, Envelope& out) {
  out.session = in.getSession();
  out.id = in.getId();
  SourceAnswer& a = out.sourced;
  a.stream = in.getStream();
  if (!source_ok(d, a.stream)) return;
  a.time = Millis{in.getTime()};
  a.records = in.getRecords();
  auto present = in.getPresent();
  auto batches = in.getParts();
  if (present.size() != batches.size())
    return (void)d.refuse("source answer: " + std::to_string(present.size()) +
                          " presence flags for " + std::to_string(batches.size()) + " parts");
  if (batches.size() > static_cast<unsigned>(d.graph.node(a.stream).partitions))
    return (void)d.refuse("source answer: " + std::to_string(batches.size()) +
                          " parts for stream '" + d.graph.node(a.stream).name + "' of " +
                          std::to_string(d.graph.node(a.stream).partitions) + " partitions");
  a.parts.resize(batches.size());
  for (unsigned i = 0; i < batches.size(); ++i)
    if (!d.part(batches[i], present[i], a.stream, a.parts[i],
                "part " + std::to_string(i) + " of stream '" + d.graph.node(a.stream).name + "'"))
      return;
  a.replay = text_of(in.getReplay());
  if (in.getHasError()) a.error = std::string(in.getError());
  a.pending = in.getPending();
  if (in.getHasReceiver()) {
    ReceiverInfo r;
    r.name = d.graph.node(a.stream).name;
    r.active = in.getReceiverActive();
    r.starts = std::max(0, in.getReceiverStarts());
    r.last_error = in.getReceiverError();
    r.last_error_time = Millis{in.getReceiverErrorTime()};
    a.receiver = std::move(r);  // its node: the sender's, which the link knows
  }
  a.incarnation = in.getIncarnation();
}

}  // namespace rill::net
