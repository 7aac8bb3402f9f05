// WAL and store writer: round trip, retention, checksums, map growth, group commit, reopen.
#include <chrono>
#include <cstdio>
#include <future>
#include <thread>

#include "persistence/wal.hpp"
#include "temp_store.hpp"

using namespace rill;
using namespace rill::persistence;
using rill::persistence::test::TempDir;

namespace {

net::Frame frame_of(uint32_t stream, uint64_t seq, std::size_t size = 32) {
  std::vector<uint8_t> bytes(size);
  for (std::size_t i = 0; i < size; ++i) bytes[i] = static_cast<uint8_t>(stream * 31 + seq + i);
  return net::Frame(std::move(bytes));
}

Status wait(std::future<Status> f) {
  REQUIRE(f.wait_for(std::chrono::seconds(30)) == std::future_status::ready);
  return f.get();
}

StoreOptions test_options(SyncMode sync = SyncMode::nosync) {
  StoreOptions o;
  o.sync = sync;
  return o;
}

}  // namespace

TEST_CASE("WAL blocks round-trip, iterate in seq order and are deleted for retention") {
  TempDir dir;
  auto env = LmdbEnv::open(dir.path, test_options());
  REQUIRE(env.is_ok());
  StoreWriter writer(*env);
  WalWriter wal(writer);
  for (uint64_t seq = 1; seq <= 20; ++seq) {
    REQUIRE(wait(wal.append(1, seq, seq * 100, frame_of(1, seq))).is_ok());
    REQUIRE(wait(wal.append(2, seq, 0, frame_of(2, seq, 300))).is_ok());
  }
  WalReader reader(*env);
  auto b = reader.read(1, 7);
  REQUIRE(b.is_ok());
  CHECK(b->stream == 1);
  CHECK(b->seq == 7);
  CHECK(b->source_offset == 700);
  CHECK(b->frame == frame_of(1, 7));

  auto dup = wait(wal.append(1, 7, 1, frame_of(9, 9)));
  CHECK(dup.code() == Errc::invalid_argument);
  CHECK(dup.message().find("wal stream 1 seq 7") != std::string::npos);
  CHECK(reader.read(1, 7)->frame == frame_of(1, 7));  // not overwritten

  auto range = reader.read_from(2, 15);
  REQUIRE(range.is_ok());
  REQUIRE(range->size() == 6);
  for (std::size_t i = 0; i < range->size(); ++i) {
    CHECK((*range)[i].seq == 15 + i);
    CHECK((*range)[i].frame == frame_of(2, 15 + i, 300));
  }
  CHECK(reader.read_from(1, 0, 3)->size() == 3);

  auto deleted = reader.delete_up_to(writer, 1, 10);
  REQUIRE(deleted.is_ok());
  CHECK(*deleted == 10);
  CHECK(reader.read(1, 10).status().code() == Errc::not_found);
  CHECK(reader.read(1, 11).is_ok());
  CHECK(reader.read_from(1, 0)->front().seq == 11);
  CHECK(reader.read_from(2, 0)->size() == 20);  // other streams untouched
}

TEST_CASE("a damaged WAL value is Errc::corrupt naming store, db and key") {
  TempDir dir;
  {
    auto env = LmdbEnv::open(dir.path, test_options());
    REQUIRE(env.is_ok());
    StoreWriter writer(*env);
    REQUIRE(wait(WalWriter(writer).append(3, 42, 5, frame_of(3, 42))).is_ok());
  }
  // Flip one payload byte, keeping the old checksum.
  std::string key = wal_key(3, 42);
  std::string payload;
  put_u64(payload, 5);
  auto f = frame_of(3, 42);
  payload.append(reinterpret_cast<const char*>(f.data()), f.size());
  std::string value = seal_value(key, payload);
  value.back() ^= 0x01;
  test::raw_put(dir.path, "wal", key, value);

  auto env = LmdbEnv::open(dir.path, test_options());
  REQUIRE(env.is_ok());
  auto b = WalReader(*env).read(3, 42);
  REQUIRE_FALSE(b.is_ok());
  CHECK(b.status().code() == Errc::corrupt);
  INFO(b.status().message());
  CHECK(b.status().message().find(dir.path) != std::string::npos);
  CHECK(b.status().message().find("db wal stream 3 seq 42") != std::string::npos);
  CHECK(b.status().message().find("checksum") != std::string::npos);
  CHECK(WalReader(*env).read_from(3, 0).status().code() == Errc::corrupt);
}

TEST_CASE("a full map grows and the write is retried; everything stays readable") {
  TempDir dir;
  StoreOptions o = test_options();
  o.initial_map_bytes = 256 << 10;
  auto env = LmdbEnv::open(dir.path, o);
  REQUIRE(env.is_ok());
  StoreWriter writer(*env);
  WalWriter wal(writer);
  std::vector<std::future<Status>> pending;
  for (uint64_t seq = 0; seq < 2000; ++seq) pending.push_back(wal.append(1, seq, seq, frame_of(1, seq, 1024)));
  for (auto& p : pending) REQUIRE(wait(std::move(p)).is_ok());
  CHECK(writer.map_growths() > 0);
  CHECK(env->map_bytes() > o.initial_map_bytes);
  auto all = WalReader(*env).read_from(1, 0);
  REQUIRE(all.is_ok());
  REQUIRE(all->size() == 2000);
  for (uint64_t seq = 0; seq < 2000; seq += 97) CHECK((*all)[seq].frame == frame_of(1, seq, 1024));
}

TEST_CASE("group commit: 8 concurrent writers share fsyncs, full sync") {
  TempDir dir;
  auto env = LmdbEnv::open(dir.path, test_options(SyncMode::full));
  REQUIRE(env.is_ok());
  StoreWriterOptions wo;
  SECTION("default max_delay (0): fsyncs that overlap are shared") {}
  SECTION("max_delay 2 ms: a lone request waits for company") { wo.max_delay = std::chrono::microseconds(2000); }
  StoreWriter writer(*env, wo);
  WalWriter wal(writer);
  constexpr int kThreads = 8, kPerThread = 200;
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  auto start = std::chrono::steady_clock::now();
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&wal, &failures, t] {
      for (uint64_t seq = 0; seq < kPerThread; ++seq) {
        auto f = wal.append(t, seq, seq, frame_of(t, seq, 256));
        if (f.wait_for(std::chrono::seconds(30)) != std::future_status::ready || !f.get().is_ok())
          ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("group commit, max_delay %lld us: %d appends in %.3f s (%.0f/s), %llu commits\n",
              static_cast<long long>(wo.max_delay.count()), kThreads * kPerThread, secs,
              kThreads * kPerThread / secs, static_cast<unsigned long long>(writer.commits()));
  CHECK(failures == 0);
  CHECK(writer.commits() < kThreads * kPerThread / 4);
  WalReader reader(*env);
  for (int t = 0; t < kThreads; ++t) {
    auto blocks = reader.read_from(t, 0);
    REQUIRE(blocks.is_ok());
    CHECK(blocks->size() == kPerThread);
  }
}

TEST_CASE("single put per commit, full sync (throwaway baseline)", "[.bench]") {
  TempDir dir;
  auto env = LmdbEnv::open(dir.path, test_options(SyncMode::full));
  REQUIRE(env.is_ok());
  StoreWriterOptions wo;
  wo.max_delay = std::chrono::microseconds(0);
  StoreWriter writer(*env, wo);
  WalWriter wal(writer);
  auto start = std::chrono::steady_clock::now();
  for (uint64_t seq = 0; seq < 1600; ++seq) REQUIRE(wait(wal.append(0, seq, seq, frame_of(0, seq, 256))).is_ok());
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  std::printf("single writer: 1600 appends in %.3f s (%.0f/s), %llu commits\n", secs, 1600 / secs,
              static_cast<unsigned long long>(writer.commits()));
}

TEST_CASE("a closed and reopened store keeps every block") {
  TempDir dir;
  {
    auto env = LmdbEnv::open(dir.path, test_options(SyncMode::full));
    REQUIRE(env.is_ok());
    StoreWriter writer(*env);
    WalWriter wal(writer);
    for (uint64_t seq = 0; seq < 50; ++seq) REQUIRE(wait(wal.append(4, seq, seq, frame_of(4, seq))).is_ok());
  }
  auto env = LmdbEnv::open(dir.path, test_options(SyncMode::full));
  REQUIRE(env.is_ok());
  auto all = WalReader(*env).read_from(4, 0);
  REQUIRE(all.is_ok());
  REQUIRE(all->size() == 50);
  CHECK(all->back().frame == frame_of(4, 49));
}
