// The DAG signature a job is stored with, and the diff a restart with another program sees.
#include <catch2/catch.hpp>

#include "dataflow/config_error.hpp"
#include "dataflow/fingerprint.hpp"
#include "dataflow/streaming_context.hpp"

using namespace std::chrono_literals;

namespace {

// The word count with a windowed count, as a job would define it; `variant` changes it.
rill::DagSignature build(int variant) {
  rill::StreamingContext ssc(1000ms, {.partitions = 2});
  auto q = std::make_shared<rill::BatchQueue<std::string>>();
  auto words = ssc.queue_stream(q).name("lines").flat_map([](const std::string& l) { return rill::split(l); }).name("words");
  auto pairs = words.map([](const std::string& w) { return std::pair{w, int64_t{1}}; }).name("pairs");
  auto window = variant == 2 ? 5000ms : 3000ms;
  auto counts = pairs.reduce_by_key_and_window(std::plus<>{}, std::minus<>{}, window).name("windowed");
  counts.print();
  if (variant == 1) counts.filter([](const auto& kv) { return kv.second > 1; }).name("frequent").print();
  if (variant == 3) pairs.update_state_by_key([](const std::vector<int64_t>& v, const std::optional<int64_t>& s) {
    return std::optional<int64_t>(s.value_or(0) + static_cast<int64_t>(v.size()));
  }).name("totals").print();
  return rill::DagSignature::of(ssc.graph());
}

}  // namespace

TEST_CASE("the same program gives the same signature, and its text form round-trips") {
  auto a = build(0), b = build(0);
  CHECK(a.fingerprint() == b.fingerprint());
  auto parsed = rill::DagSignature::from_text(a.to_text());
  REQUIRE(parsed.is_ok());
  CHECK(parsed->to_text() == a.to_text());
  CHECK(a.to_text().find("stream\twords\tflat_map\tstring\t") != std::string::npos);
  CHECK(a.to_text().find("length=3000 ms") != std::string::npos);
}

TEST_CASE("adding a stateless operator and an output keeps the stored state") {
  auto d = rill::diff(build(0), build(1));
  CHECK(d.keeps_state());
  REQUIRE(d.added.size() == 1);
  CHECK(d.added[0].find("'frequent' (filter") != std::string::npos);
  CHECK(d.removed.empty());
  CHECK(d.changed.empty());
}

TEST_CASE("a changed window or a new stateful stream is refused with the difference listed") {
  auto changed = rill::diff(build(0), build(2));
  CHECK_FALSE(changed.keeps_state());
  REQUIRE(changed.changed.size() == 1);
  CHECK(changed.changed[0].find("length=3000 ms") != std::string::npos);
  CHECK(changed.changed[0].find("length=5000 ms") != std::string::npos);
  std::string message = changed.describe("/tmp/ck");
  CHECK(message.find("changed 'windowed'") != std::string::npos);
  CHECK(message.find("/tmp/ck") != std::string::npos);

  auto stateful = rill::diff(build(0), build(3));
  CHECK_FALSE(stateful.keeps_state());
  auto removed = rill::diff(build(3), build(0));
  CHECK_FALSE(removed.keeps_state());
  REQUIRE(removed.removed.size() == 1);
  CHECK(removed.removed[0].find("'totals' (update_state_by_key") != std::string::npos);
}

TEST_CASE("a malformed stored signature and a bad stream name are clear errors") {
  auto bad = rill::DagSignature::from_text("interval\t1000\nstream\tonly-two-fields\n");
  REQUIRE_FALSE(bad.is_ok());
  CHECK(bad.status().code() == rill::Errc::corrupt);
  CHECK(bad.status().message().find("line 2") != std::string::npos);
  rill::StreamingContext ssc(1000ms);
  auto q = std::make_shared<rill::BatchQueue<int>>();
  CHECK_THROWS_AS(ssc.queue_stream(q).name("a\tb"), rill::ConfigError);
}
