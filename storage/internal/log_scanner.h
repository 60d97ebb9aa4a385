#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>

#include "protocol/ids.h"
#include "protocol/result.h"
#include "storage/event_store.h"
#include "storage/internal/db.h"
#include "storage/log_index.h"

namespace cairn::storage {

// Reads a tenant's log in position order, for ScanLog and for the
// sequencer's append conditions. A filtered read takes the positions the
// log index holds for it, fetches those records, and scans the log only
// past what the index covers.
//
// Thread-safe.
class LogScanner {
 public:
  explicit LogScanner(Db* db) : db_(db) {}
  LogScanner(const LogScanner&) = delete;
  LogScanner& operator=(const LogScanner&) = delete;

  // REQUIRES: called at most once.
  void UseIndex(std::unique_ptr<LogIndex> index) {
    owned_index_ = std::move(index);
    index_.store(owned_index_.get(), std::memory_order_release);
  }

  // Visits the events in [options.from, end) that match options.filter,
  // at most options.limit of them. Returns the `from` of the next page, or
  // none when the read reached `end`. REQUIRES: every event below `end` is
  // committed.
  Result<std::optional<uint64_t>> Scan(TenantId id, std::string_view tenant,
                                       uint64_t end,
                                       const LogReadOptions& options,
                                       const EventVisitor& visit) const;

 private:
  // The indexed part: visits matches from `*from` up, counting them in
  // `*visited`, until the limit or the end of what the index covers, and
  // moves `*from` past what it looked at.
  Status ScanIndexed(LogIndex& index, TenantId id, std::string_view tenant,
                     uint64_t end, const LogReadOptions& options,
                     const EventVisitor& visit, uint64_t* from,
                     size_t* visited) const;

  Db* const db_;
  std::unique_ptr<LogIndex> owned_index_;
  // What readers load: set once, after which owned_index_ never changes.
  std::atomic<LogIndex*> index_{nullptr};
};

}  // namespace cairn::storage
