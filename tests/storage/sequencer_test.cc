// The sequencer (storage/internal/sequencer.h) seen through EventStore: one
// writer under concurrent callers, group commit, and state that survives a
// restart.

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "protocol/event_record.h"
#include "protocol/uuid.h"
#include "storage/event_store.h"
#include "tests/storage/event_store_fixture.h"
#include "tests/support/temp_dir.h"

namespace cairn::storage {
namespace {

using fixture::Append;
using fixture::Delete;
using fixture::Ids;
using fixture::Positions;
using fixture::Range;
using fixture::Request;
using fixture::Revisions;
using fixture::StreamsOf;
using fixture::ToStream;
using fixture::ToStreamWithIds;

class SequencerTest : public ::testing::Test {
 protected:
  void Open(Options options) {
    options.block_cache_bytes = size_t{8} << 20;
    options_ = options;
    store_.reset();
    auto store = EventStore::Open(options, dir_.str());
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
  }
  void Open(Durability durability) {
    Options options;
    options.durability = durability;
    Open(options);
  }
  // Closes the store (destroying it) and opens the same directory again.
  void Reopen() {
    store_.reset();
    Open(options_);
  }

  EventStore& store() { return *store_; }

  std::vector<StoredEvent> ReadAll(const std::string& tenant,
                                   const std::string& stream) {
    StreamReadOptions options;
    options.limit = 100'000;
    auto page = store().ReadStream(tenant, stream, options);
    EXPECT_TRUE(page.has_value()) << page.error().ToString();
    return page.has_value() ? std::move(page->events)
                            : std::vector<StoredEvent>{};
  }

  std::vector<StoredEvent> ReadWholeLog(const std::string& tenant) {
    LogReadOptions options;
    options.limit = 100'000;
    auto page = store().ReadLog(tenant, options);
    EXPECT_TRUE(page.has_value()) << page.error().ToString();
    return page.has_value() ? std::move(page->events)
                            : std::vector<StoredEvent>{};
  }

  cairn::testing::TempDir dir_;
  Options options_;
  std::unique_ptr<EventStore> store_;  // closed before dir_ is removed
};

// Outcomes of writes submitted without waiting. Each callback holds a
// reference, so that the state outlives a test that stops waiting (or
// returns while the last callback is still notifying).
struct Answers : std::enable_shared_from_this<Answers> {
  explicit Answers(size_t n) : outcomes(n) {}

  WriteCallback Slot(size_t i) {
    return [self = shared_from_this(), i](WriteOutcome out) {
      std::lock_guard lock(self->mu);
      self->outcomes[i] = std::move(out);
      self->answered.fetch_add(1);
      self->cv.notify_all();
    };
  }

  // Waits (bounded) until every write is answered.
  bool WaitAll(std::chrono::seconds timeout) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, timeout,
                       [&] { return answered.load() == outcomes.size(); });
  }

  std::atomic<size_t> answered{0};
  std::mutex mu;
  std::condition_variable cv;
  std::vector<WriteOutcome> outcomes;  // guarded by mu until all answered
};

// ---------------------------------------------------------------------------
// Concurrency and group commit

TEST_F(SequencerTest, ConcurrentExactAppendsToOneStreamAreSerialised) {
  Open(Durability::kWal);
  constexpr int kThreads = 8;
  constexpr int kPerThread = 500;
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);

  struct ThreadResult {
    std::vector<Uuid> acked;
    uint64_t conflicts = 0;
    std::string error;
  };
  std::vector<ThreadResult> results(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      ThreadResult& r = results[t];
      std::optional<uint64_t> last_seen;
      while (r.acked.size() < kPerThread) {
        if (std::chrono::steady_clock::now() > deadline) {
          r.error = "deadline passed";
          return;
        }
        const Uuid id = Uuid::NewV7();
        const ExpectedRevision expected =
            last_seen ? ExpectedRevision::Exact(*last_seen)
                      : ExpectedRevision::NoStream();
        WriteOutcome out = Append(
            store(),
            Request("acme", {ToStreamWithIds("counter", expected, {id})}));
        if (out.status.ok()) {
          if (out.duplicate) {
            r.error = "a fresh id was taken for a retry";
            return;
          }
          r.acked.push_back(id);
          last_seen = out.streams[0].last_revision.value();
        } else if (out.status.IsWrongExpectedVersion() &&
                   out.conflicts.size() == 1) {
          ++r.conflicts;
          last_seen = out.conflicts[0].actual_revision;
        } else {
          r.error = out.status.ToString();
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();

  std::set<Uuid> acked;
  uint64_t conflicts = 0;
  for (const ThreadResult& r : results) {
    conflicts += r.conflicts;
    EXPECT_EQ(r.error, "");
    EXPECT_EQ(r.acked.size(), size_t{kPerThread});
    acked.insert(r.acked.begin(), r.acked.end());
  }
  // How contended the run was (in the XML report), for whoever reads it.
  RecordProperty("conflicts", std::to_string(conflicts));
  constexpr uint64_t kTotal = uint64_t{kThreads} * kPerThread;
  ASSERT_EQ(acked.size(), kTotal) << "an id was acknowledged twice";

  const std::vector<StoredEvent> events = ReadAll("acme", "counter");
  ASSERT_EQ(events.size(), kTotal);
  EXPECT_EQ(Revisions(events), Range(0, kTotal));
  EXPECT_EQ(Positions(events), Range(0, kTotal));
  const std::vector<Uuid> ids = Ids(events);
  EXPECT_EQ(std::set<Uuid>(ids.begin(), ids.end()), acked);
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(kTotal));
  EXPECT_EQ(Positions(ReadWholeLog("acme")), Range(0, kTotal));
}

TEST_F(SequencerTest, GroupCommitAnswersEveryQueuedAppend) {
  Open(Durability::kFsync);  // one fsync per group: grouping is what's fast
  constexpr size_t kAppends = 1000;
  constexpr size_t kStreams = 10;
  auto answers = std::make_shared<Answers>(kAppends);
  for (size_t i = 0; i < kAppends; ++i) {
    store().Append(
        Request("acme", {ToStream("stream-" + std::to_string(i % kStreams),
                                  ExpectedRevision::Any(), 1)}),
        answers->Slot(i));
  }
  ASSERT_TRUE(answers->WaitAll(std::chrono::seconds(60)))
      << answers->answered.load() << " of " << kAppends << " answered";

  std::vector<uint64_t> positions;
  for (const WriteOutcome& out : answers->outcomes) {
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    ASSERT_EQ(out.first_position, out.last_position);
    positions.push_back(out.first_position.value());
  }
  std::sort(positions.begin(), positions.end());
  EXPECT_EQ(positions, Range(0, kAppends));
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(kAppends));
  for (size_t s = 0; s < kStreams; ++s) {
    EXPECT_EQ(Revisions(ReadAll("acme", "stream-" + std::to_string(s))),
              Range(0, kAppends / kStreams));
  }
}

TEST_F(SequencerTest, GroupCommitKeepsEachTenantsPositionsGapless) {
  Open(Durability::kWal);
  constexpr size_t kAppends = 600;
  const std::vector<std::string> tenants = {"acme", "globex", "initech"};
  auto answers = std::make_shared<Answers>(kAppends);
  for (size_t i = 0; i < kAppends; ++i) {
    // Requests of 1..3 events, so that positions advance unevenly.
    store().Append(Request(tenants[i % tenants.size()],
                           {ToStream("s", ExpectedRevision::Any(),
                                     static_cast<int>(1 + i % 3))}),
                   answers->Slot(i));
  }
  ASSERT_TRUE(answers->WaitAll(std::chrono::seconds(60)));

  std::map<std::string, std::vector<uint64_t>> taken;
  for (size_t i = 0; i < kAppends; ++i) {
    const WriteOutcome& out = answers->outcomes[i];
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    for (uint64_t p = out.first_position.value();
         p <= out.last_position.value(); ++p) {
      taken[tenants[i % tenants.size()]].push_back(p);
    }
  }
  for (const std::string& tenant : tenants) {
    std::vector<uint64_t>& p = taken[tenant];
    std::sort(p.begin(), p.end());
    EXPECT_EQ(p, Range(0, p.size())) << tenant;
    EXPECT_EQ(store().LogEnd(tenant), GlobalPosition(p.size())) << tenant;
    EXPECT_EQ(Positions(ReadWholeLog(tenant)), p) << tenant;
    EXPECT_EQ(Revisions(ReadAll(tenant, "s")), Range(0, p.size())) << tenant;
  }
}

TEST_F(SequencerTest, GroupsSplitAtTheByteCap) {
  Options options;
  options.durability = Durability::kWal;
  options.max_group_bytes = 1;  // every group holds a single request
  Open(options);
  constexpr size_t kAppends = 100;
  auto answers = std::make_shared<Answers>(kAppends);
  for (size_t i = 0; i < kAppends; ++i) {
    store().Append(Request("acme", {ToStream("s", ExpectedRevision::Any(), 2)}),
                   answers->Slot(i));
  }
  ASSERT_TRUE(answers->WaitAll(std::chrono::seconds(60)));
  for (size_t i = 0; i < kAppends; ++i) {
    const WriteOutcome& out = answers->outcomes[i];
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    // One writer, in submission order.
    EXPECT_EQ(out.first_position, GlobalPosition(2 * i));
  }
  EXPECT_EQ(Revisions(ReadAll("acme", "s")), Range(0, 2 * kAppends));
}

TEST_F(SequencerTest, ChecksWithinAGroupSeeEarlierWritesOfTheGroup) {
  Open(Durability::kWal);
  // Every append expects NoStream: exactly the first may succeed, however
  // the requests are grouped.
  constexpr size_t kAppends = 50;
  auto answers = std::make_shared<Answers>(kAppends);
  for (size_t i = 0; i < kAppends; ++i) {
    store().Append(
        Request("acme", {ToStream("s", ExpectedRevision::NoStream(), 1)}),
        answers->Slot(i));
  }
  ASSERT_TRUE(answers->WaitAll(std::chrono::seconds(60)));
  EXPECT_TRUE(answers->outcomes[0].status.ok());
  for (size_t i = 1; i < kAppends; ++i) {
    const WriteOutcome& out = answers->outcomes[i];
    EXPECT_TRUE(out.status.IsWrongExpectedVersion()) << out.status.ToString();
    ASSERT_EQ(out.conflicts.size(), 1u);
    EXPECT_EQ(out.conflicts[0].actual_revision, 0u);
  }
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(1));
}

TEST_F(SequencerTest, CloseCommitsWhatIsQueued) {
  Open(Durability::kWal);
  constexpr size_t kAppends = 300;
  auto answers = std::make_shared<Answers>(kAppends);
  for (size_t i = 0; i < kAppends; ++i) {
    store().Append(Request("acme", {ToStream("s", ExpectedRevision::Any(), 1)}),
                   answers->Slot(i));
  }
  store().Close();
  // Close returns after the sequencer thread has answered everything.
  ASSERT_EQ(answers->answered.load(), kAppends);
  for (const WriteOutcome& out : answers->outcomes) {
    EXPECT_TRUE(out.status.ok()) << out.status.ToString();
  }
  Reopen();
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(kAppends));
}

TEST_F(SequencerTest, StreamHeadsReloadAfterTheCacheIsForgotten) {
  Options options;
  options.durability = Durability::kWal;
  options.max_cached_streams = 2;
  Open(options);
  constexpr int kStreams = 10;
  constexpr uint64_t kRounds = 3;
  for (uint64_t round = 0; round < kRounds; ++round) {
    for (int s = 0; s < kStreams; ++s) {
      const ExpectedRevision expected =
          round == 0 ? ExpectedRevision::NoStream()
                     : ExpectedRevision::Exact(round - 1);
      WriteOutcome out =
          Append(store(), "acme", "s-" + std::to_string(s), 1, expected);
      ASSERT_TRUE(out.status.ok()) << "round " << round << " stream " << s
                                   << ": " << out.status.ToString();
      EXPECT_EQ(out.streams[0].first_revision, StreamRevision(round));
    }
  }
  for (int s = 0; s < kStreams; ++s) {
    const auto events = ReadAll("acme", "s-" + std::to_string(s));
    EXPECT_EQ(Revisions(events), Range(0, kRounds));
    EXPECT_EQ(StreamsOf(events),
              std::vector<std::string>(kRounds, "s-" + std::to_string(s)));
  }
  EXPECT_EQ(Positions(ReadWholeLog("acme")), Range(0, kStreams * kRounds));
}

// ---------------------------------------------------------------------------
// Reopening

TEST_F(SequencerTest, ReopenPreservesLogEndsAndStreamHeads) {
  Open(Durability::kWal);
  ASSERT_TRUE(Append(store(), "acme", "order-1", 3).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "user-1", 2).status.ok());
  ASSERT_TRUE(Append(store(), "globex", "order-1", 4).status.ok());
  Reopen();

  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(5));
  EXPECT_EQ(store().LogEnd("globex"), GlobalPosition(4));
  auto info = store().GetStreamInfo("acme", "order-1");
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  EXPECT_EQ(info->last_revision, StreamRevision(2));
  EXPECT_EQ(info->last_position, GlobalPosition(2));
  info = store().GetStreamInfo("acme", "user-1");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->last_revision, StreamRevision(1));
  EXPECT_EQ(info->last_position, GlobalPosition(4));
  info = store().GetStreamInfo("globex", "order-1");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->last_revision, StreamRevision(3));
}

TEST_F(SequencerTest, AppendsAfterReopenContinueGapless) {
  Open(Durability::kWal);
  ASSERT_TRUE(Append(store(), "acme", "order-1", 3).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "user-1", 2).status.ok());
  ASSERT_TRUE(Append(store(), "globex", "order-1", 4).status.ok());
  Reopen();

  WriteOutcome out =
      Append(store(), "acme", "order-1", 2, ExpectedRevision::Exact(2));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.streams[0].first_revision, StreamRevision(3));
  EXPECT_EQ(out.first_position, GlobalPosition(5));
  EXPECT_EQ(out.last_position, GlobalPosition(6));
  out = Append(store(), "globex", "order-1", 1, ExpectedRevision::Exact(3));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.streams[0].first_revision, StreamRevision(4));
  EXPECT_EQ(out.first_position, GlobalPosition(4));

  EXPECT_EQ(Positions(ReadWholeLog("acme")), Range(0, 7));
  EXPECT_EQ(Revisions(ReadAll("acme", "order-1")), Range(0, 5));
  EXPECT_EQ(Positions(ReadWholeLog("globex")), Range(0, 5));
  // A stale expectation still fails after the restart.
  out = Append(store(), "acme", "user-1", 1, ExpectedRevision::NoStream());
  EXPECT_TRUE(out.status.IsWrongExpectedVersion());
  ASSERT_EQ(out.conflicts.size(), 1u);
  EXPECT_EQ(out.conflicts[0].actual_revision, 1u);
}

TEST_F(SequencerTest, NewTenantAfterReopenGetsItsOwnLog) {
  Open(Durability::kWal);
  ASSERT_TRUE(Append(store(), "acme", "order-1", 3).status.ok());
  ASSERT_TRUE(Append(store(), "globex", "order-1", 2).status.ok());
  const std::vector<Uuid> acme_ids = Ids(ReadWholeLog("acme"));
  const std::vector<Uuid> globex_ids = Ids(ReadWholeLog("globex"));
  Reopen();

  const Uuid id = Uuid::NewV7();
  WriteOutcome out = Append(
      store(),
      Request("initech", {ToStreamWithIds(
                             "order-1", ExpectedRevision::NoStream(), {id})}));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.first_position, GlobalPosition(0));
  EXPECT_EQ(out.streams[0].first_revision, StreamRevision(0));

  EXPECT_EQ(Ids(ReadWholeLog("initech")), std::vector<Uuid>{id});
  EXPECT_EQ(Ids(ReadAll("initech", "order-1")), std::vector<Uuid>{id});
  EXPECT_EQ(Ids(ReadWholeLog("acme")), acme_ids);
  EXPECT_EQ(Ids(ReadWholeLog("globex")), globex_ids);
  EXPECT_EQ(Ids(ReadAll("acme", "order-1")), acme_ids);
  EXPECT_EQ(store().LogEnd("initech"), GlobalPosition(1));

  // And all three survive another restart.
  Reopen();
  EXPECT_EQ(Ids(ReadWholeLog("initech")), std::vector<Uuid>{id});
  EXPECT_EQ(Ids(ReadWholeLog("acme")), acme_ids);
  EXPECT_EQ(Ids(ReadWholeLog("globex")), globex_ids);
}

TEST_F(SequencerTest, NewStreamAfterReopenDoesNotReuseAStreamId) {
  Open(Durability::kWal);
  ASSERT_TRUE(Append(store(), "acme", "old-1", 2).status.ok());
  ASSERT_TRUE(Append(store(), "globex", "old-2", 3).status.ok());
  Reopen();

  ASSERT_TRUE(Append(store(), "acme", "new-1", 1).status.ok());
  ASSERT_TRUE(Append(store(), "globex", "new-2", 1).status.ok());
  EXPECT_EQ(Revisions(ReadAll("acme", "old-1")), Range(0, 2));
  EXPECT_EQ(Revisions(ReadAll("globex", "old-2")), Range(0, 3));
  EXPECT_EQ(StreamsOf(ReadAll("acme", "new-1")),
            std::vector<std::string>{"new-1"});
  EXPECT_EQ(StreamsOf(ReadAll("globex", "new-2")),
            std::vector<std::string>{"new-2"});
  auto info = store().GetStreamInfo("acme", "old-1");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->last_revision, StreamRevision(1));
}

TEST_F(SequencerTest, FsyncDurabilityReopens) {
  Open(Durability::kFsync);
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  Reopen();
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(3));
  EXPECT_EQ(Revisions(ReadAll("acme", "s")), Range(0, 3));
}

// A clean close flushes every family, so the next open replays no WAL
// (a restart after SIGTERM stays quick however much was written).
TEST_F(SequencerTest, CleanCloseLeavesNoWalToReplay) {
  Open(Durability::kFsync);
  ASSERT_TRUE(Append(store(), "acme", "s", 500).status.ok());
  ASSERT_TRUE(Append(store(), "globex", "t", 5).status.ok());
  store_.reset();
  uintmax_t wal_bytes = 0;
  size_t wal_files = 0;
  for (const auto& f : std::filesystem::directory_iterator(dir_.str())) {
    if (f.path().extension() != ".log") continue;
    ++wal_files;
    wal_bytes += f.file_size();
  }
  EXPECT_GE(wal_files, 1u);  // the fresh, empty one
  EXPECT_EQ(wal_bytes, 0u);
  Open(options_);
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(500));
  EXPECT_EQ(store().LogEnd("globex"), GlobalPosition(5));
  EXPECT_EQ(Revisions(ReadAll("acme", "s")), Range(0, 500));
}

TEST_F(SequencerTest, MemoryDurabilityKeepsDataOverACleanClose) {
  Open(Durability::kMemory);
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  Reopen();
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(3));
  EXPECT_EQ(Revisions(ReadAll("acme", "s")), Range(0, 3));
  WriteOutcome out =
      Append(store(), "acme", "s", 1, ExpectedRevision::Exact(2));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.first_position, GlobalPosition(3));
}

TEST_F(SequencerTest, RetryIsRecognisedAfterReopen) {
  Open(Durability::kWal);
  const std::vector<Uuid> ids = {Uuid::NewV7(), Uuid::NewV7()};
  WriteOutcome first = Append(
      store(), Request("acme", {ToStreamWithIds(
                                   "s", ExpectedRevision::NoStream(), ids)}));
  ASSERT_TRUE(first.status.ok());
  Reopen();
  WriteOutcome retry = Append(
      store(), Request("acme", {ToStreamWithIds(
                                   "s", ExpectedRevision::NoStream(), ids)}));
  ASSERT_TRUE(retry.status.ok()) << retry.status.ToString();
  EXPECT_TRUE(retry.duplicate);
  EXPECT_EQ(retry.first_position, first.first_position);
  EXPECT_EQ(retry.last_position, first.last_position);
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(2));
}

TEST_F(SequencerTest, DeletionSurvivesReopen) {
  Open(Durability::kWal);
  ASSERT_TRUE(Append(store(), "acme", "soft", 2).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "hard", 1).status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "soft").status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "hard", true).status.ok());
  Reopen();

  EXPECT_TRUE(store()
                  .ReadStream("acme", "soft", StreamReadOptions{})
                  .error()
                  .IsNotFound());
  EXPECT_TRUE(store()
                  .ReadStream("acme", "hard", StreamReadOptions{})
                  .error()
                  .IsStreamDeleted());
  EXPECT_TRUE(Append(store(), "acme", "hard", 1).status.IsStreamDeleted());
  WriteOutcome out = Append(store(), "acme", "soft", 1);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.streams[0].first_revision, StreamRevision(2));
  EXPECT_EQ(Revisions(ReadAll("acme", "soft")), std::vector<uint64_t>{2});
}

TEST_F(SequencerTest, MetadataSurvivesReopen) {
  Open(Durability::kWal);
  ASSERT_TRUE(Append(store(), "acme", "s", 5).status.ok());
  ASSERT_TRUE(
      fixture::SetMetadata(store(), "acme", "s", {.max_count = 2}).status.ok());
  ASSERT_TRUE(
      fixture::SetMetadata(store(), "acme", "empty", {.max_age_seconds = 9})
          .status.ok());
  Reopen();
  EXPECT_EQ(Revisions(ReadAll("acme", "s")), (std::vector<uint64_t>{3, 4}));
  auto info = store().GetStreamInfo("acme", "empty");
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  EXPECT_EQ(info->metadata.max_age_seconds, 9u);
  EXPECT_FALSE(info->last_revision.has_value());
}

}  // namespace
}  // namespace cairn::storage
