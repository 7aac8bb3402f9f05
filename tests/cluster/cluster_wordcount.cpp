// The cluster suite's job: word counts, running totals (update_state_by_key) and an inverse
// window over files renamed into DIR, saved as text. The same binary runs as one process or as
// any node of a cluster (rill::run); with --control R,W it runs on a manual clock the test
// advances (samples/control_channel.hpp), so batch times and outputs are exact. With
// --receiver-lines N a receiver stream "rx" also stores N fixed lines once, counted into
// running totals (where its receiver runs is the config's `receivers`). The counts also go to
// a Sink (output_to) that writes one directory per batch and partition, its marker naming
// the node that wrote it: on a cluster, the worker that computed the partition.
#include <rill/rill.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "samples/control_channel.hpp"
#include "tests/support/running_total.hpp"

namespace {

// A reliable receiver of `lines` fixed lines of words rx0..rx6, 100 a block: a restarted one
// continues after the last block the write-ahead log holds.
class FixedLines final : public rill::Receiver<std::string> {
 public:
  explicit FixedLines(long long lines) : lines_(lines) {}
  void on_start() override {
    start_thread([this] {
      for (auto i = static_cast<long long>(last_durable_offset().value_or(0)); i < lines_;
           i += 100) {
        std::vector<std::string> out;
        for (long long k = i; k < std::min(lines_, i + 100); ++k)
          out.push_back("rx" + std::to_string(k % 7) + " rx" + std::to_string(k % 3));
        if (!store(std::move(out), static_cast<uint64_t>(std::min(lines_, i + 100)))) return;
      }
    });
  }
  void on_stop() override {}

 private:
  long long lines_;
};

// PREFIX-<ms>-p<partition>/part-00000 (the records) and _SUCCESS (the output hash, then the
// node that wrote it), written under a temporary name and renamed: the rename is the commit
// and the marker in one. A second commit of one key throws: exactly-once would be broken.
class DirectorySink final : public rill::TypedSink<std::pair<std::string, int64_t>> {
 public:
  explicit DirectorySink(std::string prefix) : prefix_(std::move(prefix)) {}
  void open(const rill::SinkContext& c) override { node_ = c.node; }
  void write(rill::Millis t, int p, const std::vector<record_type_t>& rows) override {
    std::string text;
    for (const auto& r : rows) text += rill::to_text(r) + "\n";
    staged_[{t, p}] = std::move(text);
  }
  void commit(rill::Millis t, int p, uint64_t hash) override {
    namespace fs = std::filesystem;
    const fs::path dir = dir_of(t, p);
    if (fs::exists(dir)) throw std::logic_error("second commit of " + dir.string());
    const fs::path tmp = dir.string() + ".tmp";
    fs::remove_all(tmp);
    fs::create_directories(tmp);
    std::ofstream(tmp / "part-00000") << staged_[{t, p}];
    std::ofstream(tmp / "_SUCCESS") << hash << "\n" << node_ << "\n";
    fs::rename(tmp, dir);
    staged_.erase({t, p});
  }
  std::optional<uint64_t> committed(rill::Millis t, int p) override {
    std::ifstream in(dir_of(t, p) / "_SUCCESS");
    uint64_t hash = 0;
    if (!(in >> hash)) return std::nullopt;
    return hash;
  }

 private:
  std::filesystem::path dir_of(rill::Millis t, int p) const {
    return prefix_ + "-" + std::to_string(t.count()) + "-p" + std::to_string(p);
  }
  std::string prefix_;
  std::string node_;
  std::map<std::pair<rill::Millis, int>, std::string> staged_;
};

}  // namespace

int main(int argc, char** argv) {
  rill::CommandLine cli(
      argc, argv,
      "usage: cluster_wordcount DIR --out PREFIX [--checkpoint CKDIR]\n"
      "       [--control R,W --clock-start MS] [--extra-output] [--receiver-lines N]\n",
      {"extra-output"});
  std::string out = cli.text("out", "");
  std::string control = cli.text("control", "");
  long long clock_start = cli.number("clock-start", 0);
  bool extra_output = cli.flag("extra-output");  // a different DAG, for the handshake test
  const long long receiver_lines = cli.number("receiver-lines", 0);
  rill::RunOptions run{.batch_interval = std::chrono::milliseconds(1000),
                       .context = {.partitions = 4, .checkpoint_dir = cli.text("checkpoint", "")}};
  run.context.receiver_write_ahead_log = receiver_lines > 0;
  cli.expect_positionals(1, 1);
  rill::samples::ControlFlags flags;
  std::shared_ptr<rill::ManualClock> clock;
  if (!control.empty()) {
    if (std::sscanf(control.c_str(), "%d,%d", &flags.read_fd, &flags.write_fd) != 2)
      cli.fail("--control wants two fd numbers R,W, got '" + control + "'");
    flags.clock_start_ms = clock_start;
    clock = std::make_shared<rill::ManualClock>(rill::Millis(clock_start));
    run.context.clock = clock;
    run.drive = [&](rill::StreamingContext& ssc) {
      return rill::samples::run_controlled(ssc, *clock, flags);
    };
  }
  return rill::run(cli, run, [&](rill::StreamingContext& ssc) {
    auto words = ssc.text_file_stream(cli.positionals()[0])
                     .flat_map([](const std::string& l) { return rill::split(l, ' '); })
                     .map([](const std::string& w) {
                       return std::pair{w, int64_t{1}};
                     });
    auto counts = words.reduce_by_key(std::plus<>{});
    counts.save_as_text_files(out);
    counts.map([](const std::pair<std::string, int64_t>& c) { return c; })
        .output_to(std::make_shared<DirectorySink>(out + "-db"), "counts-db");
    auto totals = counts.update_state_by_key(rill::test::running_total);
    totals.save_as_text_files(out + "-totals");
    auto window = words.reduce_by_key_and_window(std::plus<>{}, std::minus<>{},
                                                 std::chrono::milliseconds(3000),
                                                 std::chrono::milliseconds(1000));
    window.save_as_text_files(out + "-window");
    if (extra_output) counts.print();
    if (receiver_lines > 0)
      ssc.receiver_stream<std::string>(
             [receiver_lines] { return std::make_unique<FixedLines>(receiver_lines); }, "rx")
          .flat_map([](const std::string& l) { return rill::split(l, ' '); })
          .map([](const std::string& w) {
            return std::pair{w, int64_t{1}};
          })
          .update_state_by_key(rill::test::running_total)
          .save_as_text_files(out + "-rx-totals");
  });
}
