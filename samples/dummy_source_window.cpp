// The seed's DummySource: a receiver that stores (counter, time in ms) every --source-ms,
// batched every --batch-ms and windowed over --window-ms. Seed numbers: 6 values per batch,
// 12 per window. With --sqlite FILE the latest window is also kept in table demo_numbers.
#include <rill/rill.hpp>

#include <algorithm>
#include <iostream>

#include "samples/run_until_stopped.hpp"
#include "samples/sample_args.hpp"

using Reading = std::pair<int, int64_t>;

class DummySource : public rill::Receiver<Reading> {
 public:
  explicit DummySource(rill::Millis period) : period_(period) {}
  void on_start() override { start_thread([this] { receive(); }); }
  void on_stop() override {}

 private:
  void receive() {
    int counter = 0;
    while (!is_stopped()) {
      store({counter, now().count()});
      counter += 1;
      sleep_for(period_);
    }
  }
  rill::Millis period_;
};

int main(int argc, char** argv) {
  rill::samples::SampleArgs args(argc, argv,
      "usage: dummy_source_window [--source-ms 5000] [--batch-ms 30000] [--window-ms 60000]\n"
      "                           [--batches K] [--sqlite FILE] [--checkpoint CKDIR] [--log-level L]\n"
      "Prints each windowed batch: a Time header, then rows `value | time`. Stops after K\n"
      "batches (default: runs until killed). --sqlite FILE: also keep the latest window in\n"
      "table demo_numbers(value, time) of FILE; read it live with\n"
      "  sqlite3 FILE 'SELECT * FROM demo_numbers ORDER BY value'\n");
  rill::Millis source{args.number("source-ms", 5000)};
  rill::Millis batch{args.number("batch-ms", 30000)};
  rill::Millis window{args.number("window-ms", 60000)};
  long long batches = args.number("batches", 0);
  std::string sqlite_file = args.text("sqlite", "");
  std::string checkpoint = args.text("checkpoint", "");
  rill::set_log_level(args.text("log-level", "warn"));
  args.finish(0);

  rill::StreamingContext ssc(batch, {.checkpoint_dir = checkpoint});
  auto stream = ssc.receiver_stream<Reading>([source] { return std::make_unique<DummySource>(source); });
  auto windowed = stream.window(window);
  if (!sqlite_file.empty()) {
    // Each window replaces the table's rows in one transaction, with its commit marker.
    windowed.output_to(rill::sqlite_sink<Reading>(sqlite_file, "demo_numbers", {"value"}, {"value", "time"},
                                                  rill::SqliteMode::replace_each_batch),
                       "demo_numbers");
  }
  windowed.foreach_batch([](std::vector<Reading> rows, rill::Millis t) {
    // Partitions hold interleaved slices of the window; show the rows in arrival order.
    std::sort(rows.begin(), rows.end());
    std::string out = "-------------------------------------------\nTime: " + std::to_string(t.count()) +
                      " ms\n-------------------------------------------\nvalue | time\n";
    for (const auto& [value, time] : rows) out += std::to_string(value) + " | " + std::to_string(time) + "\n";
    std::cout << out << std::endl;
  });
  ssc.start();
  rill::Millis duration = batches > 0 ? rill::Millis{batch.count() * batches + batch.count() / 2} : rill::Millis{0};
  return rill::samples::run_until_stopped(ssc, duration);
}
