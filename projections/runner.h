#pragma once

// Keeps projections up to date: one thread that, after commits, feeds each
// projection the tenant's events from its checkpoint, in position order, and
// commits the state it wrote with the new checkpoint in one batch
// (docs/ARCHITECTURE.md, "Projections").

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "projections/projection.h"
#include "projections/store_state.h"
#include "storage/event_store.h"
#include "storage/projection_store.h"

namespace cairn::projections {

// A projection as one tenant sees it (Runner::Statuses(tenant)), or summed
// over every tenant (Runner::Statuses(), for monitoring).
struct ProjectionStatus {
  std::string name;
  uint32_t version = 0;
  bool rebuilding = false;  // into a shadow, the old state still served
  // Not advancing: an event failed (this tenant's), or the projection as a
  // whole failed (a storage error out of any tenant's reach).
  bool faulted = false;
  std::string error;                       // when faulted
  std::optional<GlobalPosition> fault_at;  // the event it failed on
  uint64_t skipped = 0;                    // bad events, since start
};

struct RunnerOptions {
  // Events per commit of a projection's state and checkpoint, at most:
  // the larger, the fewer times a learner's state is read, decoded and
  // written while a backlog is applied (WriteState keeps it in memory for
  // the batch), and the more a crash makes it apply again. Live batches
  // are what committed since the last one, far fewer. 100,000 applied a
  // backlog twice as fast as 10,000 (docs/BENCHMARKS.md, "Projections"),
  // holding some tens of MB per projection while it lasts.
  size_t batch_events = 100'000;
  // While no reader waits on the runner, it lets commits gather this long
  // after a pass before the next: under a steady stream of appends each
  // pass then applies many commits at once, opening one write per
  // projection and committing once for all of them, where a pass per
  // commit spent more on that than on the events (docs/BENCHMARKS.md,
  // "Issue 7"). A prompt wait (a minPosition read) ends it at once, so
  // such readers never wait for it; a wait for the next pass (a read-model
  // subscription's, for its next version) does not, or every open
  // subscription would undo the gathering. An idle runner starts on a
  // commit at once. A round of passes that took long pauses longer, up to
  // ten times this (Runner::PauseAfterRound). What it costs: a read
  // without minPosition, and a subscription's push, may be that far
  // behind while appends keep coming. 100 ms, against 5 ms, halved the
  // projector's CPU per single-event append at 64 clients, as each pass
  // writes a learner's state once for all its events (docs/BENCHMARKS.md,
  // "Issue 7, third run"); the longer pause after a long round took the
  // append p99 at 8 clients from 1.15-1.76 to 0.98-1.05 ms ("eighth
  // session"); cairnd's --projection-gather-ms.
  std::chrono::microseconds gather{100'000};
  // The projector thread's nice value (0 to 19; 0 leaves it as it is). A
  // pass is a burst of CPU (tens of ms under load), and at the same
  // priority it holds a core while appends wait for one: at 8 clients on
  // two cores, nice 19 took the append p99 from about 4.2 to 2.1 ms, and
  // the read models still kept within a few thousand events of the log at
  // 64 clients (docs/BENCHMARKS.md, "Issue 7, fifth session"). What it
  // costs: on a machine whose every core other processes keep busy, read
  // models fall behind. cairnd's --projection-nice (default 19).
  int nice = 0;
  // What the CommittedCaches (projections/store_state.h) of every
  // projection and tenant may hold together; past it they start afresh.
  size_t committed_cache_bytes = size_t{64} << 20;
};

class Runner {
 public:
  Runner(storage::EventStore* store,
         std::vector<std::unique_ptr<Projection>> projections,
         RunnerOptions options = {});
  ~Runner();
  Runner(const Runner&) = delete;
  Runner& operator=(const Runner&) = delete;

  // Opens the projections' families and starts the thread, which first
  // rebuilds a projection whose stored version is another (from position 0,
  // into a shadow, as Rebuild does) and catches every tenant up.
  Status Start();
  // Stops after the batch in progress. Idempotent.
  void Stop();

  // Rebuilds the projection from position 0 into a shadow while the old
  // state keeps serving (without advancing), then swaps it in at once and
  // goes on. Clears its faults. NotFound for an unknown name.
  Status Rebuild(std::string_view name);
  // The same for one tenant's state alone (what a tenant's admin may ask):
  // the other tenants' state is not touched, and their status does not
  // change.
  Status Rebuild(std::string_view name, std::string_view tenant);

  // The projection, or null when there is none of that name.
  Projection* Find(std::string_view name) const;
  // Every projection as `tenant` sees it: its own faults, rebuilds and
  // skipped events, and the projection-wide ones; nothing of another
  // tenant's.
  std::vector<ProjectionStatus> Statuses(std::string_view tenant) const;
  // Summed over tenants: faulted or rebuilding for any, skipped by all.
  std::vector<ProjectionStatus> Statuses() const;

  // How soon a wait wants its answer while commits keep coming: kPrompt
  // ends the runner's gathering pause (RunnerOptions::gather) for it;
  // kNextPass is answered by the next pass, whenever the pause ends.
  enum class Urgency { kPrompt, kNextPass };

  // Calls `done(true)` once the projection has applied the tenant's event
  // at `position` (at once if it has), or `done(false)` when it cannot: it
  // is faulted, or the runner stops. From the runner's thread or the
  // caller's: it must be quick (post elsewhere). Timeouts are the caller's,
  // who Forgets the wait when it gives up. Returns the wait's id.
  uint64_t WhenApplied(std::string_view projection, std::string_view tenant,
                       uint64_t position, std::function<void(bool)> done,
                       Urgency urgency = Urgency::kPrompt);
  // Drops a wait that was not answered yet (its `done` is not called).
  void Forget(uint64_t wait);

  // Waits (bounded) until every projection has caught up with every
  // tenant's log end as it is now; for tests and benchmarks.
  bool WaitIdle(std::chrono::milliseconds timeout);

  // The gathering pause after a round of passes that took `round`
  // (RunnerOptions::gather): four times the round, so that passes take at
  // most a fifth of the projector's time, but no less than `gather` and no
  // more than ten times it.
  static std::chrono::microseconds PauseAfterRound(
      std::chrono::microseconds gather,
      std::chrono::steady_clock::duration round);

 private:
  // What concerns one tenant of a projection.
  struct TenantState {
    bool rebuild_requested = false;
    bool rebuilding = false;
    bool faulted = false;
    std::string error;
    std::optional<GlobalPosition> fault_at;
    uint64_t skipped = 0;
  };
  struct Slot {
    std::unique_ptr<Projection> projection;
    // Projection-wide: name, version, a whole rebuild, a fault outside any
    // tenant's events; skipped is unused (per tenant below).
    ProjectionStatus status;
    std::set<std::string, std::less<>> types;  // empty: every type
    bool rebuild_requested = false;            // guarded by inbox_->mu
    std::map<std::string, TenantState, std::less<>>
        tenants;  // guarded by inbox_->mu
    // Faulted for the tenant, or as a whole. REQUIRES: inbox_->mu.
    bool FaultedFor(std::string_view tenant) const;
    // The live state's committed values by tenant: the runner's thread only.
    std::map<std::string, CommittedCache, std::less<>> committed;
  };
  struct Waiter {
    uint64_t id;
    std::string projection;
    std::string tenant;
    uint64_t position;
    std::function<void(bool)> done;
    Urgency urgency;
  };

  // What the store's commit listener reaches: shared, because a commit in
  // flight may still call the listener as the runner stops.
  struct Inbox {
    std::mutex mu;
    std::condition_variable cv;
    std::set<std::string> dirty;  // tenants with new events
    bool stopping = false;
  };

  void Run();
  // Feeds projections one tenant's events up to the log end, into their
  // live state or their shadows; those at the same checkpoint share each
  // scan of the log. False when one faulted or the runner stops.
  bool CatchUp(const std::vector<Slot*>& slots, const std::string& tenant,
               storage::ProjectionStore::Target target =
                   storage::ProjectionStore::Target::kLive);
  // CatchUp for a group at checkpoint `next`, to `end`.
  bool CatchUpFrom(std::vector<Slot*> group, const std::string& tenant,
                   storage::ProjectionStore::Target target, uint64_t next,
                   uint64_t end);
  // A requested rebuild, start to swap: of every tenant, or of one.
  void RebuildNow(Slot& slot);
  void RebuildNow(Slot& slot, const std::string& tenant);
  // After a rebuild's swap: what the projection has applied for `tenants`
  // is what the rebuild committed; their waiters may be answered, and they
  // catch up live from there.
  void Swapped(Slot& slot, std::vector<std::string> tenants);
  // A fault of the tenant's (an event, or storage while on its events), or
  // of the projection as a whole (no tenant).
  void Fault(Slot& slot, const std::string* tenant,
             std::optional<GlobalPosition> at, std::string error);
  // The waiters that can be answered now, removed. REQUIRES: inbox_->mu.
  std::vector<std::function<void()>> Answerable();
  // Drops the slot's committed cache of `tenant`, or of every tenant (null):
  // after a fault or a swap, what it held may no longer be the live state.
  void ForgetCommitted(Slot& slot, const std::string* tenant);

  storage::EventStore* const store_;
  const RunnerOptions options_;
  std::vector<Slot> slots_;  // statuses guarded by inbox_->mu
  const std::shared_ptr<Inbox> inbox_;
  bool busy_ = false;            // guarded by inbox_->mu
  int idle_waits_ = 0;           // WaitIdle callers; guarded by inbox_->mu
  std::vector<Waiter> waiters_;  // guarded by inbox_->mu
  // The kPrompt ones among waiters_, which end a gathering pause: guarded
  // by inbox_->mu.
  size_t prompt_waits_ = 0;
  uint64_t next_wait_ = 1;  // guarded by inbox_->mu
  // The next position each projection applies, per tenant (what it has
  // applied since start): guarded by inbox_->mu.
  std::map<std::pair<std::string, std::string>, uint64_t> applied_;
  size_t committed_bytes_ = 0;  // in every slot's `committed`
  uint64_t listener_ = 0;       // the live log's commit listener, while running
  std::thread thread_;
};

}  // namespace cairn::projections
