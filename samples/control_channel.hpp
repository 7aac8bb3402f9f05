// The crash harness's control channel: a sample started with --control R,W runs on a
// ManualClock that a test advances with commands over two inherited fds. Call from main.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdlib>
#include <rill/rill.hpp>
#include <string>
#include <string_view>

#include "samples/sample_args.hpp"

namespace rill::samples {

/// Speaks the control protocol on fds flags.read_fd (commands) and flags.write_fd (replies),
/// one line each. It first replies "ready <now_ms>" (the sources have started: what arrives
/// from now on is new), then serves commands until "stop" or the end of the commands:
///   advance <ms>  moves the clock by ms, then waits (at most batch_timeout per batch) until
///                 every batch due by the new now has completed; replies "ok <now_ms>"
///   stop          stops gracefully (all received data processed); replies "bye"
/// Anything that goes wrong (a bad command, a batch not done in time, a failed job) replies
/// "error <text>"; the harness decides what follows. The end of the commands (the harness
/// died) stops gracefully too. Returns the process's exit code: 0, or 1 when the job failed.
///
/// Batches lie on multiples of the interval (the runtime anchors the job's zero time at
/// floor(start / interval) * interval), so the first due is the grid point after clock_start.
/// REQUIRES: ssc runs on clock and was started.
inline int run_controlled(StreamingContext& ssc, ManualClock& clock, const ControlFlags& flags,
                          Millis batch_timeout = Millis{30000}) {
  // Replies must fail as errors (EPIPE), not kill the process, when the harness is gone.
  std::signal(SIGPIPE, SIG_IGN);
  for (int fd : {flags.read_fd, flags.write_fd}) ::fcntl(fd, F_SETFD, FD_CLOEXEC);
  auto reply = [&flags](std::string line) {
    line += '\n';
    for (size_t done = 0; done < line.size();) {
      ssize_t n = ::write(flags.write_fd, line.data() + done, line.size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      done += static_cast<size_t>(n);
    }
  };
  const Millis interval = ssc.batch_interval();
  Millis next_batch = (clock.now() / interval) * interval + interval;

  auto advance = [&](std::string_view arg) {
    char* end = nullptr;
    std::string text(arg);
    long long ms = std::strtoll(text.c_str(), &end, 10);
    if (text.empty() || *end != '\0' || ms < 0)
      return reply("error advance wants ms >= 0, got '" + text + "'");
    clock.advance(Millis{ms});
    for (; next_batch <= clock.now(); next_batch += interval) {
      if (ssc.await_batch(next_batch, batch_timeout)) continue;
      Millis failed = next_batch;
      next_batch += interval;  // reported once; the next advance waits for later batches
      return reply("error batch " + std::to_string(failed.count()) +
                   " did not complete: " + (ssc.is_stopped() ? "the job stopped" : "timed out"));
    }
    reply("ok " + std::to_string(clock.now().count()));
  };
  auto stop = [&]() {
    try {
      ssc.stop(/*stop_gracefully=*/true);
    } catch (const std::exception& e) {
      reply(std::string("error ") + e.what());
      return 1;
    }
    reply("bye");
    return 0;
  };

  reply("ready " + std::to_string(clock.now().count()));
  std::string buffer;
  char chunk[4096];
  for (;;) {
    size_t nl;
    while ((nl = buffer.find('\n')) != std::string::npos) {
      std::string line = buffer.substr(0, nl);
      buffer.erase(0, nl + 1);
      if (line == "stop") return stop();
      if (line.rfind("advance ", 0) == 0)
        advance(std::string_view(line).substr(8));
      else
        reply("error unknown command '" + line + "'");
    }
    ssize_t n = ::read(flags.read_fd, chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return stop();  // the harness is gone
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace rill::samples
