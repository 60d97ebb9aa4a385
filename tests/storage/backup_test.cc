// Online backups (EventStore::CreateBackup) and their restore
// (storage/backup.h) on real stores: what a restored store holds, that
// backups share files, that a restore never writes over a directory that
// is not empty, and that a backup taken while appends go on holds every
// append acknowledged before it began, gaplessly.

#include "storage/backup.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/file.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "protocol/event_record.h"
#include "protocol/uuid.h"
#include "storage/event_store.h"
#include "storage/projection_store.h"
#include "tests/storage/event_store_fixture.h"
#include "tests/support/temp_dir.h"

namespace cairn::storage {
namespace {

namespace fs = std::filesystem;
using fixture::Await;

// `n` letters that do not compress much.
std::string Noise(size_t n) {
  static std::atomic<uint64_t> seed{0x9e3779b97f4a7c15ULL};
  uint64_t x = seed.fetch_add(0x9e3779b97f4a7c15ULL);
  std::string out(n, 'a');
  for (char& c : out) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    c = static_cast<char>('a' + (x >> 59));
  }
  return out;
}

// An event of about `pad` bytes of data, so that stores reach megabytes.
ProposedEvent PaddedEvent(const std::string& stream, int n, size_t pad) {
  ProposedEvent e;
  e.id = Uuid::NewV7();
  const std::string data =
      R"({"n":)" + std::to_string(n) + R"(,"pad":")" + Noise(pad) + R"("})";
  e.record = EncodeEventRecord({e.id, stream, "Padded", data, "{}", "{}"});
  return e;
}

// Appends `count` events to `stream`, `per_request` at a time.
void AppendMany(EventStore& store, const std::string& tenant,
                const std::string& stream, int count, int per_request = 100,
                size_t pad = 64) {
  for (int done = 0; done < count; done += per_request) {
    StreamAppend sa;
    sa.stream = stream;
    for (int i = done; i < std::min(count, done + per_request); ++i) {
      sa.events.push_back(PaddedEvent(stream, i, pad));
    }
    WriteOutcome out =
        fixture::Append(store, fixture::Request(tenant, {std::move(sa)}));
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  }
}

// A tenant's whole log, page by page.
std::vector<StoredEvent> WholeLog(EventStore& store,
                                  const std::string& tenant) {
  std::vector<StoredEvent> all;
  LogReadOptions options;
  options.limit = 10'000;
  for (;;) {
    auto page = store.ReadLog(tenant, options);
    EXPECT_TRUE(page.has_value()) << page.error().ToString();
    if (!page.has_value()) return all;
    for (StoredEvent& e : page->events) all.push_back(std::move(e));
    if (!page->next) return all;
    options.from = *page->next;
  }
}

std::vector<StoredEvent> WholeStream(EventStore& store,
                                     const std::string& tenant,
                                     const std::string& stream) {
  StreamReadOptions options;
  options.limit = 100'000;
  auto page = store.ReadStream(tenant, stream, options);
  EXPECT_TRUE(page.has_value()) << page.error().ToString();
  return page.has_value() ? std::move(page->events)
                          : std::vector<StoredEvent>();
}

// Records and positions, identical in both.
void ExpectSameEvents(const std::vector<StoredEvent>& got,
                      const std::vector<StoredEvent>& want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i].position, want[i].position) << i;
    EXPECT_EQ(got[i].record, want[i].record) << "event " << i;
  }
}

// Bytes of every file under `dir`.
uint64_t DirBytes(const fs::path& dir) {
  uint64_t bytes = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (e.is_regular_file()) bytes += e.file_size();
  }
  return bytes;
}

std::unique_ptr<EventStore> OpenAt(const std::string& dir,
                                   Options options = {}) {
  options.block_cache_bytes = size_t{8} << 20;
  auto store = EventStore::Open(options, dir);
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  return store.has_value() ? std::move(*store) : nullptr;
}

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

class BackupTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(); }

  void Open(Options options = {}) {
    store_.reset();
    store_ = OpenAt(data_.str(), options);
    ASSERT_NE(store_, nullptr);
  }

  EventStore& store() { return *store_; }

  BackupInfo Backup() {
    auto info = store_->CreateBackup(backups());
    EXPECT_TRUE(info.has_value()) << info.error().ToString();
    return info.has_value() ? *info : BackupInfo{};
  }

  std::string backups() const { return (scratch_.path() / "backups").string(); }
  // A directory that does not exist yet, under the scratch directory.
  std::string Fresh(const std::string& name) const {
    return (scratch_.path() / name).string();
  }

  // Restores (the newest when `id` is absent) into a fresh directory and
  // opens it.
  std::unique_ptr<EventStore> Restored(std::optional<uint32_t> id = {},
                                       const std::string& name = "restored") {
    const std::string dir = Fresh(name);
    Status s = RestoreBackup(backups(), id, dir);
    EXPECT_TRUE(s.ok()) << s.ToString();
    if (!s.ok()) return nullptr;
    return OpenAt(dir);
  }

  cairn::testing::TempDir data_;
  cairn::testing::TempDir scratch_;  // backups and restores
  std::unique_ptr<EventStore> store_;
};

TEST_F(BackupTest, ListBackupsOfAMissingDirectoryIsEmpty) {
  auto list = ListBackups(Fresh("nowhere"));
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  EXPECT_TRUE(list->empty());
  // Nor does listing create it.
  EXPECT_FALSE(fs::exists(Fresh("nowhere")));
  fs::create_directories(Fresh("empty"));
  list = ListBackups(Fresh("empty"));
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  EXPECT_TRUE(list->empty());
}

TEST_F(BackupTest, CreateListsTheBackupAndARestoreHoldsEveryEvent) {
  AppendMany(store(), "acme", "attempt-1", 300);
  AppendMany(store(), "acme", "lesson-1", 50);
  AppendMany(store(), "globex", "attempt-1", 120);
  const int64_t before = NowMicros();
  const BackupInfo info = Backup();
  EXPECT_EQ(info.id, 1u);
  EXPECT_GT(info.size_bytes, 0u);
  EXPECT_EQ(info.created_us % 1'000'000, 0);  // whole seconds
  EXPECT_GE(info.created_us, before - 1'000'000);
  EXPECT_LE(info.created_us, NowMicros());

  auto list = ListBackups(backups());
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  ASSERT_EQ(list->size(), 1u);
  EXPECT_EQ(list->front(), info);

  auto restored = Restored();
  ASSERT_NE(restored, nullptr);
  for (const std::string tenant : {"acme", "globex"}) {
    SCOPED_TRACE(tenant);
    ExpectSameEvents(WholeLog(*restored, tenant), WholeLog(store(), tenant));
    EXPECT_EQ(restored->LogEnd(tenant), store().LogEnd(tenant));
    ExpectSameEvents(WholeStream(*restored, tenant, "attempt-1"),
                     WholeStream(store(), tenant, "attempt-1"));
  }
  ExpectSameEvents(WholeStream(*restored, "acme", "lesson-1"),
                   WholeStream(store(), "acme", "lesson-1"));
  // And it goes on where the original was.
  WriteOutcome out = fixture::Append(*restored, "acme", "attempt-1", 1,
                                     ExpectedRevision::Exact(299));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.first_position.value(), 350u);
}

TEST_F(BackupTest, ASecondBackupCopiesOnlyWhatChanged) {
  // Some megabytes in SST files (the close flushes them), which a second
  // backup shares.
  AppendMany(store(), "acme", "attempt-1", 4'000, 200, 1'000);
  Open();
  const BackupInfo first = Backup();
  const uint64_t after_first = DirBytes(backups());
  EXPECT_GT(first.size_bytes, 4'000u * 1'000 / 2);  // compressed, a little

  AppendMany(store(), "acme", "attempt-1", 10);
  const BackupInfo second = Backup();
  EXPECT_EQ(second.id, first.id + 1);
  EXPECT_GE(second.size_bytes, first.size_bytes);
  const uint64_t grew = DirBytes(backups()) - after_first;
  // A full copy would grow it by second.size_bytes.
  EXPECT_LT(grew * 10, second.size_bytes)
      << "grew by " << grew << " bytes for a backup of " << second.size_bytes;

  auto list = ListBackups(backups());
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0], first);
  EXPECT_EQ((*list)[1], second);

  auto restored = Restored();
  ASSERT_NE(restored, nullptr);
  ExpectSameEvents(WholeLog(*restored, "acme"), WholeLog(store(), "acme"));
}

TEST_F(BackupTest, RestoresTheChosenBackup) {
  AppendMany(store(), "acme", "s-1", 10);
  const BackupInfo first = Backup();
  const std::vector<StoredEvent> at_first = WholeLog(store(), "acme");
  AppendMany(store(), "acme", "s-1", 20);
  const BackupInfo second = Backup();
  ASSERT_EQ(second.id, first.id + 1);

  auto one = Restored(first.id, "one");
  ASSERT_NE(one, nullptr);
  ExpectSameEvents(WholeLog(*one, "acme"), at_first);
  auto two = Restored(second.id, "two");
  ASSERT_NE(two, nullptr);
  ExpectSameEvents(WholeLog(*two, "acme"), WholeLog(store(), "acme"));
  auto newest = Restored(std::nullopt, "newest");
  ASSERT_NE(newest, nullptr);
  EXPECT_EQ(WholeLog(*newest, "acme").size(), 30u);

  Status none = RestoreBackup(backups(), 99, Fresh("none"));
  EXPECT_TRUE(none.IsNotFound()) << none.ToString();
  EXPECT_FALSE(fs::exists(Fresh("none")));
}

TEST_F(BackupTest, RestoreRefusesADirectoryThatIsNotEmpty) {
  AppendMany(store(), "acme", "s-1", 5);
  Backup();
  const fs::path dir = Fresh("occupied");
  fs::create_directories(dir);
  std::ofstream(dir / "notes.txt") << "mine";
  Status s = RestoreBackup(backups(), std::nullopt, dir.string());
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find(dir.string()), std::string::npos) << s.message();
  // Nothing there changed.
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(dir)) {
    names.push_back(e.path().filename().string());
  }
  EXPECT_EQ(names, std::vector<std::string>{"notes.txt"});
  std::ifstream in(dir / "notes.txt");
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text, "mine");

  // A file where the directory should be.
  s = RestoreBackup(backups(), std::nullopt, (dir / "notes.txt").string());
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
}

TEST_F(BackupTest, RestoreRefusesADirectoryHoldingAStore) {
  AppendMany(store(), "acme", "s-1", 5);
  Backup();
  // Another store, with other events, closed.
  const std::string other_dir = Fresh("other");
  std::vector<StoredEvent> before;
  {
    auto other = OpenAt(other_dir);
    ASSERT_NE(other, nullptr);
    AppendMany(*other, "acme", "other-1", 7);
    before = WholeLog(*other, "acme");
  }
  Status s = RestoreBackup(backups(), std::nullopt, other_dir);
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  EXPECT_NE(s.message().find(other_dir), std::string::npos) << s.message();
  EXPECT_NE(s.message().find("holds a store"), std::string::npos)
      << s.message();
  auto other = OpenAt(other_dir);
  ASSERT_NE(other, nullptr);
  ExpectSameEvents(WholeLog(*other, "acme"), before);
  EXPECT_TRUE(WholeLog(*other, "acme").size() == 7);

  // The live store's own directory, open: refused the same way.
  const std::vector<StoredEvent> live = WholeLog(store(), "acme");
  s = RestoreBackup(backups(), std::nullopt, data_.str());
  EXPECT_TRUE(s.IsInvalidArgument()) << s.ToString();
  ExpectSameEvents(WholeLog(store(), "acme"), live);
}

TEST_F(BackupTest, RestoreFromADirectoryWithoutBackupsIsNotFound) {
  Status s = RestoreBackup(Fresh("nowhere"), std::nullopt, Fresh("target"));
  EXPECT_TRUE(s.IsNotFound()) << s.ToString();
  EXPECT_FALSE(fs::exists(Fresh("target")));
}

TEST_F(BackupTest, RestoreRefusesADamagedBackup) {
  AppendMany(store(), "acme", "s-1", 200, 100, 500);
  Open();  // flushed: the backup has SST files
  Backup();
  // Flip a byte in the middle of each of its table files.
  int damaged = 0;
  for (const auto& e : fs::recursive_directory_iterator(backups())) {
    if (e.path().extension() != ".sst") continue;
    std::fstream f(e.path(), std::ios::in | std::ios::out | std::ios::binary);
    const auto middle = static_cast<std::streamoff>(e.file_size() / 2);
    f.seekg(middle);
    char c = 0;
    f.get(c);
    f.seekp(middle);
    f.put(static_cast<char>(c ^ 0x5a));
    ++damaged;
  }
  ASSERT_GT(damaged, 0);
  Status s = RestoreBackup(backups(), std::nullopt, Fresh("target"));
  EXPECT_TRUE(s.IsCorruption()) << s.ToString();
  EXPECT_FALSE(fs::exists(Fresh("target")));
}

// Every append acknowledged before CreateBackup was called is in the
// backup; what came during it is in it or not, whole; positions stay
// gapless.
TEST_F(BackupTest, BackupWhileAppendsRunHoldsEveryAcknowledgedAppend) {
  // Enough on disk that the copy takes a while.
  AppendMany(store(), "acme", "seed-1", 2'000, 200, 1'000);
  Open();

  struct Acked {
    std::string tenant;
    uint64_t first = 0;
    uint64_t last = 0;
    bool before_backup = false;
  };
  constexpr int kWriters = 4;
  std::atomic<bool> backup_called{false};
  std::atomic<bool> stop{false};
  std::atomic<int> appended_during{0};
  std::vector<std::vector<Acked>> acked(kWriters);
  std::vector<std::thread> writers;
  for (int w = 0; w < kWriters; ++w) {
    writers.emplace_back([&, w] {
      const std::string tenant = w % 2 == 0 ? "acme" : "globex";
      const std::string stream = "w" + std::to_string(w) + "-1";
      for (int n = 0; !stop.load(); ++n) {
        StreamAppend sa;
        sa.stream = stream;
        for (int i = 0; i < 5; ++i)
          sa.events.push_back(PaddedEvent(stream, n, 200));
        WriteOutcome out =
            fixture::Append(store(), fixture::Request(tenant, {std::move(sa)}));
        if (!out.status.ok()) {
          ADD_FAILURE() << out.status.ToString();
          return;
        }
        // Read after the acknowledgement: false means it came before
        // CreateBackup was called.
        const bool before = !backup_called.load();
        if (!before) appended_during.fetch_add(1);
        acked[w].push_back({tenant, out.first_position.value(),
                            out.last_position.value(), before});
      }
    });
  }
  // Let every writer be acknowledged a few times before the backup.
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  const auto all_started = [&] {
    return store().LogEnd("acme").value() > 2'000 + 100 &&
           store().LogEnd("globex").value() > 100;
  };
  while (!all_started() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  ASSERT_TRUE(all_started());
  backup_called.store(true);
  auto info = store().CreateBackup(backups());
  // A few more after it, then stop.
  const int during = appended_during.load();
  while (appended_during.load() < during + kWriters &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  stop.store(true);
  for (auto& t : writers) t.join();
  ASSERT_TRUE(info.has_value()) << info.error().ToString();

  auto restored = Restored();
  ASSERT_NE(restored, nullptr);
  size_t checked = 0;
  for (const std::string tenant : {"acme", "globex"}) {
    SCOPED_TRACE(tenant);
    const std::vector<StoredEvent> original = WholeLog(store(), tenant);
    const std::vector<StoredEvent> backed_up = WholeLog(*restored, tenant);
    // A prefix of the original log, position by position, record by
    // record: nothing missing in between, nothing that was not there.
    ASSERT_LE(backed_up.size(), original.size());
    for (size_t i = 0; i < backed_up.size(); ++i) {
      ASSERT_EQ(backed_up[i].position.value(), i);
      ASSERT_EQ(backed_up[i].record, original[i].record) << i;
    }
    EXPECT_EQ(restored->LogEnd(tenant).value(), backed_up.size());
    for (const auto& per_writer : acked) {
      for (const Acked& a : per_writer) {
        if (a.tenant != tenant || !a.before_backup) continue;
        EXPECT_LT(a.last, backed_up.size())
            << "events " << a.first << ".." << a.last
            << " were acknowledged before the backup and are not in it";
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, static_cast<size_t>(kWriters));
  // The restored store's heads agree with its log: an append with the
  // expected revision of what it holds goes through.
  for (int w = 0; w < kWriters; ++w) {
    const std::string tenant = w % 2 == 0 ? "acme" : "globex";
    const std::string stream = "w" + std::to_string(w) + "-1";
    const size_t n = WholeStream(*restored, tenant, stream).size();
    ASSERT_GT(n, 0u);
    WriteOutcome out = fixture::Append(*restored, tenant, stream, 1,
                                       ExpectedRevision::Exact(n - 1));
    EXPECT_TRUE(out.status.ok()) << out.status.ToString();
  }
}

TEST_F(BackupTest, ProjectionFamiliesAreRestored) {
  AppendMany(store(), "acme", "s-1", 3);
  ProjectionStore& projections = store().Projections();
  ASSERT_TRUE(projections.Open("dashboard").ok());
  auto write = projections.Begin("dashboard", "acme");
  ASSERT_TRUE(write.has_value()) << write.error().ToString();
  (*write)->Put("user-1", R"({"attempts":3})");
  ASSERT_TRUE(projections.Commit(**write, {3, 2}).ok());
  Backup();

  auto restored = Restored();
  ASSERT_NE(restored, nullptr);
  auto doc = restored->Projections().Get("dashboard", "acme", "user-1");
  ASSERT_TRUE(doc.has_value()) << doc.error().ToString();
  ASSERT_TRUE(doc->has_value());
  EXPECT_EQ(**doc, R"({"attempts":3})");
  auto cp = restored->Projections().Checkpoint("dashboard", "acme");
  ASSERT_TRUE(cp.has_value()) << cp.error().ToString();
  EXPECT_EQ(*cp, (ProjectionCheckpoint{3, 2}));
}

// No WAL: the memtables are flushed first, or the backup would miss every
// acknowledged write since the last flush.
TEST_F(BackupTest, WithoutAWalTheBackupStillHoldsEveryAcknowledgedWrite) {
  Options options;
  options.durability = Durability::kMemory;
  Open(options);
  AppendMany(store(), "acme", "s-1", 250);
  Backup();
  auto restored = Restored();
  ASSERT_NE(restored, nullptr);
  ExpectSameEvents(WholeLog(*restored, "acme"), WholeLog(store(), "acme"));
  EXPECT_EQ(WholeLog(*restored, "acme").size(), 250u);
}

// An offline backup (cairnctl on a stopped server) of a store open
// read-only.
TEST_F(BackupTest, AStoreOpenReadOnlyCanBeBackedUp) {
  AppendMany(store(), "acme", "s-1", 40);
  const std::vector<StoredEvent> events = WholeLog(store(), "acme");
  Options options;
  options.read_only = true;
  Open(options);
  Backup();
  auto restored = Restored();
  ASSERT_NE(restored, nullptr);
  ExpectSameEvents(WholeLog(*restored, "acme"), events);
}

TEST_F(BackupTest, AClosedStoreTakesNoBackup) {
  AppendMany(store(), "acme", "s-1", 5);
  store().Close();
  auto info = store().CreateBackup(backups());
  ASSERT_FALSE(info.has_value());
  EXPECT_TRUE(info.error().IsUnavailable()) << info.error().ToString();
}

// Close during a backup stops it promptly; whichever came first, the
// backup directory holds only complete backups and takes the next one.
TEST_F(BackupTest, CloseStopsABackupInProgress) {
  AppendMany(store(), "acme", "s-1", 6'000, 200, 1'000);
  Open();
  std::optional<Result<BackupInfo>> outcome;
  std::thread backup([&] { outcome.emplace(store().CreateBackup(backups())); });
  // Close once the engine has begun (it makes the backup's private
  // directory before it copies), or once the backup is over.
  const fs::path started = fs::path(backups()) / "private" / "1";
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (!fs::exists(started) && !fs::exists(fs::path(backups()) / "meta/1") &&
         std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  store().Close();
  backup.join();
  ASSERT_TRUE(outcome.has_value());
  auto list = ListBackups(backups());
  ASSERT_TRUE(list.has_value()) << list.error().ToString();
  if (outcome->has_value()) {
    ASSERT_EQ(list->size(), 1u);  // it finished before Close came
  } else {
    EXPECT_TRUE(outcome->error().IsUnavailable())
        << outcome->error().ToString();
    EXPECT_TRUE(list->empty());
  }
  Open();
  const BackupInfo next = Backup();
  EXPECT_EQ(next.id, list->size() + 1);
  auto restored = Restored();
  ASSERT_NE(restored, nullptr);
  EXPECT_EQ(WholeLog(*restored, "acme").size(), 6'000u);
}

// The directory's lock keeps a second writer (another process, another
// store) out instead of letting two engines interleave.
TEST_F(BackupTest, ADirectoryAnotherWriterHoldsIsBusy) {
  AppendMany(store(), "acme", "s-1", 5);
  Backup();
  const std::string lock = (fs::path(backups()) / "cairn.lock").string();
  const int fd = ::open(lock.c_str(), O_RDWR | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::flock(fd, LOCK_EX | LOCK_NB), 0);
  auto info = store().CreateBackup(backups());
  ASSERT_FALSE(info.has_value());
  EXPECT_TRUE(info.error().code() == Status::Code::kBusy)
      << info.error().ToString();
  ::close(fd);
  EXPECT_EQ(Backup().id, 2u);
}

TEST_F(BackupTest, ABackupDirectoryThatCannotBeCreatedIsAnIOError) {
  const fs::path file = scratch_.path() / "a-file";
  std::ofstream(file) << "x";
  auto info = store().CreateBackup((file / "backups").string());
  ASSERT_FALSE(info.has_value());
  EXPECT_EQ(info.error().code(), Status::Code::kIOError)
      << info.error().ToString();
  EXPECT_NE(info.error().message().find((file / "backups").string()),
            std::string::npos)
      << info.error().message();
}

}  // namespace
}  // namespace cairn::storage
