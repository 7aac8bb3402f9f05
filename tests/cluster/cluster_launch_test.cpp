// Suite cluster, rill-launch on the real clock: it starts every node of the config, restarts
// a worker SIGKILLed mid-run, and the running totals, per-batch counts and Sink output stay exact.
#include <catch2/catch.hpp>

#include <signal.h>
#include <sys/types.h>

#include <map>
#include <sstream>

#include "tests/cluster/cluster_run.hpp"
#include "tests/support/piped_child.hpp"

using namespace rill::test;  // NOLINT: the suite's helpers

namespace {

using Counts = std::map<std::string, int64_t>;

Counts input_counts(int files) {
  Counts out;
  for (int i = 0; i < files; ++i) {
    std::istringstream in(file_text(i));
    for (std::string w; in >> w;) ++out[w];
  }
  return out;
}

// Lines "(word,n)" summed by word.
void add_lines(const std::vector<std::string>& lines, Counts& into) {
  for (const auto& l : lines) {
    auto comma = l.rfind(',');
    into[l.substr(1, comma - 1)] += std::stoll(l.substr(comma + 1, l.size() - comma - 2));
  }
}

// The running totals of the last complete batch, and the per-batch counts summed over all;
// with `sink`, those the Sink output wrote (counts-db-*) summed over all.
std::pair<Counts, Counts> totals_and_sums(const fs::path& out, Counts* sink = nullptr) {
  Counts totals, sums;
  long long last = -1;
  for (const auto& [dir, lines] : rill::test::read_output_tree(out)) {
    if (dir.find("(incomplete)") != std::string::npos) continue;
    if (dir.rfind("counts-totals-", 0) == 0) {
      long long t = std::stoll(dir.substr(14));
      if (t > last) {
        last = t;
        totals.clear();
        add_lines(lines, totals);
      }
    } else if (dir.rfind("counts-db-", 0) == 0) {
      if (sink) add_lines(lines, *sink);
    } else if (dir.rfind("counts-window-", 0) != 0) {
      add_lines(lines, sums);
    }
  }
  for (auto it = totals.begin(); it != totals.end();)
    it = it->second == 0 ? totals.erase(it) : std::next(it);
  return {totals, sums};
}

}  // namespace

TEST_CASE(
    "rill-launch runs the nodes on the real clock; a worker SIGKILLed is restarted, totals exact") {
  const char* launcher = std::getenv("RILL_LAUNCH");
  REQUIRE(launcher != nullptr);
  Cluster c("10s", "500ms");  // the window (3 s, sliding 1 s) needs a divisor of 1 s
  // The nodes' own arguments; rill-launch adds --config and --node.
  std::vector<std::string> argv{launcher,
                                c.config,
                                "--",
                                app(),
                                (c.tmp.path / "in").string(),
                                "--out",
                                (c.tmp.path / "out" / "counts").string(),
                                "--log-level",
                                "info"};
  rill::test::PipedChild launch(argv);
  // Files count only once the driver's sources started (new files only, as in Spark).
  for (auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);;) {
    const std::string& o = launch.output();
    bool started = false;
    for (size_t p = o.find("started, batch interval"); p != std::string::npos && !started;
         p = o.find("started, batch interval", p + 1)) {
      size_t line = o.rfind('\n', p);
      started = o.compare(line == std::string::npos ? 0 : line + 1, 9, "[driver] ") == 0;
    }
    if (started) break;
    INFO(o);
    REQUIRE(std::chrono::steady_clock::now() < deadline);
    launch.wait_for("\n", std::chrono::milliseconds(100), o.size());
  }
  auto wait_for_totals = [&](int files) {
    Counts expected = input_counts(files);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (totals_and_sums(c.tmp.path / "out").first != expected) {
      INFO(launch.output());
      REQUIRE(std::chrono::steady_clock::now() < deadline);
      launch.wait_for("\n", std::chrono::milliseconds(100), launch.output().size());
    }
  };
  for (int i = 0; i < 3; ++i)
    rill::test::publish_file(c.tmp.path / "in", "f" + std::to_string(i) + ".txt", file_text(i));
  wait_for_totals(3);
  // worker-1's pid, from rill-launch's "worker-1 started (pid N, start 1 ...)".
  const std::string& log = launch.output();
  size_t at = log.find("worker-1 started (pid ");
  REQUIRE(at != std::string::npos);
  pid_t pid = static_cast<pid_t>(std::stol(log.substr(at + 22)));
  ::kill(pid, SIGKILL);
  REQUIRE(launch.wait_for("worker-1 started (pid ", std::chrono::seconds(30), at + 10));
  for (int i = 3; i < kBatches; ++i)
    rill::test::publish_file(c.tmp.path / "in", "f" + std::to_string(i) + ".txt", file_text(i));
  wait_for_totals(kBatches);
  Counts sink;
  auto [totals, sums] = totals_and_sums(c.tmp.path / "out", &sink);
  CHECK(totals == input_counts(kBatches));
  CHECK(sums == input_counts(kBatches));  // every word counted in exactly one batch
  CHECK(sink == sums);                    // and written to the Sink once, by the workers
  check_sink_writers(c.tmp.path / "out", 4);
  launch.signal(SIGTERM);
  auto code = launch.wait(std::chrono::seconds(60));
  INFO(launch.output());
  REQUIRE(code);
  CHECK(*code == 0);
}
