// Output frames to Cap'n Proto and back; decoding checks the output and partition against the
// job before anything is used, as for every envelope.
#include "net/output_frames.hpp"

#include <capnp/message.h>

#include "net/envelope_wire.hpp"

namespace rill::net {

Frame encode_output(uint64_t session, uint64_t id, const OutputAsk& ask) {
  capnp::MallocMessageBuilder message(first_segment(kEnvelopeWords));
  auto out = message.initRoot<wire::Envelope>().initOutput();
  out.setSession(session);
  out.setId(id);
  out.setOutput(ask.output);
  out.setTime(ask.time.count());
  out.setPartition(ask.partition);
  out.setHasLogged(ask.logged.has_value());
  out.setLogged(ask.logged.value_or(0));
  return to_frame(message);
}

Frame encode_output_done(uint64_t session, uint64_t id, const OutputDone& done) {
  capnp::MallocMessageBuilder message(
      first_segment(kEnvelopeWords + done.error.value_or("").size() / 8));
  auto out = message.initRoot<wire::Envelope>().initOutputDone();
  out.setSession(session);
  out.setId(id);
  out.setOutput(done.output);
  out.setTime(done.time.count());
  out.setPartition(done.partition);
  out.setFound(done.found);
  out.setHash(done.hash);
  out.setHasError(done.error.has_value());
  out.setError(done.error.value_or(""));
  out.setDiffered(done.differed);
  return to_frame(message);
}

namespace {

// Only an output whose stream stays on the workers is ever written there.
bool output_ok(Decoder& d, int output, int partition) {
  const auto& outputs = d.graph.outputs();
  if (output < 0 || static_cast<size_t>(output) >= outputs.size())
    return d.refuse("no output " + std::to_string(output) + " in this job");
  const OutputOp& op = outputs[static_cast<size_t>(output)];
  if (!d.graph.written_where_computed(op.node))
    return d.refuse("output '" + op.name + "' is not written where its stream is computed");
  const int partitions = d.graph.node(op.node).partitions;
  if (partition < 0 || partition >= partitions)
    return d.refuse("output '" + op.name + "': no partition " + std::to_string(partition) +
                    " (its stream has " + std::to_string(partitions) + ")");
  return true;
}

}  // namespace

void read_output(Decoder& d, wire::OutputAsk::Reader in, Envelope& out) {
  out.session = in.getSession();
  out.id = in.getId();
  OutputAsk& ask = out.output;
  ask.output = in.getOutput();
  ask.time = Millis{in.getTime()};
  ask.partition = in.getPartition();
  if (in.getHasLogged()) ask.logged = in.getLogged();
  output_ok(d, ask.output, ask.partition);
}

void read_output_done(Decoder& d, wire::OutputDone::Reader in, Envelope& out) {
  out.session = in.getSession();
  out.id = in.getId();
  OutputDone& done = out.output_done;
  done.output = in.getOutput();
  done.time = Millis{in.getTime()};
  done.partition = in.getPartition();
  done.found = in.getFound();
  done.hash = in.getHash();
  if (in.getHasError()) done.error = std::string(in.getError());
  done.differed = in.getDiffered();
  output_ok(d, done.output, done.partition);
}

}  // namespace rill::net
