#pragma once

#include <cstdint>
#include <map>
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
// State: posting blocks, one key per name and block of 4,096 positions:
//   't' type '\0' u64 block       -> the events of that type in the block
//   'c' category '\0' u64 block   -> the events of that category in it
// where block = position / 4,096 and the value is the ascending u16
// offsets (position % 4,096) of its events. Types are printable ASCII and
// stream ids hold no control characters, so the '\0' ends the name, and a
// prefix scan reads one name's blocks in position order. A batch of the
// runner rewrites each block it touches once: a handful of keys per batch
// rather than two per event.
class EventIndex final : public Projection {
 public:
  static constexpr std::string_view kName = "$event-index";

  std::string_view name() const override { return kName; }
  uint32_t version() const override { return 1; }
  std::vector<std::string> types() const override { return {}; }
  Result<Applied> Apply(const Event& event, State& state) override;

  void BeginBatch() override { batching_ = true; }
  Status EndBatch(State& state) override;
  void AbortBatch() override;

 private:
  // Adds `position` to the block `key` holds it in.
  void Add(State& state, std::string key, uint64_t position);

  bool batching_ = false;
  // The blocks this batch changed, written at EndBatch.
  std::map<std::string, std::string, std::less<>> blocks_;
};

// Reads what `$event-index` has committed, for storage
// (EventStore::UseLogIndex). `store` must outlive it.
std::unique_ptr<storage::LogIndex> NewEventIndexReader(
    storage::ProjectionStore* store);

}  // namespace cairn::projections::indexes
