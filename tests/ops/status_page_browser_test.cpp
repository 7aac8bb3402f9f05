// The status page in headless Chromium: a job on the real clock serves it, the browser loads it,
// runs its script and dumps the DOM, and every chart must say it drew the batches; then a
// screenshot for the README. Exits 77 (meson: skipped) when no Chromium is installed.
// usage: status_page_browser_test [SCREENSHOT.png]
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <regex>
#include <string>
#include <thread>

#include "dataflow/streaming_context.hpp"
#include "tests/support/manual_run.hpp"

using namespace std::chrono_literals;
using rill::Millis;

namespace {

constexpr int kBatches = 30;  // completed before the browser looks: 6 s of 200 ms batches

struct CompletionCounter : rill::StreamingListener {
  std::mutex mu;
  std::condition_variable cv;
  int completed = 0;
  void on_batch_completed(const rill::BatchInfo&) override {
    {
      std::lock_guard lock(mu);
      ++completed;
    }
    cv.notify_all();
  }
  bool wait_for(int n, Millis timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout, [&] { return completed >= n; });
  }
};

std::string find_browser() {
  if (const char* env = std::getenv("RILL_CHROMIUM"); env && *env) return env;
  for (const char* name : {"chromium", "chromium-browser", "google-chrome"}) {
    std::string cmd = std::string("command -v ") + name + " >/dev/null 2>&1";
    if (std::system(cmd.c_str()) == 0) return name;
  }
  return {};
}

// Runs a shell command and returns its stdout (stderr goes to err_file).
std::string run(const std::string& cmd, int& status) {
  std::string out;
  FILE* p = ::popen(cmd.c_str(), "r");
  if (!p) {
    status = -1;
    return out;
  }
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  status = ::pclose(p);
  return out;
}

int failures = 0;
void check(bool ok, const std::string& what) {
  std::cout << (ok ? "ok: " : "FAILED: ") << what << "\n";
  if (!ok) ++failures;
}

}  // namespace

int main(int argc, char** argv) {
  std::string browser = find_browser();
  if (browser.empty()) {
    std::cout << "SKIP: no Chromium (chromium, chromium-browser, google-chrome or $RILL_CHROMIUM); "
                 "./dev setup chromium installs it (./dev test does)\n";
    return 77;
  }
  std::string screenshot = argc > 1 ? argv[1] : "status_page.png";
  rill::test::ScratchDir dir;  // the browser's profile

  // A word count on the real clock whose input and processing time vary over time, so the
  // timelines and histograms have shape. The sleep stands for work; no test waits on it.
  rill::StreamingContext ssc(200ms, {.partitions = 2,
                                     .app_name = "status_page_browser_test",
                                     .http_port = rill::ContextOptions::kAnyFreePort});
  auto counter = std::make_shared<CompletionCounter>();
  ssc.add_listener(counter);
  ssc.generator_stream<std::string>([](Millis t, int partition) {
       int64_t step = t.count() / 200;
       int lines =
           20 + static_cast<int>((step * 7 + partition * 13) % 40) + (step % 10 < 5 ? 30 : 0);
       std::vector<std::string> out;
       for (int i = 0; i < lines; ++i)
         out.push_back("w" + std::to_string(i % 17) + " w" + std::to_string(i % 5));
       return out;
     })
      .flat_map([](const std::string& l) { return rill::split(l); })
      .map([](const std::string& w) {
        return std::pair{w, int64_t{1}};
      })
      .reduce_by_key(std::plus<>{})
      .foreach_batch([](const std::vector<std::pair<std::string, int64_t>>&, Millis t) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5 + (t.count() / 200) % 9 * 6));
      });
  ssc.start();
  int port = ssc.http_port();
  check(port > 0, "the endpoint listens (port " + std::to_string(port) + ")");
  if (!counter->wait_for(kBatches, Millis{60000})) {
    std::cout << "FAILED: " << kBatches << " batches did not complete within 60 s\n";
    return 1;
  }

  std::string url = "http://127.0.0.1:" + std::to_string(port) + "/?refresh=1000";
  // Virtual time runs the page's timers without waiting for them; it pauses while fetches are
  // in flight, so the first render is in the DOM when it is dumped.
  std::string common = browser + " --headless --no-sandbox --disable-gpu --disable-dev-shm-usage" +
                       " --no-first-run --user-data-dir=" + dir.path + "/profile" +
                       " --virtual-time-budget=3000";
  auto start = std::chrono::steady_clock::now();
  int status = 0;
  std::string dom = run(common + " --dump-dom '" + url + "' 2>" + dir.path + "/dump.err", status);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  start);
  std::cout << "dump-dom took " << ms.count() << " ms, " << dom.size() << " bytes\n";
  check(status == 0 && !dom.empty(), "chromium --dump-dom ran");

  std::smatch m;
  bool rendered = std::regex_search(dom, m, std::regex("data-renders=\"(\\d+)\""));
  std::string renders = rendered ? m[1].str() : "missing";
  check(rendered && std::stoi(renders) >= 1,
        "the page rendered from /api/* (data-renders " + renders + ")");
  std::regex chart("<canvas id=\"((tl|hist)-[a-z_]+)\"[^>]*data-points=\"(\\d+)\"");
  int charts = 0;
  for (auto it = std::sregex_iterator(dom.begin(), dom.end(), chart); it != std::sregex_iterator();
       ++it) {
    ++charts;
    int points = std::stoi((*it)[3]);
    // The input rate and every delay are known for each completed batch.
    check(points >= kBatches,
          "chart " + (*it)[1].str() + " drew " + std::to_string(points) + " points");
  }
  check(charts == 8, "8 charts (4 timelines, 4 histograms), found " + std::to_string(charts));
  check(std::regex_search(dom, std::regex("<tbody><tr><td>1970|<tbody><tr><td>20\\d\\d-")),
        "the completed batches table has rows");
  check(dom.find("(stage)") != std::string::npos, "the supervision tree is shown");
  if (failures) std::cout << "the DOM:\n" << dom << "\n";

  std::filesystem::remove(screenshot);
  run(common + " --hide-scrollbars --window-size=1280,1400 --screenshot=" + screenshot + " '" +
          url + "' >/dev/null 2>" + dir.path + "/shot.err",
      status);
  std::error_code ec;
  auto size = std::filesystem::file_size(screenshot, ec);
  check(!ec && size > 10000,
        "screenshot " + screenshot + " (" + std::to_string(ec ? 0 : size) + " bytes)");

  ssc.stop();
  std::cout << (failures ? "FAILED" : "passed") << "\n";
  return failures ? 1 : 0;
}
