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

#include "storage/internal/keys.h"
#include "storage/internal/rocksdb_status.h"

namespace cairn::storage {
namespace {

rocksdb::ColumnFamilyOptions FamilyOptions(
    const std::shared_ptr<rocksdb::Cache>& cache, int bloom_bits,
    size_t prefix_bytes) {
  rocksdb::ColumnFamilyOptions cf;
  rocksdb::BlockBasedTableOptions table;
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

}  // namespace

Result<std::unique_ptr<Db>> Db::Open(const Options& options,
                                     const std::string& dir,
                                     rocksdb::Env* env) {
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
      {keys::kEventsFamily, FamilyOptions(cache, 0, 0)},
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

  // Projection families that exist already ("projection." + name).
  std::unique_ptr<Db> db(new Db());
  db->projection_options_ = FamilyOptions(cache, 10, 0);
  std::vector<std::string> existing;
  const rocksdb::Status listed =
      rocksdb::DB::ListColumnFamilies(db_options, dir, &existing);
  if (options.read_only) {
    if (Status s = FindStore(dir, listed, existing); !s.ok()) return s;
  }
  // Otherwise a failed listing is a new directory: none exist yet.
  for (const auto& name : existing) {
    if (name.rfind(keys::kProjectionFamilyPrefix, 0) == 0) {
      families.emplace_back(name, db->projection_options_);
    }
  }

  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  rocksdb::Status s;
  if (options.read_only) {
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
    for (int attempt = 1;; ++attempt) {
      s = rocksdb::DB::OpenAsSecondary(db_options, dir, db->secondary_dir_,
                                       families, &handles, &raw);
      // The open replays the primary's WAL as it is then: every read of
      // this instance sees that committed state, nothing later. No
      // TryCatchUpWithPrimary: RocksDB 7.8's crashes (in
      // VersionStorageInfo::LevelSummary) on a directory whose MANIFEST
      // records dropped column families, as a projection rebuild leaves
      // (found by tests/fault/crash_loop_test.cc).
      if (s.ok()) break;
      // A file the primary replaced while this instance opened it (a new
      // MANIFEST, a compaction's inputs, an obsolete WAL) is missing for a
      // moment: open again.
      const bool transient =
          s.IsTryAgain() || s.IsPathNotFound() || s.IsNotFound();
      if (!transient || attempt == 3) break;
    }
  } else {
    s = rocksdb::DB::Open(db_options, dir, families, &handles, &raw);
  }
  if (!s.ok()) return FromRocksDb(s);
  db->db_.reset(raw);
  constexpr size_t kFixed = 6;
  db->handles_.assign(handles.begin(), handles.begin() + kFixed);
  for (size_t i = kFixed; i < handles.size(); ++i) {
    db->projections_[handles[i]->GetName().substr(
        std::string_view(keys::kProjectionFamilyPrefix).size())] = handles[i];
  }

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
  return db;
}

std::vector<rocksdb::ColumnFamilyHandle*> Db::families() const {
  std::vector<rocksdb::ColumnFamilyHandle*> all = handles_;
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
  auto s = db_->CreateColumnFamily(
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
  auto s = db_->DropColumnFamily(it->second);
  if (!s.ok()) return FromRocksDb(s);
  db_->DestroyColumnFamilyHandle(it->second).PermitUncheckedError();
  projections_.erase(it);
  return Status::Ok();
}

Status Db::RetireProjectionFamily(std::string_view name) {
  std::lock_guard lock(mu_);
  auto it = projections_.find(name);
  if (it == projections_.end()) return Status::Ok();
  auto s = db_->DropColumnFamily(it->second);
  if (!s.ok()) return FromRocksDb(s);
  retired_.push_back(it->second);
  projections_.erase(it);
  return Status::Ok();
}

Db::~Db() {
  for (auto* h : families()) {
    db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  for (auto* h : retired_) {
    db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
  }
  retired_.clear();
  handles_.clear();
  projections_.clear();
  if (db_) {
    // Close reports errors that the destructor would swallow anyway; the
    // data is safe in the WAL or was flushed by EventStore::Close.
    db_->Close().PermitUncheckedError();
  }
  db_.reset();
  if (!secondary_dir_.empty()) {
    std::error_code ec;
    std::filesystem::remove_all(secondary_dir_, ec);  // best effort: in tmp
  }
}

}  // namespace cairn::storage
