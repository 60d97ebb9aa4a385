#pragma once

// An index of each tenant's log by event type and by category, kept outside
// storage (the built-in projection `$event-index`, projections/indexes/)
// and complete up to some position. Storage reads through it for filtered
// log reads and append conditions, and scans the log only past the part it
// covers (docs/ARCHITECTURE.md, "Indexes").

#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "protocol/result.h"
#include "storage/event_store.h"

namespace cairn::storage {

struct IndexedPositions {
  // Ascending positions, each at least the `from` asked for and below
  // `indexed_until`, of events that may match: a superset of the matches
  // (storage checks each record against the whole filter).
  std::vector<uint64_t> positions;
  // The index holds every event below this position. When `positions`
  // holds fewer than the limit asked for, it lists every candidate in
  // [from, indexed_until).
  uint64_t indexed_until = 0;
};

// Thread-safe: called from readers and from the sequencer's thread.
class LogIndex {
 public:
  virtual ~LogIndex() = default;

  // Whether Find can narrow this filter (it names types or categories).
  virtual bool Covers(const EventFilter& filter) const = 0;

  // At most `limit` candidates at or after `from`.
  // REQUIRES: Covers(filter), limit > 0.
  virtual Result<IndexedPositions> Find(std::string_view tenant,
                                        const EventFilter& filter,
                                        uint64_t from, size_t limit) = 0;
};

}  // namespace cairn::storage
