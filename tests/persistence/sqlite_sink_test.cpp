// The SQLite sink through its Sink interface, checked from a second sqlite3 connection: rows and
// marker commit together, upsert by key, replace mode, markers, and errors naming file and table.
#include <sqlite3.h>

#include <catch2/catch.hpp>
#include <optional>
#include <string>
#include <vector>

#include "persistence/sqlite_sink.hpp"
#include "temp_store.hpp"

using namespace std::chrono_literals;
using Catch::Matchers::Contains;
using rill::Millis;
using rill::persistence::test::TempDir;

namespace app {
struct Score {
  std::string word;
  int64_t count = 0;
  std::optional<double> ratio;
};
RILL_RECORD(Score, word, count, ratio)
}  // namespace app

namespace {

// A second connection, as the sqlite3 CLI would be: reads rows as text, one string per row.
class Reader {
 public:
  explicit Reader(const std::string& path) {
    REQUIRE(sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READWRITE, nullptr) == SQLITE_OK);
  }
  ~Reader() { sqlite3_close_v2(db_); }
  std::vector<std::string> rows(const std::string& sql) {
    std::vector<std::string> out;
    sqlite3_stmt* s = nullptr;
    REQUIRE(sqlite3_prepare_v2(db_, sql.c_str(), -1, &s, nullptr) == SQLITE_OK);
    while (sqlite3_step(s) == SQLITE_ROW) {
      std::string row;
      for (int i = 0; i < sqlite3_column_count(s); ++i) {
        auto* text = sqlite3_column_text(s, i);
        row += (i ? "|" : "") + (text ? std::string(reinterpret_cast<const char*>(text)) : "NULL");
      }
      out.push_back(row);
    }
    sqlite3_finalize(s);
    return out;
  }
  void exec(const std::string& sql) { REQUIRE(sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, nullptr) == SQLITE_OK); }

 private:
  sqlite3* db_ = nullptr;
};

using Pair = std::pair<std::string, int64_t>;

std::shared_ptr<rill::Sink> pair_sink(const std::string& path, rill::SqliteMode mode = rill::SqliteMode::upsert) {
  auto sink = rill::sqlite_sink<Pair>(path, "counts", {"word"}, {"word", "n"}, mode);
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

}  // namespace

TEST_CASE("sqlite sink: rows and marker appear together at commit, and a re-commit adds nothing") {
  TempDir dir;
  const std::string path = dir.path + "/out.db";
  auto sink = pair_sink(path);
  Reader cli(path);
  CHECK(cli.rows("PRAGMA journal_mode") == std::vector<std::string>{"wal"});

  sink->write(1000ms, 0, rill::make_part(std::vector<Pair>{{"a", 1}, {"b", 2}}));
  CHECK(cli.rows("SELECT * FROM counts").empty());  // staged only
  CHECK_FALSE(sink->committed(1000ms, 0));
  sink->commit(1000ms, 0, 0xfeedfacecafebeefu);
  CHECK(cli.rows("SELECT word, n FROM counts ORDER BY word") == std::vector<std::string>{"a|1", "b|2"});
  CHECK(cli.rows("SELECT output, batch_time, partition FROM _rill_markers") ==
        std::vector<std::string>{"counts-out|1000|0"});
  CHECK(sink->committed(1000ms, 0) == 0xfeedfacecafebeefu);  // all 64 bits survive INTEGER
  CHECK_FALSE(sink->committed(1000ms, 1));
  CHECK_FALSE(sink->committed(2000ms, 0));

  // The same (t, p) again: the marker is there, so rows stay as they were.
  write_commit(*sink, 1000ms, 0, {{"a", 1}, {"b", 2}, {"c", 3}}, 7);
  CHECK(cli.rows("SELECT count(*) FROM counts") == std::vector<std::string>{"2"});
  CHECK(sink->committed(1000ms, 0) == 0xfeedfacecafebeefu);

  // Markers survive a reopen (a restarted job).
  auto again = pair_sink(path);
  CHECK(again->committed(1000ms, 0) == 0xfeedfacecafebeefu);
}

TEST_CASE("sqlite sink: a commit that fails leaves neither rows nor marker") {
  TempDir dir;
  const std::string path = dir.path + "/out.db";
  auto sink = pair_sink(path);
  Reader cli(path);
  cli.exec("CREATE TRIGGER fail_marker BEFORE INSERT ON _rill_markers WHEN NEW.batch_time = 666 "
           "BEGIN SELECT RAISE(ABORT, 'injected failure'); END");
  sink->write(Millis{666}, 0, rill::make_part(std::vector<Pair>{{"x", 1}}));
  std::string err = error_of([&] { sink->commit(Millis{666}, 0, 1); });
  CHECK_THAT(err, Contains(path) && Contains("counts") && Contains("injected failure"));
  CHECK(cli.rows("SELECT count(*) FROM counts") == std::vector<std::string>{"0"});
  CHECK(cli.rows("SELECT count(*) FROM _rill_markers") == std::vector<std::string>{"0"});
  // The sink still works afterwards.
  write_commit(*sink, 1000ms, 0, {{"y", 2}}, 2);
  CHECK(cli.rows("SELECT word FROM counts") == std::vector<std::string>{"y"});
}

TEST_CASE("sqlite sink: upsert by key updates rows across batches and partitions") {
  TempDir dir;
  const std::string path = dir.path + "/out.db";
  auto sink = pair_sink(path);
  write_commit(*sink, 1000ms, 0, {{"a", 1}, {"b", 1}}, 1);
  write_commit(*sink, 1000ms, 1, {{"c", 1}}, 2);
  write_commit(*sink, 2000ms, 0, {{"a", 5}}, 3);
  write_commit(*sink, 2000ms, 1, {}, 4);  // an empty partition still gets its marker
  Reader cli(path);
  CHECK(cli.rows("SELECT word, n FROM counts ORDER BY word") == std::vector<std::string>{"a|5", "b|1", "c|1"});
  CHECK(cli.rows("SELECT count(*) FROM _rill_markers") == std::vector<std::string>{"4"});
}

TEST_CASE("sqlite sink: a reader in a transaction does not block commits (WAL)") {
  TempDir dir;
  const std::string path = dir.path + "/out.db";
  auto sink = pair_sink(path);
  write_commit(*sink, 1000ms, 0, {{"a", 1}}, 1);
  Reader cli(path);
  cli.exec("BEGIN");
  CHECK(cli.rows("SELECT count(*) FROM counts") == std::vector<std::string>{"1"});
  write_commit(*sink, 2000ms, 0, {{"b", 1}}, 2);
  CHECK(cli.rows("SELECT count(*) FROM counts") == std::vector<std::string>{"1"});  // its snapshot
  cli.exec("COMMIT");
  CHECK(cli.rows("SELECT count(*) FROM counts") == std::vector<std::string>{"2"});
}

TEST_CASE("sqlite sink: replace_each_batch keeps only the latest batch, all its partitions") {
  TempDir dir;
  const std::string path = dir.path + "/out.db";
  auto sink = pair_sink(path, rill::SqliteMode::replace_each_batch);
  Reader cli(path);
  write_commit(*sink, 1000ms, 0, {{"a", 1}}, 1);
  write_commit(*sink, 1000ms, 1, {{"b", 1}}, 2);
  CHECK(cli.rows("SELECT word FROM counts ORDER BY word") == std::vector<std::string>{"a", "b"});
  write_commit(*sink, 2000ms, 1, {{"c", 2}}, 3);  // partitions may commit in any order
  CHECK(cli.rows("SELECT word FROM counts ORDER BY word") == std::vector<std::string>{"c"});
  write_commit(*sink, 2000ms, 0, {{"d", 2}}, 4);
  CHECK(cli.rows("SELECT word FROM counts ORDER BY word") == std::vector<std::string>{"c", "d"});
  // A late re-run of an older batch is marked but does not replace the newer contents.
  write_commit(*sink, 500ms, 0, {{"old", 0}}, 5);
  CHECK(cli.rows("SELECT word FROM counts ORDER BY word") == std::vector<std::string>{"c", "d"});
  CHECK(sink->committed(500ms, 0) == 5u);
}

TEST_CASE("sqlite sink: struct records flatten to columns, an absent optional is NULL") {
  TempDir dir;
  const std::string path = dir.path + "/out.db";
  auto sink = rill::sqlite_sink<app::Score>(path, "scores", {"word"}, {"word", "count", "ratio"});
  sink->open(rill::SinkContext{"scores-out", "scores", 1});
  sink->write(1000ms, 0, rill::make_part(std::vector<app::Score>{{"a", 2, 0.5}, {"b", 3, std::nullopt}}));
  sink->commit(1000ms, 0, 9);
  Reader cli(path);
  CHECK(cli.rows("SELECT word, count, ratio FROM scores ORDER BY word") ==
        std::vector<std::string>{"a|2|0.5", "b|3|NULL"});
  CHECK(cli.rows("SELECT type FROM pragma_table_info('scores') ORDER BY cid") ==
        std::vector<std::string>{"TEXT", "INTEGER", "REAL"});
}

TEST_CASE("sqlite sink: errors name the file and the table") {
  TempDir dir;
  SECTION("a file that cannot be opened") {
    const std::string path = dir.path + "/no/such/dir/out.db";
    auto sink = rill::sqlite_sink<Pair>(path, "counts", {"word"}, {"word", "n"});
    std::string err = error_of([&] { sink->open(rill::SinkContext{"o", "s", 1}); });
    CHECK_THAT(err, Contains(path) && Contains("counts") && Contains("cannot open"));
  }
  SECTION("an existing table with other columns") {
    const std::string path = dir.path + "/out.db";
    {
      sqlite3* db = nullptr;
      REQUIRE(sqlite3_open(path.c_str(), &db) == SQLITE_OK);
      REQUIRE(sqlite3_exec(db, "CREATE TABLE counts (word TEXT PRIMARY KEY, total INTEGER)", nullptr, nullptr,
                           nullptr) == SQLITE_OK);
      sqlite3_close(db);
    }
    auto sink = rill::sqlite_sink<Pair>(path, "counts", {"word"}, {"word", "n"});
    std::string err = error_of([&] { sink->open(rill::SinkContext{"o", "s", 1}); });
    CHECK_THAT(err, Contains(path) && Contains("counts") && Contains("word, total") && Contains("word, n"));
  }
  SECTION("wrong column counts and keys are ConfigErrors at definition") {
    CHECK_THROWS_AS(rill::sqlite_sink<Pair>("x.db", "t", {"word"}, {"word"}), rill::ConfigError);
    CHECK_THROWS_AS(rill::sqlite_sink<Pair>("x.db", "t", {"id"}, {"word", "n"}), rill::ConfigError);
    CHECK_THROWS_AS(rill::sqlite_sink<Pair>("x.db", "", {}, {"word", "n"}), rill::ConfigError);
  }
}
