// Test support for the PostgreSQL sink: the server tests/support/pg_server.sh started (through
// the environment it sets) and a second libpq connection, as psql would be. For tests only.
#pragma once

#include <libpq-fe.h>
#include <stdlib.h>

#include <catch2/catch.hpp>
#include <string>
#include <vector>

namespace rill::test {

/// The server's conninfo, data directory, port and control script, from pg_server.sh run.
struct PgServer {
  std::string conninfo, dir, port, script;

  /// FAILs (never skips) when the test was not started through pg_server.sh run.
  static PgServer from_env() {
    auto get = [](const char* name) {
      const char* v = ::getenv(name);
      if (!v || !*v)
        FAIL(name << " is not set: run this test with `meson test` (tests/support/pg_server.sh run starts a "
                     "PostgreSQL server); if postgresql is missing, run ./dev setup");
      return std::string(v);
    };
    return {get("RILL_PG_CONNINFO"), get("RILL_PG_DIR"), get("RILL_PG_PORT"), get("RILL_PG_SCRIPT")};
  }
  /// pg_server.sh stop|start on the same directory and port.
  void control(const std::string& what) const {
    REQUIRE(std::system((script + " " + what + " " + dir + " " + port).c_str()) == 0);
  }
};

/// A second connection: rows come back as text, columns joined by '|', NULL as "NULL".
class Psql {
 public:
  explicit Psql(const std::string& conninfo) : conn_(PQconnectdb(conninfo.c_str())) {
    REQUIRE(PQstatus(conn_) == CONNECTION_OK);
    PQsetNoticeProcessor(conn_, [](void*, const char*) {}, nullptr);
  }
  ~Psql() { PQfinish(conn_); }
  Psql(const Psql&) = delete;
  Psql& operator=(const Psql&) = delete;

  std::vector<std::string> rows(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    INFO(sql << ": " << PQresultErrorMessage(r));
    REQUIRE(PQresultStatus(r) == PGRES_TUPLES_OK);
    std::vector<std::string> out;
    for (int i = 0; i < PQntuples(r); ++i) {
      std::string row;
      for (int j = 0; j < PQnfields(r); ++j)
        row += (j ? "|" : "") + std::string(PQgetisnull(r, i, j) ? "NULL" : PQgetvalue(r, i, j));
      out.push_back(row);
    }
    PQclear(r);
    return out;
  }
  void exec(const std::string& sql) {
    PGresult* r = PQexec(conn_, sql.c_str());
    INFO(sql << ": " << PQresultErrorMessage(r));
    const bool ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    PQclear(r);
    REQUIRE(ok);
  }
  /// Drops every table: each case starts from an empty database.
  void reset() { exec("DROP SCHEMA public CASCADE; CREATE SCHEMA public"); }

 private:
  PGconn* conn_;
};

}  // namespace rill::test
