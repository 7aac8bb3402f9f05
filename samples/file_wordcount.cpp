// Word count over files that appear in a directory (the seed's textFileStream example).
// Write files elsewhere, or under a dot-name, and rename them into DIR.
#include <rill/rill.hpp>

#include "samples/run_until_stopped.hpp"
#include "samples/sample_args.hpp"

int main(int argc, char** argv) {
  rill::samples::SampleArgs args(argc, argv,
      "usage: file_wordcount DIR [--batch-ms N] [--duration-s S] [--out PREFIX] [--log-level L]\n"
      "Counts the words of the files renamed into DIR after start, each file once, per batch.\n");
  auto batch = std::chrono::milliseconds(args.number("batch-ms", 1000));
  auto duration = std::chrono::seconds(args.number("duration-s", 0));
  std::string out = args.text("out", "");
  rill::set_log_level(args.text("log-level", "warn"));
  args.finish(1);

  rill::StreamingContext ssc(batch);
  auto counts = ssc.text_file_stream(args.positional[0])
                    .flat_map([](const std::string& l) { return rill::split(l, ' '); })
                    .map([](const std::string& w) { return std::pair{w, int64_t{1}}; })
                    .reduce_by_key(std::plus<>{});
  counts.print();
  if (!out.empty()) counts.save_as_text_files(out);
  ssc.start();
  return rill::samples::run_until_stopped(ssc, duration);
}
