// socket_text_stream: line splitting, a loopback line server, reconnection and word counts.
// Every wait is bounded: loop on the buffer or the error list until a deadline.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>

#include "dataflow/config_error.hpp"
#include "dataflow/sources/socket_text.hpp"
#include "dataflow/streaming_context.hpp"
#include "tests/support/local_run.hpp"

using namespace std::chrono_literals;
using rill::Millis;

namespace {

using Steady = std::chrono::steady_clock;
constexpr auto kWait = 10s;  // upper bound of every wait; a passing run needs milliseconds

// A line server on 127.0.0.1. Port 0 picks an ephemeral port. Serves one connection at a time.
class LineServer {
 public:
  explicit LineServer(int port = 0) {
    listen_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    REQUIRE(listen_ >= 0);
    int one = 1;  // rebinding the port of a server just closed must not wait for TIME_WAIT
    ::setsockopt(listen_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    REQUIRE(::bind(listen_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    REQUIRE(::listen(listen_, 4) == 0);
    socklen_t len = sizeof addr;
    REQUIRE(::getsockname(listen_, reinterpret_cast<sockaddr*>(&addr), &len) == 0);
    port_ = ntohs(addr.sin_port);
  }
  ~LineServer() { close_all(); }
  LineServer(const LineServer&) = delete;
  LineServer& operator=(const LineServer&) = delete;

  int port() const { return port_; }
  /// Waits for the receiver to connect; false after kWait.
  bool accept_one() {
    pollfd p{listen_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(std::chrono::milliseconds(kWait).count())) != 1) return false;
    conn_ = ::accept4(listen_, nullptr, nullptr, SOCK_CLOEXEC);
    return conn_ >= 0;
  }
  void send(std::string_view bytes) {
    while (!bytes.empty()) {
      ssize_t n = ::send(conn_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
      REQUIRE(n > 0);
      bytes.remove_prefix(static_cast<size_t>(n));
    }
  }
  void close_connection() {
    if (conn_ >= 0) ::close(conn_);
    conn_ = -1;
  }
  void close_all() {
    close_connection();
    if (listen_ >= 0) ::close(listen_);
    listen_ = -1;
  }

 private:
  int listen_ = -1;
  int conn_ = -1;
  int port_ = 0;
};

// A SocketTextReceiver on 127.0.0.1:port run through its slot, as the receiver actor does.
class Harness {
 public:
  Harness(int port, std::shared_ptr<rill::Clock> clock, rill::SocketBackoff backoff)
      : clock_(std::move(clock)), source_("socket-test", [port, backoff] {
          return std::make_unique<rill::SocketTextReceiver>("127.0.0.1", port, backoff);
        }) {
    source_.start(rill::SourceContext{clock_.get(), 0ms, 1000ms});
    slot().set_handlers([](std::string) {}, [this](std::string m) {
      std::lock_guard lock(mu_);
      errors_.push_back(std::move(m));
      cv_.notify_all();
    });
    slot().start();
  }
  ~Harness() { slot().stop(); }

  rill::ReceiverSlot& slot() { return *source_.receiver_slot(); }
  /// Takes what arrived until at least n lines were taken in all or kWait passed.
  const std::vector<std::string>& wait_lines(size_t n) {
    const auto deadline = Steady::now() + kWait;
    for (;;) {
      auto taken = source_.take(clock_->now() + 1ms, 1);
      const auto& part = rill::part_cast<std::string>(taken.parts.at(0));
      lines_.insert(lines_.end(), part.begin(), part.end());
      if (lines_.size() >= n || Steady::now() > deadline) return lines_;
      std::this_thread::sleep_for(2ms);
    }
  }
  /// Waits until at least n errors were reported or kWait passed; returns a copy.
  std::vector<std::string> wait_errors(size_t n) {
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, kWait, [&] { return errors_.size() >= n; });
    return errors_;
  }
  /// Waits until n reported errors contain text or kWait passed; returns how many do.
  size_t wait_errors_with(const std::string& text, size_t n) {
    std::unique_lock lock(mu_);
    auto matching = [&] {
      return static_cast<size_t>(std::count_if(errors_.begin(), errors_.end(), [&](const auto& e) {
        return e.find(text) != std::string::npos;
      }));
    };
    cv_.wait_for(lock, kWait, [&] { return matching() >= n; });
    return matching();
  }

 private:
  std::shared_ptr<rill::Clock> clock_;
  rill::ReceiverSource<std::string> source_;
  std::vector<std::string> lines_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<std::string> errors_;
};

int free_port() {
  LineServer probe;
  return probe.port();  // closed on return: nothing listens there any more
}

}  // namespace

TEST_CASE("LineSplitter gives the same lines however the bytes are cut") {
  const std::string text = "hello\nwor\r\nld\r\n\nx\ry\n\r\nlast\r";
  const std::vector<std::string> expected{"hello", "wor", "ld", "", "x\ry", "", "last"};
  auto split = [](const std::vector<std::string_view>& pieces) {
    rill::LineSplitter s;
    std::vector<std::string> out;
    for (auto p : pieces) s.feed(p, out);
    std::string last;
    if (s.finish(last)) out.push_back(last);
    return out;
  };
  std::string_view all(text);
  for (size_t i = 0; i <= text.size(); ++i)
    for (size_t j = i; j <= text.size(); ++j) {
      INFO("cut at " << i << " and " << j);
      REQUIRE(split({all.substr(0, i), all.substr(i, j - i), all.substr(j)}) == expected);
    }
  std::vector<std::string_view> bytes;
  for (size_t i = 0; i < text.size(); ++i) bytes.push_back(all.substr(i, 1));
  CHECK(split(bytes) == expected);
  CHECK(split({"a\n"}) == std::vector<std::string>{"a"});  // no empty line after the last '\n'
  CHECK(split({}).empty());
}

TEST_CASE("lines written at awkward places arrive exactly as sent") {
  LineServer server;
  Harness h(server.port(), std::make_shared<rill::SystemClock>(), {1000ms, 2000ms});
  REQUIRE(server.accept_one());
  server.send("first\nhel");
  REQUIRE(h.wait_lines(1).size() == 1);
  server.send("lo wor");
  server.send("ld\r");
  server.send("\nthree\nfour\r\nfi");
  REQUIRE(h.wait_lines(4).size() == 4);
  server.send("ve\n");
  server.send("\n");
  server.send("the last line has no newline");
  server.close_connection();
  const std::vector<std::string> expected{"first", "hello world", "three", "four",
                                          "five",  "",            "the last line has no newline"};
  CHECK(h.wait_lines(expected.size()) == expected);
  auto errors = h.wait_errors(1);
  REQUIRE(!errors.empty());
  CHECK_THAT(errors[0], Catch::Contains("127.0.0.1:" + std::to_string(server.port())) &&
                            Catch::Contains("closed by the server"));
}

TEST_CASE("a restarted server: every line exactly once, and the failures are reported") {
  LineServer first;
  const int port = first.port();
  Harness h(port, std::make_shared<rill::SystemClock>(), {10ms, 80ms});
  REQUIRE(first.accept_one());
  first.send("a\nb\n");
  REQUIRE(h.wait_lines(2).size() == 2);
  first.close_all();
  // The close, then at least one refused reconnection while nothing listens.
  auto errors = h.wait_errors(2);
  REQUIRE(errors.size() >= 2);
  CHECK_THAT(errors[0], Catch::Contains("closed by the server"));
  CHECK_THAT(errors[1], Catch::Contains("127.0.0.1:" + std::to_string(port)) &&
                            Catch::Contains("Connection refused"));

  LineServer second(port);
  REQUIRE(second.accept_one());
  second.send("c\nd");
  second.send("\n");
  second.close_connection();
  // The receiver stores a connection's last lines before it reports the close.
  CHECK(h.wait_errors_with("closed by the server", 2) == 2);
  CHECK(h.wait_lines(4) == std::vector<std::string>{"a", "b", "c", "d"});
}

TEST_CASE("reconnection backs off exponentially and stop() interrupts it") {
  const int port = free_port();
  Harness h(port, std::make_shared<rill::SystemClock>(), {10ms, 40ms});
  auto errors = h.wait_errors(5);
  REQUIRE(errors.size() >= 5);
  const char* delays[] = {"retrying in 10 ms", "retrying in 20 ms", "retrying in 40 ms",
                          "retrying in 40 ms", "retrying in 40 ms"};
  for (size_t i = 0; i < 5; ++i) {
    CHECK_THAT(errors[i], Catch::Contains("Connection refused") && Catch::Contains(delays[i]));
  }
  const auto begin = Steady::now();
  h.slot().stop();
  CHECK(Steady::now() - begin < 1s);
}

TEST_CASE("stop() unblocks a receiver waiting for data on an idle connection") {
  LineServer server;
  Harness h(server.port(), std::make_shared<rill::SystemClock>(), {1000ms, 2000ms});
  REQUIRE(server.accept_one());
  server.send("one\n");
  REQUIRE(h.wait_lines(1).size() == 1);  // the thread is now in its read loop, and stays
  const auto begin = Steady::now();
  h.slot().stop();
  CHECK(Steady::now() - begin < 1s);
}

TEST_CASE("under a manual clock, reconnection waits for advance() and the socket does not block it") {
  LineServer first;
  const int port = first.port();
  auto clock = std::make_shared<rill::ManualClock>();
  Harness h(port, clock, {100ms, 2000ms});
  REQUIRE(first.accept_one());
  first.send("a\n");
  REQUIRE(h.wait_lines(1).size() == 1);
  // A connected receiver waits on the network, not on the clock: advance() goes straight on.
  auto begin = Steady::now();
  clock->advance(1000ms);
  CHECK(Steady::now() - begin < 5s);  // the manual clock's settle bound is 10 s
  first.close_all();
  REQUIRE(h.wait_errors_with("closed by the server", 1) == 1);
  // The receiver now sleeps 100 ms of manual time: it reconnects only when the test says so.
  LineServer second(port);
  begin = Steady::now();
  clock->advance(100ms);
  CHECK(Steady::now() - begin < 5s);
  REQUIRE(second.accept_one());
  second.send("b\n");
  CHECK(h.wait_lines(2) == std::vector<std::string>{"a", "b"});
  CHECK(h.wait_errors(1).size() == 1);  // nothing refused: no attempt before the advance
}

TEST_CASE("word counts over a socket stream are exact on the local executor") {
  LineServer server;
  auto clock = std::make_shared<rill::ManualClock>();
  rill::StreamingContext ssc(1000ms, {.clock = clock, .partitions = 2});
  auto lines = ssc.socket_text_stream("127.0.0.1", server.port());
  CHECK(ssc.graph().node(lines.id()).name == "socket-127.0.0.1:" + std::to_string(server.port()));
  std::map<std::string, int64_t> counts;
  lines.flat_map([](const std::string& l) { return rill::split(l, ' '); })
      .map([](const std::string& w) { return std::pair{w, int64_t{1}}; })
      .reduce_by_key(std::plus<>{})
      .foreach_batch([&counts](const auto& batch, Millis) {
        for (const auto& [w, n] : batch) counts[w] += n;
      });

  std::string text;
  std::map<std::string, int64_t> expected;
  for (int i = 0; i < 300; ++i) {
    std::string line = "w" + std::to_string(i % 7) + " v" + std::to_string(i % 3) + " all";
    for (const auto& w : rill::split(line, ' ')) ++expected[w];
    text += line + (i % 2 == 0 ? "\n" : "\r\n");
  }
  auto& [node, source] = ssc.sources().at(0);
  source->start(rill::SourceContext{clock.get(), 0ms, 1000ms});
  rill::ReceiverSlot& slot = *source->receiver_slot();
  slot.start();
  struct StopGuard {
    rill::ReceiverSlot& slot;
    ~StopGuard() { slot.stop(); }
  } guard{slot};

  REQUIRE(server.accept_one());
  for (size_t at = 0; at < text.size(); at += 37) server.send(std::string_view(text).substr(at, 37));
  server.close_connection();
  rill::test::LocalRun run(ssc);
  const auto deadline = Steady::now() + kWait;
  // The manual clock stays at 0, so each batch takes everything received so far.
  while (counts != expected && Steady::now() < deadline) {
    run.step();
    std::this_thread::sleep_for(2ms);
  }
  CHECK(counts == expected);
  (void)node;
}

TEST_CASE("socket_text_stream validates the port and names streams uniquely") {
  rill::StreamingContext ssc(1000ms, {.clock = std::make_shared<rill::ManualClock>()});
  CHECK_THROWS_WITH(ssc.socket_text_stream("localhost", 0), Catch::Contains("port 0"));
  CHECK_THROWS_WITH(ssc.socket_text_stream("localhost", 65536), Catch::Contains("65536"));
  CHECK_THROWS_AS(ssc.socket_text_stream("", 9999), rill::ConfigError);
  auto a = ssc.socket_text_stream("localhost", 9999);
  auto b = ssc.socket_text_stream("localhost", 9999);
  CHECK(ssc.graph().node(a.id()).name == "socket-localhost:9999");
  CHECK(ssc.graph().node(b.id()).name != ssc.graph().node(a.id()).name);
}
