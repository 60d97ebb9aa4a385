#pragma once

// The projection interface: what a projection (built in, or loaded from a
// plugin) implements. A runner feeds it one tenant's events in position
// order and commits the state it writes together with its checkpoint, in
// one write batch (docs/ARCHITECTURE.md, "Projections").

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/ids.h"
#include "protocol/result.h"

namespace cairn::projections {

// One event as a projection sees it. The views are valid during Apply.
struct Event {
  GlobalPosition position;  // in the tenant's log
  std::string_view stream;
  std::string_view type;
  std::string_view data;      // compact JSON text
  std::string_view metadata;  // compact JSON text
  int64_t time_us = 0;        // commit time
};

// A projection's keys and values for one tenant (the runner scopes them).
// Writes are staged in the batch being committed and read back by later
// Gets of the same batch.
class State {
 public:
  virtual ~State() = default;
  virtual std::optional<std::string> Get(std::string_view key) = 0;
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;
  // Keys starting with `prefix` and below `before` (all when empty), from
  // the greatest down, until `visit` returns false.
  virtual void ScanBackward(
      std::string_view prefix, std::string_view before,
      const std::function<bool(std::string_view key, std::string_view value)>&
          visit) = 0;
};

enum class Applied {
  kApplied,
  kIgnored,  // not an event this projection uses
  kSkipped,  // missing or ill-typed fields: counted, never fatal
};

class Projection {
 public:
  virtual ~Projection() = default;
  virtual std::string_view name() const = 0;
  // A new version is rebuilt from position 0.
  virtual uint32_t version() const = 0;
  // The event types it uses (the runner offers no others); empty: all.
  virtual std::vector<std::string> types() const = 0;
  // Applies one event. Deterministic: the same events in the same order
  // give the same state, byte for byte. An error (or an exception) faults
  // the projection at this event.
  virtual Result<Applied> Apply(const Event& event, State& state) = 0;

  // The runner applies events in batches, each committed with its
  // checkpoint. Between BeginBatch and EndBatch a projection may keep
  // state in memory and write it at EndBatch (before the commit); after
  // AbortBatch (a fault) it forgets it. Apply without a batch writes at
  // once.
  virtual void BeginBatch() {}
  virtual Status EndBatch(State&) { return Status::Ok(); }
  virtual void AbortBatch() {}
};

}  // namespace cairn::projections
