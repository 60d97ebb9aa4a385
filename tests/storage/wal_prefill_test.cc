// The events' WAL is zero-filled ahead of its end when it is synced at every
// write (storage/internal/wal_prefill.h), and a WAL left with zeros after
// its last record, as a crash leaves it, replays every event.

#include "storage/internal/wal_prefill.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>

#include "storage/event_store.h"
#include "tests/storage/event_store_fixture.h"
#include "tests/support/temp_dir.h"

namespace cairn::storage {
namespace {

namespace fs = std::filesystem;
using fixture::Append;
using testing::TempDir;

// The largest WAL file (NNNNNN.log) directly in `dir`; 0 when none.
uint64_t LargestWal(const fs::path& dir) {
  uint64_t largest = 0;
  for (const auto& entry : fs::directory_iterator(dir)) {
    if (entry.path().extension() == ".log" && entry.is_regular_file()) {
      largest = std::max<uint64_t>(largest, entry.file_size());
    }
  }
  return largest;
}

// Waits (bounded) until the largest WAL in `dir` holds at least `bytes`.
bool AwaitWalOf(const fs::path& dir, uint64_t bytes) {
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (LargestWal(dir) < bytes) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return true;
}

std::unique_ptr<EventStore> OpenStore(const fs::path& dir,
                                      Durability durability) {
  Options options;
  options.durability = durability;
  auto store = EventStore::Open(options, dir.string());
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return store.has_value() ? std::move(*store) : nullptr;
}

TEST(WalPrefillTest, ASyncedWalIsFilledAheadAndTrimmedWhenClosed) {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  {
    auto store = OpenStore(data, Durability::kFsync);
    ASSERT_NE(store, nullptr);
    ASSERT_TRUE(Append(*store, "acme", "order-1", 3).status.ok());
    // A few hundred bytes appended, the whole lead of zeros on disk.
    EXPECT_TRUE(AwaitWalOf(data, Options().wal_prefill_bytes))
        << "largest WAL: " << LargestWal(data) << " bytes";
  }
  // A clean close flushes the memtables; what WAL is left is as long as
  // what was written to it, not its zeros.
  EXPECT_LT(LargestWal(data), WalPrefill::kChunkBytes);
}

TEST(WalPrefillTest, AWalWithZerosAfterItsLastRecordReplaysEveryEvent) {
  TempDir dir;
  const fs::path data = dir.path() / "data";
  const fs::path crashed = dir.path() / "crashed";
  auto store = OpenStore(data, Durability::kFsync);
  ASSERT_NE(store, nullptr);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(Append(*store, "acme", "order-" + std::to_string(i % 3), 5)
                    .status.ok());
  }
  ASSERT_TRUE(AwaitWalOf(data, Options().wal_prefill_bytes));
  // The files as a kill -9 leaves them: every write acknowledged, nothing
  // flushed (the memtables are far from full), the WAL's zeros in place.
  fs::copy(data, crashed, fs::copy_options::recursive);
  ASSERT_GE(LargestWal(crashed), Options().wal_prefill_bytes);
  store.reset();

  auto reopened = OpenStore(crashed, Durability::kFsync);
  ASSERT_NE(reopened, nullptr);
  LogReadOptions whole;
  whole.limit = 1'000;
  const auto log = reopened->ReadLog("acme", whole);
  ASSERT_TRUE(log.has_value()) << log.error().ToString();
  ASSERT_EQ(log->events.size(), 100u);
  for (size_t i = 0; i < log->events.size(); ++i) {
    EXPECT_EQ(log->events[i].position.value(), i);
  }
  // And it takes writes again, after them.
  const WriteOutcome more = Append(*reopened, "acme", "order-9", 1);
  ASSERT_TRUE(more.status.ok()) << more.status.ToString();
  EXPECT_EQ(more.streams.front().first_position.value(), 100u);
}

}  // namespace
}  // namespace cairn::storage
