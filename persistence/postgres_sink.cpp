#include "persistence/postgres_sink.hpp"

#include <libpq-fe.h>

#include <bit>
#include <charconv>
#include <cstdlib>
#include <map>

#include "dataflow/config_error.hpp"

namespace rill::persistence {

namespace {

struct ConnDeleter {
  void operator()(PGconn* c) const noexcept { PQfinish(c); }
};
struct ResultDeleter {
  void operator()(PGresult* r) const noexcept { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, ResultDeleter>;

// libpq's messages end in a newline and continue with "\n\t" hints: one line for our errors.
std::string one_line(const char* text) {
  std::string out;
  for (const char* c = text ? text : ""; *c; ++c) {
    if (*c == '\n' || *c == '\t') {
      if (!out.empty() && out.back() != ' ') out.push_back(' ');
    } else {
      out.push_back(*c);
    }
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return out;
}

// "postgres host:port/database" from the conninfo, with what it leaves out taken from libpq's
// defaults (PG* variables, the Unix socket). Built from parsed fields only, so that a password
// in the conninfo never reaches a message.
Result<std::string> describe_server(const std::string& conninfo) {
  char* err = nullptr;
  PQconninfoOption* parsed = PQconninfoParse(conninfo.c_str(), &err);
  if (!parsed) {
    std::string why = err ? one_line(err) : "out of memory";
    PQfreemem(err);
    return Status{Errc::invalid_argument, "cannot parse the connection string: " + why};
  }
  std::map<std::string, std::string> field;
  for (PQconninfoOption* o = parsed; o->keyword; ++o)
    if (o->val && *o->val) field[o->keyword] = o->val;
  PQconninfoFree(parsed);
  if (PQconninfoOption* defaults = PQconndefaults()) {
    for (PQconninfoOption* o = defaults; o->keyword; ++o)
      if (o->val && *o->val) field.emplace(o->keyword, o->val);  // emplace: given values win
    PQconninfoFree(defaults);
  }
  std::string host = field.count("host") ? field["host"] : field.count("hostaddr") ? field["hostaddr"] : "local socket";
  std::string port = field.count("port") ? field["port"] : "5432";
  std::string db = field.count("dbname") ? field["dbname"] : field.count("user") ? field["user"] : "";
  return "postgres " + host + ":" + port + "/" + db;
}

// A value as a text-format parameter; NULL stays a null pointer.
std::optional<std::string> as_text(const SqlValue& v) {
  if (auto* i = std::get_if<int64_t>(&v)) return std::to_string(*i);
  if (auto* d = std::get_if<double>(&v)) {
    char buf[32];  // shortest text that reads back as the same double ("inf", "nan" accepted)
    auto end = std::to_chars(buf, buf + sizeof buf, *d).ptr;
    return std::string(buf, end);
  }
  if (auto* s = std::get_if<std::string>(&v)) return *s;
  return std::nullopt;
}

const char* postgres_type(const std::string& sql_row_type) {
  if (sql_row_type == "INTEGER") return "BIGINT";
  if (sql_row_type == "REAL") return "DOUBLE PRECISION";
  return "TEXT";
}

}  // namespace

struct PostgresSinkCore::Impl {
  PostgresSinkOptions options;
  SqlTable table;
  std::vector<std::string> types;
  std::string server;
  std::string output;
  bool opened = false;        // open() was called: calls before it are a bug
  bool schema_ready = false;  // tables created or checked on some connection
  std::unique_ptr<PGconn, ConnDeleter> conn;

  // "postgres 127.0.0.1:5432/app table counts: <what>: <the server's message>"
  Status error(const std::string& what, const PGresult* r = nullptr, Errc code = Errc::io_error) const {
    std::string msg = server + " table " + table.name + ": " + what;
    std::string why = one_line(r ? PQresultErrorMessage(r) : nullptr);
    if (why.empty() && conn) why = one_line(PQerrorMessage(conn.get()));
    return {code, why.empty() ? msg : msg + ": " + why};
  }

  bool connection_bad() const { return !conn || PQstatus(conn.get()) != CONNECTION_OK; }

  // Runs one statement with text parameters (nullopt is NULL); the result if it has `want`.
  Result<PgResult> run(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                       const std::string& what, ExecStatusType want = PGRES_COMMAND_OK) {
    std::vector<const char*> values;
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    PgResult r(PQexecParams(conn.get(), sql.c_str(), static_cast<int>(values.size()), nullptr, values.data(),
                            nullptr, nullptr, 0));
    if (!r || PQresultStatus(r.get()) != want) return error(what, r.get());
    return r;
  }

  Status connect(const std::string& what);
  Status ensure_connected(const std::string& what);
  Result<PgResult> run_first(const std::string& sql, const std::vector<std::optional<std::string>>& params,
                             const std::string& what, ExecStatusType want);
  Status create_or_check_table();
  Status write_rows(std::vector<SqlRow>& rows, const std::string& at);
};

// `what` says what the connection was for ("cannot begin the commit of batch time ...").
Status PostgresSinkCore::Impl::connect(const std::string& what) {
  conn.reset();
  // The conninfo expands as `dbname`; the application name shows the output in pg_stat_activity.
  // A connect_timeout before it is a default the conninfo (later: it wins) or PGCONNECT_TIMEOUT
  // overrides: without one a silent host blocks the sink actor for the kernel's TCP timeout.
  const std::string app = "rill sink " + output;
  const char* timeout = ::getenv("PGCONNECT_TIMEOUT") ? nullptr : "10";
  const char* keys[] = {"connect_timeout", "dbname", "fallback_application_name", nullptr};
  const char* values[] = {timeout, options.conninfo.c_str(), app.c_str(), nullptr};
  conn.reset(PQconnectdbParams(keys, values, 1));
  if (connection_bad()) {
    Status s = error(what + ": cannot connect", nullptr, Errc::unavailable);
    conn.reset();
    return s;
  }
  // NOTICEs ("relation already exists, skipping") would go to stderr.
  PQsetNoticeProcessor(conn.get(), [](void*, const char*) {}, nullptr);
  return Status::ok();
}

Status PostgresSinkCore::Impl::ensure_connected(const std::string& what) {
  if (!opened) return error(what + ": used before open()", nullptr, Errc::invalid_argument);
  if (connection_bad())
    if (Status s = connect(what); !s) return s;
  if (!schema_ready) {
    if (Status s = create_or_check_table(); !s) return s;
    schema_ready = true;
  }
  return Status::ok();
}

// The first statement of a call. A connection that dropped while idle (a server restart, an idle
// timeout) fails it before anything of the call happened, so it reconnects once and runs it again.
Result<PgResult> PostgresSinkCore::Impl::run_first(const std::string& sql,
                                                   const std::vector<std::optional<std::string>>& params,
                                                   const std::string& what, ExecStatusType want) {
  const bool fresh = connection_bad();
  if (Status s = ensure_connected(what); !s) return s;
  auto r = run(sql, params, what, want);
  if (r || fresh || !connection_bad()) return r;
  if (Status s = ensure_connected(what); !s) return s;
  return run(sql, params, what, want);
}

Status PostgresSinkCore::Impl::create_or_check_table() {
  auto made = run("CREATE TABLE IF NOT EXISTS _rill_markers (output TEXT NOT NULL, batch_time BIGINT NOT NULL, "
                  "\"partition\" INTEGER NOT NULL, hash BIGINT NOT NULL, "
                  "PRIMARY KEY (output, batch_time, \"partition\"))",
                  {}, "cannot create the marker table _rill_markers");
  if (!made) return made.status();
  // to_regclass resolves the quoted name as CREATE TABLE would: in the search_path.
  const std::string name = sql_quoted(table.name);
  auto cols = run("SELECT attname FROM pg_attribute WHERE attrelid = to_regclass($1) AND attnum > 0 "
                  "AND NOT attisdropped ORDER BY attnum",
                  {name}, "cannot read the schema", PGRES_TUPLES_OK);
  if (!cols) return cols.status();
  if (PQntuples(cols->get()) == 0) {
    std::string sql = "CREATE TABLE IF NOT EXISTS " + name + " (";
    for (size_t i = 0; i < table.column_names.size(); ++i)
      sql += (i ? ", " : "") + sql_quoted(table.column_names[i]) + " " + postgres_type(types[i]);
    if (!table.key_columns.empty()) sql += ", PRIMARY KEY (" + sql_joined(table.key_columns, true) + ")";
    auto created = run(sql + ")", {}, "cannot create the table");
    return created ? Status::ok() : created.status();
  }
  auto key = run("SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
                 "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = to_regclass($1) AND i.indisprimary",
                 {name}, "cannot read the schema", PGRES_TUPLES_OK);
  if (!key) return key.status();
  std::vector<std::string> have, have_key;
  for (int i = 0; i < PQntuples(cols->get()); ++i) have.emplace_back(PQgetvalue(cols->get(), i, 0));
  for (int i = 0; i < PQntuples(key->get()); ++i) have_key.emplace_back(PQgetvalue(key->get(), i, 0));
  if (std::string why = sql_schema_mismatch(table, have, have_key); !why.empty())
    return {Errc::invalid_argument, server + " table " + table.name + ": " + why};
  return Status::ok();
}

Status PostgresSinkCore::Impl::write_rows(std::vector<SqlRow>& rows, const std::string& at) {
  if (rows.empty()) return Status::ok();
  // TODO(perf): one round trip per row; multi-row VALUES (with duplicate keys folded, which ON
  // CONFLICT refuses within one statement) or libpq's pipeline mode would batch them.
  const std::string sql = sql_upsert_statement(table, [](size_t i) { return "$" + std::to_string(i + 1); });
  PgResult prepared(PQprepare(conn.get(), "", sql.c_str(), static_cast<int>(table.column_names.size()), nullptr));
  if (!prepared || PQresultStatus(prepared.get()) != PGRES_COMMAND_OK)
    return error("cannot prepare the insert for " + at, prepared.get());
  std::vector<std::optional<std::string>> text;
  std::vector<const char*> values;
  for (const SqlRow& row : rows) {
    text.clear();
    values.clear();
    for (const SqlValue& v : row) {
      text.push_back(as_text(v));
      if (text.back() && text.back()->find('\0') != std::string::npos)
        return error("a string with a NUL byte cannot be stored in a TEXT column (" + at + ")", nullptr,
                     Errc::invalid_argument);
    }
    for (const auto& t : text) values.push_back(t ? t->c_str() : nullptr);
    PgResult r(PQexecPrepared(conn.get(), "", static_cast<int>(values.size()), values.data(), nullptr, nullptr, 0));
    if (!r || PQresultStatus(r.get()) != PGRES_COMMAND_OK) return error("cannot write a row of " + at, r.get());
  }
  return Status::ok();
}

PostgresSinkCore::PostgresSinkCore(PostgresSinkOptions options, std::vector<std::string> column_types)
    : impl_(std::make_unique<Impl>()) {
  impl_->table = SqlTable{options.table, options.key_columns, options.column_names};
  auto server = describe_server(options.conninfo);
  impl_->server = server ? *server : "postgres (unparsable connection string)";
  impl_->options = std::move(options);
  impl_->types = std::move(column_types);
}

PostgresSinkCore::~PostgresSinkCore() = default;

Status PostgresSinkCore::open(const std::string& output) {
  Impl& m = *impl_;
  m.conn.reset();  // a reopen (after an actor restart) starts from a fresh connection
  m.output = output;
  m.opened = true;
  m.schema_ready = false;
  return m.ensure_connected("cannot open the sink of output '" + output + "'");
}

Status PostgresSinkCore::commit(Millis t, int partition, uint64_t hash, std::vector<SqlRow> rows) {
  Impl& m = *impl_;
  const std::string at = "batch time " + to_string(t) + " partition " + std::to_string(partition);
  // A transaction left open by a call that failed half-way (its ROLLBACK failed too) would
  // swallow this one: BEGIN inside it only warns.
  if (!m.connection_bad() && PQtransactionStatus(m.conn.get()) != PQTRANS_IDLE)
    PQclear(PQexec(m.conn.get(), "ROLLBACK"));
  auto begin = m.run_first("BEGIN", {}, "cannot begin the commit of " + at, PGRES_COMMAND_OK);
  if (!begin) return begin.status();
  auto body = [&]() -> Status {
    // The marker first: its primary key makes a concurrent commit of the same (t, partition)
    // wait for this one, then find the marker and add nothing.
    auto mark = m.run("INSERT INTO _rill_markers (output, batch_time, \"partition\", hash) "
                      "VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
                      {m.output, std::to_string(t.count()), std::to_string(partition),
                       std::to_string(std::bit_cast<int64_t>(hash))},  // BIGINT is signed
                      "cannot write the marker for " + at);
    if (!mark) return mark.status();
    if (std::string(PQcmdTuples(mark->get())) == "0") return Status::ok();  // committed before
    bool write = true;
    if (m.options.mode == SqlMode::replace_each_batch) {
      // EXCLUSIVE: committers of this table decide one at a time what it holds; SELECTs go on.
      auto lock = m.run("LOCK TABLE " + sql_quoted(m.table.name) + " IN EXCLUSIVE MODE", {},
                        "cannot lock the table for " + at);
      if (!lock) return lock.status();
      auto seen = m.run("SELECT max(batch_time), coalesce(bool_or(batch_time = $2), false) FROM _rill_markers "
                        "WHERE output = $1 AND NOT (batch_time = $2 AND \"partition\" = $3)",
                        {m.output, std::to_string(t.count()), std::to_string(partition)}, "cannot read markers",
                        PGRES_TUPLES_OK);
      if (!seen) return seen.status();
      std::optional<int64_t> newest;
      if (!PQgetisnull(seen->get(), 0, 0)) newest = std::stoll(PQgetvalue(seen->get(), 0, 0));
      const ReplaceStep step = replace_step(newest, PQgetvalue(seen->get(), 0, 1)[0] == 't', t.count());
      if (step == ReplaceStep::clear_first) {
        // DELETE, not TRUNCATE: readers keep seeing the old rows until this commits.
        auto cleared = m.run("DELETE FROM " + sql_quoted(m.table.name), {}, "cannot empty the table for " + at);
        if (!cleared) return cleared.status();
      }
      write = step != ReplaceStep::stale;
    }
    return write ? m.write_rows(rows, at) : Status::ok();
  };
  Status s = body();
  if (s) {
    auto done = m.run("COMMIT", {}, "cannot commit " + at);
    if (!done) s = done.status();
    else if (std::string(PQcmdStatus(done->get())) != "COMMIT")  // the server rolled it back
      s = m.error("the server rolled back the commit of " + at);
  }
  if (!s && !m.connection_bad()) PQclear(PQexec(m.conn.get(), "ROLLBACK"));  // nothing of it stays
  return s;
}

Result<std::optional<uint64_t>> PostgresSinkCore::committed(Millis t, int partition) {
  Impl& m = *impl_;
  auto q = m.run_first("SELECT hash FROM _rill_markers WHERE output = $1 AND batch_time = $2 AND \"partition\" = $3",
                       {m.output, std::to_string(t.count()), std::to_string(partition)}, "cannot read markers",
                       PGRES_TUPLES_OK);
  if (!q) return q.status();
  if (PQntuples(q->get()) == 0) return std::optional<uint64_t>{};
  return std::optional<uint64_t>(std::bit_cast<uint64_t>(static_cast<int64_t>(std::stoll(PQgetvalue(q->get(), 0, 0)))));
}

void check_postgres_options(const PostgresSinkOptions& o, std::size_t leaf_columns) {
  auto server = describe_server(o.conninfo);
  const std::string what = "postgres_sink(" + (server ? *server : std::string("postgres")) + ", table " + o.table + "): ";
  if (!server) throw ConfigError(what + server.status().message());
  check_sql_table(what, SqlTable{o.table, o.key_columns, o.column_names}, leaf_columns);
}

}  // namespace rill::persistence
