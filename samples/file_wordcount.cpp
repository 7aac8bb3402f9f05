// Word count over files that appear in a directory (the seed's textFileStream example).
// Write files elsewhere, or under a dot-name, and rename them into DIR.
#include <rill/rill.hpp>

#include <string>

#include "samples/control_channel.hpp"
#include "samples/run_until_stopped.hpp"
#include "samples/sample_args.hpp"

int main(int argc, char** argv) {
  rill::samples::SampleArgs args(argc, argv,
      std::string("usage: file_wordcount DIR [--batch-ms N] [--duration-s S] [--out PREFIX]\n"
                  "                      [--partitions N] [--log-level L]\n"
                  "Counts the words of the files renamed into DIR after start, each file once,\n"
                  "per batch.\n"
                  "  --partitions N     default 0: the machine's cores\n") +
          rill::samples::kControlUsage);
  auto batch = std::chrono::milliseconds(args.number("batch-ms", 1000));
  auto duration = std::chrono::seconds(args.number("duration-s", 0));
  std::string out = args.text("out", "");
  int partitions = static_cast<int>(args.number("partitions", 0));
  rill::set_log_level(args.text("log-level", "warn"));
  auto control = args.control_flags();
  args.finish(1);

  // Under the crash harness, time moves only when the harness says so.
  std::shared_ptr<rill::ManualClock> clock;
  if (control.enabled())
    clock = std::make_shared<rill::ManualClock>(rill::Millis(control.clock_start_ms));
  rill::StreamingContext ssc(batch, {.clock = clock, .partitions = partitions});
  auto counts = ssc.text_file_stream(args.positional[0])
                    .flat_map([](const std::string& l) { return rill::split(l, ' '); })
                    .map([](const std::string& w) { return std::pair{w, int64_t{1}}; })
                    .reduce_by_key(std::plus<>{});
  counts.print();
  if (!out.empty()) counts.save_as_text_files(out);
  ssc.start();
  if (clock) return rill::samples::run_controlled(ssc, *clock, control);
  return rill::samples::run_until_stopped(ssc, duration);
}
