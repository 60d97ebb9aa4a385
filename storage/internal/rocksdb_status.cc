#include "storage/internal/rocksdb_status.h"

namespace cairn::storage {

Status FromRocksDb(const rocksdb::Status& s) {
  if (s.ok()) return Status::Ok();
  std::string msg = s.ToString();
  if (s.IsNotFound()) return Status::NotFound(std::move(msg));
  if (s.IsCorruption()) return Status::Corruption(std::move(msg));
  if (s.IsIOError()) return Status::IOError(std::move(msg));
  if (s.IsInvalidArgument()) return Status::InvalidArgument(std::move(msg));
  if (s.IsBusy() || s.IsTimedOut() || s.IsTryAgain()) {
    return Status::Busy(std::move(msg));
  }
  return Status::Internal(std::move(msg));
}

}  // namespace cairn::storage
