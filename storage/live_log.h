#pragma once

// The live log: events handed to subscribers as they commit, once, shared,
// without a storage read per subscriber (docs/ARCHITECTURE.md, "Live log
// and subscriptions").
//
// A subscriber opens a tap on a tenant's log (all of it, or one stream) and
// learns the position from which the tap receives every committed event.
// It reads storage up to that position (catch-up), then takes from the tap
// (live). A tap is a bounded queue: when a subscriber falls behind by more
// than its bound, the tap overflows, drops what it held and receives
// nothing more; the subscriber goes back to storage from where it is and
// opens a new tap. Nothing is dropped silently, and the memory a slow
// subscriber holds is bounded.

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/ids.h"
#include "storage/event_store.h"

namespace cairn::storage {

// The events one commit added to one tenant's log: gapless, in position
// order, immutable once published.
struct CommittedEvents {
  struct Event {
    GlobalPosition position;
    std::string stream;
    std::string record;  // verified record bytes, as stored
  };
  std::vector<Event> events;
};
using CommittedEventsPtr = std::shared_ptr<const CommittedEvents>;

// One subscriber's live feed. Thread-safe: the sequencer pushes, the
// subscriber takes.
class LiveTap {
 public:
  struct Taken {
    // Every commit pushed since the last Take, in order. A stream tap gets
    // whole commits; the subscriber skips other streams' events.
    std::vector<CommittedEventsPtr> commits;
    // The queue went over its bound and was dropped: read storage from
    // where you are and open a new tap. The tap receives nothing more.
    bool overflowed = false;
  };

  LiveTap(std::optional<std::string> stream, size_t max_events)
      : stream_(std::move(stream)), max_events_(max_events) {}

  Taken Take();

  // Calls `wake` once, from the sequencer's thread, when Take has
  // something to give (or at once, on the caller's thread, when it has
  // already). Replaces an earlier wake. It must be quick and must not
  // block (post elsewhere); it must not call back into this tap.
  void OnReady(std::function<void()> wake);

  const std::optional<std::string>& stream() const { return stream_; }

 private:
  friend class LiveLog;
  // Queues `commit` (holding `events` events for this tap).
  void Push(const CommittedEventsPtr& commit, size_t events);

  const std::optional<std::string> stream_;
  const size_t max_events_;
  std::mutex mu_;
  std::vector<CommittedEventsPtr> queue_;  // guarded by mu_
  size_t queued_events_ = 0;               // guarded by mu_
  bool overflowed_ = false;                // guarded by mu_
  std::function<void()> wake_;             // guarded by mu_
};

// The taps of every tenant. Thread-safe.
class LiveLog {
 public:
  // `log_end` gives a tenant's log end as readers see it; the sequencer
  // raises it before it publishes the same commit here.
  explicit LiveLog(std::function<GlobalPosition(std::string_view)> log_end)
      : log_end_(std::move(log_end)) {}

  struct Opened {
    std::shared_ptr<LiveTap> tap;
    // Storage holds every event before this position, and the tap receives
    // every event at it and after. (It may also receive a few events
    // before it: subscribers skip positions they have passed.)
    GlobalPosition from;
  };

  // A tap on the tenant's log, or on one stream of it when `stream` is
  // set, holding at most `max_events` events before it overflows.
  Opened Open(std::string_view tenant, std::optional<std::string> stream,
              size_t max_events);
  // Stops pushing to `tap`. Idempotent.
  void Close(std::string_view tenant, const std::shared_ptr<LiveTap>& tap);

  // For the sequencer, after each commit that added events to `tenant`, in
  // commit order, once they are durable and readable (the log end raised).
  // `build` makes the shared commit; it is called only when some tap
  // wants it, under this log's lock, so that no tap opens between the
  // commit and its push.
  void Publish(std::string_view tenant,
               const std::function<CommittedEventsPtr()>& build);

  // Calls `listener` with the tenant's name after each commit that added
  // events, on the sequencer's thread, under this log's lock: it must be
  // quick and must not call back into this log (the projection runner
  // only marks the tenant and wakes its thread). Returns an id for
  // RemoveCommitListener.
  uint64_t AddCommitListener(
      std::function<void(std::string_view tenant)> listener);
  void RemoveCommitListener(uint64_t id);

  // Taps open now, for metrics and tests.
  size_t open_taps() const;

 private:
  using Taps = std::vector<std::shared_ptr<LiveTap>>;
  struct Tenant {
    Taps log_taps;
    std::map<std::string, Taps, std::less<>> stream_taps;
  };

  const std::function<GlobalPosition(std::string_view)> log_end_;
  mutable std::mutex mu_;
  std::map<std::string, Tenant, std::less<>> tenants_;  // guarded by mu_
  std::map<uint64_t, std::function<void(std::string_view)>>
      listeners_;               // guarded by mu_
  uint64_t next_listener_ = 1;  // guarded by mu_
  size_t open_taps_ = 0;        // guarded by mu_
};

}  // namespace cairn::storage
