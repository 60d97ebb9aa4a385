#pragma once

#include <array>
#include <atomic>
#include <condition_variable>
#include <deque>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "protocol/status.h"
#include "storage/event_store.h"
#include "storage/internal/db.h"
#include "storage/internal/keys.h"
#include "storage/internal/log_scanner.h"
#include "storage/internal/tenant_directory.h"
#include "storage/live_log.h"

namespace cairn::storage {

// The single writer. It owns the in-memory stream heads and each tenant's
// next position, checks every write against them, and commits a group of
// queued writes in one WriteBatch with one WAL sync (leveldb's
// DBImpl::Write is the model). A write whose check fails takes no position;
// a failed batch fails the whole group and leaves the heads as they were.
//
// Thread-safe: Submit from any thread; everything else runs on the
// sequencer's own thread.
class Sequencer {
 public:
  using Request = std::variant<AppendRequest, DeleteRequest, MetadataRequest>;

  // Publishes every commit's events to `live` once they are readable;
  // reads the log for append conditions through `log`.
  Sequencer(Db* db, const Options& options, TenantDirectory* tenants,
            LiveLog* live, const LogScanner* log);
  ~Sequencer();

  // Loads tenants and id counters (one entry per tenant, never per event)
  // and starts the thread. REQUIRES: called once, before Submit.
  Status Start();

  // Queues a write; `done` runs on the sequencer's thread when it is
  // committed or failed (at once with Unavailable after Close).
  void Submit(Request request, WriteCallback done);

  // Commits what is queued and stops the thread. Idempotent.
  void Close();

  // Sets the group-commit figures of `stats`. Any thread.
  void GroupStats(StoreStats* stats) const;

 private:
  struct Op {
    Request request;
    WriteCallback done;
    WriteOutcome outcome;
    size_t bytes = 0;
  };
  struct StreamState {
    std::optional<StreamId> id;            // none: not stored yet
    std::optional<keys::StreamHead> head;  // none: no head stored
  };
  struct TenantState {
    std::string name;
    std::optional<TenantId> id;  // none: not stored yet
    uint64_t next_position = 0;
    StringMap<StreamState> streams;  // a cache of what is on disk
  };
  struct Group;

  void Run();
  void CommitGroup(std::vector<std::unique_ptr<Op>>& ops);
  // Counts a committed group of `requests` writes in the figures.
  void CountGroup(size_t requests);

  TenantState& ResolveTenant(const std::string& name);
  Result<StreamState*> ResolveStream(TenantState& tenant,
                                     const std::string& stream);

  void ApplyAppend(Group& g, AppendRequest& req, WriteOutcome& out);
  // Stages the event_ids entries of the ids the client chose among one
  // stream append's events, at revisions and positions from the given ones.
  void PutClientEventIds(Group& g, TenantId tenant, StreamId stream,
                         const std::vector<ProposedEvent>& events,
                         StreamRevision first_revision,
                         GlobalPosition first_position);
  void ApplyDelete(Group& g, const DeleteRequest& req, WriteOutcome& out);
  void ApplyMetadata(Group& g, const MetadataRequest& req, WriteOutcome& out);

  // Where the event at `position`, whose id the server made, was appended;
  // Corruption unless its id is `id`.
  Result<keys::EventIdEntry> EntryOfServerId(TenantState& tenant,
                                             const Uuid& id,
                                             GlobalPosition position);
  // Sets out.status to AlreadyExists or out.duplicate, as the event ids say.
  Status CheckRetry(Group& g, TenantState& tenant,
                    const std::vector<StreamState*>& streams,
                    const AppendRequest& req, WriteOutcome& out);
  // The first event after condition.after that matches, if any.
  Result<std::optional<GlobalPosition>> FindConditionConflict(
      Group& g, TenantState& tenant, const AppendCondition& condition);

  Db* const db_;
  const Options options_;
  TenantDirectory* const tenants_dir_;
  LiveLog* const live_;
  const LogScanner* const log_;

  // How many requests the committed groups held, by StoreStats bucket.
  // Written by the sequencer's thread, read by any.
  std::array<std::atomic<uint64_t>, StoreStats::kGroupSizeBounds.size() + 1>
      group_sizes_{};
  std::atomic<uint64_t> grouped_requests_{0};

  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::unique_ptr<Op>> queue_;  // guarded by mu_
  bool closing_ = false;                   // guarded by mu_
  std::thread thread_;

  // Owned by the sequencer's thread.
  StringMap<TenantState> tenants_;
  uint32_t next_tenant_id_ = 1;
  uint64_t next_stream_id_ = 1;
  size_t cached_streams_ = 0;
};

}  // namespace cairn::storage
