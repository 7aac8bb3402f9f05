#include "net/jetstream_source.hpp"

#include <nats/nats.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <thread>

#include "dataflow/config_error.hpp"

namespace rill {
namespace net {

namespace {

// "timeout (nats: timeout)": libnats's text for s, with its thread's last error detail.
std::string nats_error(natsStatus s) {
  std::string text = natsStatus_GetText(s);
  const char* detail = nats_GetLastError(nullptr);
  if (detail && *detail && text != detail) text += std::string(" (") + detail + ")";
  return text;
}

// NATS names: no whitespace; a stream name has no '.', '*' or '>' either.
bool valid_name(const std::string& s, bool stream) {
  for (char c : s)
    if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
        (stream && (c == '.' || c == '*' || c == '>')))
      return false;
  return true;
}

Taken partitioned(std::vector<JetStreamMessage> messages, int partitions, std::string replay) {
  Taken taken = split_even(std::move(messages), partitions);
  taken.replay = std::move(replay);
  return taken;
}

}  // namespace

struct JetStreamSource::Connection {
  natsConnection* nc = nullptr;
  jsCtx* js = nullptr;
  Connection() = default;
  Connection(const Connection&) = delete;
  Connection& operator=(const Connection&) = delete;
  ~Connection() {
    if (js) jsCtx_Destroy(js);
    if (nc) natsConnection_Destroy(nc);  // closes it first
  }
  bool connected() const { return natsConnection_Status(nc) == NATS_CONN_STATUS_CONNECTED; }
};

JetStreamSource::JetStreamSource(JetStreamOptions options) : options_(std::move(options)) {
  std::string what = "jetstream_stream(stream '" + options_.stream + "'): ";
  if (options_.url.empty()) throw ConfigError(what + "the url is empty");
  if (options_.stream.empty()) throw ConfigError(what + "the stream name is empty");
  if (!valid_name(options_.stream, true))
    throw ConfigError(what + "a stream name has no whitespace, '.', '*' or '>'");
  if (!valid_name(options_.subject, false))
    throw ConfigError(what + "the subject '" + options_.subject + "' contains whitespace");
  if (options_.max_messages_per_batch == 0)
    throw ConfigError(what + "max_messages_per_batch must be at least 1");
  if (options_.request_timeout.count() <= 0 || options_.replay_timeout.count() < 0)
    throw ConfigError(what + "request_timeout must be > 0 and replay_timeout >= 0");
}

JetStreamSource::~JetStreamSource() = default;

std::string JetStreamSource::where() const {
  return "jetstream " + options_.url + " stream '" + options_.stream + "'" +
         (options_.subject.empty() ? std::string() : " subject '" + options_.subject + "'");
}

void JetStreamSource::report(const std::string& error) {
  if (error == last_error_) return;
  last_error_ = error;
  spdlog::error("{}; reading nothing until it is resolved", error);
}

Status JetStreamSource::connect() {
  if (connection_ && connection_->connected()) return Status::ok();
  // A connection that is reconnecting by itself is kept: libnats retries it forever.
  if (connection_ && natsConnection_Status(connection_->nc) != NATS_CONN_STATUS_CLOSED)
    return {Errc::unavailable, where() + ": disconnected, reconnecting"};
  connection_.reset();
  auto fresh = std::make_unique<Connection>();
  natsOptions* opts = nullptr;
  natsStatus s = natsOptions_Create(&opts);
  if (s == NATS_OK) s = natsOptions_SetURL(opts, options_.url.c_str());
  if (s == NATS_OK) s = natsOptions_SetName(opts, ("rill " + options_.stream).c_str());
  if (s == NATS_OK) s = natsOptions_SetTimeout(opts, options_.request_timeout.count());
  if (s == NATS_OK) s = natsOptions_SetMaxReconnect(opts, -1);
  if (s == NATS_OK) s = natsOptions_SetReconnectWait(opts, 100);
  if (s == NATS_OK) s = natsConnection_Connect(&fresh->nc, opts);
  natsOptions_Destroy(opts);
  if (s == NATS_OK) {
    jsOptions js_opts;
    jsOptions_Init(&js_opts);
    js_opts.Wait = options_.request_timeout.count();
    s = natsConnection_JetStream(&fresh->js, fresh->nc, &js_opts);
  }
  if (s != NATS_OK) return {Errc::unavailable, where() + ": cannot connect: " + nats_error(s)};
  connection_ = std::move(fresh);
  return Status::ok();
}

// The stream's first and last sequences.
struct StreamBounds {
  uint64_t first = 0;
  uint64_t last = 0;
};

namespace {

Result<StreamBounds> stream_bounds(jsCtx* js, const std::string& stream, const std::string& where) {
  jsStreamInfo* si = nullptr;
  jsErrCode jerr = static_cast<jsErrCode>(0);
  natsStatus s = js_GetStreamInfo(&si, js, stream.c_str(), nullptr, &jerr);
  if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr)
    return Status(Errc::not_found,
                  where + ": the stream does not exist (create it, e.g. `nats stream add`)");
  if (s != NATS_OK) return Status(Errc::unavailable, where + ": stream info: " + nats_error(s));
  StreamBounds b{si->State.FirstSeq, si->State.LastSeq};
  jsStreamInfo_Destroy(si);
  return b;
}

}  // namespace

Status JetStreamSource::read(uint64_t from, uint64_t last, Read& out) {
  out.to = from - 1;
  // TODO(perf): one request per sequence (about 10k messages/s on loopback); a pull consumer
  // started at `from` would fetch in batches.
  for (uint64_t seq = from; seq <= last; ++seq) {
    natsMsg* msg = nullptr;
    jsErrCode jerr = static_cast<jsErrCode>(0);
    natsStatus s = js_GetMsg(&msg, connection_->js, options_.stream.c_str(), seq, nullptr, &jerr);
    if (s == NATS_NOT_FOUND) {  // deleted or expired: a gap, which the checksum covers
      out.to = seq;
      continue;
    }
    if (s != NATS_OK)
      return {Errc::unavailable,
              where() + ": reading stream sequence " + std::to_string(seq) + ": " + nats_error(s)};
    std::string_view subject = natsMsg_GetSubject(msg);
    if (subject_matches(options_.subject, subject)) {
      auto size = static_cast<uint64_t>(natsMsg_GetDataLength(msg));
      if (options_.max_message_bytes > 0 && size > options_.max_message_bytes) {
        natsMsg_Destroy(msg);
        return {Errc::too_large,
                where() + ": the message at stream sequence " + std::to_string(seq) +
                    " (subject '" + std::string(subject) + "') has " + std::to_string(size) +
                    " bytes, over max_message_bytes " + std::to_string(options_.max_message_bytes) +
                    "; nothing from it on was taken: raise the limit and restart"};
      }
      std::string payload(natsMsg_GetData(msg), static_cast<size_t>(size));
      out.checksum.add(seq, subject, payload);
      out.messages.push_back(JetStreamMessage{std::string(subject), seq, std::move(payload)});
    }
    natsMsg_Destroy(msg);
    out.to = seq;
  }
  return Status::ok();
}

void JetStreamSource::start(const SourceContext&) {
  std::lock_guard lock(mu_);
  if (Status s = connect(); !s) return report(s.message());
  if (next_ || options_.start != JetStreamStart::new_messages) return;
  auto bounds = stream_bounds(connection_->js, options_.stream, where());
  if (!bounds) return report(bounds.status().message());
  next_ = bounds->last + 1;
}

void JetStreamSource::stop() {
  std::lock_guard lock(mu_);
  connection_.reset();
}

std::string JetStreamSource::started_record() const {
  std::lock_guard lock(mu_);
  return next_ ? JetStreamRange{*next_, *next_ - 1, 0, 0}.encode() : std::string();
}

Status JetStreamSource::resume(std::span<const std::string> recorded) {
  // An empty record: the job never reached the server, so the start policy still decides.
  if (recorded.empty() || recorded.back().empty()) return Status::ok();
  auto range = JetStreamRange::decode(recorded.back());
  if (!range) return range.status();
  std::lock_guard lock(mu_);
  next_ = range->next();
  spdlog::info("{}: resuming at stream sequence {}", where(), *next_);
  return Status::ok();
}

Taken JetStreamSource::empty_batch() const {
  Taken taken{{}, 0, next_ ? JetStreamRange{*next_, *next_ - 1, 0, 0}.encode() : std::string()};
  return taken;
}

Taken JetStreamSource::take(Millis t, int partitions) {
  std::lock_guard lock(mu_);
  auto at = [&] { return where() + " at batch " + to_string(t); };
  auto nothing = [&](const Status& s) {
    report(at() + ": " + s.message().substr(where().size() + 2));
    Taken taken = empty_batch();
    taken.parts.assign(static_cast<size_t>(partitions), make_part(std::vector<JetStreamMessage>{}));
    return taken;
  };
  if (Status s = connect(); !s) return nothing(s);
  auto bounds = stream_bounds(connection_->js, options_.stream, where());
  if (!bounds) return nothing(bounds.status());
  if (!next_)
    next_ = options_.start == JetStreamStart::new_messages ? bounds->last + 1
                                                           : std::max<uint64_t>(bounds->first, 1);
  if (bounds->last + 1 < *next_) {
    Taken failed = empty_batch();
    failed.error =
        at() + ": the stream's last sequence is " + std::to_string(bounds->last) +
        " but this job already read up to " + std::to_string(*next_ - 1) +
        ": was the stream deleted and created again? Start the job afresh (a new checkpoint "
        "directory) to read it from its start";
    return failed;
  }
  if (*next_ < bounds->first) {
    spdlog::error(
        "{}: stream sequences [{}, {}] were removed by the stream's limits before this job read "
        "them: those messages are lost to it",
        at(), *next_, bounds->first - 1);
    next_ = bounds->first;
  }
  uint64_t from = *next_;
  uint64_t last = std::min(bounds->last, from + options_.max_messages_per_batch - 1);
  Read r;
  Status s = read(from, last, r);
  if (!s && s.code() == Errc::too_large) {
    Taken failed = empty_batch();
    failed.error = at() + ": " + s.message().substr(where().size() + 2);
    return failed;
  }
  if (!s)
    report(at() + ": " + s.message().substr(where().size() + 2) + "; the batch ends before it");
  if (s && !last_error_.empty()) {
    spdlog::info("{}: reading again", at());
    last_error_.clear();
  }
  JetStreamRange range{from, r.to, r.messages.size(), r.checksum.value()};
  next_ = range.next();
  return partitioned(std::move(r.messages), partitions, range.encode());
}

Result<Taken> JetStreamSource::replay(Millis t, std::string_view recorded, int partitions) {
  if (recorded.empty()) return partitioned({}, partitions, {});
  auto range = JetStreamRange::decode(recorded);
  if (!range) return range.status();
  if (range->empty()) return partitioned({}, partitions, std::string(recorded));
  std::lock_guard lock(mu_);
  std::string at = where() + " re-reading batch " + to_string(t) + "'s " + range->describe();
  auto deadline = std::chrono::steady_clock::now() + options_.replay_timeout;
  auto wait = std::chrono::milliseconds(50);
  while (true) {
    Status s = connect();
    Read r;
    if (s) s = read(range->from, range->to, r);
    if (s) {
      if (r.messages.size() != range->count || r.checksum.value() != range->hash)
        return Status(Errc::corrupt,
                      at + ": the stream changed since the batch read it (" +
                          std::to_string(range->count) + " matching messages then, " +
                          std::to_string(r.messages.size()) +
                          " now, or their contents differ): were messages removed by the "
                          "stream's limits or deleted?");
      return partitioned(std::move(r.messages), partitions, std::string(recorded));
    }
    if (s.code() != Errc::unavailable || std::chrono::steady_clock::now() + wait > deadline)
      return Status(s.code(), at + ": " + s.message().substr(where().size() + 2));
    spdlog::warn("{}: {}; retrying", at, s.message().substr(where().size() + 2));
    std::this_thread::sleep_for(wait);
    wait = std::min(wait * 2, std::chrono::milliseconds(1000));
  }
}

}  // namespace net

DStream<JetStreamMessage> jetstream_stream(StreamingContext& ssc, JetStreamOptions options,
                                           std::string name) {
  auto source = std::make_shared<net::JetStreamSource>(std::move(options));
  return ssc.source_stream<JetStreamMessage>(std::move(source), std::move(name));
}

}  // namespace rill
