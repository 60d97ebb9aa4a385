#include "storage/event_store.h"

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/file_system.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <map>
#include <mutex>
#include <span>

#include "protocol/event_record.h"
#include "protocol/names.h"
#include "storage/internal/backup_engine.h"
#include "storage/internal/db.h"
#include "storage/internal/keys.h"
#include "storage/internal/log_scanner.h"
#include "storage/internal/open.h"
#include "storage/internal/projection_store_impl.h"
#include "storage/internal/rocksdb_status.h"
#include "storage/internal/sequencer.h"
#include "storage/internal/stream_heads.h"
#include "storage/internal/tenant_directory.h"
#include "storage/internal/wal_prefill.h"
#include "storage/live_log.h"

namespace cairn::storage {

bool EventFilter::Matches(std::string_view stream,
                          std::string_view type) const {
  const auto contains = [](const std::vector<std::string>& list,
                           std::string_view v) {
    return list.empty() || std::find(list.begin(), list.end(), v) != list.end();
  };
  return contains(types, type) && contains(streams, stream) &&
         contains(categories, CategoryOf(stream));
}

namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

using rocksdb::FileOptions;
using rocksdb::FSWritableFile;
using rocksdb::IODebugContext;
using rocksdb::IOOptions;
using rocksdb::IOStatus;
using rocksdb::Slice;

// The file system beneath every store: the one it is given, with two
// changes that keep cairnd running when the data directory's disk fills up.
// Both work around RocksDB 7.8 (Debian 12's), which ships with its
// assertions on: a WritableFileWriter whose write has failed fails an
// assertion (aborting the process) at its next write.
//
// - The info log (the LOG file) is written best effort: a line that cannot
//   be written is lost, and the next one is tried.
// - A write or sync error of a WAL before a write of the store was synced
//   in it is reported as data loss, which RocksDB treats as unrecoverable:
//   the store takes no more writes until it is opened again. RocksDB
//   resumes from a full disk by itself (once its SstFileManager sees space
//   again) by flushing the memtables, which moves writes to a new WAL; but
//   if the error hit the first write after an open or a flush, the
//   memtables are empty, nothing is flushed, writes resume on the WAL whose
//   writer failed, and the next one aborts (RocksDB issues 11643 and 12998;
//   fixed upstream by PR 12873). Once a write was synced a memtable holds
//   data, so RocksDB's own recovery is safe and is left to run. An open
//   that replayed a WAL writes and syncs an empty batch (19 bytes) into the
//   new one: that is not a write of the store, hence kMinWriteBytes. (With
//   --durability wal the WAL is not synced per write, so there every WAL
//   error needs a restart.) The read models' WAL (projections/) is never
//   synced per write: there a write appended whole is the mark, since an
//   unsynced write that reached the WAL also reached a memtable.
//
// And one that makes commits cheaper: a new file of the events' WAL is
// filled with zeros ahead of its end (WalPrefill), and RocksDB is shown it
// as long as what was appended to it.
class StoreFileSystem final : public rocksdb::FileSystemWrapper {
 public:
  // `wal_prefill_bytes`: new files of the events' WAL get this many bytes
  // of zeros ahead of their end (WalPrefill); 0 for none.
  StoreFileSystem(const std::shared_ptr<rocksdb::FileSystem>& base,
                  const std::string& dir, uint64_t wal_prefill_bytes)
      : rocksdb::FileSystemWrapper(base),
        dir_(Normal(dir)),
        projections_dir_(dir_ / Db::kProjectionsDir),
        wal_prefill_bytes_(wal_prefill_bytes) {}
  const char* Name() const override { return "CairnStoreFileSystem"; }

  IOStatus NewWritableFile(const std::string& f, const FileOptions& o,
                           std::unique_ptr<FSWritableFile>* r,
                           IODebugContext* d) override {
    IOStatus s = target()->NewWritableFile(f, o, r, d);
    if (s.ok()) Wrap(f, r, /*created=*/true);
    return s;
  }
  IOStatus ReopenWritableFile(const std::string& f, const FileOptions& o,
                              std::unique_ptr<FSWritableFile>* r,
                              IODebugContext* d) override {
    IOStatus s = target()->ReopenWritableFile(f, o, r, d);
    if (s.ok()) Wrap(f, r);
    return s;
  }
  IOStatus ReuseWritableFile(const std::string& f, const std::string& old,
                             const FileOptions& o,
                             std::unique_ptr<FSWritableFile>* r,
                             IODebugContext* d) override {
    IOStatus s = target()->ReuseWritableFile(f, old, o, r, d);
    if (s.ok()) Wrap(f, r);
    return s;
  }
  // RocksDB sizes a WAL by its file (a backup copies that much of the live
  // one): a WAL being filled is as long as what was appended to it, not
  // its zeros.
  IOStatus GetFileSize(const std::string& f, const IOOptions& o, uint64_t* size,
                       IODebugContext* d) override {
    IOStatus s = target()->GetFileSize(f, o, size, d);
    if (s.ok()) *size = filling_->Size(Normal(f), *size);
    return s;
  }
  IOStatus GetChildrenFileAttributes(
      const std::string& dir, const IOOptions& o,
      std::vector<rocksdb::FileAttributes>* result,
      IODebugContext* d) override {
    IOStatus s = target()->GetChildrenFileAttributes(dir, o, result, d);
    if (!s.ok()) return s;
    const std::filesystem::path parent = Normal(dir);
    for (rocksdb::FileAttributes& a : *result) {
      a.size_bytes = filling_->Size(parent / a.name, a.size_bytes);
    }
    return s;
  }
  // RocksDB's own logger, on a file opened through this file system (the
  // wrapper's default would open it on the base one).
  IOStatus NewLogger(const std::string& f, const IOOptions& o,
                     std::shared_ptr<rocksdb::Logger>* r,
                     IODebugContext* d) override {
    return rocksdb::FileSystem::NewLogger(f, o, r, d);
  }

 private:
  // Every failure of the info log's file is dropped.
  class InfoLogFile final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    using FSWritableFileOwnerWrapper::FSWritableFileOwnerWrapper;
    IOStatus Append(const Slice& data, const IOOptions& o,
                    IODebugContext* d) override {
      return Dropped(target()->Append(data, o, d));
    }
    IOStatus Append(const Slice& data, const IOOptions& o,
                    const rocksdb::DataVerificationInfo& info,
                    IODebugContext* d) override {
      return Dropped(target()->Append(data, o, info, d));
    }
    IOStatus Flush(const IOOptions& o, IODebugContext* d) override {
      return Dropped(target()->Flush(o, d));
    }
    IOStatus Sync(const IOOptions& o, IODebugContext* d) override {
      return Dropped(target()->Sync(o, d));
    }
    IOStatus Fsync(const IOOptions& o, IODebugContext* d) override {
      return Dropped(target()->Fsync(o, d));
    }
    IOStatus RangeSync(uint64_t offset, uint64_t n, const IOOptions& o,
                       IODebugContext* d) override {
      return Dropped(target()->RangeSync(offset, n, o, d));
    }
    IOStatus Truncate(uint64_t size, const IOOptions& o,
                      IODebugContext* d) override {
      return Dropped(target()->Truncate(size, o, d));
    }
    IOStatus Allocate(uint64_t offset, uint64_t n, const IOOptions& o,
                      IODebugContext* d) override {
      return Dropped(target()->Allocate(offset, n, o, d));
    }
    IOStatus Close(const IOOptions& o, IODebugContext* d) override {
      return Dropped(target()->Close(o, d));
    }

   private:
    static IOStatus Dropped(IOStatus s) {
      s.PermitUncheckedError();
      return IOStatus::OK();
    }
  };

  // The WAL files being filled ahead (WalPrefill), by path.
  class FillingWals {
   public:
    void Add(const std::filesystem::path& path, const WalPrefill* prefill) {
      std::lock_guard lock(mu_);
      filling_[path] = prefill;
    }
    void Remove(const std::filesystem::path& path) {
      std::lock_guard lock(mu_);
      filling_.erase(path);
    }
    // The size of the file at `path` as its writer sees it, given the one
    // on disk.
    uint64_t Size(const std::filesystem::path& path, uint64_t on_disk) const {
      std::lock_guard lock(mu_);
      const auto it = filling_.find(path);
      return it == filling_.end() ? on_disk
                                  : std::min(on_disk, it->second->appended());
    }

   private:
    mutable std::mutex mu_;
    std::map<std::filesystem::path, const WalPrefill*> filling_;
  };

  // More WAL bytes than RocksDB's own empty batch after recovery; fewer
  // than any batch of the store (a key and its value at least).
  static constexpr uint64_t kMinWriteBytes = 64;

  // A WAL: its errors are data loss until a write was synced in it (or,
  // `when_appended`, appended to it).
  class WalFile final : public rocksdb::FSWritableFileOwnerWrapper {
   public:
    // `prefill`, if any, keeps zeros ahead of the file's end, which
    // `filling` knows of while it does.
    WalFile(std::unique_ptr<FSWritableFile> file, bool when_appended,
            std::unique_ptr<WalPrefill> prefill,
            std::shared_ptr<FillingWals> filling, std::filesystem::path path)
        : FSWritableFileOwnerWrapper(std::move(file)),
          when_appended_(when_appended),
          prefill_(std::move(prefill)),
          filling_(std::move(filling)),
          path_(std::move(path)) {
      if (prefill_) filling_->Add(path_, prefill_.get());
    }
    ~WalFile() override {
      if (prefill_) filling_->Remove(path_);
    }
    IOStatus Append(const Slice& data, const IOOptions& o,
                    IODebugContext* d) override {
      return Write(appended_.load() + data.size(), data.size(),
                   [&] { return target()->Append(data, o, d); });
    }
    IOStatus Append(const Slice& data, const IOOptions& o,
                    const rocksdb::DataVerificationInfo& info,
                    IODebugContext* d) override {
      return Write(appended_.load() + data.size(), data.size(),
                   [&] { return target()->Append(data, o, info, d); });
    }
    IOStatus PositionedAppend(const Slice& data, uint64_t offset,
                              const IOOptions& o, IODebugContext* d) override {
      return Write(offset + data.size(), data.size(), [&] {
        return target()->PositionedAppend(data, offset, o, d);
      });
    }
    IOStatus PositionedAppend(const Slice& data, uint64_t offset,
                              const IOOptions& o,
                              const rocksdb::DataVerificationInfo& info,
                              IODebugContext* d) override {
      return Write(offset + data.size(), data.size(), [&] {
        return target()->PositionedAppend(data, offset, o, info, d);
      });
    }
    IOStatus Close(const IOOptions& o, IODebugContext* d) override {
      IOStatus s = target()->Close(o, d);
      if (prefill_) {
        prefill_->Finish();
        filling_->Remove(path_);
      }
      return s;
    }
    IOStatus Flush(const IOOptions& o, IODebugContext* d) override {
      return Failed(target()->Flush(o, d));
    }
    IOStatus Sync(const IOOptions& o, IODebugContext* d) override {
      return Synced(target()->Sync(o, d));
    }
    IOStatus Fsync(const IOOptions& o, IODebugContext* d) override {
      return Synced(target()->Fsync(o, d));
    }

   private:
    // A write that ends at `end` in the file, of `bytes`.
    template <typename WriteFn>
    IOStatus Write(uint64_t end, size_t bytes, WriteFn write) {
      if (!prefill_) return Appended(write(), bytes);
      auto lock = prefill_->Before(end);
      IOStatus s = write();
      prefill_->After(end);
      return Appended(std::move(s), bytes);
    }
    IOStatus Appended(IOStatus s, size_t bytes) {
      if (!s.ok()) return Failed(std::move(s));
      if (appended_.fetch_add(bytes) + bytes > kMinWriteBytes &&
          when_appended_) {
        synced_.store(true);
      }
      return s;
    }
    IOStatus Synced(IOStatus s) {
      // What was appended before the sync began is durable once it ends.
      const uint64_t appended = appended_.load();
      if (s.ok() && appended > kMinWriteBytes) synced_.store(true);
      return Failed(std::move(s));
    }
    IOStatus Failed(IOStatus s) {
      if (!s.ok() && !synced_.load()) s.SetDataLoss(true);
      return s;
    }
    const bool when_appended_;
    std::atomic<uint64_t> appended_{0};
    std::atomic<bool> synced_{false};
    const std::unique_ptr<WalPrefill> prefill_;
    const std::shared_ptr<FillingWals> filling_;
    const std::filesystem::path path_;
  };

  // `path` without "." or ".." parts, repeated or trailing separators.
  static std::filesystem::path Normal(const std::string& path) {
    std::filesystem::path p = std::filesystem::path(path).lexically_normal();
    return p.has_filename() ? p : p.parent_path();
  }

  // `created`: a new file, empty, rather than one reopened.
  void Wrap(const std::string& name, std::unique_ptr<FSWritableFile>* file,
            bool created = false) const {
    const std::filesystem::path path = Normal(name);
    const bool read_models = path.parent_path() == projections_dir_;
    if (path.parent_path() != dir_ && !read_models) return;  // a backup's copy
    const std::string base = path.filename().string();
    if (base == "LOG") {
      *file = std::make_unique<InfoLogFile>(std::move(*file));
    } else if (base.size() > 4 && base.ends_with(".log") &&
               std::all_of(base.begin(), base.end() - 4,
                           [](char c) { return c >= '0' && c <= '9'; })) {
      // The read models' WAL is never synced per write: nothing to gain.
      std::unique_ptr<WalPrefill> prefill;
      if (created && wal_prefill_bytes_ > 0 && !read_models) {
        prefill = WalPrefill::Start(path.string(), wal_prefill_bytes_);
      }
      *file = std::make_unique<WalFile>(std::move(*file), read_models,
                                        std::move(prefill), filling_, path);
    }
  }

  const std::filesystem::path dir_;
  const std::filesystem::path projections_dir_;
  const uint64_t wal_prefill_bytes_;
  const std::shared_ptr<FillingWals> filling_ = std::make_shared<FillingWals>();
};

class EventStoreImpl final : public EventStore {
 public:
  EventStoreImpl(const Options& options, std::unique_ptr<rocksdb::Env> env,
                 std::unique_ptr<Db> db)
      : options_(options),
        env_(std::move(env)),
        db_(std::move(db)),
        live_([this](std::string_view tenant) { return LogEnd(tenant); }),
        projections_(NewProjectionStore(db_.get(), &tenants_)),
        scanner_(db_.get()),
        sequencer_(db_.get(), options_, &tenants_, &live_, &scanner_) {}

  ~EventStoreImpl() override { Close(); }

  Status Start() { return sequencer_.Start(); }

  void Append(AppendRequest request, WriteCallback done) override {
    Submit(std::move(request), std::move(done));
  }
  void Delete(DeleteRequest request, WriteCallback done) override {
    Submit(std::move(request), std::move(done));
  }
  void SetMetadata(MetadataRequest request, WriteCallback done) override {
    Submit(std::move(request), std::move(done));
  }

  Result<StreamPage> ReadStream(std::string_view tenant,
                                std::string_view stream,
                                const StreamReadOptions& options) override;
  Result<LogPage> ReadLog(std::string_view tenant,
                          const LogReadOptions& options) override;
  Result<std::optional<uint64_t>> ScanLog(std::string_view tenant,
                                          const LogReadOptions& options,
                                          const EventVisitor& visit) override;
  Result<StreamInfo> GetStreamInfo(std::string_view tenant,
                                   std::string_view stream) override;
  Result<StreamListing> ListStreams(std::string_view tenant,
                                    std::string_view prefix,
                                    std::string_view after,
                                    size_t limit) override;
  GlobalPosition LogEnd(std::string_view tenant) override {
    const auto* t = tenants_.Find(tenant);
    return GlobalPosition(t ? t->log_end.load(std::memory_order_acquire) : 0);
  }

  std::vector<std::string> Tenants() override { return tenants_.Names(); }
  LiveLog& Live() override { return live_; }
  ProjectionStore& Projections() override { return *projections_; }
  void UseLogIndex(std::unique_ptr<LogIndex> index) override {
    scanner_.UseIndex(std::move(index));
  }

  StoreStats Stats() override {
    StoreStats stats;
    sequencer_.GroupStats(&stats);
    rocksdb::DB* db = db_->db();
    // Of both instances, the events' and the read models'.
    const auto sum = [this](const std::string& property) {
      uint64_t total = 0;
      for (rocksdb::DB* instance : {db_->db(), db_->projection_db()}) {
        uint64_t value = 0;
        if (instance->GetAggregatedIntProperty(property, &value)) {
          total += value;
        }
      }
      return total;
    };
    // Of the events' instance: what holds appends back.
    const auto get = [db](const std::string& property) {
      uint64_t value = 0;
      return db->GetIntProperty(property, &value) ? value : 0;
    };
    using P = rocksdb::DB::Properties;
    stats.memtable_bytes = sum(P::kCurSizeAllMemTables);
    stats.pending_compaction_bytes = sum(P::kEstimatePendingCompactionBytes);
    stats.live_sst_bytes = sum(P::kLiveSstFilesSize);
    stats.writes_stopped = get(P::kIsWriteStopped) != 0;
    stats.delayed_write_rate = get(P::kActualDelayedWriteRate);
    return stats;
  }

  Result<BackupInfo> CreateBackup(const std::string& backup_dir) override;

  void Close() override {
    std::call_once(closed_, [this] {
      {
        // No backup starts from now on, and the one running stops at its
        // next chunk: a backup of a large store takes minutes, a shutdown
        // should not. Then wait for it to have let go of the DB.
        std::lock_guard lock(stop_mu_);
        closing_ = true;
        if (running_ != nullptr) running_->Stop();
      }
      { std::lock_guard wait(backup_mu_); }
      sequencer_.Close();
      if (options_.read_only) return;
      // Flushing the memtables keeps what kMemory never logged, and leaves
      // no WAL to replay at the next open, so a clean restart is quick.
      // Every family by name: Flush without them flushes only the default
      // one. A failure here loses nothing acknowledged under fsync or wal:
      // the WAL still holds it.
      db_->db()
          ->Flush(rocksdb::FlushOptions(), db_->families())
          .PermitUncheckedError();
      db_->projection_db()
          ->Flush(rocksdb::FlushOptions(), db_->projection_families())
          .PermitUncheckedError();
    });
  }

 private:
  void Submit(Sequencer::Request request, WriteCallback done) {
    if (options_.read_only) {
      WriteOutcome out;
      out.status = Status::Unavailable("the store is open read-only");
      done(std::move(out));
      return;
    }
    sequencer_.Submit(std::move(request), std::move(done));
  }

  // The stream's id and head as committed. NotFound for none.
  struct Located {
    TenantId tenant;
    StreamId stream;
    keys::StreamHead head;
  };
  Result<Located> Locate(std::string_view tenant, std::string_view stream);

  // Events at the given positions, in the given order.
  Status FetchEvents(TenantId tenant, const std::vector<uint64_t>& positions,
                     std::vector<StoredEvent>* out);
  // Those at `positions`, by key (one MultiGet).
  Status FetchByKey(TenantId tenant, std::span<const uint64_t> positions,
                    std::vector<StoredEvent>* out);
  // Those at `count` consecutive positions from `first`, by one scan of
  // `it` (of the events family), in descending order when `descending`.
  Status FetchByScan(TenantId tenant, uint64_t first, size_t count,
                     bool descending, rocksdb::Iterator* it,
                     std::vector<StoredEvent>* out);

  const Options options_;
  std::unique_ptr<rocksdb::Env> env_;  // outlives db_, which runs on it
  std::unique_ptr<Db> db_;
  TenantDirectory tenants_;
  LiveLog live_;
  std::unique_ptr<ProjectionStore> projections_;
  LogScanner scanner_;  // before the sequencer, which reads through it
  Sequencer sequencer_;
  std::once_flag closed_;
  // Held for the whole of a backup: they are taken one at a time.
  std::mutex backup_mu_;
  std::mutex stop_mu_;
  bool closing_ = false;          // guarded by stop_mu_
  BackupRun* running_ = nullptr;  // guarded by stop_mu_
};

Result<BackupInfo> EventStoreImpl::CreateBackup(const std::string& backup_dir) {
  std::lock_guard one(backup_mu_);
  const auto closing = [this] {
    std::lock_guard lock(stop_mu_);
    return closing_;
  };
  if (closing()) return Status::Unavailable("the store is closed");
  auto run = BackupRun::Open(backup_dir, db_->db(), db_->projection_db());
  if (!run.has_value()) return run.error();
  {
    // Registered under the lock Close takes to stop it: either Close sees
    // this backup and stops it, or this sees Close and never starts.
    std::lock_guard lock(stop_mu_);
    if (closing_) return Status::Unavailable("the store is closed");
    running_ = run->get();
  }
  // Whether to flush the memtables first. With a WAL (kFsync, kWal) no:
  // the engine copies the live WAL files (the last one up to its size when
  // the file list was taken, after the version of SST files was), and
  // replaying them at the restored store's first open rebuilds the
  // memtables of every family together; a flush would only add small SST
  // files and compactions to a store under load. Under kMemory there is no
  // WAL, so what is only in memtables (every acknowledged write since the
  // last flush) would be missing: flush (an atomic flush of every family,
  // db.cc). A store open read-only cannot flush and needs not: its
  // memtables came from the WAL it copies.
  //
  // Why every write acknowledged before the call is in the backup: the
  // engine disables file deletions, then lists the live SST files, flushes
  // the WAL buffer to the file and lists the WAL files with their sizes.
  // An acknowledged write is in the WAL file before its callback runs
  // (synced under kFsync, written under kWal) or, under kMemory, in a
  // memtable that the flush writes out; so it is in a listed SST file or
  // within the listed length of a WAL file, and nothing listed can be
  // deleted before it is copied. A write committed during the backup may
  // or may not be in it, whole: a group is one write batch, one WAL
  // record, and the restored store's recovery (point in time) drops a
  // record cut off at the copied length, so positions stay gapless.
  const bool flush =
      !options_.read_only && options_.durability == Durability::kMemory;
  Result<BackupInfo> info = (*run)->Create(flush);
  std::lock_guard lock(stop_mu_);
  running_ = nullptr;
  return info;
}

Result<EventStoreImpl::Located> EventStoreImpl::Locate(
    std::string_view tenant, std::string_view stream) {
  const auto* t = tenants_.Find(tenant);
  if (t == nullptr) return Status::NotFound("no such stream");
  rocksdb::ReadOptions ro;
  std::string value;
  auto s = db_->db()->Get(ro, db_->directory(),
                          keys::StreamNameKey(t->id, stream), &value);
  if (s.IsNotFound()) return Status::NotFound("no such stream");
  if (!s.ok()) return FromRocksDb(s);
  if (value.size() != 8) return Status::Corruption("bad stream id entry");
  Located loc{t->id, StreamId(keys::GetBigEndian64(value.data())), {}};
  auto head = StreamHeads(db_.get(), ro).Read(loc.tenant, loc.stream);
  if (!head.has_value()) return head.error();
  if (!*head) return Status::NotFound("no such stream");
  loc.head = **head;
  if (loc.head.tombstoned) {
    return Status::StreamDeleted("stream " + std::string(stream) +
                                 " is tombstoned");
  }
  return loc;
}

// A stream's events are at runs of consecutive positions (an append's
// events, storage/FORMAT.md): a long run is read by one scan of the log,
// cheaper a key than a MultiGet; the scattered rest by key. Reading
// 1,000-event streams appended in one batch each, 8 clients: 1.06-1.23
// million events/s by key, 1.54-1.81 million by scan (docs/BENCHMARKS.md).
constexpr size_t kScanRunFrom = 8;

Status EventStoreImpl::FetchEvents(TenantId tenant,
                                   const std::vector<uint64_t>& positions,
                                   std::vector<StoredEvent>* out) {
  std::unique_ptr<rocksdb::Iterator> it;
  size_t scattered = 0;  // the first position not yet read
  for (size_t i = 0; i < positions.size();) {
    // The run from i: positions rising or falling by one.
    size_t j = i + 1;
    if (j < positions.size()) {
      const bool up = positions[j] == positions[i] + 1;
      const bool down = positions[i] > 0 && positions[j] == positions[i] - 1;
      while ((up || down) && j < positions.size() &&
             positions[j] ==
                 (up ? positions[j - 1] + 1 : positions[j - 1] - 1)) {
        ++j;
      }
    }
    if (j - i < kScanRunFrom) {
      i = j;
      continue;
    }
    if (Status s = FetchByKey(
            tenant, std::span(positions).subspan(scattered, i - scattered),
            out);
        !s.ok()) {
      return s;
    }
    if (!it) {
      it.reset(db_->db()->NewIterator(rocksdb::ReadOptions(), db_->events()));
    }
    const bool descending = positions[j - 1] < positions[i];
    if (Status s = FetchByScan(tenant, std::min(positions[i], positions[j - 1]),
                               j - i, descending, it.get(), out);
        !s.ok()) {
      return s;
    }
    scattered = i = j;
  }
  return FetchByKey(tenant, std::span(positions).subspan(scattered), out);
}

Status EventStoreImpl::FetchByKey(TenantId tenant,
                                  std::span<const uint64_t> positions,
                                  std::vector<StoredEvent>* out) {
  if (positions.empty()) return Status::Ok();
  std::vector<std::string> event_keys;
  event_keys.reserve(positions.size());
  for (uint64_t p : positions) {
    event_keys.push_back(keys::EventKey(tenant, GlobalPosition(p)));
  }
  std::vector<rocksdb::Slice> slices(event_keys.begin(), event_keys.end());
  std::vector<rocksdb::PinnableSlice> values(slices.size());
  std::vector<rocksdb::Status> statuses(slices.size());
  db_->db()->MultiGet(rocksdb::ReadOptions(), db_->events(), slices.size(),
                      slices.data(), values.data(), statuses.data());
  for (size_t i = 0; i < slices.size(); ++i) {
    if (!statuses[i].ok()) {
      // The index names an event the log lacks.
      return statuses[i].IsNotFound()
                 ? Status::Corruption("stream index points at a missing event")
                 : FromRocksDb(statuses[i]);
    }
    StoredEvent ev{GlobalPosition(positions[i]), values[i].ToString()};
    auto decoded = DecodeEventRecord(ev.record);
    if (!decoded.has_value()) return decoded.error();
    out->push_back(std::move(ev));
  }
  return Status::Ok();
}

Status EventStoreImpl::FetchByScan(TenantId tenant, uint64_t first,
                                   size_t count, bool descending,
                                   rocksdb::Iterator* it,
                                   std::vector<StoredEvent>* out) {
  const size_t begin = out->size();
  std::string key = keys::EventKey(tenant, GlobalPosition(first));
  it->Seek(key);
  for (size_t k = 0; k < count; ++k, it->Next()) {
    key = keys::EventKey(tenant, GlobalPosition(first + k));
    if (!it->Valid() || it->key() != key) {
      if (!it->status().ok()) return FromRocksDb(it->status());
      return Status::Corruption("stream index points at a missing event");
    }
    StoredEvent ev{GlobalPosition(first + k), it->value().ToString()};
    auto decoded = DecodeEventRecord(ev.record);
    if (!decoded.has_value()) return decoded.error();
    out->push_back(std::move(ev));
  }
  if (descending) std::reverse(out->begin() + begin, out->end());
  return Status::Ok();
}

Result<StreamPage> EventStoreImpl::ReadStream(
    std::string_view tenant, std::string_view stream,
    const StreamReadOptions& options) {
  auto loc = Locate(tenant, stream);
  if (!loc.has_value()) return loc.error();
  const keys::StreamHead& head = loc->head;
  if (head.deleted) return Status::NotFound("no such stream");

  StreamPage page;
  if (head.next_revision == head.first_revision || options.limit == 0) {
    return page;
  }
  // The revisions a reader may see: after deletion and within maxCount.
  uint64_t lo = head.first_revision;
  const uint64_t hi = head.next_revision - 1;
  if (head.metadata.max_count) {
    const uint64_t keep = *head.metadata.max_count;
    lo =
        std::max(lo, head.next_revision > keep ? head.next_revision - keep : 0);
    if (keep == 0) return page;
  }
  // Ages past what microseconds can hold are as good as no limit.
  constexpr uint64_t kMaxAgeSeconds = INT64_MAX / 2'000'000;
  const auto max_age = head.metadata.max_age_seconds;
  const int64_t min_time_us =
      max_age && *max_age < kMaxAgeSeconds
          ? NowMicros() - static_cast<int64_t>(*max_age) * 1'000'000
          : INT64_MIN;

  const bool forward = options.direction == Direction::kForward;
  uint64_t from = options.from.value_or(forward ? lo : hi);
  if (forward) {
    from = std::max(from, lo);
    if (from > hi) return page;
  } else {
    from = std::min(from, hi);
    if (from < lo) return page;
  }

  // Positions from the stream index's runs, then the records
  // (FetchEvents). The run holding `lo` may begin below it: the iterator's
  // bounds are the whole stream's, and a run is cut to [lo, hi].
  rocksdb::ReadOptions ro;
  const std::string lower =
      keys::StreamIndexKey(loc->tenant, loc->stream, StreamRevision(0));
  const std::string upper =
      keys::StreamIndexKey(loc->tenant, loc->stream, StreamRevision(hi + 1));
  rocksdb::Slice lower_slice(lower), upper_slice(upper);
  ro.iterate_lower_bound = &lower_slice;
  ro.iterate_upper_bound = &upper_slice;
  ro.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db()->NewIterator(ro, db_->streams()));
  std::vector<uint64_t> positions;
  std::vector<uint64_t> revisions;
  const auto add = [&](const keys::IndexRun& run, uint64_t revision) {
    revisions.push_back(revision);
    positions.push_back(run.PositionOf(revision));
  };
  // The run holding `from`: the last one beginning at or before it.
  const std::string start =
      keys::StreamIndexKey(loc->tenant, loc->stream, StreamRevision(from));
  it->SeekForPrev(start);
  if (forward && !it->Valid() && it->status().ok()) it->Seek(start);
  for (; it->Valid() && positions.size() < options.limit;
       forward ? it->Next() : it->Prev()) {
    const auto run = keys::DecodeIndexRun(it->key().ToStringView(),
                                          it->value().ToStringView());
    if (!run) return Status::Corruption("bad index entry");
    if (forward) {
      const uint64_t end = std::min(run->end_revision(), hi + 1);
      for (uint64_t r = std::max(run->first_revision, from);
           r < end && positions.size() < options.limit; ++r) {
        add(*run, r);
      }
    } else {
      if (run->end_revision() <= lo) break;
      const uint64_t first = std::max(run->first_revision, lo);
      for (uint64_t r = std::min(run->end_revision() - 1, from) + 1;
           r > first && positions.size() < options.limit; --r) {
        add(*run, r - 1);
      }
    }
  }
  if (!it->status().ok()) return FromRocksDb(it->status());
  if (Status s = FetchEvents(loc->tenant, positions, &page.events); !s.ok()) {
    return s;
  }

  // The next page starts after the last revision looked at, kept or not.
  const std::optional<uint64_t> last_seen =
      revisions.empty() ? std::nullopt : std::optional(revisions.back());

  // maxAge: within a stream, commit times only grow, so the expired events
  // are a prefix of it.
  if (min_time_us != INT64_MIN) {
    const auto expired = [&](const StoredEvent& e) {
      return DecodeEventRecord(e.record)->time_us < min_time_us;
    };
    const size_t before = page.events.size();
    std::erase_if(page.events, expired);
    if (!forward && page.events.size() < before) return page;  // no older
  }

  if (last_seen) {
    if (forward && *last_seen < hi) page.next = *last_seen + 1;
    if (!forward && *last_seen > lo) page.next = *last_seen - 1;
  }
  return page;
}

Result<std::optional<uint64_t>> EventStoreImpl::ScanLog(
    std::string_view tenant, const LogReadOptions& options,
    const EventVisitor& visit) {
  const auto* t = tenants_.Find(tenant);
  if (t == nullptr) return std::optional<uint64_t>();
  // Read no further than what was committed when the read began.
  uint64_t end = t->log_end.load(std::memory_order_acquire);
  if (options.until) end = std::min(end, *options.until);
  return scanner_.Scan(t->id, tenant, end, options, visit);
}

Result<LogPage> EventStoreImpl::ReadLog(std::string_view tenant,
                                        const LogReadOptions& options) {
  LogPage page;
  auto next = ScanLog(tenant, options,
                      [&page](GlobalPosition position, const EventView& e) {
                        page.events.push_back({position, std::string(e.raw)});
                      });
  if (!next.has_value()) return next.error();
  page.next = *next;
  return page;
}

Result<StreamInfo> EventStoreImpl::GetStreamInfo(std::string_view tenant,
                                                 std::string_view stream) {
  auto loc = Locate(tenant, stream);
  if (!loc.has_value()) return loc.error();
  const keys::StreamHead& h = loc->head;
  StreamInfo info;
  info.stream = std::string(stream);
  if (h.has_events()) {
    info.last_revision = StreamRevision(h.next_revision - 1);
    info.last_position = h.last_position;
  }
  info.created_us = h.created_us;
  info.deleted = h.deleted;
  info.metadata = h.metadata;
  return info;
}

Result<StreamListing> EventStoreImpl::ListStreams(std::string_view tenant,
                                                  std::string_view prefix,
                                                  std::string_view after,
                                                  size_t limit) {
  StreamListing listing;
  const auto* t = tenants_.Find(tenant);
  if (t == nullptr || limit == 0) return listing;
  const std::string key_prefix = keys::StreamNameKey(t->id, prefix);
  std::string start = key_prefix;
  if (!after.empty()) {
    // Strictly after the cursor: the smallest key greater than it.
    std::string past = keys::StreamNameKey(t->id, after);
    past.push_back('\0');
    start = std::max(start, past);
  }
  rocksdb::ReadOptions ro;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db()->NewIterator(ro, db_->directory()));
  StreamHeads heads(db_.get(), ro);
  for (it->Seek(start); it->Valid() && it->key().starts_with(key_prefix);
       it->Next()) {
    if (it->value().size() != 8) return Status::Corruption("bad stream entry");
    const StreamId id(keys::GetBigEndian64(it->value().data()));
    auto read = heads.Read(t->id, id);
    if (!read.has_value()) return read.error();
    const std::optional<keys::StreamHead>& head = *read;
    if (!head || head->deleted || !head->has_events()) continue;
    std::string name =
        it->key().ToString().substr(keys::kStreamNameKeyPrefixBytes);
    if (listing.streams.size() == limit) {
      listing.next = listing.streams.back().stream;
      return listing;
    }
    StreamInfo info;
    info.stream = std::move(name);
    info.last_revision = StreamRevision(head->next_revision - 1);
    info.last_position = head->last_position;
    info.created_us = head->created_us;
    info.metadata = head->metadata;
    listing.streams.push_back(std::move(info));
  }
  if (!it->status().ok()) return FromRocksDb(it->status());
  return listing;
}

}  // namespace

Result<std::unique_ptr<EventStore>> OpenWithEnv(const Options& options,
                                                const std::string& dir,
                                                rocksdb::Env* env) {
  // Only a WAL synced at every write gains from zeros ahead of its end.
  const uint64_t wal_prefill_bytes =
      options.durability == Durability::kFsync ? options.wal_prefill_bytes : 0;
  // The store's file system above the given Env's (its threads and clock
  // are RocksDB's default ones, as NewCompositeEnv makes them).
  std::unique_ptr<rocksdb::Env> store_env =
      rocksdb::NewCompositeEnv(std::make_shared<StoreFileSystem>(
          env != nullptr ? env->GetFileSystem()
                         : rocksdb::FileSystem::Default(),
          dir, wal_prefill_bytes));
  auto db = Db::Open(options, dir, store_env.get());
  if (!db.has_value()) return db.error();
  auto store = std::make_unique<EventStoreImpl>(options, std::move(store_env),
                                                std::move(*db));
  if (Status s = store->Start(); !s.ok()) return s;
  return std::unique_ptr<EventStore>(std::move(store));
}

Result<std::unique_ptr<EventStore>> EventStore::Open(const Options& options,
                                                     const std::string& dir) {
  return OpenWithEnv(options, dir, nullptr);
}

}  // namespace cairn::storage
