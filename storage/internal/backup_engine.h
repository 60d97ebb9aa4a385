#pragma once

#include <rocksdb/db.h>
#include <rocksdb/env.h>
#include <rocksdb/utilities/backup_engine.h>

#include <atomic>
#include <memory>
#include <string>
#include <utility>

#include "protocol/result.h"
#include "storage/backup.h"

namespace cairn::storage {

// One backup being taken (EventStore::CreateBackup): the backup directory
// locked against every other writer, and two BackupEngines open, one on it
// for the events' instance and one on its projections/ for the read
// models' (storage/FORMAT.md, "Backups").
//
// The engine is opened per backup, not kept: opening reads the meta files
// afresh, so the new backup's id follows whatever was written to the
// directory since (by cairnctl on a stopped server, say), and a directory
// removed or replaced between backups is simply created again. Opening
// costs a directory listing and one small file per backup, nothing next to
// the copy.
//
// Two writable BackupEngines on one directory may trash it (RocksDB,
// backup_engine.h: Append beside Append is "unspec"; an append also
// garbage-collects files it does not know, such as another writer's
// half-copied ones). The lock (flock on `cairn.lock` in the directory) is
// what makes "one writer" hold across stores and processes; readers
// (ListBackups, RestoreBackup) open BackupEngineReadOnly and need no lock:
// they see the backups completed when they opened, and a completed
// backup's files are never removed by an append.
//
// Thread-safe: Stop may be called from any thread while Create runs.
class BackupRun {
 public:
  // Creates `backup_dir` if absent, locks it (Busy when another writer
  // holds it) and opens the engines for a backup of `events` and
  // `read_models`, which must outlive this object. Each engine reads its
  // instance's files through its Env and writes its messages to its LOG.
  static Result<std::unique_ptr<BackupRun>> Open(const std::string& backup_dir,
                                                 rocksdb::DB* events,
                                                 rocksdb::DB* read_models);
  ~BackupRun();  // unlocks
  BackupRun(const BackupRun&) = delete;
  BackupRun& operator=(const BackupRun&) = delete;

  // Takes the backup; `flush` flushes the memtables first (see
  // EventStoreImpl::CreateBackup for when). Unavailable when Stop ended
  // it; the engine removes what it had copied.
  Result<BackupInfo> Create(bool flush);

  // Makes Create return as soon as it can (between two chunks of a copy).
  void Stop();

 private:
  // A BackupEngine on `dir` for `db`, logging to `db`'s info log.
  struct Engine {
    rocksdb::DB* db = nullptr;
    std::shared_ptr<rocksdb::Logger> info_log;  // outlives the engine
    std::unique_ptr<rocksdb::BackupEngine> engine;
  };
  static Result<Engine> OpenEngine(const std::string& dir, rocksdb::DB* db);

  explicit BackupRun(int lock_fd) : lock_fd_(lock_fd) {}

  const int lock_fd_;
  Engine events_;
  Engine read_models_;
  std::atomic<bool> stopped_{false};
};

// The same options for every engine on a directory, writers and readers
// (BackupEngine requires it): table files shared, named by checksum and
// session id (the default, safe when backups of diverging histories meet
// in one directory), every file synced, one copying thread so that a
// backup takes little from the write path.
rocksdb::BackupEngineOptions BackupOptions(const std::string& backup_dir);

// Where the read models' backups go, inside a backup directory.
std::string ReadModelBackupDir(const std::string& backup_dir);

}  // namespace cairn::storage
