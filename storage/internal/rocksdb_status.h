#pragma once

#include <rocksdb/status.h>

#include "protocol/status.h"

namespace cairn::storage {

// The one place a rocksdb::Status becomes a cairn::Status.
Status FromRocksDb(const rocksdb::Status& s);

}  // namespace cairn::storage
