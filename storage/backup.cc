#include "storage/backup.h"

#include <fcntl.h>
#include <rocksdb/utilities/backup_engine.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

#include "storage/internal/backup_engine.h"
#include "storage/internal/db.h"
#include "storage/internal/rocksdb_status.h"

namespace cairn::storage {
namespace fs = std::filesystem;

namespace {

// In the backup directory, beside RocksDB's meta/, private/ and
// shared_checksum/ (which are all that the engine lists or collects).
constexpr const char* kLockFile = "cairn.lock";

BackupInfo ToInfo(const rocksdb::BackupInfo& info) {
  BackupInfo out;
  out.id = info.backup_id;
  out.created_us = info.timestamp * 1'000'000;
  out.size_bytes = info.size;
  return out;
}

// An events' backup names the read models' backup taken with it in its
// app metadata ("read-models ID"); backups from before the read models had
// an instance of their own name none (their read models are rebuilt).
constexpr std::string_view kReadModelsTag = "read-models ";

std::string ReadModelsMetadata(rocksdb::BackupID id) {
  return std::string(kReadModelsTag) + std::to_string(id);
}

std::optional<rocksdb::BackupID> ReadModelsOf(const rocksdb::BackupInfo& info) {
  const std::string_view meta = info.app_metadata;
  if (!meta.starts_with(kReadModelsTag)) return std::nullopt;
  rocksdb::BackupID id = 0;
  const std::string_view digits = meta.substr(kReadModelsTag.size());
  const auto [end, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), id);
  if (ec != std::errc() || end != digits.data() + digits.size()) {
    return std::nullopt;
  }
  return id;
}

// A directory with no meta/ has never held a backup (the engine creates
// meta/ on its first open for writing).
Result<bool> HoldsBackups(const std::string& backup_dir) {
  std::error_code ec;
  const fs::file_status st = fs::status(backup_dir, ec);
  if (st.type() == fs::file_type::not_found) return false;
  if (ec) {
    return Status::IOError("cannot read the backup directory " + backup_dir +
                           ": " + ec.message());
  }
  if (!fs::is_directory(st)) {
    return Status::IOError("the backup directory " + backup_dir +
                           " is not a directory");
  }
  const bool meta = fs::exists(fs::path(backup_dir) / "meta", ec);
  if (ec) {
    return Status::IOError("cannot read the backup directory " + backup_dir +
                           ": " + ec.message());
  }
  return meta;
}

Result<std::unique_ptr<rocksdb::BackupEngineReadOnly>> OpenReader(
    const std::string& backup_dir) {
  rocksdb::BackupEngineReadOnly* raw = nullptr;
  rocksdb::IOStatus s = rocksdb::BackupEngineReadOnly::Open(
      BackupOptions(backup_dir), rocksdb::Env::Default(), &raw);
  if (!s.ok()) return FromRocksDb(s);
  return std::unique_ptr<rocksdb::BackupEngineReadOnly>(raw);
}

// Empties `dir` (a directory this restore found empty), or removes it when
// the restore created it: a failed restore leaves things as they were.
void Undo(const std::string& dir, bool created) {
  std::error_code ec;
  if (created) {
    fs::remove_all(dir, ec);
    return;
  }
  for (const fs::directory_entry& e : fs::directory_iterator(dir, ec)) {
    std::error_code ignored;
    fs::remove_all(e.path(), ignored);
  }
}

}  // namespace

std::string ReadModelBackupDir(const std::string& backup_dir) {
  return (fs::path(backup_dir) / Db::kProjectionsDir).string();
}

rocksdb::BackupEngineOptions BackupOptions(const std::string& backup_dir) {
  rocksdb::BackupEngineOptions options(backup_dir);
  options.share_table_files = true;
  options.share_files_with_checksum = true;
  options.sync = true;
  options.backup_log_files = true;  // the WAL is what holds the memtables
  options.max_background_operations = 1;
  return options;
}

Result<std::unique_ptr<BackupRun>> BackupRun::Open(
    const std::string& backup_dir, rocksdb::DB* events,
    rocksdb::DB* read_models) {
  std::error_code ec;
  fs::create_directories(backup_dir, ec);
  if (ec) {
    return Status::IOError("cannot create the backup directory " + backup_dir +
                           ": " + ec.message());
  }
  const std::string lock_path = (fs::path(backup_dir) / kLockFile).string();
  const int fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    return Status::IOError("cannot write to the backup directory " +
                           backup_dir + ": " + std::strerror(errno));
  }
  // Not blocking: a writer that holds it is copying a whole store, and the
  // caller had better hear so than wait without bound.
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return Status::Busy("another backup is being written to " + backup_dir);
    }
    return Status::IOError("cannot lock " + lock_path + ": " +
                           std::strerror(err));
  }
  std::unique_ptr<BackupRun> run(new BackupRun(fd));
  auto opened = OpenEngine(backup_dir, events);
  if (!opened.has_value()) return opened.error();
  run->events_ = std::move(*opened);
  opened = OpenEngine(ReadModelBackupDir(backup_dir), read_models);
  if (!opened.has_value()) return opened.error();
  run->read_models_ = std::move(*opened);
  return run;
}

Result<BackupRun::Engine> BackupRun::OpenEngine(const std::string& dir,
                                                rocksdb::DB* db) {
  Engine e;
  e.db = db;
  e.info_log = db->GetDBOptions().info_log;
  rocksdb::BackupEngineOptions options = BackupOptions(dir);
  options.info_log = e.info_log.get();
  rocksdb::BackupEngine* engine = nullptr;
  rocksdb::IOStatus s =
      rocksdb::BackupEngine::Open(options, db->GetEnv(), &engine);
  if (!s.ok()) return FromRocksDb(s);
  e.engine.reset(engine);
  return e;
}

BackupRun::~BackupRun() {
  events_.engine.reset();  // before the lock goes
  read_models_.engine.reset();
  ::close(lock_fd_);
}

Result<BackupInfo> BackupRun::Create(bool flush) {
  rocksdb::CreateBackupOptions options;
  options.flush_before_backup = flush;
  const auto failed = [this](const rocksdb::IOStatus& s) -> Status {
    if (stopped_.load(std::memory_order_acquire)) {
      // The engine deleted the partial backup (CreateNewBackup cleans up
      // after itself on failure; what a crash leaves, the next one does).
      return Status::Unavailable(
          "the store is closing: the backup was stopped and not kept");
    }
    return FromRocksDb(s);
  };
  // The read models first: they were made from events committed before,
  // so the events' backup, taken after, holds every event they cover, and
  // a restored read model is never ahead of its log.
  rocksdb::BackupID models = 0;
  rocksdb::IOStatus s =
      read_models_.engine->CreateNewBackup(options, read_models_.db, &models);
  if (!s.ok()) return failed(s);
  rocksdb::BackupID id = 0;
  s = events_.engine->CreateNewBackupWithMetadata(
      options, events_.db, ReadModelsMetadata(models), &id);
  if (!s.ok()) {
    read_models_.engine->DeleteBackup(models).PermitUncheckedError();
    return failed(s);
  }
  rocksdb::BackupInfo info, models_info;
  if (rocksdb::Status g = events_.engine->GetBackupInfo(id, &info); !g.ok()) {
    return FromRocksDb(g);
  }
  if (rocksdb::Status g =
          read_models_.engine->GetBackupInfo(models, &models_info);
      !g.ok()) {
    return FromRocksDb(g);
  }
  BackupInfo out = ToInfo(info);
  out.size_bytes += models_info.size;
  return out;
}

void BackupRun::Stop() {
  stopped_.store(true, std::memory_order_release);
  events_.engine->StopBackup();
  read_models_.engine->StopBackup();
}

Result<std::vector<BackupInfo>> ListBackups(const std::string& backup_dir) {
  auto holds = HoldsBackups(backup_dir);
  if (!holds.has_value()) return holds.error();
  std::vector<BackupInfo> out;
  if (!*holds) return out;
  auto reader = OpenReader(backup_dir);
  if (!reader.has_value()) return reader.error();
  std::vector<rocksdb::BackupInfo> infos;
  (*reader)->GetBackupInfo(&infos);  // oldest first; damaged ones left out
  // The read models' sizes, when any backup has them.
  std::map<rocksdb::BackupID, uint64_t> model_sizes;
  auto models = HoldsBackups(ReadModelBackupDir(backup_dir));
  if (!models.has_value()) return models.error();
  if (*models) {
    auto models_reader = OpenReader(ReadModelBackupDir(backup_dir));
    if (!models_reader.has_value()) return models_reader.error();
    std::vector<rocksdb::BackupInfo> model_infos;
    (*models_reader)->GetBackupInfo(&model_infos);
    for (const auto& m : model_infos) model_sizes[m.backup_id] = m.size;
  }
  out.reserve(infos.size());
  for (const rocksdb::BackupInfo& info : infos) {
    BackupInfo b = ToInfo(info);
    if (auto m = ReadModelsOf(info); m && model_sizes.count(*m) > 0) {
      b.size_bytes += model_sizes[*m];
    }
    out.push_back(b);
  }
  return out;
}

Status RestoreBackup(const std::string& backup_dir, std::optional<uint32_t> id,
                     const std::string& data_dir) {
  if (data_dir.empty()) return Status::InvalidArgument("no data directory");
  // The target first: RestoreDBFromBackup deletes whatever files it finds
  // in the directory, so anything but an empty one is refused here.
  std::error_code ec;
  const fs::file_status st = fs::status(data_dir, ec);
  const bool exists = st.type() != fs::file_type::not_found;
  if (ec && exists) {
    return Status::IOError("cannot read " + data_dir + ": " + ec.message());
  }
  if (exists) {
    if (!fs::is_directory(st)) {
      return Status::InvalidArgument(
          data_dir + " is not a directory: restore into a new or empty one");
    }
    const bool empty = fs::is_empty(data_dir, ec);
    if (ec) {
      return Status::IOError("cannot read " + data_dir + ": " + ec.message());
    }
    if (!empty) {
      const bool store = fs::exists(fs::path(data_dir) / "CURRENT", ec);
      return Status::InvalidArgument(
          data_dir + (store ? " holds a store" : " is not empty") +
          ": a restore goes into a new or empty directory, never over "
          "another");
    }
  }

  auto holds = HoldsBackups(backup_dir);
  if (!holds.has_value()) return holds.error();
  if (!*holds) return Status::NotFound("no backups in " + backup_dir);
  auto reader = OpenReader(backup_dir);
  if (!reader.has_value()) return reader.error();
  rocksdb::BackupInfo info;
  rocksdb::Status found = id ? (*reader)->GetBackupInfo(*id, &info)
                             : (*reader)->GetLatestBackupInfo(&info);
  if (found.IsNotFound()) {
    return Status::NotFound(
        (id ? "no backup " + std::to_string(*id) : std::string("no backups")) +
        " in " + backup_dir);
  }
  if (!found.ok()) return FromRocksDb(found);
  const std::string which =
      "backup " + std::to_string(info.backup_id) + " in " + backup_dir;

  // Every file's size and crc32c against what the backup recorded, before
  // a byte is written (the restore checks them again as it copies).
  const auto verify = [&which](rocksdb::BackupEngineReadOnly& engine,
                               rocksdb::BackupID backup) -> Status {
    rocksdb::IOStatus verified = engine.VerifyBackup(backup, true);
    if (verified.ok()) return Status::Ok();
    return verified.IsIOError() && !verified.IsPathNotFound()
               ? FromRocksDb(verified)
               : Status::Corruption(which +
                                    " is damaged: " + verified.ToString());
  };
  if (Status v = verify(**reader, info.backup_id); !v.ok()) return v;
  // Its read models, if it has them (a backup without them, or whose read
  // models are gone, restores events only: read models rebuild from 0).
  const std::optional<rocksdb::BackupID> models = ReadModelsOf(info);
  std::unique_ptr<rocksdb::BackupEngineReadOnly> models_reader;
  if (models) {
    auto opened = OpenReader(ReadModelBackupDir(backup_dir));
    if (!opened.has_value()) return opened.error();
    models_reader = std::move(*opened);
    rocksdb::BackupInfo models_info;
    if (!models_reader->GetBackupInfo(*models, &models_info).ok()) {
      return Status::Corruption(which +
                                " is damaged: its read models' backup " +
                                std::to_string(*models) + " is missing");
    }
    if (Status v = verify(*models_reader, *models); !v.ok()) return v;
  }

  if (!exists) {
    fs::create_directories(data_dir, ec);
    if (ec) {
      return Status::IOError("cannot create " + data_dir + ": " + ec.message());
    }
  }
  rocksdb::IOStatus restored = (*reader)->RestoreDBFromBackup(
      rocksdb::RestoreOptions(), info.backup_id, data_dir, data_dir);
  if (restored.ok() && models_reader) {
    const std::string models_dir =
        (fs::path(data_dir) / Db::kProjectionsDir).string();
    restored = models_reader->RestoreDBFromBackup(
        rocksdb::RestoreOptions(), *models, models_dir, models_dir);
  }
  if (!restored.ok()) {
    Undo(data_dir, !exists);
    return FromRocksDb(restored);
  }
  return Status::Ok();
}

}  // namespace cairn::storage
