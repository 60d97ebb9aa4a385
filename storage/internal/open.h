#pragma once

#include <memory>
#include <string>

#include "protocol/result.h"
#include "storage/event_store.h"

namespace rocksdb {
class Env;
}

namespace cairn::storage {

// EventStore::Open on a given RocksDB Env, so that tests can inject faults
// (power loss) beneath the store. A null env is the default one.
Result<std::unique_ptr<EventStore>> OpenWithEnv(const Options& options,
                                                const std::string& dir,
                                                rocksdb::Env* env);

}  // namespace cairn::storage
