// The seed's first example: count words in lines from a TCP server (`nc -lk 9999`), per batch.
// --demo serves generated lines from inside the process, so it runs with nothing else.
// rill::run gives it rill's options too: --config, --node, --check, --log-level, --help.
#include <rill/rill.hpp>

#include <optional>

#include "samples/demo_line_server.hpp"
#include "samples/sample_args.hpp"

int main(int argc, char** argv) {
  rill::CommandLine cli(
      argc, argv,
      "usage: network_wordcount HOST PORT [--batch-ms N] [--duration-s S] [--out PREFIX]\n"
      "       network_wordcount --demo [same options]\n"
      "Counts the words of each batch of lines read from HOST:PORT (e.g. `nc -lk 9999`) and "
      "prints\n"
      "them; --out PREFIX also saves each batch under PREFIX-<ms>/. --duration-s, SIGINT and "
      "SIGTERM stop gracefully.\n"
      "  --batch-ms N        the batch interval (default 1000; --config: the config's)\n"
      "  --checkpoint CKDIR  keep progress in CKDIR (a restart resumes on the batch grid;\n"
      "                      --config: the node's store directory)\n"
      "  --wal               with --checkpoint: write received lines to the write-ahead log\n" +
          std::string(rill::samples::kHttpUsage),
      {"demo", "wal"});
  bool demo = cli.flag("demo");
  std::string out = cli.text("out", "");
  long long http_port = cli.number("http-port", 0);
  if (http_port > 65535)
    cli.fail("--http-port wants a port (1..65535), got " + std::to_string(http_port));
  rill::RunOptions run{.batch_interval = std::chrono::milliseconds(cli.number("batch-ms", 1000)),
                       .context = {.checkpoint_dir = cli.text("checkpoint", ""),
                                   .receiver_write_ahead_log = cli.flag("wal"),
                                   .http_port = static_cast<int>(http_port)},
                       .run_for = std::chrono::seconds(cli.number("duration-s", 0))};
  cli.expect_positionals(demo ? 0 : 2, demo ? 0 : 2);

  std::optional<rill::samples::DemoLineServer> server;
  return rill::run(cli, run, [&](rill::StreamingContext& ssc) {
    std::string host = demo ? "127.0.0.1" : cli.positionals()[0];
    int port = demo ? (server.emplace(), server->port()) : std::atoi(cli.positionals()[1].c_str());
    // The socket is an unreliable source: with --wal, received lines are durable once sealed
    // into a block; lines still in the receiver when the process dies are lost (README).
    // Named, so a cluster config can place its receiver on a worker: receivers = ["lines"].
    auto lines = ssc.socket_text_stream(host, port).name("lines");
    auto counts = lines.flat_map([](const std::string& l) { return rill::split(l, ' '); })
                      .map([](const std::string& w) {
                        return std::pair{w, int64_t{1}};
                      })
                      .reduce_by_key(std::plus<>{});
    counts.print();
    if (!out.empty()) counts.save_as_text_files(out);
  });
}
