// The PostgreSQL sink through the actor runtime on the manual clock: one marker per (batch,
// partition) and rows upserted. Linked into persistence_postgres_sink, which has the server.
#include <catch2/catch.hpp>
#include <functional>

#include "persistence/postgres_sink.hpp"
#include "tests/persistence/pg_test_server.hpp"
#include "tests/support/manual_run.hpp"

using namespace std::chrono_literals;
using rill::test::ManualRun;

TEST_CASE("a PostgreSQL sink through the runtime: one marker per (batch, partition), rows upserted") {
  const auto pg = rill::test::PgServer::from_env();
  rill::test::Psql cli(pg.conninfo);
  cli.reset();
  {
    ManualRun run(1000ms, 2);
    auto batches = std::make_shared<rill::BatchQueue<int>>();
    batches->push({1, 2, 3});
    batches->push({2, 3});
    auto words = run.ssc.queue_stream(batches)
                     .map([](int x) { return std::pair{std::string(1, static_cast<char>('a' + x)), int64_t{x}}; })
                     .reduce_by_key(std::plus<>{});
    words.output_to(
        rill::postgres_sink<std::pair<std::string, int64_t>>(pg.conninfo, "totals", {"word"}, {"word", "n"}),
        "totals");
    run.ssc.start();
    run.steps(2);
    run.ssc.stop();
  }
  CHECK(cli.rows("SELECT string_agg(word || '=' || n, ',' ORDER BY word) FROM totals") ==
        std::vector<std::string>{"b=1,c=2,d=3"});
  CHECK(cli.rows("SELECT count(*) FROM _rill_markers WHERE output = 'totals'") ==
        std::vector<std::string>{"4"});  // 2 batches x 2 partitions
}
