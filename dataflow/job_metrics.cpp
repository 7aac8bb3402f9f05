#include "dataflow/job_metrics.hpp"

#include <algorithm>

#include "dataflow/json_text.hpp"

namespace rill {

namespace {

double seconds(Millis d) { return static_cast<double>(d.count()) / 1000.0; }

// Prometheus label values escape backslash, quote and newline.
std::string label(std::string_view v) {
  std::string out;
  for (char c : v) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '"')
      out += "\\\"";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

struct PromWriter {
  std::string out;
  void head(const char* name, const char* type, const char* help) {
    out += "# HELP ";
    out += name;
    out += ' ';
    out += help;
    out += "\n# TYPE ";
    out += name;
    out += ' ';
    out += type;
    out += '\n';
  }
  void value(const std::string& name_and_labels, double v) {
    out += name_and_labels + ' ' + json_number(v) + '\n';
  }
  void value(const std::string& name_and_labels, int64_t v) {
    out += name_and_labels + ' ' + std::to_string(v) + '\n';
  }
  void metric(const char* name, const char* type, const char* help, double v) {
    head(name, type, help);
    value(name, v);
  }
  void metric(const char* name, const char* type, const char* help, int64_t v) {
    head(name, type, help);
    value(name, v);
  }
  void histogram(const char* name, const char* help, const DelayHistogram& h) {
    head(name, "histogram", help);
    const auto& bounds = DelayHistogram::bounds();
    int64_t cumulative = 0;
    for (std::size_t i = 0; i < bounds.size(); ++i) {
      cumulative += h.counts[i];
      value(std::string(name) + "_bucket{le=\"" + json_number(bounds[i]) + "\"}", cumulative);
    }
    value(std::string(name) + "_bucket{le=\"+Inf\"}", h.count);
    value(std::string(name) + "_sum", h.sum_seconds);
    value(std::string(name) + "_count", h.count);
  }
};

std::string output_json(const OutputOperationInfo& o) {
  std::string s = "{\"id\":" + std::to_string(o.id) + ",\"name\":" + json_quote(o.name) +
                  ",\"start_time\":" + std::to_string(o.start_time.count()) +
                  ",\"end_time\":" + std::to_string(o.end_time.count()) + ",\"duration_ms\":";
  s += o.end_time.count() > 0 ? std::to_string(o.duration().count()) : std::string("null");
  s += ",\"failure\":" + (o.failure ? json_quote(*o.failure) : std::string("null")) + "}";
  return s;
}

// A finished batch's delays are all known; an active batch's end is not yet (null), nor its
// start before its first task (processing_start still 0).
std::string delay_json(Millis from, Millis to, bool known) {
  return known ? std::to_string((to - from).count()) : "null";
}

}  // namespace

const std::vector<double>& DelayHistogram::bounds() {
  static const std::vector<double> kBounds = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25,
                                              0.5,   1,     2.5,  5,     10,   30,  60};
  return kBounds;
}

void DelayHistogram::add(Millis d) {
  double s = seconds(std::max(d, Millis{0}));
  const auto& b = bounds();
  auto bucket = std::lower_bound(b.begin(), b.end(), s) - b.begin();
  counts[static_cast<std::size_t>(bucket)] += 1;
  sum_seconds += s;
  count += 1;
}

JobMetrics::JobMetrics(Millis batch_interval, std::size_t history)
    : interval_(batch_interval), history_(std::max<std::size_t>(history, 1)) {}

void JobMetrics::on_streaming_started(Millis time) {
  std::lock_guard lock(mu_);
  started_ = time;
}

void JobMetrics::on_receiver_started(const ReceiverInfo& info) {
  std::lock_guard lock(mu_);
  auto& r = receivers_[info.name];
  std::string last_error = r.info.last_error;
  Millis last_error_time = r.info.last_error_time;
  r.info = info;
  r.info.active = true;
  if (r.info.last_error.empty()) {  // keep an error reported before this start
    r.info.last_error = last_error;
    r.info.last_error_time = last_error_time;
  }
}

void JobMetrics::on_receiver_error(const std::string& receiver, const std::string& message) {
  std::lock_guard lock(mu_);
  auto& r = receivers_[receiver];
  r.info.name = receiver;
  r.info.last_error = message;
  r.errors += 1;
}

void JobMetrics::on_receiver_stopped(const ReceiverInfo& info) {
  std::lock_guard lock(mu_);
  auto& r = receivers_[info.name];
  r.info.name = info.name;
  r.info.active = false;
  r.info.node = info.node;
  r.info.starts = std::max(r.info.starts, info.starts);
  if (!info.last_error.empty()) {
    r.info.last_error = info.last_error;
    r.info.last_error_time = info.last_error_time;
  }
}

void JobMetrics::on_batch_submitted(const BatchInfo& info) {
  std::lock_guard lock(mu_);
  // A lost completion must not grow the map forever: the oldest active batch goes first.
  if (!active_.count(info.batch_time) && active_.size() >= history_) active_.erase(active_.begin());
  active_[info.batch_time] = info;
}

void JobMetrics::on_batch_started(const BatchInfo& info) {
  std::lock_guard lock(mu_);
  auto it = active_.find(info.batch_time);
  if (it == active_.end()) {
    if (active_.size() >= history_) active_.erase(active_.begin());
    active_[info.batch_time] = info;
    return;
  }
  auto outputs = std::move(it->second.outputs);
  it->second = info;
  if (it->second.outputs.empty()) it->second.outputs = std::move(outputs);
}

void JobMetrics::on_batch_completed(const BatchInfo& info) {
  std::lock_guard lock(mu_);
  finish(info, false);
}

void JobMetrics::on_batch_failed(const BatchInfo& info) {
  std::lock_guard lock(mu_);
  finish(info, true);
}

void JobMetrics::finish(const BatchInfo& info, bool failed) {
  BatchInfo b = info;
  if (auto it = active_.find(info.batch_time); it != active_.end()) {
    // Outputs seen one by one while the batch ran fill in what the final info lacks.
    if (b.outputs.empty()) b.outputs = std::move(it->second.outputs);
    active_.erase(it);
  }
  if (failed) {
    failed_ += 1;
    if (!b.failure) b.failure = "failed";
  } else {
    completed_ += 1;
    records_ += b.input_records;
    scheduling_.add(b.scheduling_delay());
    processing_.add(b.processing_delay());
    total_.add(b.total_delay());
    last_ = b;
  }
  finished_.push_back(std::move(b));
  while (finished_.size() > history_) finished_.pop_front();
}

void JobMetrics::on_output_operation_started(const OutputOperationInfo& info) {
  std::lock_guard lock(mu_);
  auto it = active_.find(info.batch_time);
  if (it == active_.end()) return;  // its batch's submission was not seen
  auto& outs = it->second.outputs;
  auto o = std::find_if(outs.begin(), outs.end(), [&](const auto& x) { return x.id == info.id; });
  if (o == outs.end())
    outs.push_back(info);
  else
    *o = info;
}

void JobMetrics::on_output_operation_completed(const OutputOperationInfo& info) {
  on_output_operation_started(info);  // the same update: replace by id
}

void JobMetrics::on_actor_restarted(const std::string& kind, const std::string& name,
                                    const std::string& reason) {
  std::lock_guard lock(mu_);
  restarts_by_kind_[kind] += 1;
  recent_restarts_.push_back({kind, name, reason});
  while (recent_restarts_.size() > 20) recent_restarts_.pop_front();
}

void JobMetrics::on_checkpoint_completed(const CheckpointInfo& info) {
  std::lock_guard lock(mu_);
  checkpoints_ += 1;
  last_checkpoint_ = info;
}

int64_t JobMetrics::batches_completed() const {
  std::lock_guard lock(mu_);
  return completed_;
}

int64_t JobMetrics::batches_failed() const {
  std::lock_guard lock(mu_);
  return failed_;
}

int64_t JobMetrics::input_records() const {
  std::lock_guard lock(mu_);
  return records_;
}

double JobMetrics::input_rate(const BatchInfo& b) const {
  return static_cast<double>(b.input_records) / seconds(interval_);
}

std::string JobMetrics::prometheus_text(const std::optional<StoreStats>& store) const {
  std::lock_guard lock(mu_);
  PromWriter w;
  w.metric("rill_batch_interval_seconds", "gauge", "The batch interval.", seconds(interval_));
  if (started_)
    w.metric("rill_start_time_seconds", "gauge", "When the job started, on the context's clock.",
             seconds(*started_));
  w.metric("rill_batches_completed_total", "counter", "Batches whose outputs all committed.",
           completed_);
  w.metric("rill_batches_failed_total", "counter", "Batches that failed for good.", failed_);
  w.metric("rill_batches_active", "gauge", "Batches submitted and not finished.",
           static_cast<int64_t>(active_.size()));
  w.metric("rill_input_records_total", "counter", "Input records of completed batches.", records_);
  w.metric("rill_input_rate_records_per_second", "gauge",
           "Input records of the last completed batch per second of batch interval.",
           last_ ? input_rate(*last_) : 0.0);
  if (last_) {
    w.metric("rill_last_batch_time_seconds", "gauge", "Grid time of the last completed batch.",
             seconds(last_->batch_time));
    w.metric("rill_last_scheduling_delay_seconds", "gauge",
             "Scheduling delay of the last completed batch.", seconds(last_->scheduling_delay()));
    w.metric("rill_last_processing_time_seconds", "gauge",
             "Processing time of the last completed batch.", seconds(last_->processing_delay()));
    w.metric("rill_last_total_delay_seconds", "gauge", "Total delay of the last completed batch.",
             seconds(last_->total_delay()));
  }
  w.histogram("rill_scheduling_delay_seconds",
              "Time from a batch's submission to its first task, completed batches.", scheduling_);
  w.histogram("rill_processing_time_seconds",
              "Time from a batch's first task to its last output, completed batches.", processing_);
  w.histogram("rill_total_delay_seconds", "Scheduling delay plus processing time.", total_);
  w.head("rill_actor_restarts_total", "counter", "Actor restarts by supervisors, by actor kind.");
  for (const auto& [kind, n] : restarts_by_kind_)
    w.value("rill_actor_restarts_total{kind=\"" + label(kind) + "\"}", n);
  int64_t active = 0;
  for (const auto& [name, r] : receivers_) active += r.info.active ? 1 : 0;
  w.metric("rill_receivers_active", "gauge", "Receiver streams with a running instance.", active);
  w.head("rill_receiver_errors_total", "counter", "Errors receivers reported, by stream.");
  for (const auto& [name, r] : receivers_)
    w.value("rill_receiver_errors_total{receiver=\"" + label(name) + "\"}", r.errors);
  w.metric("rill_checkpoints_total", "counter", "Checkpoints of operator state completed.",
           checkpoints_);
  if (last_checkpoint_) {
    w.metric("rill_last_checkpoint_batch_time_seconds", "gauge",
             "Batch time of the last checkpoint.", seconds(last_checkpoint_->batch_time));
    w.metric("rill_last_checkpoint_bytes", "gauge", "Bytes the last checkpoint wrote.",
             last_checkpoint_->bytes);
    w.metric("rill_last_checkpoint_duration_seconds", "gauge", "Wall time of the last checkpoint.",
             last_checkpoint_->duration_ms / 1000.0);
  }
  if (store) {
    w.metric("rill_wal_blocks", "gauge", "Receiver write-ahead log blocks held.",
             store->wal_blocks);
    w.metric("rill_wal_bytes", "gauge", "Bytes of pages the write-ahead log occupies.",
             store->wal_bytes);
    w.metric("rill_state_bytes", "gauge", "Bytes of pages operator state occupies.",
             store->state_bytes);
    w.metric("rill_store_size_bytes", "gauge", "Bytes of pages in use in the checkpoint store.",
             store->used_bytes);
    w.metric("rill_store_file_bytes", "gauge", "Size of the checkpoint store's data file.",
             store->file_bytes);
  }
  return std::move(w.out);
}

std::string JobMetrics::batches_json(std::size_t last) const {
  std::lock_guard lock(mu_);
  auto batch = [this](const BatchInfo& b, const char* status) {
    // A failed batch may have ended before its first task: its times are then left at 0.
    bool ordered =
        b.submission_time <= b.processing_start && b.processing_start <= b.processing_end;
    bool finished = std::string_view(status) == "completed" ||
                    (std::string_view(status) == "failed" && ordered);
    bool started = finished || b.processing_start.count() > 0;
    std::string s =
        "{\"batch_time\":" + std::to_string(b.batch_time.count()) + ",\"status\":\"" + status +
        "\"" + ",\"input_records\":" + std::to_string(b.input_records) +
        ",\"input_rate\":" + json_number(input_rate(b)) +
        ",\"submission_time\":" + std::to_string(b.submission_time.count()) +
        ",\"processing_start\":" + std::to_string(b.processing_start.count()) +
        ",\"processing_end\":" + std::to_string(b.processing_end.count()) +
        ",\"scheduling_delay_ms\":" + delay_json(b.submission_time, b.processing_start, started) +
        ",\"processing_time_ms\":" + delay_json(b.processing_start, b.processing_end, finished) +
        ",\"total_delay_ms\":" + delay_json(b.submission_time, b.processing_end, finished) +
        ",\"failure\":" + (b.failure ? json_quote(*b.failure) : std::string("null")) +
        ",\"restarts\":" + std::to_string(b.restarts) +
        ",\"retried_tasks\":" + std::to_string(b.retried_tasks) +
        ",\"rerun\":" + (b.rerun ? "true" : "false") + ",\"outputs\":[";
    for (std::size_t i = 0; i < b.outputs.size(); ++i)
      s += (i ? "," : "") + output_json(b.outputs[i]);
    return s + "]}";
  };
  std::string s = "{\"batch_interval_ms\":" + std::to_string(interval_.count()) +
                  ",\"started\":" + (started_ ? std::to_string(started_->count()) : "null") +
                  ",\"completed\":" + std::to_string(completed_) +
                  ",\"failed\":" + std::to_string(failed_) +
                  ",\"input_records\":" + std::to_string(records_) + ",\"active\":[";
  bool first = true;
  for (const auto& [t, b] : active_) {
    s += (first ? "" : ",") + batch(b, b.processing_start.count() > 0 ? "processing" : "queued");
    first = false;
  }
  s += "],\"batches\":[";
  std::size_t skip = finished_.size() > last ? finished_.size() - last : 0;
  first = true;
  for (std::size_t i = skip; i < finished_.size(); ++i) {
    const BatchInfo& b = finished_[i];
    s += (first ? "" : ",") + batch(b, b.failure ? "failed" : "completed");
    first = false;
  }
  return s + "]}";
}

std::string JobMetrics::receivers_json() const {
  std::lock_guard lock(mu_);
  std::string s = "{\"receivers\":[";
  bool first = true;
  for (const auto& [name, r] : receivers_) {
    s += std::string(first ? "" : ",") + "{\"name\":" + json_quote(name) +
         ",\"active\":" + (r.info.active ? "true" : "false") +
         ",\"starts\":" + std::to_string(r.info.starts) +
         ",\"errors\":" + std::to_string(r.errors) +
         ",\"last_error\":" + json_quote(r.info.last_error) +
         ",\"last_error_time\":" + std::to_string(r.info.last_error_time.count()) +
         ",\"node\":" + json_quote(r.info.node) + "}";
    first = false;
  }
  return s + "]}";
}

std::string JobMetrics::restarts_json() const {
  std::lock_guard lock(mu_);
  std::string s = "{\"restarts_by_kind\":{";
  bool first = true;
  for (const auto& [kind, n] : restarts_by_kind_) {
    s += (first ? "" : ",") + json_quote(kind) + ":" + std::to_string(n);
    first = false;
  }
  s += "},\"recent\":[";
  first = true;
  for (const auto& r : recent_restarts_) {
    s += std::string(first ? "" : ",") + "{\"kind\":" + json_quote(r.kind) +
         ",\"name\":" + json_quote(r.name) + ",\"reason\":" + json_quote(r.reason) + "}";
    first = false;
  }
  return s + "]}";
}

}  // namespace rill
