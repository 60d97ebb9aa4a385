#pragma once

// Online backups of a whole store, and their offline restore. A backup is
// taken by EventStore::CreateBackup (storage/event_store.h) while the store
// serves; these functions need no open store: they read the backup
// directory only (cairnctl backup list|restore, and cairnd's listing).
//
// A backup directory is RocksDB's BackupEngine layout (meta/, private/,
// shared_checksum/) and Cairn's lock file (storage/FORMAT.md, "Backups").
// Backups share the files they have in common: each one after the first
// copies only what changed since.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "protocol/result.h"
#include "protocol/status.h"

namespace cairn::storage {

struct BackupInfo {
  uint32_t id = 0;
  // When it was taken, µs since the Unix epoch (BackupEngine keeps whole
  // seconds).
  int64_t created_us = 0;
  // Bytes of the files the backup consists of, shared files included: what
  // a restore copies.
  uint64_t size_bytes = 0;
  bool operator==(const BackupInfo&) const = default;
};

// The backups in `backup_dir`, oldest first; empty when the directory does
// not exist or holds no backup yet. A backup whose files are damaged is
// left out. Safe while another process takes a backup into the same
// directory: it sees the backups complete when it looked.
Result<std::vector<BackupInfo>> ListBackups(const std::string& backup_dir);

// Restores backup `id` (the newest when absent) from `backup_dir` into
// `data_dir`, which must not exist or be an empty directory: anything else
// is refused (InvalidArgument naming the directory), so a live data
// directory is never overwritten. Verifies the backup's checksums first
// (Corruption). NotFound when there is no such backup. On failure,
// `data_dir` is left empty (or absent, as it was). Offline: nothing may
// open `data_dir` until this returns.
Status RestoreBackup(const std::string& backup_dir, std::optional<uint32_t> id,
                     const std::string& data_dir);

}  // namespace cairn::storage
