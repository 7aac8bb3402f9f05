// rill-inspect: the report of a store written through the persistence API, its errors, and the
// built binary (text, --json, exit codes) proving it reads without writing, even beside a job.
#include <sys/stat.h>
#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <sstream>

#include "persistence/checkpoint_store.hpp"
#include "persistence/store_report.hpp"
#include "temp_store.hpp"

using namespace rill;
using namespace rill::persistence;
using namespace std::chrono_literals;
using rill::persistence::test::TempDir;

namespace {

bool contains(const std::string& s, const std::string& part) {
  return s.find(part) != std::string::npos;
}

constexpr uint32_t kLines = 0;  // the WAL stream's node id: streams[0] of the signature below
constexpr std::size_t kFrameBytes = 16;

DagSignature signature() {
  DagSignature sig;
  sig.interval_ms = 100;
  sig.streams.push_back({"lines", "receiver", "std::string", "", {}, 1, 100, false});
  sig.streams.push_back({"counts", "update_state_by_key", "pair", "", {"lines"}, 2, 100, true});
  sig.outputs = {"print <- counts", "totals <- counts"};
  return sig;
}

// Zero time 1000; batches k = 1..5 at 1000 + k*100, each taking two WAL blocks of stream 0 and
// committing output 0 on partitions 0 and 1 (output 1: batches 1..3, partition 0). State of
// counts: full at batch 1, deltas after. Batches 1..3 complete, 2 is the last checkpoint.
// One more block is durable but unallocated; 1600..1700 was a downtime.
void write_store(CheckpointStore& store) {
  auto& meta = store.meta();
  REQUIRE(meta.record_zero_time(1000ms).is_ok());
  REQUIRE(meta.record_job(signature().to_text()).is_ok());
  REQUIRE(meta.record_partitions("lines", 1).is_ok());
  REQUIRE(meta.record_partitions("counts", 2).is_ok());
  REQUIRE(meta.record_allocation(1000ms, {{static_cast<int>(kLines), 0, 0, ""}}).is_ok());
  net::Frame frame(std::vector<uint8_t>(kFrameBytes, 7));
  for (int k = 1; k <= 5; ++k) {
    Millis t{1000 + k * 100};
    uint64_t seq = static_cast<uint64_t>(k - 1) * 2;
    for (uint64_t s = seq; s < seq + 2; ++s)
      REQUIRE(store.wal_writer().append(kLines, s, s, frame).get().is_ok());
    REQUIRE(meta.record_allocation(t, {{static_cast<int>(kLines), seq, 4, ""}}).is_ok());
    for (int p = 0; p < 2; ++p) REQUIRE(meta.record_commit(0, t, p, 1).is_ok());
    if (k <= 3) REQUIRE(meta.record_commit(1, t, 0, 1).is_ok());
    for (int p = 0; p < 2; ++p)
      REQUIRE(
          store.state().write("counts", p, {t, k == 1, std::string(10 * k, 's')}).get().is_ok());
    if (k <= 3) REQUIRE(meta.record_completion(t, k == 2).is_ok());
  }
  REQUIRE(store.wal_writer().append(kLines, 10, 10, frame).get().is_ok());
  REQUIRE(meta.record_downtime(1600ms, 1700ms).is_ok());
}

std::shared_ptr<CheckpointStore> open_store(const std::string& dir) {
  StoreOptions options;
  options.sync = SyncMode::nosync;
  auto store = CheckpointStore::open(dir, options);
  REQUIRE(store);
  return *store;
}

void write_version(const std::string& dir, uint32_t version) {
  std::string key = meta_key(MetaType::format_version), payload;
  put_u32(payload, version);
  test::raw_put(dir, "meta", key, seal_value(key, payload));
}

struct Run {
  int code = -1;
  std::string out, err;
};

// Runs the built rill-inspect (meson test passes its path) with args, capturing both streams.
Run inspect(const std::string& args) {
  const char* exe = std::getenv("RILL_INSPECT");
  if (!exe || !*exe) FAIL("RILL_INSPECT is not set (meson test sets it)");
  TempDir tmp;
  std::string cmd = std::string(exe) + " " + args + " >" + tmp.path + "/out 2>" + tmp.path + "/err";
  int status = std::system(cmd.c_str());
  Run r;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  auto slurp = [](const std::string& path) {
    std::ostringstream s;
    s << std::ifstream(path).rdbuf();
    return s.str();
  };
  r.out = slurp(tmp.path + "/out");
  r.err = slurp(tmp.path + "/err");
  return r;
}

// A file's bytes and modification time, to prove inspection wrote nothing.
struct FileState {
  std::string bytes;
  timespec mtime{};
  bool operator==(const FileState& o) const {
    return bytes == o.bytes && mtime.tv_sec == o.mtime.tv_sec && mtime.tv_nsec == o.mtime.tv_nsec;
  }
};

std::map<std::string, FileState> files_of(const std::string& dir) {
  std::map<std::string, FileState> out;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    struct stat st;
    REQUIRE(stat(e.path().c_str(), &st) == 0);
    std::ostringstream s;
    s << std::ifstream(e.path()).rdbuf();
    out[e.path().filename()] = {s.str(), st.st_mtim};
  }
  return out;
}

}  // namespace

TEST_CASE("the report counts what the persistence API wrote", "[inspect]") {
  TempDir dir;
  write_store(*open_store(dir.path));
  auto r = inspect_store(dir.path);
  REQUIRE(r);
  CHECK(r->format_version == kFormatVersion);
  CHECK(r->zero_time == 1000ms);
  REQUIRE(r->job);
  CHECK(r->job->streams.size() == 2);
  CHECK(r->partitions == std::vector<std::pair<std::string, int>>{{"counts", 2}, {"lines", 1}});
  CHECK(r->start_record);
  CHECK(r->allocated == 5);
  CHECK(r->first_allocated == 1100ms);
  CHECK(r->last_allocated == 1500ms);
  CHECK(r->completed == 3);
  CHECK(r->first_completed == 1100ms);
  CHECK(r->last_completed == 1300ms);
  CHECK(r->pending == std::vector<Millis>{1400ms, 1500ms});
  CHECK(r->last_checkpoint == 1200ms);
  CHECK(r->downtimes == std::vector<std::pair<Millis, Millis>>{{1600ms, 1700ms}});

  REQUIRE(r->wal.size() == 1);
  CHECK(r->wal[0].stream == kLines);
  CHECK(r->wal[0].name == "lines");
  CHECK(r->wal[0].blocks == 11);
  CHECK(r->wal[0].bytes == 11 * (kChecksumBytes + kWalHeaderBytes + kFrameBytes));
  CHECK(r->wal[0].first_seq == 0);
  CHECK(r->wal[0].last_seq == 10);

  REQUIRE(r->state.size() == 2);
  for (int p = 0; p < 2; ++p) {
    const StateUsage& s = r->state[static_cast<std::size_t>(p)];
    CHECK(s.stream == "counts");
    CHECK(s.partition == p);
    CHECK(s.full == 1);
    CHECK(s.delta == 4);
    CHECK(s.bytes == 5 * (kChecksumBytes + 1) + 10 * (1 + 2 + 3 + 4 + 5));
    CHECK(s.first == 1100ms);
    CHECK(s.last == 1500ms);
  }

  REQUIRE(r->commits.size() == 2);
  CHECK(r->commits[0].name == "print");
  CHECK(r->commits[0].commits == 10);
  CHECK(r->commits[0].batches == 5);
  CHECK(r->commits[1].name == "totals");
  CHECK(r->commits[1].commits == 3);
  CHECK(r->commits[1].batches == 3);
  CHECK(r->commits[1].last == 1300ms);
  CHECK(r->sink_markers == 0);
  CHECK(r->unknown_meta == 0);
  CHECK(r->file_bytes == std::filesystem::file_size(dir.path + "/data.mdb"));
  CHECK(r->used_bytes > 0);
  CHECK(r->used_bytes <= r->map_bytes);
}

TEST_CASE("the report refuses what is not a readable rill store, naming the path", "[inspect]") {
  TempDir dir;
  auto message = [](const std::string& path) {
    auto r = inspect_store(path);
    REQUIRE_FALSE(r);
    INFO(r.status().message());
    CHECK(contains(r.status().message(), path));
    return r.status().message();
  };
  CHECK(contains(message(dir.path + "/missing"), "does not exist"));
  std::ofstream(dir.path + "/file") << "x";
  CHECK(contains(message(dir.path + "/file"), "is not a directory"));
  CHECK(contains(message(dir.path), "is not a rill store: no data.mdb"));
  std::ofstream(dir.path + "/data.mdb") << std::string(8192, 'x');
  CHECK(contains(message(dir.path), "MDB_INVALID"));

  TempDir newer;
  { open_store(newer.path); }
  write_version(newer.path, kFormatVersion + 1);
  CHECK(contains(message(newer.path), "format " + std::to_string(kFormatVersion + 1) +
                                          ", this rill reads up to " +
                                          std::to_string(kFormatVersion)));

  TempDir damaged;
  write_store(*open_store(damaged.path));
  test::raw_put(damaged.path, "meta", meta_key(MetaType::zero_time), std::string(16, '\0'));
  auto msg = message(damaged.path);
  CHECK(contains(msg, "checksum mismatch"));
  CHECK(contains(msg, "db meta"));
}

TEST_CASE("rill-inspect prints the report, beside a running job and without writing", "[inspect]") {
  TempDir dir;
  {
    auto store = open_store(dir.path);
    write_store(*store);
    // The store stays open here, as a job holds it: LMDB readers in another process coexist.
    Run text = inspect(dir.path);
    INFO(text.out + text.err);
    CHECK(text.code == 0);
    CHECK(contains(text.out, "rill store " + dir.path));
    CHECK(contains(text.out, "2: 1400 ms, 1500 ms\n"));
    CHECK(contains(text.out, "stream 0 (lines)"));
    CHECK(contains(text.out, "counts partition 1"));
    CHECK(contains(text.out, "output 1 (totals)"));
    CHECK(contains(text.out, "3 markers for 3 batches"));
  }
  auto before = files_of(dir.path);
  Run text = inspect(dir.path);
  CHECK(text.code == 0);
  Run json = inspect("--json " + dir.path);
  INFO(json.err);
  CHECK(json.code == 0);
  CHECK(contains(json.out, "\"allocated\":5,"));
  CHECK(contains(json.out, "\"not_completed_ms\":[1400,1500]"));
  // meson needs python3, so it is there to check the JSON parses.
  TempDir tmp;
  std::ofstream(tmp.path + "/report.json") << json.out;
  CHECK(std::system(("python3 -m json.tool " + tmp.path + "/report.json >/dev/null").c_str()) == 0);

  // data.mdb is never opened for writing; lock.mdb is LMDB's reader table, where any reader
  // (mdb_stat too) registers: it keeps its size, and no file appears.
  auto after = files_of(dir.path);
  REQUIRE(after.size() == before.size());
  CHECK(after["data.mdb"] == before["data.mdb"]);
  CHECK(after["lock.mdb"].bytes.size() == before["lock.mdb"].bytes.size());
  // A copied store without its lock file is read without creating one.
  std::filesystem::remove(dir.path + "/lock.mdb");
  CHECK(inspect(dir.path).code == 0);
  CHECK_FALSE(std::filesystem::exists(dir.path + "/lock.mdb"));
  CHECK(files_of(dir.path)["data.mdb"] == before["data.mdb"]);
}

TEST_CASE("a store no job has used yet reports nothing recorded, in valid JSON", "[inspect]") {
  TempDir dir;
  { open_store(dir.path); }
  Run text = inspect(dir.path);
  INFO(text.out + text.err);
  CHECK(text.code == 0);
  CHECK(contains(text.out, "zero time   none\n"));
  CHECK(contains(text.out, "job         none recorded\n"));
  Run json = inspect("--json " + dir.path);
  CHECK(json.code == 0);
  CHECK(contains(json.out, "\"zero_time_ms\":null,\"job\":null,"));
  TempDir tmp;
  std::ofstream(tmp.path + "/report.json") << json.out;
  CHECK(std::system(("python3 -m json.tool " + tmp.path + "/report.json >/dev/null").c_str()) == 0);
}

TEST_CASE("rill-inspect exits 2 with one line naming the path", "[inspect]") {
  TempDir dir;
  Run help = inspect("--help");
  CHECK(help.code == 0);
  CHECK(contains(help.out, "usage: rill-inspect"));
  CHECK(inspect("").code == 2);
  CHECK(inspect("--bogus " + dir.path).code == 2);

  Run empty = inspect(dir.path);
  CHECK(empty.code == 2);
  CHECK(empty.out.empty());
  CHECK(empty.err == "rill-inspect: '" + dir.path + "' is not a rill store: no data.mdb\n");
  CHECK_FALSE(std::filesystem::exists(dir.path + "/data.mdb"));

  std::ofstream(dir.path + "/file") << "x";
  Run file = inspect("--json " + dir.path + "/file");
  CHECK(file.code == 2);
  CHECK(file.err == "rill-inspect: '" + dir.path + "/file' is not a directory\n");

  TempDir newer;
  { open_store(newer.path); }
  write_version(newer.path, kFormatVersion + 1);
  Run n = inspect(newer.path);
  CHECK(n.code == 2);
  CHECK(contains(n.err, "'" + newer.path + "'"));
  CHECK(contains(n.err, "format " + std::to_string(kFormatVersion + 1)));
  CHECK(std::count(n.err.begin(), n.err.end(), '\n') == 1);
}
