// Cross-node shuffle: buckets of word counts fetched between two nodes over loopback TCP
// through CAF's middleman, as workers fetch them (encode the Fetched envelope, CAF serialises
// the frame, TCP, decode and type-check), with 8 fetches outstanding; against raw TCP moving
// the same bytes between two threads. Each node is its own actor system (its own middleman
// and TCP connection); one process holds both, which costs TCP nothing.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <future>
#include <map>
#include <thread>

#include <caf/all.hpp>
#include <caf/io/all.hpp>

#include "actors/type_ids.hpp"
#include "bench/bench_common.hpp"
#include "bench/text_corpus.hpp"
#include "dataflow/queue_source.hpp"
#include "dataflow/streaming_context.hpp"
#include "net/task_frames.hpp"

namespace {

using namespace std::chrono_literals;
using KV = std::pair<std::string, int64_t>;
using rill::net::Frame;
using rill::actors::fetch_atom;

bool quick = false;
constexpr int kWindow = 8;
int frames() { return quick ? 200 : 2000; }

// Word count's graph: node 3 (reduce_by_key) reads node 2's pairs over exchange edge 0.
struct WordCountJob {
  rill::StreamingContext ssc{1000ms, {.partitions = 2}};
  WordCountJob() {
    auto q = std::make_shared<rill::BatchQueue<std::string>>();
    ssc.queue_stream(q)
        .flat_map([](const std::string& l) { return rill::split(l); })
        .map([](const std::string& w) { return std::pair{w, int64_t{1}}; })
        .reduce_by_key(std::plus<>{})
        .print();
  }
};

// One bucket: a map-side combined partition of 20k distinct words with their counts.
std::vector<KV> bucket() {
  auto corpus = rill::bench::make_corpus(1 << 20, 7);
  std::map<std::string, int64_t, std::less<>> counts;
  rill::bench::count_words<decltype(counts), std::string_view>(corpus.text, counts);
  std::vector<KV> out(counts.begin(), counts.end());
  out.resize(std::min<size_t>(out.size(), 20000));
  return out;
}

const rill::net::FetchRequest kFetch{rill::Millis{1000}, 0, 0, 3, 0, 1};

caf::actor_system_config& node_config(caf::actor_system_config& config) {
  config.load<caf::io::middleman>();
  config.add_message_type<Frame>("rill::net::Frame");
  return config;
}

// The holder: answers each fetch with the bucket, encoded per request as a worker does.
caf::behavior holder(caf::event_based_actor*, const rill::JobGraph* graph, rill::AnyPart part) {
  return {[graph, part](fetch_atom, const Frame& request) {
    auto env = rill::net::decode_envelope(request, *graph, {});
    return rill::net::encode_fetched(*graph, 1, env->id, env->fetch, {true, part, ""});
  }};
}

struct Fetched {
  int64_t records = 0;
  int64_t bytes = 0;
};

// The fetching worker: keeps kWindow fetches outstanding until `total` came back decoded.
caf::behavior fetcher(caf::event_based_actor* self, caf::actor from, const rill::JobGraph* graph, int total,
                      std::shared_ptr<std::promise<Fetched>> done) {
  auto got = std::make_shared<Fetched>();
  auto sent = std::make_shared<int>(0);
  auto received = std::make_shared<int>(0);
  auto ask = std::make_shared<std::function<void()>>();
  *ask = [=] {
    ++*sent;
    self->request(from, caf::infinite, fetch_atom::value, rill::net::encode_fetch(1, *sent, kFetch))
        .then([=](const Frame& reply) {
          auto env = rill::net::decode_envelope(reply, *graph, {});
          got->bytes += static_cast<int64_t>(reply.size());
          if (env) got->records += static_cast<int64_t>(rill::part_cast<KV>(env->fetched.part).size());
          if (++*received == total) {
            done->set_value(*got);
            self->quit();
          } else if (*sent < total) {
            (*ask)();
          }
        });
  };
  for (int i = 0; i < std::min(kWindow, total); ++i) (*ask)();
  return {[](int) {}};
}

void shuffle_rill(benchmark::State& state) {
  WordCountJob job;
  const rill::JobGraph& graph = job.ssc.graph();
  rill::AnyPart part = rill::make_part(bucket());
  caf::actor_system_config config_a, config_b;
  caf::actor_system a(node_config(config_a));
  caf::actor_system b(node_config(config_b));
  for (auto _ : state) {
    auto server = a.spawn(holder, &graph, part);
    auto port = a.middleman().publish(server, 0, "127.0.0.1", true);
    auto remote = b.middleman().remote_actor("127.0.0.1", *port);
    if (!remote) {
      state.SkipWithError("cannot reach the holder");
      return;
    }
    auto done = std::make_shared<std::promise<Fetched>>();
    auto result = done->get_future();
    rill::bench::Stopwatch watch;
    b.spawn(fetcher, *remote, &graph, frames(), done);
    Fetched got = result.get();
    double s = watch.seconds();
    state.SetIterationTime(s);
    rill::bench::report_rate(state, static_cast<double>(got.bytes) / s / 1e6, "MB/s");
    state.counters["records_per_s"] = benchmark::Counter(static_cast<double>(got.records) / s);
    caf::anon_send_exit(server, caf::exit_reason::user_shutdown);
  }
}

// The same bytes over a loopback socket, written by one thread and read by another.
void shuffle_raw_tcp(benchmark::State& state) {
  WordCountJob job;
  Frame frame = rill::net::encode_fetched(job.ssc.graph(), 1, 1, kFetch,
                                          {true, rill::make_part(bucket()), ""});
  for (auto _ : state) {
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listener, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
    socklen_t len = sizeof addr;
    ::getsockname(listener, reinterpret_cast<sockaddr*>(&addr), &len);
    ::listen(listener, 1);
    rill::bench::Stopwatch watch;
    std::thread writer([&] {
      int fd = ::socket(AF_INET, SOCK_STREAM, 0);
      ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr);
      for (int i = 0; i < frames(); ++i)
        for (size_t done = 0; done < frame.size();) {
          ssize_t n = ::write(fd, frame.data() + done, frame.size() - done);
          if (n <= 0) break;
          done += static_cast<size_t>(n);
        }
      ::close(fd);
    });
    int fd = ::accept(listener, nullptr, nullptr);
    std::vector<uint8_t> buffer(1 << 20);
    int64_t bytes = 0;
    for (ssize_t n; (n = ::read(fd, buffer.data(), buffer.size())) > 0;) bytes += n;
    writer.join();
    ::close(fd);
    ::close(listener);
    double s = watch.seconds();
    state.SetIterationTime(s);
    rill::bench::report_rate(state, static_cast<double>(bytes) / s / 1e6, "MB/s");
  }
}

}  // namespace

int main(int argc, char** argv) {
  quick = rill::bench::take_quick_flag(argc, argv);
  return rill::bench::run_benchmarks(argc, argv, [] {
    rill::bench::register_once("shuffle_rill", shuffle_rill);
    rill::bench::register_once("shuffle_raw_tcp", shuffle_raw_tcp);
  });
}
