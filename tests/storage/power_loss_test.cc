// A 201 must survive power loss under the default durability. These tests
// run the store on a file system that remembers how much of each file was
// synced; "power loss" stops all writes, then truncates every file to its
// synced length, as a machine that lost its page cache would leave it.
//
// Simplification: directory entries are taken as durable (RocksDB fsyncs
// its directories when it creates files that matter; that is not modelled).

#include <gtest/gtest.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

#include "protocol/event_record.h"
#include "storage/event_store.h"
#include "storage/internal/open.h"
#include "tests/support/temp_dir.h"

namespace cairn::storage {
namespace {

using rocksdb::FileOptions;
using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

class PowerLossFileSystem : public rocksdb::FileSystemWrapper {
 public:
  PowerLossFileSystem()
      : rocksdb::FileSystemWrapper(rocksdb::FileSystem::Default()) {}
  const char* Name() const override { return "PowerLossFileSystem"; }

  struct FileState {
    std::atomic<uint64_t> written{0};
    std::atomic<uint64_t> synced{0};
  };

  // A writable file whose appends and syncs are counted, and refused once
  // the power is off.
  class File : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    File(std::unique_ptr<FSWritableFile> f, PowerLossFileSystem* fs,
         std::shared_ptr<FileState> state)
        : FSWritableFileOwnerWrapper(std::move(f)),
          fs_(fs),
          state_(std::move(state)) {}

    IOStatus Append(const Slice& data, const IOOptions& o,
                    IODebugContext* d) override {
      if (!fs_->powered()) return IOStatus::IOError("power is off");
      IOStatus s = target()->Append(data, o, d);
      if (s.ok()) state_->written += data.size();
      return s;
    }
    IOStatus Append(const Slice& data, const IOOptions& o,
                    const rocksdb::DataVerificationInfo& info,
                    IODebugContext* d) override {
      if (!fs_->powered()) return IOStatus::IOError("power is off");
      IOStatus s = target()->Append(data, o, info, d);
      if (s.ok()) state_->written += data.size();
      return s;
    }
    IOStatus PositionedAppend(const Slice& data, uint64_t offset,
                              const IOOptions& o, IODebugContext* d) override {
      if (!fs_->powered()) return IOStatus::IOError("power is off");
      IOStatus s = target()->PositionedAppend(data, offset, o, d);
      if (s.ok()) Grow(offset + data.size());
      return s;
    }
    IOStatus Truncate(uint64_t size, const IOOptions& o,
                      IODebugContext* d) override {
      if (!fs_->powered()) return IOStatus::IOError("power is off");
      IOStatus s = target()->Truncate(size, o, d);
      if (s.ok()) state_->written = size;
      return s;
    }
    IOStatus Sync(const IOOptions& o, IODebugContext* d) override {
      return Synced(target()->Sync(o, d));
    }
    IOStatus Fsync(const IOOptions& o, IODebugContext* d) override {
      return Synced(target()->Fsync(o, d));
    }
    // RangeSync (sync_file_range) is not durable: not counted.

   private:
    IOStatus Synced(IOStatus s) {
      if (!fs_->powered()) return IOStatus::IOError("power is off");
      // Everything written before the sync began is durable once it ends.
      if (s.ok()) state_->synced = state_->written.load();
      return s;
    }
    void Grow(uint64_t end) {
      uint64_t w = state_->written.load();
      while (end > w && !state_->written.compare_exchange_weak(w, end)) {
      }
    }
    PowerLossFileSystem* fs_;
    std::shared_ptr<FileState> state_;
  };

  IOStatus NewWritableFile(const std::string& f, const FileOptions& o,
                           std::unique_ptr<FSWritableFile>* r,
                           IODebugContext* d) override {
    if (!powered()) return IOStatus::IOError("power is off");
    IOStatus s = target()->NewWritableFile(f, o, r, d);
    if (s.ok()) *r = std::make_unique<File>(std::move(*r), this, Track(f, 0));
    return s;
  }
  IOStatus ReopenWritableFile(const std::string& f, const FileOptions& o,
                              std::unique_ptr<FSWritableFile>* r,
                              IODebugContext* d) override {
    if (!powered()) return IOStatus::IOError("power is off");
    std::error_code ec;
    const uint64_t size = std::filesystem::file_size(f, ec);
    IOStatus s = target()->ReopenWritableFile(f, o, r, d);
    if (s.ok()) {
      *r = std::make_unique<File>(std::move(*r), this, Track(f, ec ? 0 : size));
    }
    return s;
  }
  IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                             const FileOptions& o,
                             std::unique_ptr<FSWritableFile>* r,
                             IODebugContext* d) override {
    if (!powered()) return IOStatus::IOError("power is off");
    IOStatus s = target()->ReuseWritableFile(f, old, o, r, d);
    if (s.ok()) *r = std::make_unique<File>(std::move(*r), this, Track(f, 0));
    return s;
  }
  IOStatus RenameFile(const std::string& src, const std::string& dst,
                      const IOOptions& o, IODebugContext* d) override {
    if (!powered()) return IOStatus::IOError("power is off");
    IOStatus s = target()->RenameFile(src, dst, o, d);
    if (s.ok()) {
      std::lock_guard lock(mu_);
      auto it = files_.find(src);
      if (it != files_.end()) {
        files_[dst] = it->second;
        files_.erase(it);
      }
    }
    return s;
  }
  IOStatus DeleteFile(const std::string& f, const IOOptions& o,
                      IODebugContext* d) override {
    if (!powered()) return IOStatus::IOError("power is off");
    IOStatus s = target()->DeleteFile(f, o, d);
    std::lock_guard lock(mu_);
    files_.erase(f);
    return s;
  }

  bool powered() const { return powered_.load(); }
  void PowerOff() { powered_ = false; }

  // Leaves every file as a power loss would: cut back to what was synced.
  // Returns the number of bytes dropped.
  uint64_t DropUnsyncedData() {
    std::lock_guard lock(mu_);
    uint64_t dropped = 0;
    for (const auto& [name, state] : files_) {
      std::error_code ec;
      const uint64_t size = std::filesystem::file_size(name, ec);
      if (ec || size <= state->synced) continue;
      dropped += size - state->synced;
      std::filesystem::resize_file(name, state->synced, ec);
      EXPECT_FALSE(ec) << name << ": " << ec.message();
    }
    return dropped;
  }

 private:
  std::shared_ptr<FileState> Track(const std::string& name, uint64_t size) {
    auto state = std::make_shared<FileState>();
    state->written = size;
    state->synced = size;
    std::lock_guard lock(mu_);
    files_[name] = state;
    return state;
  }

  std::atomic<bool> powered_{true};
  std::mutex mu_;
  std::map<std::string, std::shared_ptr<FileState>> files_;  // guarded by mu_
};

struct Acked {
  Uuid id;
  std::string stream;
  uint64_t revision;
  uint64_t position;
};

WriteOutcome AppendOne(EventStore& store, const std::string& stream,
                       const Uuid& id, ExpectedRevision expected) {
  AppendRequest req;
  req.tenant = "acme";
  StreamAppend sa;
  sa.stream = stream;
  sa.expected = expected;
  sa.events.push_back({id, true,
                       EncodeEventRecord({id, stream, "AttemptSubmitted",
                                          R"({"correct":true})", "{}", "{}"})});
  req.streams.push_back(std::move(sa));
  std::promise<WriteOutcome> done;
  auto future = done.get_future();
  store.Append(std::move(req),
               [&done](WriteOutcome out) { done.set_value(std::move(out)); });
  return future.get();
}

// Appends from several threads until the power goes off after `acks_before`
// acknowledgements; returns every acknowledged event.
std::vector<Acked> AppendUntilPowerLoss(EventStore& store,
                                        PowerLossFileSystem& fs,
                                        size_t acks_before) {
  constexpr int kThreads = 4;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Acked> acked;
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const std::string stream = "learner-" + std::to_string(t);
      for (uint64_t revision = 0;; ++revision) {
        const Uuid id = Uuid::NewV7();
        const auto expected = revision == 0
                                  ? ExpectedRevision::NoStream()
                                  : ExpectedRevision::Exact(revision - 1);
        WriteOutcome out = AppendOne(store, stream, id, expected);
        if (!out.status.ok()) return;  // the power is off
        std::lock_guard lock(mu);
        acked.push_back({id, stream, out.streams[0].first_revision.value(),
                         out.first_position.value()});
        cv.notify_all();
      }
    });
  }
  {
    std::unique_lock lock(mu);
    const bool reached = cv.wait_for(lock, std::chrono::seconds(60), [&] {
      return acked.size() >= acks_before;
    });
    EXPECT_TRUE(reached) << "only " << acked.size() << " acks in 60 s";
  }
  fs.PowerOff();  // appends still in flight now fail, unacknowledged
  for (auto& t : threads) t.join();
  return acked;
}

// How many acknowledged events are missing or changed after a restart;
// also checks that the log is gapless and holds no event twice.
size_t LostAfterRestart(const std::string& dir,
                        const std::vector<Acked>& acked) {
  auto store = EventStore::Open(Options{}, dir);
  EXPECT_TRUE(store.has_value()) << store.error().ToString();
  if (!store.has_value()) return acked.size();
  std::map<uint64_t, EventView> by_position;
  std::vector<StoredEvent> all;
  LogReadOptions read;
  read.limit = 1'000'000;
  auto page = (*store)->ReadLog("acme", read);
  EXPECT_TRUE(page.has_value());
  all = std::move(page->events);
  std::set<Uuid> ids;
  for (size_t i = 0; i < all.size(); ++i) {
    EXPECT_EQ(all[i].position.value(), i) << "a hole in the log";
    auto view = DecodeEventRecord(all[i].record);
    EXPECT_TRUE(view.has_value());
    EXPECT_TRUE(ids.insert(view->id).second) << "an event twice";
    by_position[all[i].position.value()] = *view;
  }
  size_t lost = 0;
  for (const Acked& a : acked) {
    auto it = by_position.find(a.position);
    if (it == by_position.end() || it->second.id != a.id ||
        it->second.stream != a.stream ||
        it->second.revision.value() != a.revision) {
      ++lost;
    }
  }
  return lost;
}

TEST(PowerLossTest, FsyncDurabilityKeepsEveryAcknowledgedEvent) {
  for (size_t acks : {50, 500, 3000}) {
    SCOPED_TRACE("power off after " + std::to_string(acks) + " acks");
    testing::TempDir dir;
    auto fs = std::make_shared<PowerLossFileSystem>();
    auto env = rocksdb::NewCompositeEnv(fs);
    std::vector<Acked> acked;
    {
      Options options;
      options.durability = Durability::kFsync;
      auto store = OpenWithEnv(options, dir.str(), env.get());
      ASSERT_TRUE(store.has_value()) << store.error().ToString();
      acked = AppendUntilPowerLoss(**store, *fs, acks);
    }  // closing cannot write: the power is off
    fs->DropUnsyncedData();
    EXPECT_GE(acked.size(), acks);
    EXPECT_EQ(LostAfterRestart(dir.str(), acked), 0u);
  }
}

// The control: the same test must see losses when acknowledgements do not
// wait for the fsync, or it could not tell durable from lucky.
TEST(PowerLossTest, WalDurabilityLosesAcknowledgedEventsControl) {
  testing::TempDir dir;
  auto fs = std::make_shared<PowerLossFileSystem>();
  auto env = rocksdb::NewCompositeEnv(fs);
  std::vector<Acked> acked;
  {
    Options options;
    options.durability = Durability::kWal;
    auto store = OpenWithEnv(options, dir.str(), env.get());
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    acked = AppendUntilPowerLoss(**store, *fs, 500);
  }
  EXPECT_GT(fs->DropUnsyncedData(), 0u);
  EXPECT_GT(LostAfterRestart(dir.str(), acked), 0u);
}

}  // namespace
}  // namespace cairn::storage
