// Replication envelopes to frames and back (decode_envelope calls the readers).
#include "net/replica_frames.hpp"

#include "net/envelope_wire.hpp"

namespace rill::net {
namespace {

kj::ArrayPtr<const capnp::byte> bytes_of(const std::string& s) {
  return kj::arrayPtr(reinterpret_cast<const capnp::byte*>(s.data()), s.size());
}

std::string string_of(capnp::Data::Reader d) {
  return std::string(reinterpret_cast<const char*>(d.begin()), d.size());
}

size_t words_of(const StoreCopy& copy) {
  size_t words = 16;
  for (const auto& op : copy.ops) words += 6 + (op.key.size() + 7) / 8 + (op.value.size() + 7) / 8;
  return words;
}

void fill(wire::ReplicaFrame::Builder out, uint64_t session, uint64_t id, const StoreCopy& copy) {
  out.setSession(session);
  out.setId(id);
  out.setIncarnation(copy.incarnation);
  out.setSeq(copy.seq);
  out.setReset(copy.reset);
  out.setMore(copy.more);
  auto ops = out.initOps(static_cast<unsigned>(copy.ops.size()));
  for (unsigned i = 0; i < copy.ops.size(); ++i) {
    ops[i].setKind(copy.ops[i].kind);
    ops[i].setDb(copy.ops[i].db);
    ops[i].setKey(bytes_of(copy.ops[i].key));
    ops[i].setValue(bytes_of(copy.ops[i].value));
  }
}

}  // namespace

Frame encode_replicate(uint64_t session, uint64_t id, const StoreCopy& commit) {
  capnp::MallocMessageBuilder message(first_segment(words_of(commit)));
  fill(message.initRoot<wire::Envelope>().initReplicate(), session, id, commit);
  return to_frame(message);
}

Frame encode_replicated(uint64_t session, uint64_t id, const ReplicaReply& ack) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<wire::Envelope>().initReplicated();
  out.setSession(session);
  out.setId(id);
  out.setSeq(ack.seq);
  out.setOutcome(static_cast<uint8_t>(ack.outcome));
  out.setError(ack.error);
  return to_frame(message);
}

Frame encode_restore(uint64_t session, uint64_t id) {
  capnp::MallocMessageBuilder message;
  auto out = message.initRoot<wire::Envelope>().initRestore();
  out.setSession(session);
  out.setId(id);
  return to_frame(message);
}

Frame encode_restored(uint64_t session, uint64_t id, const ReplicaReply& reply) {
  capnp::MallocMessageBuilder message(first_segment(words_of(reply.contents)));
  auto out = message.initRoot<wire::Envelope>().initRestored();
  fill(out, session, id, reply.found ? reply.contents : StoreCopy{});
  out.setFound(reply.found);
  out.setError(reply.error);
  return to_frame(message);
}

std::optional<std::string> read_replica_frame(wire::ReplicaFrame::Reader in, ReplicaReply& reply) {
  reply.found = in.getFound();
  reply.error = in.getError();
  StoreCopy& copy = reply.contents;
  copy.incarnation = in.getIncarnation();
  copy.seq = in.getSeq();
  copy.reset = in.getReset();
  copy.more = in.getMore();
  reply.seq = copy.seq;
  auto ops = in.getOps();
  copy.ops.reserve(ops.size());
  for (auto op : ops) {
    if (op.getKind() >= kStoreOpKinds)
      return "store op of unknown kind " + std::to_string(op.getKind());
    if (op.getDb() >= kStoreDbs)
      return "store op on unknown database " + std::to_string(op.getDb());
    copy.ops.push_back(
        {op.getKind(), op.getDb(), string_of(op.getKey()), string_of(op.getValue())});
  }
  return std::nullopt;
}

std::optional<std::string> read_replica_ack(wire::ReplicaAck::Reader in, ReplicaReply& reply) {
  if (in.getOutcome() > static_cast<uint8_t>(ReplicaReply::Outcome::failed))
    return "replica answer of unknown outcome " + std::to_string(in.getOutcome());
  reply.seq = in.getSeq();
  reply.outcome = static_cast<ReplicaReply::Outcome>(in.getOutcome());
  reply.error = in.getError();
  return std::nullopt;
}

}  // namespace rill::net
