#include "server/tenant_limits.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

namespace cairn::server {

struct TenantLimits::SubscriptionSlot::Held {
  TenantLimits* limits;
  std::string tenant;
  ~Held() { limits->CloseSubscription(tenant); }
};

namespace {

// A shard sweeps out its full buckets when it holds this many, or twice
// what the last sweep left: sweeps stay amortised O(1) per append even
// when every tenant is busy.
constexpr size_t kPruneAt = 1024;

}  // namespace

TenantLimits::TenantLimits(Options options)
    : options_(options),
      burst_(options.append_burst_events > 0
                 ? static_cast<double>(options.append_burst_events)
                 : std::max(1.0, options.append_events_per_second)) {
  for (Shard& shard : shards_) shard.prune_at = kPruneAt;
}

TenantLimits::Shard& TenantLimits::ShardOf(std::string_view tenant) {
  return shards_[StringHash{}(tenant) % kShards];
}

TenantLimits::Admission TenantLimits::AdmitAppend(std::string_view tenant,
                                                  uint64_t events,
                                                  Clock::time_point now) {
  const double rate = options_.append_events_per_second;
  if (rate <= 0) return {};
  Shard& shard = ShardOf(tenant);
  std::lock_guard lock(shard.mu);
  auto it = shard.buckets.find(tenant);
  if (it == shard.buckets.end()) {
    if (shard.buckets.size() >= shard.prune_at) Prune(shard, now);
    it = shard.buckets.emplace(std::string(tenant), Bucket{burst_, now}).first;
  }
  Bucket& b = it->second;
  const std::chrono::duration<double> elapsed = now - b.refilled;
  b.tokens = std::min(burst_, b.tokens + elapsed.count() * rate);
  b.refilled = now;
  // What must be in the bucket: the whole append, or a full bucket for an
  // append larger than the bucket.
  const double need = std::min(static_cast<double>(events), burst_);
  if (b.tokens < need) {
    append_refusals_.fetch_add(1, std::memory_order_relaxed);
    const double wait = (need - b.tokens) / rate;
    return {false, std::chrono::seconds(
                       std::max<int64_t>(1, std::llround(std::ceil(wait))))};
  }
  b.tokens -= static_cast<double>(events);
  return {};
}

void TenantLimits::Prune(Shard& shard, Clock::time_point now) {
  const double rate = options_.append_events_per_second;
  std::erase_if(shard.buckets, [&](const auto& entry) {
    const std::chrono::duration<double> elapsed = now - entry.second.refilled;
    return entry.second.tokens + elapsed.count() * rate >= burst_;
  });
  shard.prune_at = std::max(kPruneAt, 2 * shard.buckets.size());
}

TenantLimits::SubscriptionSlot TenantLimits::OpenSubscription(
    std::string_view tenant) {
  {
    std::lock_guard lock(subscriptions_mu_);
    auto it = subscriptions_.find(tenant);
    const uint64_t open = it == subscriptions_.end() ? 0 : it->second;
    if (options_.max_subscriptions > 0 && open >= options_.max_subscriptions) {
      subscription_refusals_.fetch_add(1, std::memory_order_relaxed);
      return SubscriptionSlot();
    }
    if (it == subscriptions_.end()) {
      subscriptions_.emplace(std::string(tenant), 1);
    } else {
      ++it->second;
    }
  }
  return SubscriptionSlot(
      std::make_shared<SubscriptionSlot::Held>(this, std::string(tenant)));
}

void TenantLimits::CloseSubscription(const std::string& tenant) {
  std::lock_guard lock(subscriptions_mu_);
  auto it = subscriptions_.find(tenant);
  if (it == subscriptions_.end()) return;
  if (--it->second == 0) subscriptions_.erase(it);
}

uint64_t TenantLimits::OpenSubscriptions(std::string_view tenant) const {
  std::lock_guard lock(subscriptions_mu_);
  auto it = subscriptions_.find(tenant);
  return it == subscriptions_.end() ? 0 : it->second;
}

std::string TenantLimits::AppendRefusal(const Admission& refused) const {
  char rate[32];
  std::snprintf(rate, sizeof rate, "%g", options_.append_events_per_second);
  return "this tenant may append " + std::string(rate) +
         " events per second (bursts of " +
         std::to_string(std::llround(burst_)) + "); retry after " +
         std::to_string(refused.retry_after.count()) + " s";
}

std::string TenantLimits::SubscriptionRefusal() const {
  return "this tenant holds " + std::to_string(options_.max_subscriptions) +
         " subscriptions open, its limit; close one first";
}

TenantLimits::Options TenantLimitsOf(const Config& config) {
  return {config.tenant_append_rate, config.tenant_append_burst,
          config.tenant_max_subscriptions};
}

}  // namespace cairn::server
