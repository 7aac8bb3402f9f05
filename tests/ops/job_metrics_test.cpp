// JobMetrics without a runtime: listener events in, Prometheus text and JSON out.
#include <catch2/catch.hpp>

#include <cstring>
#include <set>
#include <string>

#include "dataflow/job_metrics.hpp"

using namespace std::chrono_literals;
using rill::Millis;

namespace {

rill::BatchInfo batch(Millis t, int64_t records, Millis sched, Millis proc) {
  rill::BatchInfo b;
  b.batch_time = t;
  b.input_records = records;
  b.submission_time = t;
  b.processing_start = t + sched;
  b.processing_end = t + sched + proc;
  return b;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

}  // namespace

TEST_CASE("job metrics count batches and records and keep the last batch's delays") {
  rill::JobMetrics m(1000ms);
  m.on_streaming_started(500ms);
  m.on_batch_completed(batch(1000ms, 10, 2ms, 30ms));
  m.on_batch_completed(batch(2000ms, 40, 5ms, 300ms));
  rill::BatchInfo bad = batch(3000ms, 7, 1ms, 1ms);
  bad.failure = "stage 2 at 3000 ms: boom";
  m.on_batch_failed(bad);
  CHECK(m.batches_completed() == 2);
  CHECK(m.batches_failed() == 1);
  CHECK(m.input_records() == 50);  // failed batches' records are not counted as processed

  std::string text = m.prometheus_text();
  CHECK(has(text, "# TYPE rill_batches_completed_total counter\nrill_batches_completed_total 2\n"));
  CHECK(has(text, "rill_batches_failed_total 1\n"));
  CHECK(has(text, "rill_input_records_total 50\n"));
  CHECK(has(text, "rill_input_rate_records_per_second 40\n"));
  CHECK(has(text, "rill_last_batch_time_seconds 2\n"));
  CHECK(has(text, "rill_last_scheduling_delay_seconds 0.005\n"));
  CHECK(has(text, "rill_last_processing_time_seconds 0.3\n"));
  CHECK(has(text, "rill_last_total_delay_seconds 0.305\n"));
  CHECK(has(text, "rill_start_time_seconds 0.5\n"));
  // Epoch times keep their milliseconds.
  rill::JobMetrics epoch(1000ms);
  epoch.on_batch_completed(batch(1795740000500ms, 1, 1ms, 1ms));
  CHECK(has(epoch.prometheus_text(), "rill_last_batch_time_seconds 1795740000.5\n"));
  // Histograms are cumulative: 30 ms falls in le=0.05, 300 ms in le=0.5.
  CHECK(has(text, "# TYPE rill_processing_time_seconds histogram\n"));
  CHECK(has(text, "rill_processing_time_seconds_bucket{le=\"0.025\"} 0\n"));
  CHECK(has(text, "rill_processing_time_seconds_bucket{le=\"0.05\"} 1\n"));
  CHECK(has(text, "rill_processing_time_seconds_bucket{le=\"0.5\"} 2\n"));
  CHECK(has(text, "rill_processing_time_seconds_bucket{le=\"+Inf\"} 2\n"));
  CHECK(has(text, "rill_processing_time_seconds_sum 0.33\n"));
  CHECK(has(text, "rill_processing_time_seconds_count 2\n"));
  CHECK(has(text, "rill_scheduling_delay_seconds_count 2\n"));
  CHECK(has(text, "rill_total_delay_seconds_count 2\n"));
  // No store: no store gauges.
  CHECK_FALSE(has(text, "rill_wal_bytes"));

  std::string json = m.batches_json();
  CHECK(has(json, "\"batch_interval_ms\":1000,\"started\":500,\"completed\":2,\"failed\":1"));
  CHECK(
      has(json,
          "{\"batch_time\":2000,\"status\":\"completed\",\"input_records\":40,\"input_rate\":40"));
  CHECK(has(json, "\"scheduling_delay_ms\":5,\"processing_time_ms\":300,\"total_delay_ms\":305"));
  CHECK(has(json, "\"status\":\"failed\""));
  CHECK(has(json, "\"failure\":\"stage 2 at 3000 ms: boom\""));
  // last=1: only the newest finished batch.
  std::string one = m.batches_json(1);
  CHECK_FALSE(has(one, "\"batch_time\":1000"));
  CHECK(has(one, "\"batch_time\":3000"));
}

TEST_CASE("job metrics track active batches and their output operations") {
  rill::JobMetrics m(1000ms);
  rill::BatchInfo b;
  b.batch_time = 1000ms;
  b.submission_time = 1000ms;
  b.input_records = 3;
  m.on_batch_submitted(b);
  std::string json = m.batches_json();
  CHECK(has(json, "\"active\":[{\"batch_time\":1000,\"status\":\"queued\""));
  CHECK(has(json, "\"scheduling_delay_ms\":null"));
  CHECK(has(m.prometheus_text(), "rill_batches_active 1\n"));

  b.processing_start = 1004ms;
  m.on_batch_started(b);
  CHECK(has(m.batches_json(), "\"status\":\"processing\",\"input_records\":3"));
  rill::OutputOperationInfo o;
  o.batch_time = 1000ms;
  o.id = 0;
  o.name = "foreach_batch-0";
  o.start_time = 1005ms;
  m.on_output_operation_started(o);
  CHECK(has(m.batches_json(),
            "\"outputs\":[{\"id\":0,\"name\":\"foreach_batch-0\",\"start_time\":1005,"
            "\"end_time\":0,\"duration_ms\":null,\"failure\":null}]"));
  o.end_time = 1012ms;
  m.on_output_operation_completed(o);

  // The completion's info has no outputs: the ones seen while it ran are kept.
  b.processing_end = 1012ms;
  m.on_batch_completed(b);
  json = m.batches_json();
  CHECK(has(json, "\"active\":[]"));
  CHECK(has(json, "\"end_time\":1012,\"duration_ms\":7,\"failure\":null"));
  CHECK(has(m.prometheus_text(), "rill_batches_active 0\n"));
}

TEST_CASE("job metrics keep a bounded history") {
  rill::JobMetrics m(100ms, 3);
  for (int i = 1; i <= 10; ++i) m.on_batch_completed(batch(Millis{i * 100}, i, 1ms, 1ms));
  std::string json = m.batches_json(100);
  CHECK_FALSE(has(json, "\"batch_time\":700,"));
  CHECK(has(json, "\"batch_time\":800,"));
  CHECK(has(json, "\"batch_time\":1000,"));
  CHECK(m.batches_completed() == 10);  // counters cover the whole run
  CHECK(m.input_records() == 55);
  // A batch whose end never came does not grow the active set past the bound either.
  for (int i = 1; i <= 10; ++i) {
    rill::BatchInfo b;
    b.batch_time = Millis{5000 + i};
    m.on_batch_submitted(b);
  }
  CHECK(has(m.prometheus_text(), "rill_batches_active 3\n"));
}

TEST_CASE("job metrics report receivers, restarts by kind, checkpoints and the store") {
  rill::JobMetrics m(1000ms);
  auto receiver = [](std::string name, bool active, int starts) {
    rill::ReceiverInfo r;
    r.name = std::move(name);
    r.active = active;
    r.starts = starts;
    return r;
  };
  m.on_receiver_started(receiver("lines", true, 1));
  m.on_receiver_error("lines", "connection refused: \"localhost\":9999");
  m.on_receiver_started(receiver("events", true, 2));
  m.on_receiver_stopped(receiver("events", false, 2));
  m.on_actor_restarted("stage", "stage-1-0", "killed");
  m.on_actor_restarted("stage", "stage-1-1", "killed");
  m.on_actor_restarted("receiver", "receiver-lines", "error");
  m.on_checkpoint_completed({.batch_time = 4000ms, .bytes = 1234, .keys = 5, .duration_ms = 2.5});

  std::string rec = m.receivers_json();
  CHECK(has(rec, "{\"name\":\"events\",\"active\":false,\"starts\":2,\"errors\":0"));
  CHECK(has(rec,
            "{\"name\":\"lines\",\"active\":true,\"starts\":1,\"errors\":1,"
            "\"last_error\":\"connection refused: \\\"localhost\\\":9999\""));
  std::string restarts = m.restarts_json();
  CHECK(has(restarts, "\"restarts_by_kind\":{\"receiver\":1,\"stage\":2}"));
  CHECK(has(restarts, "{\"kind\":\"stage\",\"name\":\"stage-1-0\",\"reason\":\"killed\"}"));

  std::string text = m.prometheus_text(rill::StoreStats{.wal_blocks = 7,
                                                        .wal_bytes = 8192,
                                                        .state_bytes = 4096,
                                                        .used_bytes = 65536,
                                                        .file_bytes = 1 << 20});
  CHECK(has(text, "rill_receivers_active 1\n"));
  CHECK(has(text, "rill_receiver_errors_total{receiver=\"lines\"} 1\n"));
  CHECK(has(text, "rill_actor_restarts_total{kind=\"stage\"} 2\n"));
  CHECK(has(text, "rill_actor_restarts_total{kind=\"receiver\"} 1\n"));
  CHECK(has(text, "rill_checkpoints_total 1\n"));
  CHECK(has(text, "rill_last_checkpoint_batch_time_seconds 4\n"));
  CHECK(has(text, "rill_last_checkpoint_bytes 1234\n"));
  CHECK(has(text, "rill_last_checkpoint_duration_seconds 0.0025\n"));
  CHECK(has(text, "rill_wal_blocks 7\n"));
  CHECK(has(text, "rill_wal_bytes 8192\n"));
  CHECK(has(text, "rill_state_bytes 4096\n"));
  CHECK(has(text, "rill_store_size_bytes 65536\n"));
  CHECK(has(text, "rill_store_file_bytes 1048576\n"));
}

TEST_CASE("every Prometheus sample line names a declared metric") {
  rill::JobMetrics m(1000ms);
  m.on_batch_completed(batch(1000ms, 1, 1ms, 1ms));
  m.on_actor_restarted("sink", "sink-x", "why");
  std::string text = m.prometheus_text(rill::StoreStats{});
  std::set<std::string> declared;
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    REQUIRE(end != std::string::npos);  // every line ends with a newline
    std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.rfind("# TYPE ", 0) == 0) {
      declared.insert(line.substr(7, line.find(' ', 7) - 7));
      continue;
    }
    if (line.rfind("#", 0) == 0) continue;
    std::string name = line.substr(0, line.find_first_of("{ "));
    for (const char* suffix : {"_bucket", "_sum", "_count"})
      if (!declared.count(name) && name.size() > strlen(suffix) &&
          name.compare(name.size() - strlen(suffix), strlen(suffix), suffix) == 0)
        name = name.substr(0, name.size() - strlen(suffix));
    INFO(line);
    CHECK(declared.count(name) == 1);
  }
}
