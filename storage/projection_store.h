#pragma once

// Where projections keep their read models: one RocksDB column family per
// projection ("projection.NAME"), keys scoped by tenant, and a checkpoint
// per (projection, tenant) committed in the same write batch as the state
// it covers, so a crash can neither lose nor double-apply an event
// (storage/FORMAT.md, "Projections").

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/result.h"
#include "protocol/status.h"

namespace cairn::storage {

struct ProjectionCheckpoint {
  uint64_t next_position = 0;  // the position of the next event to apply
  uint32_t version = 0;        // the projection's version that wrote it
  bool operator==(const ProjectionCheckpoint&) const = default;
};

using KeyValueVisitor =
    std::function<bool(std::string_view key, std::string_view value)>;

// The changes of one commit, for one projection and tenant. Reads see the
// stored state with this write's changes over it.
class ProjectionWrite {
 public:
  virtual ~ProjectionWrite() = default;
  virtual Result<std::optional<std::string>> Get(std::string_view key) = 0;
  virtual void Put(std::string_view key, std::string_view value) = 0;
  virtual void Delete(std::string_view key) = 0;
  // Keys starting with `prefix` and below `before` (all when empty), from
  // the greatest down, until `visit` returns false.
  virtual Status ScanBackward(std::string_view prefix, std::string_view before,
                              const KeyValueVisitor& visit) = 0;
};

// Thread-safe. A projection's state may be rebuilt beside the one that
// serves (its shadow), then swapped in at once.
class ProjectionStore {
 public:
  enum class Target {
    kLive,    // what readers see
    kShadow,  // a rebuild in progress (StartRebuild)
  };

  virtual ~ProjectionStore() = default;

  // Makes sure the projection's family exists.
  virtual Status Open(std::string_view projection) = 0;
  // Removes the projection's family, state and checkpoints (a rebuild from
  // position 0 follows).
  virtual Status Drop(std::string_view projection) = 0;

  // {0, 0} when the projection has not committed for the tenant.
  virtual Result<ProjectionCheckpoint> Checkpoint(
      std::string_view projection, std::string_view tenant,
      Target target = Target::kLive) = 0;

  // A write for a tenant that has events (NotFound otherwise).
  virtual Result<std::unique_ptr<ProjectionWrite>> Begin(
      std::string_view projection, std::string_view tenant,
      Target target = Target::kLive) = 0;

  // Starts an empty shadow of the projection (dropping an unfinished one).
  virtual Status StartRebuild(std::string_view projection) = 0;
  // Makes the shadow the projection, state and checkpoints at once (one
  // write); the old state is dropped (readers holding it finish).
  virtual Status FinishRebuild(std::string_view projection) = 0;
  // A rebuild of one tenant: replaces the tenant's live state and
  // checkpoint with the shadow's in one write (readers see the old or the
  // new, never a mix), then drops the shadow. Other tenants' state is left
  // as it is. The write holds the tenant's whole state: fine for read
  // models of documents per user, not for a tenant with gigabytes of them.
  virtual Status FinishRebuild(std::string_view projection,
                               std::string_view tenant) = 0;
  // Commits the write's changes and the new checkpoint in one batch.
  virtual Status Commit(ProjectionWrite& write,
                        const ProjectionCheckpoint& checkpoint) = 0;

  // Committed state.
  virtual Result<std::optional<std::string>> Get(std::string_view projection,
                                                 std::string_view tenant,
                                                 std::string_view key) = 0;
  virtual Status ScanBackward(std::string_view projection,
                              std::string_view tenant, std::string_view prefix,
                              std::string_view before,
                              const KeyValueVisitor& visit) = 0;
  // Keys starting with `prefix`, from `from` (the first of them when
  // empty) up, until `visit` returns false.
  virtual Status ScanForward(std::string_view projection,
                             std::string_view tenant, std::string_view prefix,
                             std::string_view from,
                             const KeyValueVisitor& visit) = 0;
};

}  // namespace cairn::storage
