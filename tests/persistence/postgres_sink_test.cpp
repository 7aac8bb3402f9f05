// The PostgreSQL sink through its Sink interface against a real server (pg_server.sh run), checked
// from a second connection: atomic rows + marker, no duplicates on re-commit, upsert, replace
// mode, markers, reconnects, and errors naming the server and table.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "dataflow/config_error.hpp"
#include "persistence/postgres_sink.hpp"
#include "pg_test_server.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using rill::Millis;
using rill::test::PgServer;
using rill::test::Psql;
using Rows = std::vector<std::string>;

namespace app {
struct Score {
  std::string word;
  int64_t count = 0;
  std::optional<double> ratio;
};
RILL_RECORD(Score, word, count, ratio)
}  // namespace app

namespace {

using Pair = std::pair<std::string, int64_t>;

std::shared_ptr<rill::Sink> pair_sink(const std::string& conninfo, rill::PostgresMode mode = rill::PostgresMode::upsert,
                                      std::vector<std::string> key = {"word"}) {
  auto sink = rill::postgres_sink<Pair>(conninfo, "counts", std::move(key), {"word", "n"}, mode);
  sink->open(rill::SinkContext{"counts-out", "counts", 2});
  return sink;
}

void write_commit(rill::Sink& sink, Millis t, int p, std::vector<Pair> rows, uint64_t hash) {
  sink.write(t, p, rill::make_part(std::move(rows)));
  sink.commit(t, p, hash);
}

std::string error_of(const std::function<void()>& f) {
  try {
    f();
  } catch (const std::exception& e) {
    return e.what();
  }
  FAIL("nothing was thrown");
  return {};
}

// A loopback port nothing listens on: bound, then closed.
int closed_port() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), len) == 0);
  REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  ::close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("postgres sink: rows and marker appear together at commit, and a re-commit adds nothing") {
  const auto pg = PgServer::from_env();
  Psql cli(pg.conninfo);
  cli.reset();
  auto sink = pair_sink(pg.conninfo);

  sink->write(1000ms, 0, rill::make_part(std::vector<Pair>{{"a", 1}, {"it's", 2}}));
  CHECK(cli.rows("SELECT * FROM counts").empty());  // staged only
  CHECK_FALSE(sink->committed(1000ms, 0));
  sink->commit(1000ms, 0, 0xfeedfacecafebeefu);
  CHECK(cli.rows("SELECT word, n FROM counts ORDER BY word") == Rows{"a|1", "it's|2"});
  CHECK(cli.rows("SELECT output, batch_time, partition FROM _rill_markers") == Rows{"counts-out|1000|0"});
  CHECK(sink->committed(1000ms, 0) == 0xfeedfacecafebeefu);  // all 64 bits survive BIGINT
  CHECK_FALSE(sink->committed(1000ms, 1));
  CHECK_FALSE(sink->committed(2000ms, 0));

  // The same (t, p) again: the marker is there, so rows stay as they were.
  write_commit(*sink, 1000ms, 0, {{"a", 9}, {"c", 3}}, 7);
  CHECK(cli.rows("SELECT word, n FROM counts ORDER BY word") == Rows{"a|1", "it's|2"});
  CHECK(sink->committed(1000ms, 0) == 0xfeedfacecafebeefu);

  // Markers survive a reopen (a restarted job).
  auto again = pair_sink(pg.conninfo);
  CHECK(again->committed(1000ms, 0) == 0xfeedfacecafebeefu);
}

TEST_CASE("postgres sink: without a key a re-commit still does not duplicate rows") {
  const auto pg = PgServer::from_env();
  Psql cli(pg.conninfo);
  cli.reset();
  auto sink = pair_sink(pg.conninfo, rill::PostgresMode::upsert, {});
  write_commit(*sink, 1000ms, 0, {{"a", 1}, {"a", 1}}, 1);
  write_commit(*sink, 1000ms, 0, {{"a", 1}, {"a", 1}}, 1);  // a re-run that saw no marker
  auto other = pair_sink(pg.conninfo, rill::PostgresMode::upsert, {});
  write_commit(*other, 1000ms, 0, {{"a", 1}, {"a", 1}}, 1);  // another connection
  CHECK(cli.rows("SELECT count(*) FROM counts") == Rows{"2"});
}

TEST_CASE("postgres sink: a commit that fails leaves neither rows nor marker") {
  const auto pg = PgServer::from_env();
  Psql cli(pg.conninfo);
  cli.reset();
  auto sink = pair_sink(pg.conninfo);
  // The marker goes in first; a row failing after it must take the marker with it.
  cli.exec("CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
           "IF NEW.word = 'boom' THEN RAISE EXCEPTION 'injected failure'; END IF; RETURN NEW; END $$");
  cli.exec("CREATE TRIGGER boom BEFORE INSERT ON counts FOR EACH ROW EXECUTE FUNCTION boom()");
  sink->write(Millis{666}, 0, rill::make_part(std::vector<Pair>{{"x", 1}, {"boom", 2}}));
  std::string err = error_of([&] { sink->commit(Millis{666}, 0, 1); });
  CHECK_THAT(err, Contains("127.0.0.1:" + pg.port) && Contains("counts") && Contains("injected failure") &&
                      Contains("partition 0"));
  CHECK(cli.rows("SELECT count(*) FROM counts") == Rows{"0"});
  CHECK(cli.rows("SELECT count(*) FROM _rill_markers") == Rows{"0"});
  CHECK_FALSE(sink->committed(Millis{666}, 0));
  // The sink still works afterwards.
  write_commit(*sink, 1000ms, 0, {{"y", 2}}, 2);
  CHECK(cli.rows("SELECT word FROM counts") == Rows{"y"});
}

TEST_CASE("postgres sink: upsert by key updates rows across batches and partitions") {
  const auto pg = PgServer::from_env();
  Psql cli(pg.conninfo);
  cli.reset();
  auto sink = pair_sink(pg.conninfo);
  write_commit(*sink, 1000ms, 0, {{"a", 1}, {"b", 1}}, 1);
  write_commit(*sink, 1000ms, 1, {{"c", 1}}, 2);
  write_commit(*sink, 2000ms, 0, {{"a", 5}, {"a", 6}}, 3);  // the last of a key wins
  write_commit(*sink, 2000ms, 1, {}, 4);                    // an empty partition still gets its marker
  CHECK(cli.rows("SELECT word, n FROM counts ORDER BY word") == Rows{"a|6", "b|1", "c|1"});
  CHECK(cli.rows("SELECT count(*) FROM _rill_markers") == Rows{"4"});
}

TEST_CASE("postgres sink: replace_each_batch keeps only the latest batch, all its partitions") {
  const auto pg = PgServer::from_env();
  Psql cli(pg.conninfo);
  cli.reset();
  auto sink = pair_sink(pg.conninfo, rill::PostgresMode::replace_each_batch);
  write_commit(*sink, 1000ms, 0, {{"a", 1}}, 1);
  write_commit(*sink, 1000ms, 1, {{"b", 1}}, 2);
  CHECK(cli.rows("SELECT word FROM counts ORDER BY word") == Rows{"a", "b"});
  write_commit(*sink, 2000ms, 1, {{"c", 2}}, 3);  // partitions may commit in any order
  CHECK(cli.rows("SELECT word FROM counts ORDER BY word") == Rows{"c"});
  write_commit(*sink, 2000ms, 0, {{"d", 2}}, 4);
  CHECK(cli.rows("SELECT word FROM counts ORDER BY word") == Rows{"c", "d"});
  write_commit(*sink, 2000ms, 0, {{"e", 2}}, 4);  // a re-commit neither empties nor adds
  CHECK(cli.rows("SELECT word FROM counts ORDER BY word") == Rows{"c", "d"});
  // A late re-run of an older batch is marked but does not replace the newer contents.
  write_commit(*sink, 500ms, 0, {{"old", 0}}, 5);
  CHECK(cli.rows("SELECT word FROM counts ORDER BY word") == Rows{"c", "d"});
  CHECK(sink->committed(500ms, 0) == 5u);
}

TEST_CASE("postgres sink: struct records flatten to typed columns, an absent optional is NULL") {
  const auto pg = PgServer::from_env();
  Psql cli(pg.conninfo);
  cli.reset();
  auto sink = rill::postgres_sink<app::Score>(pg.conninfo, "Scores \"x\"", {"word"}, {"word", "count", "ratio"});
  sink->open(rill::SinkContext{"scores-out", "scores", 1});
  sink->write(1000ms, 0, rill::make_part(std::vector<app::Score>{{"a", 2, 0.1}, {"b", 3, std::nullopt}}));
  sink->commit(1000ms, 0, 9);
  CHECK(cli.rows("SELECT word, count, ratio = 0.1 FROM \"Scores \"\"x\"\"\" ORDER BY word") ==
        Rows{"a|2|t", "b|3|NULL"});  // 0.1 exactly: doubles travel as shortest round-trip text
  CHECK(cli.rows("SELECT format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = "
                 "'\"Scores \"\"x\"\"\"'::regclass AND attnum > 0 ORDER BY attnum") ==
        Rows{"text", "bigint", "double precision"});
}

TEST_CASE("postgres sink: errors name the server and the table, never the password") {
  const auto pg = PgServer::from_env();
  Psql cli(pg.conninfo);
  cli.reset();
  SECTION("an unreachable server") {
    const std::string port = std::to_string(closed_port());
    auto sink = rill::postgres_sink<Pair>("host=127.0.0.1 port=" + port + " dbname=app password=hunter2", "counts",
                                          {"word"}, {"word", "n"});
    std::string err = error_of([&] { sink->open(rill::SinkContext{"o", "s", 1}); });
    CHECK_THAT(err, Contains("127.0.0.1:" + port + "/app") && Contains("counts") && Contains("cannot connect"));
    CHECK_THAT(err, !Contains("hunter2"));
  }
  SECTION("an existing table with other columns") {
    cli.exec("CREATE TABLE counts (word TEXT PRIMARY KEY, total BIGINT)");
    auto sink = rill::postgres_sink<Pair>(pg.conninfo, "counts", {"word"}, {"word", "n"});
    std::string err = error_of([&] { sink->open(rill::SinkContext{"o", "s", 1}); });
    CHECK_THAT(err, Contains("127.0.0.1:" + pg.port + "/rill") && Contains("counts") && Contains("word, total") &&
                        Contains("word, n"));
  }
  SECTION("an existing table with another key") {
    cli.exec("CREATE TABLE counts (word TEXT, n BIGINT)");
    auto sink = rill::postgres_sink<Pair>(pg.conninfo, "counts", {"word"}, {"word", "n"});
    CHECK_THAT(error_of([&] { sink->open(rill::SinkContext{"o", "s", 1}); }), Contains("primary key ()"));
  }
  SECTION("wrong column counts, keys and connection strings are ConfigErrors at definition") {
    CHECK_THROWS_AS(rill::postgres_sink<Pair>(pg.conninfo, "t", {"word"}, {"word"}), rill::ConfigError);
    CHECK_THROWS_AS(rill::postgres_sink<Pair>(pg.conninfo, "t", {"id"}, {"word", "n"}), rill::ConfigError);
    CHECK_THROWS_AS(rill::postgres_sink<Pair>(pg.conninfo, "", {}, {"word", "n"}), rill::ConfigError);
    CHECK_THROWS_AS(rill::postgres_sink<Pair>("host=x nosuchoption=1", "t", {}, {"word", "n"}), rill::ConfigError);
  }
}

TEST_CASE("postgres sink: a dropped connection is reconnected on the next call") {
  const auto pg = PgServer::from_env();
  Psql cli(pg.conninfo);
  cli.reset();
  auto sink = pair_sink(pg.conninfo);
  write_commit(*sink, 1000ms, 0, {{"a", 1}}, 1);

  // The server ends the sink's session while it is idle (an admin, an idle timeout).
  CHECK(cli.rows("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                 "WHERE application_name = 'rill sink counts-out'") == Rows{"t"});
  CHECK(sink->committed(1000ms, 0) == 1u);
  write_commit(*sink, 2000ms, 0, {{"b", 1}}, 2);

  // The server goes away: the call fails naming it; once it is back the next call reconnects.
  pg.control("stop");
  sink->write(3000ms, 0, rill::make_part(std::vector<Pair>{{"c", 1}}));
  std::string err = error_of([&] { sink->commit(3000ms, 0, 3); });
  CHECK_THAT(err, Contains("127.0.0.1:" + pg.port + "/rill") && Contains("counts") && Contains("3000 ms"));
  CHECK_THAT(error_of([&] { sink->committed(3000ms, 0); }), Contains("cannot connect"));
  pg.control("start");
  CHECK_FALSE(sink->committed(3000ms, 0));  // the failed commit left nothing
  write_commit(*sink, 3000ms, 0, {{"c", 1}}, 3);
  Psql after(pg.conninfo);
  CHECK(after.rows("SELECT word FROM counts ORDER BY word") == Rows{"a", "b", "c"});
}
