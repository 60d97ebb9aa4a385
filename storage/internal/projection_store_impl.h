#pragma once

#include <memory>

#include "storage/internal/db.h"
#include "storage/internal/tenant_directory.h"
#include "storage/projection_store.h"

namespace cairn::storage {

// ProjectionStore on the store's RocksDB instance.
std::unique_ptr<ProjectionStore> NewProjectionStore(Db* db,
                                                    TenantDirectory* tenants);

}  // namespace cairn::storage
