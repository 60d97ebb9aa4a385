#pragma once

// One subscription, whatever carries it (WebSocket, NDJSON or SSE over
// HTTP): catch-up from storage, then live from the store's live log, with
// neither gap nor duplicate across the switch (docs/ARCHITECTURE.md, "Live
// log and subscriptions"). Transports supply a SubscriptionSink that frames
// and sends; the rules of order live here once.

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>

#include "protocol/event_record.h"
#include "protocol/status.h"
#include "server/config.h"
#include "storage/event_store.h"

namespace cairn::server {

struct SubscriptionSpec {
  std::string tenant;
  std::optional<std::string> stream;  // none: the tenant log
  storage::EventFilter filter;        // tenant log only: types, categories
  enum class From { kStart, kEnd, kRevision, kPosition };
  From from = From::kStart;
  // kRevision (stream subscriptions): the first revision to deliver.
  // kPosition: the first position to deliver (a stream subscription skips
  // its events before it: Last-Event-ID).
  uint64_t at = 0;
  // False: stop at the end of the log as it was when the subscription
  // began (a plain SSE read). True: go on live.
  bool follow = true;
};

struct SubscriptionLimits {
  // Live events a subscription may hold unsent before it falls back to
  // storage (its tap's bound).
  size_t max_queued_events = 10'000;
  // A subscription that falls behind by more than this (its live queue
  // overflowed, and this many events were still to deliver when it came
  // back) ends with Busy("slow consumer"); the client resumes from its
  // last position.
  uint64_t max_backlog_events = 1'000'000;
  // A heartbeat goes out after this long without anything sent.
  std::chrono::milliseconds heartbeat{std::chrono::seconds(15)};
};

// Where a subscription's output goes.
class SubscriptionSink {
 public:
  virtual ~SubscriptionSink() = default;
  // Appends one event as the transport frames it. Runs on a reader thread
  // during catch-up and on the subscription's loop when live, so it must
  // only read the sink's immutable state.
  virtual void Format(std::string* out, GlobalPosition position,
                      const EventView& event) const = 0;
  // Sends what Format produced (and may take it: it is not used after).
  // False when the client is gone. A reference, not a value: GCC 12
  // mishandles non-trivial by-value parameters of these coroutines (a
  // double free, seen in the handover test).
  virtual boost::asio::awaitable<bool> Send(std::string& framed) = 0;
  // Once, when the subscription has delivered all history and goes live:
  // the last position (and revision, for a stream) delivered, if any.
  virtual boost::asio::awaitable<bool> CaughtUp(
      std::optional<uint64_t> position, std::optional<uint64_t> revision) = 0;
  virtual boost::asio::awaitable<bool> Heartbeat() = 0;
};

// Stops a running subscription from its loop (an unsubscribe, a closing
// socket, shutdown): RunSubscription returns at its next step.
class SubscriptionControl {
 public:
  explicit SubscriptionControl(const boost::asio::any_io_executor& loop)
      : timer_(loop) {}
  // On the subscription's loop.
  void Stop() {
    if (stopped_) return;
    stopped_ = true;
    timer_.cancel();
    if (on_stop_) std::exchange(on_stop_, nullptr)();
  }
  // Runs `f` on the loop when Stop is first called (not when stopped
  // already).
  void OnStop(std::function<void()> f) { on_stop_ = std::move(f); }
  bool stopped() const { return stopped_; }
  boost::asio::any_io_executor executor() { return timer_.get_executor(); }

 private:
  friend class SubscriptionRun;
  boost::asio::steady_timer timer_;  // the live wait; cancelled to wake it
  bool stopped_ = false;
  bool ready_ = false;
  std::function<void()> on_stop_;
};

// Runs the subscription on the calling coroutine's loop until the sink
// reports the client gone, `control` is stopped, or (follow = false) the
// history is delivered. Storage reads run on `readers`. Returns Ok, or why
// it could not go on (a tombstoned stream, a storage error, Busy for a slow
// consumer); the caller tells the client.
boost::asio::awaitable<Status> RunSubscription(
    storage::EventStore* store, boost::asio::any_io_executor readers,
    SubscriptionSpec spec, const SubscriptionLimits& limits,
    SubscriptionSink& sink, std::shared_ptr<SubscriptionControl> control);

// Process-wide figures of every subscription, read by /metrics.
struct SubscriptionStats {
  std::atomic<int64_t> active{0};
  // Taps that overflowed: the subscriber went back to storage.
  std::atomic<uint64_t> slow_consumer_fallbacks{0};
};
SubscriptionStats& GlobalSubscriptionStats();

// The limits cairnd's configuration sets.
SubscriptionLimits SubscriptionLimitsOf(const Config& config);

}  // namespace cairn::server
