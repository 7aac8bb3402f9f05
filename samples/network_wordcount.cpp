// The seed's first example: count words in lines from a TCP server (`nc -lk 9999`), per batch.
// --demo serves generated lines from inside the process, so it runs with nothing else.
#include <rill/rill.hpp>

#include "samples/demo_line_server.hpp"
#include "samples/run_until_stopped.hpp"
#include "samples/sample_args.hpp"

using namespace std::chrono_literals;

int main(int argc, char** argv) {
  rill::samples::SampleArgs args(argc, argv,
      "usage: network_wordcount HOST PORT [--batch-ms N] [--duration-s S] [--out PREFIX] [--log-level L]\n"
      "       network_wordcount --demo [same options]\n"
      "Counts the words of each batch of lines read from HOST:PORT (e.g. `nc -lk 9999`) and prints\n"
      "them; --out PREFIX also saves each batch under PREFIX-<ms>/. --duration-s, SIGINT and SIGTERM stop gracefully.\n"
      "  --checkpoint CKDIR  keep progress in CKDIR (a restart resumes on the batch grid)\n"
      "  --wal               with --checkpoint: write received lines to the write-ahead log\n" +
          std::string(rill::samples::kHttpUsage),
      {"demo", "wal"});
  bool demo = args.flag("demo");
  auto batch = std::chrono::milliseconds(args.number("batch-ms", 1000));
  auto duration = std::chrono::seconds(args.number("duration-s", 0));
  std::string out = args.text("out", "");
  std::string checkpoint = args.text("checkpoint", "");
  bool wal = args.flag("wal");
  int http_port = args.http_port();
  rill::set_log_level(args.text("log-level", "warn"));
  args.finish(demo ? 0 : 2);

  std::optional<rill::samples::DemoLineServer> server;
  std::string host = demo ? "127.0.0.1" : args.positional[0];
  int port = demo ? (server.emplace(), server->port()) : std::atoi(args.positional[1].c_str());

  // The socket is an unreliable source: with --wal, received lines are durable once sealed
  // into a block; lines still in the receiver when the process dies are lost (README).
  rill::StreamingContext ssc(batch, {.checkpoint_dir = checkpoint, .receiver_write_ahead_log = wal, .http_port = http_port});
  auto lines = ssc.socket_text_stream(host, port);
  auto counts = lines.flat_map([](const std::string& l) { return rill::split(l, ' '); })
                    .map([](const std::string& w) { return std::pair{w, int64_t{1}}; })
                    .reduce_by_key(std::plus<>{});
  counts.print();
  if (!out.empty()) counts.save_as_text_files(out);

  ssc.start();
  return rill::samples::run_until_stopped(ssc, duration);
}
