// Thermostat readings ("DEVICE CELSIUS") from a NATS JetStream subject, averaged per device
// over a sliding window: the seed's Event Hubs example on a real broker, exactly once.
#include <rill/rill.hpp>

#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>

#include "samples/control_channel.hpp"
#include "samples/jetstream_demo.hpp"
#include "samples/run_until_stopped.hpp"
#include "samples/sample_args.hpp"

namespace {

using Sum = std::pair<int64_t, int64_t>;  // (tenths of a degree, readings): exact, unlike doubles

// "kitchen 21.5" -> (kitchen, (215, 1)); anything else throws, and becomes a dead letter.
std::pair<std::string, Sum> parse(const rill::JetStreamMessage& m) {
  std::istringstream in(m.payload);
  std::string device;
  double celsius = 0;
  if (!(in >> device >> celsius) || !(in >> std::ws).eof() || !std::isfinite(celsius))
    throw std::invalid_argument("not 'DEVICE CELSIUS'");
  return {device, {std::llround(celsius * 10), 1}};
}

}  // namespace

int main(int argc, char** argv) {
  rill::samples::SampleArgs args(
      argc, argv,
      std::string(
          "usage: thermostat [--url URL] [--stream S] [--subject SUBJ] [--batch-ms N]\n"
          "                  [--window-ms W] [--slide-ms S] [--duration-s S] [--out PREFIX]\n"
          "                  [--checkpoint CKDIR] [--partitions N] [--demo] [--log-level L]\n"
          "Averages thermostat readings 'DEVICE CELSIUS' published to SUBJ (default\n"
          "thermostat.readings) in JetStream stream S (default thermostat) at URL (default\n"
          "nats://127.0.0.1:4222) per device over the last W ms (default 5000), every S ms\n"
          "(default the batch, 1000). Malformed readings are printed as dead letters.\n"
          "  --checkpoint CKDIR exactly once across restarts: each batch's stream sequences\n"
          "                     are recorded in CKDIR; a restart continues after them\n"
          "  --demo             publish demo readings (creating the stream, and starting\n"
          "                     nats-server -js on a temporary store if none answers)\n") +
          rill::samples::kControlUsage,
      {"demo"});
  std::string url = args.text("url", "nats://127.0.0.1:4222");
  std::string stream = args.text("stream", "thermostat");
  std::string subject = args.text("subject", "thermostat.readings");
  auto batch = std::chrono::milliseconds(args.number("batch-ms", 1000));
  auto window = std::chrono::milliseconds(args.number("window-ms", 5000));
  auto slide = std::chrono::milliseconds(args.number("slide-ms", batch.count()));
  auto duration = std::chrono::seconds(args.number("duration-s", 0));
  std::string out = args.text("out", "");
  std::string checkpoint = args.text("checkpoint", "");
  int partitions = static_cast<int>(args.number("partitions", 0));
  bool demo = args.flag("demo");
  rill::set_log_level(args.text("log-level", "warn"));
  auto control = args.control_flags();
  args.finish(0);

  std::unique_ptr<rill::samples::JetStreamDemo> publisher;
  if (demo) publisher = std::make_unique<rill::samples::JetStreamDemo>(url, stream, subject);
  std::shared_ptr<rill::ManualClock> clock;  // under the crash harness, time moves on command
  if (control.enabled())
    clock = std::make_shared<rill::ManualClock>(rill::Millis(control.clock_start_ms));
  auto define = [&] {
    auto ssc = std::make_unique<rill::StreamingContext>(
        batch, rill::ContextOptions{.clock = clock, .partitions = partitions});
    auto readings = rill::jetstream_stream(*ssc, {.url = url, .stream = stream, .subject = subject})
                        .map([](const rill::JetStreamMessage& m) { return parse(m); });
    readings.dead_letters().print();
    auto add = [](Sum a, Sum b) { return Sum{a.first + b.first, a.second + b.second}; };
    auto sub = [](Sum a, Sum b) { return Sum{a.first - b.first, a.second - b.second}; };
    auto has_readings = [](const std::pair<std::string, Sum>& kv) { return kv.second.second > 0; };
    // The inverse form keeps one running sum per device; it needs checkpoints for its state.
    auto sums = checkpoint.empty()
                    ? readings.reduce_by_key_and_window(add, window, slide)
                    : readings.reduce_by_key_and_window(add, sub, window, slide, 0, has_readings);
    auto averages = sums.map_values([](Sum s) {
      char text[32];
      std::snprintf(text, sizeof text, "%.2f",
                    static_cast<double>(s.first) / 10.0 / static_cast<double>(s.second));
      return std::string(text);
    });
    averages.print();
    if (!out.empty()) averages.save_as_text_files(out);
    return ssc;
  };
  auto ssc =
      checkpoint.empty() ? define() : rill::StreamingContext::get_or_create(checkpoint, define);
  ssc->start();
  if (clock) return rill::samples::run_controlled(*ssc, *clock, control);
  return rill::samples::run_until_stopped(*ssc, duration);
}
