#pragma once

// Reading a read model as clients see it (HTTP and WebSocket): the
// projection's committed document for a key, with the position it
// includes.

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/result.h"
#include "storage/event_store.h"

namespace cairn::projections {

struct ReadModelOptions {
  // progress-feed paging: the cursor to read before, and the page size.
  std::optional<std::string> before;
  size_t limit = 20;
};

struct ReadModelDocument {
  // The last position the projection has applied for the tenant, read
  // before the document (which includes at least every event up to it).
  std::optional<uint64_t> position;
  std::optional<std::string> document;  // none: no document for the key
};

// Blocking (storage reads): run it off I/O threads.
Result<ReadModelDocument> ReadDocument(storage::EventStore& store,
                                       std::string_view projection,
                                       std::string_view tenant,
                                       std::string_view key,
                                       const ReadModelOptions& options = {});

}  // namespace cairn::projections
