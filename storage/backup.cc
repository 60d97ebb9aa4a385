#include "storage/backup.h"

#include <fcntl.h>
#include <rocksdb/utilities/backup_engine.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

#include "storage/internal/backup_engine.h"
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
    const std::string& backup_dir, rocksdb::DB* db) {
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
  std::unique_ptr<BackupRun> run(new BackupRun(db, fd));
  run->info_log_ = db->GetDBOptions().info_log;
  rocksdb::BackupEngineOptions options = BackupOptions(backup_dir);
  options.info_log = run->info_log_.get();
  rocksdb::BackupEngine* engine = nullptr;
  rocksdb::IOStatus s =
      rocksdb::BackupEngine::Open(options, db->GetEnv(), &engine);
  if (!s.ok()) return FromRocksDb(s);
  run->engine_.reset(engine);
  return run;
}

BackupRun::~BackupRun() {
  engine_.reset();  // before the lock goes
  ::close(lock_fd_);
}

Result<BackupInfo> BackupRun::Create(bool flush) {
  rocksdb::CreateBackupOptions options;
  options.flush_before_backup = flush;
  rocksdb::BackupID id = 0;
  rocksdb::IOStatus s = engine_->CreateNewBackup(options, db_, &id);
  if (!s.ok() && stopped_.load(std::memory_order_acquire)) {
    // The engine deleted the partial backup (CreateNewBackup cleans up
    // after itself on failure; what a crash leaves, the next one does).
    return Status::Unavailable(
        "the store is closing: the backup was stopped and not kept");
  }
  if (!s.ok()) return FromRocksDb(s);
  rocksdb::BackupInfo info;
  if (rocksdb::Status g = engine_->GetBackupInfo(id, &info); !g.ok()) {
    return FromRocksDb(g);
  }
  return ToInfo(info);
}

void BackupRun::Stop() {
  stopped_.store(true, std::memory_order_release);
  engine_->StopBackup();
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
  out.reserve(infos.size());
  for (const rocksdb::BackupInfo& info : infos) out.push_back(ToInfo(info));
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
  rocksdb::IOStatus verified = (*reader)->VerifyBackup(info.backup_id, true);
  if (!verified.ok()) {
    return verified.IsIOError() && !verified.IsPathNotFound()
               ? FromRocksDb(verified)
               : Status::Corruption(which +
                                    " is damaged: " + verified.ToString());
  }

  if (!exists) {
    fs::create_directories(data_dir, ec);
    if (ec) {
      return Status::IOError("cannot create " + data_dir + ": " + ec.message());
    }
  }
  rocksdb::IOStatus restored = (*reader)->RestoreDBFromBackup(
      rocksdb::RestoreOptions(), info.backup_id, data_dir, data_dir);
  if (!restored.ok()) {
    Undo(data_dir, !exists);
    return FromRocksDb(restored);
  }
  return Status::Ok();
}

}  // namespace cairn::storage
