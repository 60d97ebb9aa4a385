#include "server/subscription.h"

#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <utility>
#include <vector>

#include "server/async_store.h"
#include "storage/live_log.h"

namespace cairn::server {

namespace net = boost::asio;
using net::awaitable;

namespace {

// Events a catch-up read takes per step; each step is one send.
constexpr size_t kCatchUpPage = 1000;

}  // namespace

// The state of one running subscription. Everything runs on the
// subscription's loop (its connection's I/O thread) but the storage reads,
// which run on the reader pool while the coroutine waits for them.
class SubscriptionRun {
 public:
  SubscriptionRun(storage::EventStore* store, net::any_io_executor readers,
                  SubscriptionSpec spec, const SubscriptionLimits& limits,
                  SubscriptionSink& sink,
                  std::shared_ptr<SubscriptionControl> control)
      : store_(store),
        readers_(std::move(readers)),
        spec_(std::move(spec)),
        limits_(limits),
        sink_(sink),
        control_(std::move(control)) {
    switch (spec_.from) {
      case SubscriptionSpec::From::kStart:
        if (spec_.stream) next_revision_ = 0;
        break;
      case SubscriptionSpec::From::kRevision:
        next_revision_ = spec_.at;
        break;
      case SubscriptionSpec::From::kPosition:
        next_position_ = spec_.at;
        if (spec_.stream) next_revision_ = 0;
        break;
      case SubscriptionSpec::From::kEnd:
        break;  // set when the first tap opens
    }
  }

  awaitable<Status> Run() {
    if (!spec_.follow) {
      const uint64_t end = store_->LogEnd(spec_.tenant).value();
      if (spec_.from == SubscriptionSpec::From::kEnd) co_return Status::Ok();
      auto caught_up = co_await CatchUp(end);
      co_return caught_up.has_value() ? Status::Ok() : caught_up.error();
    }
    bool first = true;
    while (!control_->stopped()) {
      storage::LiveLog& live = store_->Live();
      storage::LiveLog::Opened opened =
          live.Open(spec_.tenant, spec_.stream, limits_.max_queued_events);
      struct CloseTap {
        storage::LiveLog& live;
        const std::string& tenant;
        const std::shared_ptr<storage::LiveTap>& tap;
        ~CloseTap() { live.Close(tenant, tap); }
      } close_tap{live, spec_.tenant, opened.tap};

      if (first && spec_.from == SubscriptionSpec::From::kEnd) {
        next_position_ = opened.from.value();
      } else {
        if (!first) {
          // Back from an overflow: a client this far behind is told so
          // and resumes by itself, rather than hold a reader for long.
          auto backlog = co_await Backlog(opened.from.value());
          if (!backlog.has_value()) co_return backlog.error();
          if (*backlog > limits_.max_backlog_events) {
            co_return Status::Busy("slow consumer");
          }
        }
        // History up to where the tap begins.
        auto caught_up = co_await CatchUp(opened.from.value());
        if (!caught_up.has_value()) co_return caught_up.error();
        if (!*caught_up) co_return Status::Ok();
      }
      if (first) {
        first = false;
        const bool sent =
            co_await sink_.CaughtUp(last_position_, last_revision_);
        if (!sent) co_return Status::Ok();
      }
      // Live, until the tap overflows.
      for (;;) {
        const Woken woken = co_await Wait(*opened.tap);
        if (woken == Woken::kStopped) co_return Status::Ok();
        if (woken == Woken::kIdle) {
          const bool sent = co_await sink_.Heartbeat();
          if (!sent) co_return Status::Ok();
          continue;
        }
        storage::LiveTap::Taken taken = opened.tap->Take();
        if (!taken.commits.empty()) {
          const bool sent = co_await SendLive(taken.commits);
          if (!sent) co_return Status::Ok();
        }
        if (taken.overflowed) {
          // Back to storage, then a new tap.
          GlobalSubscriptionStats().slow_consumer_fallbacks.fetch_add(
              1, std::memory_order_relaxed);
          break;
        }
      }
    }
    co_return Status::Ok();
  }

 private:
  enum class Woken { kReady, kIdle, kStopped };

  // One catch-up step's result, made on a reader thread.
  struct Page {
    std::string framed;
    bool end = false;  // nothing more to read before the target
  };

  // Sends history from where the subscription is: the log up to `end`
  // (exclusive), a stream up to its end. False when the client is gone.
  awaitable<Result<bool>> CatchUp(uint64_t end) {
    for (;;) {
      if (control_->stopped()) co_return false;
      Result<Page> page = Page{};
      if (spec_.stream) {
        page = co_await RunOn(readers_, [this] { return StreamPage(); });
      } else {
        page = co_await RunOn(readers_, [this, end] { return LogPage(end); });
      }
      if (!page.has_value()) co_return page.error();
      if (!page->framed.empty()) {
        // Tested after the co_await, never inside a condition: see
        // WsSession::Send on GCC 12.
        const bool sent = co_await sink_.Send(page->framed);
        if (!sent) co_return false;
      }
      if (page->end) co_return true;
    }
  }

  // How many events the subscription has yet to deliver: of the log below
  // `end`, or of its stream.
  awaitable<Result<uint64_t>> Backlog(uint64_t end) {
    if (!spec_.stream) {
      co_return end > next_position_ ? end - next_position_ : 0;
    }
    auto info = co_await RunOn(readers_, [this] {
      return store_->GetStreamInfo(spec_.tenant, *spec_.stream);
    });
    if (!info.has_value()) {
      if (info.error().IsNotFound()) co_return uint64_t{0};
      co_return info.error();
    }
    const uint64_t next_in_stream =
        info->last_revision ? info->last_revision->value() + 1 : 0;
    const uint64_t delivered = next_revision_.value_or(next_in_stream);
    co_return next_in_stream > delivered ? next_in_stream - delivered : 0;
  }

  // The next page of the tenant log below `end`. On a reader thread: the
  // state it updates is the coroutine's, which waits meanwhile.
  Result<Page> LogPage(uint64_t end) {
    Page page;
    if (next_position_ >= end) {
      page.end = true;
      return page;
    }
    storage::LogReadOptions options;
    options.from = next_position_;
    options.until = end;
    options.limit = kCatchUpPage;
    options.filter = spec_.filter;
    auto next = store_->ScanLog(
        spec_.tenant, options,
        [this, &page](GlobalPosition position, const EventView& event) {
          Deliver(&page.framed, position, event);
        });
    if (!next.has_value()) return next.error();
    // A filtered page may stop early; without a next, all below `end` is
    // read.
    next_position_ = next->value_or(end);
    page.end = next_position_ >= end;
    return page;
  }

  // The next page of the stream, from the next revision.
  Result<Page> StreamPage() {
    Page page;
    storage::StreamReadOptions options;
    options.from = next_revision_.value_or(0);
    options.limit = kCatchUpPage;
    auto read = store_->ReadStream(spec_.tenant, *spec_.stream, options);
    if (!read.has_value()) {
      // Not there (yet, or soft-deleted): nothing to catch up; its first
      // event comes live.
      if (read.error().IsNotFound()) {
        page.end = true;
        return page;
      }
      return read.error();
    }
    for (const auto& e : read->events) {
      auto event = DecodeEventRecord(e.record);
      if (!event.has_value()) return event.error();
      Deliver(&page.framed, e.position, *event);
    }
    page.end = !read->next.has_value();
    if (read->next) next_revision_ = *read->next;
    return page;
  }

  // Frames the event unless it was delivered already (or is filtered out),
  // and moves the subscription past it.
  void Deliver(std::string* out, GlobalPosition position,
               const EventView& event) {
    if (position.value() < next_position_) return;
    if (spec_.stream) {
      if (next_revision_ && event.revision.value() < *next_revision_) return;
      next_revision_ = event.revision.value() + 1;
      last_revision_ = event.revision.value();
    } else if (!spec_.filter.Matches(event.stream, event.type)) {
      next_position_ = position.value() + 1;
      return;
    }
    next_position_ = position.value() + 1;
    last_position_ = position.value();
    sink_.Format(out, position, event);
  }

  awaitable<bool> SendLive(const std::vector<storage::CommittedEventsPtr>& cs) {
    std::string framed;
    for (const auto& commit : cs) {
      for (const auto& e : commit->events) {
        if (spec_.stream && e.stream != *spec_.stream) continue;
        auto event = DecodeEventRecord(e.record);
        if (!event.has_value()) continue;  // verified when appended
        Deliver(&framed, e.position, *event);
      }
    }
    if (framed.empty()) co_return true;
    co_return co_await sink_.Send(framed);
  }

  // Waits until the tap has something, the heartbeat is due, or the
  // subscription is stopped.
  awaitable<Woken> Wait(storage::LiveTap& tap) {
    auto loop = co_await net::this_coro::executor;
    control_->ready_ = false;
    control_->timer_.expires_after(limits_.heartbeat);
    // The wake may come from the sequencer's thread: it only posts. A
    // stale wake from an earlier wait at worst makes an empty round.
    tap.OnReady([control = control_, loop] {
      net::post(loop, [control] {
        control->ready_ = true;
        control->timer_.cancel();
      });
    });
    co_await control_->timer_.async_wait(
        net::experimental::as_tuple(net::use_awaitable));
    if (control_->stopped()) co_return Woken::kStopped;
    co_return control_->ready_ ? Woken::kReady : Woken::kIdle;
  }

  storage::EventStore* const store_;
  const net::any_io_executor readers_;
  const SubscriptionSpec spec_;
  const SubscriptionLimits limits_;
  SubscriptionSink& sink_;
  const std::shared_ptr<SubscriptionControl> control_;

  uint64_t next_position_ = 0;  // nothing before it is delivered (again)
  std::optional<uint64_t> next_revision_;  // streams: nor before this
  std::optional<uint64_t> last_position_;  // the last delivered
  std::optional<uint64_t> last_revision_;
};

awaitable<Status> RunSubscription(
    storage::EventStore* store, net::any_io_executor readers,
    SubscriptionSpec spec, const SubscriptionLimits& limits,
    SubscriptionSink& sink, std::shared_ptr<SubscriptionControl> control) {
  SubscriptionRun run(store, std::move(readers), std::move(spec), limits, sink,
                      std::move(control));
  SubscriptionStats& stats = GlobalSubscriptionStats();
  stats.active.fetch_add(1, std::memory_order_relaxed);
  struct Ended {
    SubscriptionStats& stats;
    ~Ended() { stats.active.fetch_sub(1, std::memory_order_relaxed); }
  } ended{stats};
  Status s = co_await run.Run();
  co_return s;
}

SubscriptionStats& GlobalSubscriptionStats() {
  static SubscriptionStats stats;
  return stats;
}

SubscriptionLimits SubscriptionLimitsOf(const Config& config) {
  SubscriptionLimits limits;
  limits.max_backlog_events = config.slow_consumer_events;
  limits.max_queued_events = config.subscription_queue_events;
  limits.heartbeat = std::chrono::milliseconds(config.heartbeat_ms);
  return limits;
}

}  // namespace cairn::server
