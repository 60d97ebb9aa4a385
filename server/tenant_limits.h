#pragma once

// Per-tenant limits, so that one tenant cannot starve the others of the
// write path or of subscriptions (API.md: 429 with Retry-After). Both are
// off unless configured (--tenant-append-rate, --tenant-max-subscriptions).

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

#include "server/config.h"

namespace cairn::server {

class TenantLimits {
 public:
  using Clock = std::chrono::steady_clock;

  struct Options {
    // Events per second a tenant may append, sustained; 0: no cap.
    double append_events_per_second = 0;
    // Events a tenant may append at once after a quiet spell (the bucket's
    // size); 0: one second's worth of the rate.
    uint64_t append_burst_events = 0;
    // Subscriptions a tenant may hold open at once (WebSocket, NDJSON and
    // SSE together); 0: no cap.
    uint64_t max_subscriptions = 0;
  };

  // The answer to an append: admitted, or refused with the wait after
  // which the same append would be admitted (whole seconds, at least 1:
  // what Retry-After carries).
  struct Admission {
    bool admitted = true;
    std::chrono::seconds retry_after{0};
  };

  // A subscription place held for a tenant; the place is given back when
  // the last copy is destroyed. Empty when no place was granted.
  class SubscriptionSlot {
   public:
    SubscriptionSlot() = default;
    explicit operator bool() const { return held_ != nullptr; }

   private:
    friend class TenantLimits;
    struct Held;
    explicit SubscriptionSlot(std::shared_ptr<Held> held)
        : held_(std::move(held)) {}
    std::shared_ptr<Held> held_;
  };

  explicit TenantLimits(Options options);
  TenantLimits(const TenantLimits&) = delete;
  TenantLimits& operator=(const TenantLimits&) = delete;

  // Charges `events` to the tenant's append budget (a token bucket), or
  // refuses without charging. An append larger than the bucket is
  // admitted when the bucket is full and leaves it in debt, so no batch is
  // refused forever and the sustained rate still holds.
  Admission AdmitAppend(std::string_view tenant, uint64_t events,
                        Clock::time_point now = Clock::now());

  // A place for one more subscription of `tenant`, or an empty slot when
  // it holds max_subscriptions already. Slots must not outlive this
  // object.
  SubscriptionSlot OpenSubscription(std::string_view tenant);

  // The detail of a 429 for each limit.
  std::string AppendRefusal(const Admission& refused) const;
  std::string SubscriptionRefusal() const;

  // The tenant's subscriptions open now (for tests and messages).
  uint64_t OpenSubscriptions(std::string_view tenant) const;

  const Options& options() const { return options_; }

  // Requests refused since start, per limit (for /metrics).
  uint64_t append_refusals() const {
    return append_refusals_.load(std::memory_order_relaxed);
  }
  uint64_t subscription_refusals() const {
    return subscription_refusals_.load(std::memory_order_relaxed);
  }

 private:
  struct Bucket {
    double tokens = 0;
    Clock::time_point refilled;
  };
  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const {
      return std::hash<std::string_view>{}(s);
    }
  };
  template <typename V>
  using TenantMap =
      std::unordered_map<std::string, V, StringHash, std::equal_to<>>;
  // Appends of different tenants rarely meet on one lock.
  struct Shard {
    std::mutex mu;
    TenantMap<Bucket> buckets;
    size_t prune_at;  // sweep when a new tenant finds this many buckets
  };
  static constexpr size_t kShards = 16;

  Shard& ShardOf(std::string_view tenant);
  // Drops the buckets that are full again: a full bucket is the same as
  // none, so a shard holds only the tenants that appended lately.
  void Prune(Shard& shard, Clock::time_point now);
  void CloseSubscription(const std::string& tenant);

  const Options options_;
  const double burst_;  // the bucket's size in events
  std::array<Shard, kShards> shards_;
  std::atomic<uint64_t> append_refusals_{0};
  std::atomic<uint64_t> subscription_refusals_{0};
  mutable std::mutex subscriptions_mu_;
  TenantMap<uint64_t> subscriptions_;  // tenants with at least one open
};

// The limits cairnd's configuration sets.
TenantLimits::Options TenantLimitsOf(const Config& config);

}  // namespace cairn::server
