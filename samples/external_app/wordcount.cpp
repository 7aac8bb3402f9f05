// The seed's word count as an application built against an installed rill (README: use rill
// from your own project). Deterministic: queued lines, a manual clock, three batches.
#include <rill/rill.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>

using namespace std::chrono_literals;
using Counts = std::vector<std::pair<std::string, int64_t>>;

int main() {
  std::printf("rill %s\n", RILL_VERSION_STRING);
  rill::set_log_level("warn");
  auto clock = std::make_shared<rill::ManualClock>();
  rill::StreamingContext ssc(1s, {.clock = clock, .partitions = 2});
  auto lines = std::make_shared<rill::BatchQueue<std::string>>();
  lines->push({"to be or not to be", "that is the question"});
  lines->push({"to sleep perchance to dream"});
  lines->push({});

  // foreach_batch runs on a runtime thread: results cross to main under a lock.
  std::mutex mu;
  std::map<int64_t, Counts> batches;
  ssc.queue_stream(lines)
      .flat_map([](const std::string& l) { return rill::split(l, ' '); })
      .map([](const std::string& w) {
        return std::pair{w, int64_t{1}};
      })
      .reduce_by_key(std::plus<>{})
      .foreach_batch([&mu, &batches](const Counts& counts, rill::Millis time) {
        Counts sorted = counts;
        std::sort(sorted.begin(), sorted.end());
        std::lock_guard lock(mu);
        batches[time.count()] = std::move(sorted);
      });
  ssc.start();
  for (auto t : {1000ms, 2000ms, 3000ms}) {
    clock->advance(1000ms);
    if (!ssc.await_batch(t)) {
      std::fprintf(stderr, "batch %lld did not finish\n", static_cast<long long>(t.count()));
      return 1;
    }
  }
  ssc.stop();
  std::lock_guard lock(mu);
  for (const auto& [time, counts] : batches) {
    std::printf("batch %lld:", static_cast<long long>(time));
    for (const auto& [word, n] : counts)
      std::printf(" (%s,%lld)", word.c_str(), static_cast<long long>(n));
    std::printf("\n");
  }
  return 0;
}
