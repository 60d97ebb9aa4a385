#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "projections/projection.h"
#include "storage/log_index.h"
#include "storage/projection_store.h"

namespace cairn::projections::indexes {

// `$event-index`: the positions of each tenant's events by type and by
// category, behind the `types` and `category` filters of log reads and
// subscriptions and behind append conditions (storage/log_index.h).
//
// State keys, each with an empty value:
//   't' type '\0' u64 position       one per event
//   'c' category '\0' u64 position   one per event
// Types are printable ASCII and stream ids hold no control characters, so
// the '\0' ends the name and a prefix scan finds one name's positions in
// position order.
class EventIndex final : public Projection {
 public:
  static constexpr std::string_view kName = "$event-index";

  std::string_view name() const override { return kName; }
  uint32_t version() const override { return 1; }
  std::vector<std::string> types() const override { return {}; }
  Result<Applied> Apply(const Event& event, State& state) override;
};

// Reads what `$event-index` has committed, for storage
// (EventStore::UseLogIndex). `store` must outlive it.
std::unique_ptr<storage::LogIndex> NewEventIndexReader(
    storage::ProjectionStore* store);

}  // namespace cairn::projections::indexes
