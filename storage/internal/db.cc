#include "storage/internal/db.h"

#include <rocksdb/cache.h>
#include <rocksdb/filter_policy.h>
#include <rocksdb/slice_transform.h>
#include <rocksdb/table.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <thread>

#include "storage/internal/crc32c.h"
#include "storage/internal/keys.h"
#include "storage/internal/rocksdb_status.h"

namespace cairn::storage {
namespace {

// RocksDB's default block, for families read by key.
constexpr size_t kPointReadBlockBytes = size_t{4} << 10;
// The log is read mostly in long runs (log reads, subscriptions' catch-up,
// the projector): every block costs a read, a checksum, a decompression
// and a cache lookup whatever its size, so its blocks are larger. Reading
// 1,000,000 events went from about 950,000 to 1,400,000 a second, and a
// 1,000-event stream (one MultiGet) read as fast (docs/BENCHMARKS.md);
// 64 KiB gained nothing more.
constexpr size_t kLogBlockBytes = size_t{32} << 10;

rocksdb::ColumnFamilyOptions FamilyOptions(
    const std::shared_ptr<rocksdb::Cache>& cache, int bloom_bits,
    size_t prefix_bytes, size_t block_bytes = kPointReadBlockBytes) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
  table.block_size = block_bytes;
  table.block_cache = cache;
  table.cache_index_and_filter_blocks = true;
  table.pin_l0_filter_and_index_blocks_in_cache = true;
  table.format_version = 5;
  if (bloom_bits > 0) {
    table.filter_policy.reset(rocksdb::NewBloomFilterPolicy(bloom_bits));
  }
  if (prefix_bytes > 0) {
    // Seeks within one stream's index hit the bloom filter of its prefix.
    cf.prefix_extractor.reset(rocksdb::NewFixedPrefixTransform(prefix_bytes));
    table.whole_key_filtering = false;
  }
  cf.table_factory.reset(rocksdb::NewBlockBasedTableFactory(table));
  cf.compression = rocksdb::kLZ4Compression;
  cf.bottommost_compression = rocksdb::kZSTD;
  cf.level_compaction_dynamic_level_bytes = true;
  return cf;
}

// Why a read-only open of `dir` cannot go ahead, if it cannot: it creates
// nothing, so it must find a store there, with every fixed family.
Status FindStore(const std::string& dir, const rocksdb::Status& listed,
                 const std::vector<std::string>& families) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return Status::NotFound("no data directory " + dir);
  }
  if (!std::filesystem::exists(std::filesystem::path(dir) / "CURRENT", ec)) {
    return Status::NotFound(dir + " holds no Cairn store");
  }
  if (!listed.ok()) {
    return Status::IOError("cannot read the store in " + dir + ": " +
                           listed.ToString());
  }
  for (const char* name :
       {keys::kDirectoryFamily, keys::kEventsFamily, keys::kStreamsFamily,
        keys::kHeadsFamily, keys::kEventIdsFamily}) {
    if (std::find(families.begin(), families.end(), name) == families.end()) {
      return Status::NotFound(dir + " holds no Cairn store (no column family " +
                              name + ")");
    }
  }
  return Status::Ok();
}

// A fresh private directory under the system temp dir.
Result<std::string> MakeTempDir(const char* prefix) {
  std::error_code ec;
  const auto base = std::filesystem::temp_directory_path(ec);
  if (ec) {
    return Status::IOError("no temporary directory: " + ec.message());
  }
  std::string path = (base / (std::string(prefix) + "XXXXXX")).string();
  if (mkdtemp(path.data()) == nullptr) {
    return Status::IOError("cannot create a temporary directory in " +
                           base.string() + ": " + std::strerror(errno));
  }
  return path;
}

// Opens one of the store's instances: a primary, or, with a
// `secondary_dir`, a secondary instance keeping its own files there.
rocksdb::Status OpenInstance(
    const rocksdb::DBOptions& options, const std::string& dir,
    const std::string& secondary_dir,
    const std::vector<rocksdb::ColumnFamilyDescriptor>& families,
    std::vector<rocksdb::ColumnFamilyHandle*>* handles, rocksdb::DB** raw) {
  if (secondary_dir.empty()) {
    return rocksdb::DB::Open(options, dir, families, handles, raw);
  }
  for (int attempt = 1;; ++attempt) {
    rocksdb::Status s = rocksdb::DB::OpenAsSecondary(
        options, dir, secondary_dir, families, handles, raw);
    // The open replays the primary's WAL as it is then: every read of
    // this instance sees that committed state, nothing later. No
    // TryCatchUpWithPrimary: RocksDB 7.8's crashes (in
    // VersionStorageInfo::LevelSummary) on a directory whose MANIFEST
    // records dropped column families, as a projection rebuild leaves
    // (found by tests/fault/crash_loop_test.cc).
    if (s.ok()) return s;
    // A file the primary replaced while this instance opened it (a new
    // MANIFEST, a compaction's inputs, an obsolete WAL) is missing for a
    // moment: open again.
    const bool transient =
        s.IsTryAgain() || s.IsPathNotFound() || s.IsNotFound();
    if (!transient || attempt == 3) return s;
  }
}

// The projection families of the instance in `dir`, by their names.
std::vector<std::string> ProjectionFamilyNames(
    const rocksdb::DBOptions& options, const std::string& dir) {
  std::vector<std::string> existing, names;
  // A failed listing is a new directory: none exist yet.
  rocksdb::DB::ListColumnFamilies(options, dir, &existing)
      .PermitUncheckedError();
  for (const auto& name : existing) {
    if (name.rfind(keys::kProjectionFamilyPrefix, 0) == 0) {
      names.push_back(name);
    }
  }
  return names;
}

}  // namespace

Result<std::unique_ptr<Db>> Db::Open(const Options& options,
                                     const std::string& dir,
                                     rocksdb::Env* env) {
  if (!Crc32cChecks()) {
    return Status::Internal(
        "the CRC32C of this build is wrong (storage/internal/crc32c.cc)");
  }
  std::error_code ec;
  if (!options.read_only) std::filesystem::create_directories(dir, ec);
  if (ec) {
    return Status::IOError("cannot create data directory " + dir + ": " +
                           ec.message());
  }

  rocksdb::DBOptions db_options;
  if (env != nullptr) db_options.env = env;
  db_options.create_if_missing = true;
  db_options.create_missing_column_families = true;
  db_options.IncreaseParallelism(
      static_cast<int>(std::max(2u, std::thread::hardware_concurrency())));
  // Without a WAL, only an atomic flush keeps the families consistent with
  // one another after a crash. With a WAL it costs little and keeps one rule.
  db_options.atomic_flush = true;
  db_options.max_total_wal_size = size_t{512} << 20;
  db_options.keep_log_file_num = 5;

  auto cache = rocksdb::NewLRUCache(options.block_cache_bytes);
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, FamilyOptions(cache, 0, 0)},
      {keys::kDirectoryFamily, FamilyOptions(cache, 10, 0)},
      {keys::kEventsFamily, FamilyOptions(cache, 0, 0, kLogBlockBytes)},
      {keys::kStreamsFamily,
       FamilyOptions(cache, 10, keys::kStreamIndexPrefixBytes)},
      {keys::kHeadsFamily, FamilyOptions(cache, 10, 0)},
      {keys::kEventIdsFamily, FamilyOptions(cache, 10, 0)},
  };
  // Memtables stay at RocksDB's 64 MiB: after a crash the WAL to replay
  // is about one memtable of events (atomic flush empties all families
  // together), which replays in about a second here.
  // Keys that arrive in order within a prefix (a tenant's log, a stream's
  // index, a tenant's v7 event ids) are inserted next to the previous one
  // with the same prefix instead of searched for from the skip list's top.
  const auto hint = [](size_t prefix_bytes) {
    return std::shared_ptr<const rocksdb::SliceTransform>(
        rocksdb::NewFixedPrefixTransform(prefix_bytes));
  };
  families[2].options.memtable_insert_with_hint_prefix_extractor = hint(4);
  families[3].options.memtable_insert_with_hint_prefix_extractor =
      hint(keys::kStreamIndexPrefixBytes);
  families[5].options.memtable_insert_with_hint_prefix_extractor = hint(4);
  // A head is written again by every group that appends to its stream,
  // and sorts just before the stream's previous version in the memtable:
  // a hint per stream starts from there, not from the top of a skip list
  // of every version. Single-event appends at 64 clients: the sequencer's
  // CPU per append 9.5-9.7 instead of 10.3-10.9 µs (docs/BENCHMARKS.md).
  families[4].options.memtable_insert_with_hint_prefix_extractor = hint(12);
  // The log's keys arrive in order, so a flushed file overlaps no other and
  // compaction can move it down a level instead of rewriting it; but only
  // into a level of the same compression. One compression for every level
  // (ZSTD, the log being most of the disk) makes every such compaction a
  // move: preloading 20,000,000 events, 91-96 moves and 7.5-8.2 million
  // events rewritten before, 201 moves and none rewritten after.
  families[2].options.compression = rocksdb::kZSTD;
  // A stream index entry compresses to about 5 bytes, so RocksDB's 256 MiB
  // base level would be tens of millions of entries, and until the family
  // outgrew it every compaction of new entries (which overlap every
  // stream) rewrote all of it. Levels sized for small entries keep each
  // rewrite to one level's share: 32-35 instead of 48-51 s of its
  // compaction CPU for 20,000,000 events. With the log's change above,
  // that preload ran at 217,000-231,000 instead of 180,000 events/s
  // (bench/compare/growth.sh, docs/BENCHMARKS.md).
  families[3].options.max_bytes_for_level_base = size_t{8} << 20;
  families[3].options.target_file_size_base = size_t{2} << 20;

  std::unique_ptr<Db> db(new Db());
  std::vector<std::string> existing;
  const rocksdb::Status listed =
      rocksdb::DB::ListColumnFamilies(db_options, dir, &existing);
  if (options.read_only) {
    if (Status s = FindStore(dir, listed, existing); !s.ok()) return s;
    // A secondary instance rather than OpenForReadOnly: it is meant to run
    // beside the primary (a read-only instance beside a writer is undefined,
    // rocksdb/db.h). It keeps its info log in a directory of its own, and
    // must keep every file open (max_open_files = -1), so that the
    // primary's compactions cannot delete a file from under it.
    auto secondary = MakeTempDir("cairn-secondary-");
    if (!secondary.has_value()) return secondary.error();
    db->secondary_dir_ = *secondary;  // removed by ~Db, whatever happens
    db_options.max_open_files = -1;
    db_options.create_if_missing = false;
    db_options.create_missing_column_families = false;
  }
  // Otherwise a failed listing is a new directory: none exist yet.
  // Projection families of a store written before the read models had an
  // instance of their own are moved out of it (MoveProjections).
  for (const auto& name : existing) {
    if (name.rfind(keys::kProjectionFamilyPrefix, 0) == 0) {
      families.emplace_back(name, FamilyOptions(cache, 10, 0));
    }
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s = OpenInstance(db_options, dir, db->secondary_dir_,
                                   families, &handles, &raw);
  if (!s.ok()) return FromRocksDb(s);
  db->db_.reset(raw);
  constexpr size_t kFixed = 6;
  db->handles_.assign(handles.begin(), handles.begin() + kFixed);
  db->legacy_.assign(handles.begin() + kFixed, handles.end());

  switch (options.durability) {
    case Durability::kFsync:
      db->write_options_.sync = true;
      break;
    case Durability::kWal:
      db->write_options_.sync = false;
      break;
    case Durability::kMemory:
      db->write_options_.disableWAL = true;
      break;
  }
  db->projection_write_options_ = db->write_options_;
  db->projection_write_options_.sync = false;
  if (Status checked = db->CheckFormat(options.read_only); !checked.ok()) {
    return checked;
  }

  if (Status opened = db->OpenProjections(options, dir, db_options, cache);
      !opened.ok()) {
    return opened;
  }
  if (!db->legacy_.empty() && !options.read_only) {
    if (Status moved = db->MoveProjections(); !moved.ok()) return moved;
  }
  if (!options.read_only) {
    if (Status dropped = db->DropReadModelsAheadOfLog(); !dropped.ok()) {
      return dropped;
    }
  }
  return db;
}

// A store written by a later version may hold what this one would misread
// (storage/FORMAT.md, "Versions"): it is not opened. One written before
// version 2 (no entry) is valid version 2 data; a writable open marks it
// so, in the store's first write, before anything of version 2 is written.
Status Db::CheckFormat(bool read_only) {
  std::string value;
  auto s =
      db_->Get(rocksdb::ReadOptions(), directory(), keys::kFormatKey, &value);
  if (!s.ok() && !s.IsNotFound()) return FromRocksDb(s);
  if (s.ok()) {
    if (value.size() != 4) {
      return Status::Corruption("the store's format entry is not 4 bytes");
    }
    const uint32_t version = keys::GetBigEndian32(value.data());
    if (version > keys::kFormatVersion) {
      return Status::InvalidArgument(
          "the store is of format version " + std::to_string(version) +
          ", written by a later Cairn; this one reads versions up to " +
          std::to_string(keys::kFormatVersion));
    }
    if (version == keys::kFormatVersion) return Status::Ok();
  }
  if (read_only) return Status::Ok();
  std::string marker;
  keys::PutBigEndian32(&marker, keys::kFormatVersion);
  return FromRocksDb(
      db_->Put(write_options_, directory(), keys::kFormatKey, marker));
}

Status Db::OpenProjections(const Options& options, const std::string& dir,
                           rocksdb::DBOptions db_options,
                           const std::shared_ptr<rocksdb::Cache>& cache) {
  std::string path = (std::filesystem::path(dir) / kProjectionsDir).string();
  std::string secondary;
  if (options.read_only) {
    secondary = secondary_dir_ + "/" + kProjectionsDir;
    std::error_code ec;
    std::filesystem::create_directories(secondary, ec);
    if (ec) return Status::IOError("cannot create " + secondary);
    if (!std::filesystem::exists(std::filesystem::path(path) / "CURRENT", ec)) {
      // No read models yet (a store this version has not opened): an
      // empty instance of the secondary's own, so that reads find none and
      // nothing is created in `dir`.
      path = secondary + "/empty";
      secondary.clear();
      db_options.create_if_missing = true;
      db_options.create_missing_column_families = true;
    }
  }
  // Read models are written in large batches, a pass of the runner at a
  // time; their WAL only has to bring back what a crash took from the
  // memtables, so it is kept shorter than the events'.
  db_options.max_total_wal_size = size_t{128} << 20;
  // Smaller memtables than the events': a pass rewrites the same learners'
  // documents, so a memtable holds mostly superseded versions, and a
  // smaller skip list is quicker to insert into; RocksDB also preallocates
  // each WAL file at about one memtable's size.
  projection_options_ = FamilyOptions(cache, 10, 0);
  projection_options_.write_buffer_size = size_t{16} << 20;
  std::vector<rocksdb::ColumnFamilyDescriptor> families = {
      {rocksdb::kDefaultColumnFamilyName, projection_options_}};
  for (const auto& name : ProjectionFamilyNames(db_options, path)) {
    families.emplace_back(name, projection_options_);
  }
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s =
      OpenInstance(db_options, path, secondary, families, &handles, &raw);
  if (!s.ok()) return FromRocksDb(s);
  projection_db_.reset(raw);
  projection_meta_ = handles[0];
  std::lock_guard lock(mu_);
  for (size_t i = 1; i < handles.size(); ++i) {
    projections_[handles[i]->GetName().substr(
        std::string_view(keys::kProjectionFamilyPrefix).size())] = handles[i];
  }
  return Status::Ok();
}

// Before this version, read models were column families of the events'
// instance, their checkpoints and aliases ('P', 'A') entries of its
// directory. The move is done again until its one commit point, the write
// that deletes those entries from the events' directory: until then the
// copy may be cut off and is started over; after it, what is left in the
// events' instance is only dropped.
Status Db::MoveProjections() {
  const std::string meta_begin[] = {keys::kProjectionAliasTag,
                                    keys::kProjectionCheckpointTag};
  bool past_commit_point = true;
  {
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), directory()));
    for (const auto& begin : meta_begin) {
      it->Seek(begin);
      if (it->Valid() && it->key().starts_with(begin)) {
        past_commit_point = false;
      }
    }
    if (!it->status().ok()) return FromRocksDb(it->status());
  }
  if (!past_commit_point) {
    // The copy, with no WAL of its own: a flush makes it durable at once.
    rocksdb::WriteOptions copy;
    copy.disableWAL = true;
    constexpr size_t kChunkBytes = size_t{4} << 20;
    for (rocksdb::ColumnFamilyHandle* from : legacy_) {
      const std::string name = from->GetName().substr(
          std::string_view(keys::kProjectionFamilyPrefix).size());
      // What an earlier, cut off copy left goes first.
      if (Status s = DropProjectionFamily(name); !s.ok()) return s;
      auto to = ProjectionFamily(name, /*create=*/true);
      if (!to.has_value()) return to.error();
      std::unique_ptr<rocksdb::Iterator> it(
          db_->NewIterator(rocksdb::ReadOptions(), from));
      rocksdb::WriteBatch batch;
      for (it->SeekToFirst(); it->Valid(); it->Next()) {
        batch.Put(*to, it->key(), it->value()).PermitUncheckedError();
        if (batch.GetDataSize() >= kChunkBytes) {
          auto s = projection_db_->Write(copy, &batch);
          if (!s.ok()) return FromRocksDb(s);
          batch.Clear();
        }
      }
      if (!it->status().ok()) return FromRocksDb(it->status());
      if (auto s = projection_db_->Write(copy, &batch); !s.ok()) {
        return FromRocksDb(s);
      }
    }
    rocksdb::WriteBatch meta;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->NewIterator(rocksdb::ReadOptions(), directory()));
    for (const auto& begin : meta_begin) {
      meta.DeleteRange(projection_meta_, begin, keys::PrefixEnd(begin))
          .PermitUncheckedError();
      for (it->Seek(begin); it->Valid() && it->key().starts_with(begin);
           it->Next()) {
        meta.Put(projection_meta_, it->key(), it->value())
            .PermitUncheckedError();
      }
    }
    if (!it->status().ok()) return FromRocksDb(it->status());
    if (auto s = projection_db_->Write(copy, &meta); !s.ok()) {
      return FromRocksDb(s);
    }
    auto s =
        projection_db_->Flush(rocksdb::FlushOptions(), projection_families());
    if (!s.ok()) return FromRocksDb(s);

    // The commit point.
    rocksdb::WriteBatch moved;
    for (const auto& begin : meta_begin) {
      moved.DeleteRange(directory(), begin, keys::PrefixEnd(begin))
          .PermitUncheckedError();
    }
    rocksdb::WriteOptions sync;
    sync.sync = !write_options_.disableWAL;
    sync.disableWAL = write_options_.disableWAL;
    if (s = db_->Write(sync, &moved); !s.ok()) return FromRocksDb(s);
    if (write_options_.disableWAL) {
      s = db_->Flush(rocksdb::FlushOptions(), families());
      if (!s.ok()) return FromRocksDb(s);
    }
  }
  for (rocksdb::ColumnFamilyHandle* h : legacy_) {
    auto s = db_->DropColumnFamily(h);
    if (!s.ok()) return FromRocksDb(s);
    db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  legacy_.clear();
  return Status::Ok();
}

// Under --durability fsync a read model never gets ahead of the log: the
// runner only reads what was synced. Under wal or memory, a crash may take
// from the events' instance what the read models' kept (the two are
// written and flushed apart): such a tenant's state of that projection
// goes, with its checkpoint, and is rebuilt from the log.
Status Db::DropReadModelsAheadOfLog() {
  std::unique_ptr<rocksdb::Iterator> it(
      projection_db_->NewIterator(rocksdb::ReadOptions(), projection_meta_));
  rocksdb::WriteBatch batch;
  const std::string_view tag = keys::kProjectionCheckpointTag;
  for (it->Seek(tag); it->Valid() && it->key().starts_with(tag); it->Next()) {
    const auto key =
        keys::DecodeProjectionCheckpointKey(it->key().ToStringView());
    const auto checkpoint =
        keys::DecodeProjectionCheckpoint(it->value().ToStringView());
    // What is not a checkpoint is left to cairnctl inspect to name.
    if (!key || !checkpoint) continue;
    std::string end;
    auto s = db_->Get(rocksdb::ReadOptions(), directory(),
                      keys::LogEndKey(TenantId(key->tenant)), &end);
    if (!s.ok() && !s.IsNotFound()) return FromRocksDb(s);
    const uint64_t log_end =
        s.ok() && end.size() == 8 ? keys::GetBigEndian64(end.data()) : 0;
    if (checkpoint->next_position <= log_end) continue;
    batch.Delete(projection_meta_, it->key()).PermitUncheckedError();
    auto family = ProjectionFamily(key->physical, /*create=*/false);
    if (!family.has_value()) return family.error();
    if (*family != nullptr) {
      std::string begin;
      keys::PutBigEndian32(&begin, key->tenant);
      batch.DeleteRange(*family, begin, keys::PrefixEnd(begin))
          .PermitUncheckedError();
    }
  }
  if (!it->status().ok()) return FromRocksDb(it->status());
  if (batch.Count() == 0) return Status::Ok();
  return FromRocksDb(projection_db_->Write(write_options_, &batch));
}

std::vector<rocksdb::ColumnFamilyHandle*> Db::families() const {
  return handles_;
}

std::vector<rocksdb::ColumnFamilyHandle*> Db::projection_families() const {
  std::vector<rocksdb::ColumnFamilyHandle*> all = {projection_meta_};
  std::lock_guard lock(mu_);
  for (const auto& [name, h] : projections_) all.push_back(h);
  return all;
}

Result<rocksdb::ColumnFamilyHandle*> Db::ProjectionFamily(std::string_view name,
                                                          bool create) {
  std::lock_guard lock(mu_);
  auto it = projections_.find(name);
  if (it != projections_.end()) return it->second;
  if (!create) return static_cast<rocksdb::ColumnFamilyHandle*>(nullptr);
  rocksdb::ColumnFamilyHandle* h = nullptr;
  auto s = projection_db_->CreateColumnFamily(
      projection_options_,
      std::string(keys::kProjectionFamilyPrefix) + std::string(name), &h);
  if (!s.ok()) return FromRocksDb(s);
  projections_.emplace(std::string(name), h);
  return h;
}

Status Db::DropProjectionFamily(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = projections_.find(name);
  if (it == projections_.end()) return Status::Ok();
  auto s = projection_db_->DropColumnFamily(it->second);
  if (!s.ok()) return FromRocksDb(s);
  projection_db_->DestroyColumnFamilyHandle(it->second).PermitUncheckedError();
  projections_.erase(it);
  return Status::Ok();
}

Status Db::RetireProjectionFamily(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = projections_.find(name);
  if (it == projections_.end()) return Status::Ok();
  auto s = projection_db_->DropColumnFamily(it->second);
  if (!s.ok()) return FromRocksDb(s);
  retired_.push_back(it->second);
  projections_.erase(it);
  return Status::Ok();
}

Db::~Db() {
  if (projection_db_) {
    for (auto* h : projection_families()) {
      projection_db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    for (auto* h : retired_) {
      projection_db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    // As below: what the read models lose here is rebuilt from the log.
    projection_db_->Close().PermitUncheckedError();
    projection_db_.reset();
  }
  retired_.clear();
  projections_.clear();
  if (db_) {
    for (auto* h : handles_) {
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    for (auto* h : legacy_) {
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    }
    // Close reports errors that the destructor would swallow anyway; the
    // data is safe in the WAL or was flushed by EventStore::Close.
    db_->Close().PermitUncheckedError();
  }
  handles_.clear();
  legacy_.clear();
  db_.reset();
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_dir_, ec);  // best effort: in tmp
  }
}

}  // namespace cairn::storage
