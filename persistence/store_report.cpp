// inspect_store(): one read txn over a read-only environment, one pass per database, every
// value's checksum verified on the way (a damaged record is an error naming its key).
#include "persistence/store_report.hpp"

#include <filesystem>
#include <system_error>

#include "persistence/keys.hpp"
#include "persistence/lmdb_env.hpp"

namespace rill::persistence {

namespace {

namespace fs = std::filesystem;
using Bytes = std::span<const uint8_t>;

std::string text_of(Bytes b) {
  return std::string(reinterpret_cast<const char*>(b.data()), b.size());
}

// The name before " <- " in a signature's "output-name <- stream-name".
std::string output_name(const std::string& line) { return line.substr(0, line.find(" <- ")); }

class Collector {
 public:
  Collector(const LmdbEnv& env, const ReadTxn& txn, StoreReport& r) : env_(env), txn_(txn), r_(r) {}

  Status meta() {
    std::vector<Millis> allocations;  // in time order: keys sort as times do
    Status st = txn_.scan(Db::meta, {}, {}, [&](Bytes key, Bytes v) {
      auto type = static_cast<MetaType>(key[0]);
      Bytes k = key.subspan(1);
      switch (type) {
        case MetaType::format_version:
          break;  // checked by open_read_only
        case MetaType::zero_time:
          if (v.size() != 8) return bad(key);
          r_.zero_time = Millis(get_i64(v.data()));
          break;
        case MetaType::partitions:
          if (v.size() != 4) return bad(key);
          r_.partitions.emplace_back(text_of(k), static_cast<int>(get_u32(v.data())));
          break;
        case MetaType::allocation:
          if (k.size() != 8) return bad(key);
          allocations.push_back(Millis(get_i64(k.data())));
          break;
        case MetaType::commit:
          if (k.size() != 16 || v.size() != 8) return bad(key);
          add_commit(get_u32(k.data()), Millis(get_i64(k.data() + 4)));
          break;
        case MetaType::completion:
          if (k.size() != 8) return bad(key);
          if (r_.completed++ == 0) r_.first_completed = Millis(get_i64(k.data()));
          break;
        case MetaType::last_completed:
        case MetaType::last_checkpoint:
          if (v.size() != 8) return bad(key);
          (type == MetaType::last_completed ? r_.last_completed : r_.last_checkpoint) =
              Millis(get_i64(v.data()));
          break;
        case MetaType::job:
          job_text_ = text_of(v);
          break;
        case MetaType::downtime:
          if (k.size() != 8 || v.size() != 8) return bad(key);
          r_.downtimes.emplace_back(Millis(get_i64(k.data())), Millis(get_i64(v.data())));
          break;
        default:
          ++r_.unknown_meta;
      }
      return true;
    });
    if (!st) return st;
    if (!problem_) return problem_;
    // The zero time's allocation is the sources' start record, never a batch (FORMAT.md).
    for (Millis t : allocations) {
      if (r_.zero_time && t == *r_.zero_time) {
        r_.start_record = true;
        continue;
      }
      if (r_.allocated++ == 0) r_.first_allocated = t;
      r_.last_allocated = t;
      if (!r_.last_completed || t > *r_.last_completed) r_.pending.push_back(t);
    }
    if (job_text_) {
      auto sig = DagSignature::from_text(*job_text_);
      if (sig)
        r_.job = std::move(*sig);
      else
        r_.job_problem = sig.status().message();
    }
    for (auto& c : r_.commits)
      if (r_.job && c.output < r_.job->outputs.size())
        c.name = output_name(r_.job->outputs[c.output]);
    return Status::ok();
  }

  Status wal() {
    Status st = txn_.scan(Db::wal, {}, {}, [&](Bytes key, Bytes v) {
      if (key.size() != kWalKeyBytes) return bad(key, Db::wal);
      uint32_t stream = get_u32(key.data());
      uint64_t seq = get_u64(key.data() + 4);
      if (r_.wal.empty() || r_.wal.back().stream != stream) {
        WalUsage w{stream, {}, 0, 0, seq, seq};
        if (r_.job && stream < r_.job->streams.size()) w.name = r_.job->streams[stream].name;
        r_.wal.push_back(std::move(w));
      }
      WalUsage& w = r_.wal.back();
      ++w.blocks;
      w.bytes += kChecksumBytes + v.size();
      w.last_seq = seq;
      return true;
    });
    return st ? problem_ : st;
  }

  Status state() {
    Status st = txn_.scan(Db::state, {}, {}, [&](Bytes key, Bytes v) {
      // u32 name length + name + u32 partition + i64 t; payload: kind byte + frame.
      if (key.size() < 4 || key.size() != 4 + get_u32(key.data()) + 12 || v.empty() || v[0] < 1 ||
          v[0] > 2)
        return bad(key, Db::state);
      std::string stream = text_of(key.subspan(4, key.size() - 16));
      int partition = static_cast<int>(get_u32(key.data() + key.size() - 12));
      Millis t(get_i64(key.data() + key.size() - 8));
      if (r_.state.empty() || r_.state.back().stream != stream ||
          r_.state.back().partition != partition)
        r_.state.push_back({stream, partition, 0, 0, 0, t, t});
      StateUsage& s = r_.state.back();
      ++(v[0] == 1 ? s.full : s.delta);
      s.bytes += kChecksumBytes + v.size();
      s.last = t;
      return true;
    });
    return st ? problem_ : st;
  }

  Status markers() {
    return txn_.scan(Db::markers, {}, {}, [&](Bytes, Bytes) { return ++r_.sink_markers, true; });
  }

 private:
  // Commit keys sort by (output, t, partition): a new t within an output is a new batch.
  void add_commit(uint32_t output, Millis t) {
    if (r_.commits.empty() || r_.commits.back().output != output)
      r_.commits.push_back({output, {}, 0, 0, t, t});
    CommitUsage& c = r_.commits.back();
    if (c.commits++ == 0 || c.last != t) ++c.batches;
    c.last = t;
  }

  bool bad(Bytes key, Db db = Db::meta) {
    problem_ = Status(Errc::corrupt, "store " + env_.dir() + ", db " + describe_key(db, key) +
                                         ": malformed record (key or value has the wrong size)");
    return false;
  }

  const LmdbEnv& env_;
  const ReadTxn& txn_;
  StoreReport& r_;
  std::optional<std::string> job_text_;
  Status problem_;
};

Status collect_sizes(const LmdbEnv& env, StoreReport& r) {
  std::error_code ec;
  r.file_bytes = fs::file_size(fs::path(r.dir) / "data.mdb", ec);
  if (ec) return {Errc::io_error, "store " + r.dir + ": data.mdb: " + ec.message()};
  MDB_envinfo info;
  MDB_stat stat;
  if (int rc = mdb_env_info(env.raw(), &info)) return env.error(Errc::io_error, "mdb_env_info", rc);
  if (int rc = mdb_env_stat(env.raw(), &stat)) return env.error(Errc::io_error, "mdb_env_stat", rc);
  r.map_bytes = info.me_mapsize;
  r.used_bytes = (static_cast<uint64_t>(info.me_last_pgno) + 1) * stat.ms_psize;
  return Status::ok();
}

Result<StoreReport> read_report(const std::string& dir) {
  auto env = LmdbEnv::open_read_only(dir);
  if (!env) return env.status();
  StoreReport r;
  r.dir = dir;
  r.format_version = env->format_version();
  if (Status st = collect_sizes(*env, r); !st) return st;
  {
    // One snapshot for every database, so the counts agree with each other.
    auto txn = env->begin_read();
    if (!txn) return txn.status();
    Collector c(*env, *txn, r);
    Status st = c.meta();  // first: the job signature names the WAL streams
    if (st) st = c.wal();
    if (st) st = c.state();
    if (st) st = c.markers();
    if (!st) return st;
  }
  return r;
}

}  // namespace

Result<StoreReport> inspect_store(const std::string& dir) {
  std::error_code ec;
  auto kind = fs::status(dir, ec).type();
  if (kind == fs::file_type::not_found)
    return Status(Errc::not_found, "'" + dir + "' does not exist");
  if (kind != fs::file_type::directory)
    return Status(Errc::invalid_argument, "'" + dir + "' is not a directory");
  auto report = read_report(dir);
  // A running job may grow the map between the open and the read txn (MDB_MAP_RESIZED); a
  // second open maps the new size.
  if (!report && report.status().code() == Errc::io_error) report = read_report(dir);
  return report;
}

}  // namespace rill::persistence
