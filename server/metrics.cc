#include "server/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/metric_family.h>
#include <prometheus/metric_type.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <algorithm>
#include <array>
#include <limits>
#include <mutex>
#include <vector>

#include "server/subscription.h"
#include "storage/projection_store.h"

namespace cairn::server {
namespace prom = prometheus;

namespace {

// Every Endpoint, in order, then "unmatched" (404 and bad targets).
constexpr std::array kEndpoints = {
    Endpoint::kHealthz,      Endpoint::kReadyz,      Endpoint::kMetrics,
    Endpoint::kStreamEvents, Endpoint::kStream,      Endpoint::kStreamMetadata,
    Endpoint::kStreams,      Endpoint::kLog,         Endpoint::kTransactions,
    Endpoint::kReadModel,    Endpoint::kProjections, Endpoint::kRebuild,
    Endpoint::kOpenApi,      Endpoint::kBackups,
};
constexpr size_t kRoutes = kEndpoints.size() + 1;
constexpr size_t kUnmatched = kEndpoints.size();
constexpr unsigned kMinStatus = 100;
constexpr unsigned kMaxStatus = 599;
constexpr size_t kStatuses = kMaxStatus - kMinStatus + 1;

size_t RouteIndex(const std::optional<Endpoint>& route) {
  if (!route) return kUnmatched;
  for (size_t i = 0; i < kEndpoints.size(); ++i) {
    if (kEndpoints[i] == *route) return i;
  }
  return kUnmatched;
}

std::string RouteName(size_t index) {
  return index == kUnmatched ? "unmatched"
                             : std::string(EndpointName(kEndpoints[index]));
}

// Seconds, from 0.5 ms to 10 s.
prom::Histogram::BucketBoundaries LatencyBuckets() {
  return {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
          0.1,    0.25,  0.5,    1,     2.5,  5,     10};
}

// A family built at scrape time from figures its owner keeps (StoreStats,
// TenantLimits), rather than registered: they are counted where they
// happen without knowing of Prometheus.
prom::MetricFamily Family(std::string name, std::string help,
                          prom::MetricType type) {
  prom::MetricFamily f;
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = type;
  return f;
}

prom::MetricFamily Gauge(std::string name, std::string help, double value) {
  prom::MetricFamily f =
      Family(std::move(name), std::move(help), prom::MetricType::Gauge);
  f.metric.emplace_back().gauge.value = value;
  return f;
}

void AddStoreFamilies(const storage::StoreStats& stats,
                      std::vector<prom::MetricFamily>* out) {
  prom::MetricFamily groups =
      Family("cairn_group_commit_requests",
             "Write requests per group commit (one write batch, one WAL sync)",
             prom::MetricType::Histogram);
  prom::ClientMetric::Histogram& h = groups.metric.emplace_back().histogram;
  uint64_t cumulative = 0;
  const auto& bounds = storage::StoreStats::kGroupSizeBounds;
  for (size_t i = 0; i <= bounds.size(); ++i) {
    cumulative += stats.group_sizes[i];
    h.bucket.push_back(
        {cumulative, i < bounds.size()
                         ? static_cast<double>(bounds[i])
                         : std::numeric_limits<double>::infinity()});
  }
  h.sample_count = cumulative;
  h.sample_sum = static_cast<double>(stats.grouped_requests);
  out->push_back(std::move(groups));
  out->push_back(Gauge("cairn_rocksdb_memtable_bytes",
                       "Bytes in RocksDB's memtables, every column family",
                       static_cast<double>(stats.memtable_bytes)));
  out->push_back(Gauge("cairn_rocksdb_pending_compaction_bytes",
                       "Bytes RocksDB estimates compaction has yet to rewrite",
                       static_cast<double>(stats.pending_compaction_bytes)));
  out->push_back(Gauge("cairn_rocksdb_live_sst_bytes",
                       "Bytes of the SST files of the current version",
                       static_cast<double>(stats.live_sst_bytes)));
  out->push_back(Gauge("cairn_rocksdb_write_stopped",
                       "1 while RocksDB stops writes (a write stall)",
                       stats.writes_stopped ? 1 : 0));
  out->push_back(Gauge("cairn_rocksdb_delayed_write_rate_bytes",
                       "Bytes per second RocksDB slows writes to while they "
                       "are delayed; 0 when not delayed",
                       static_cast<double>(stats.delayed_write_rate)));
}

void AddLimitFamilies(const TenantLimits& limits,
                      std::vector<prom::MetricFamily>* out) {
  prom::MetricFamily refused =
      Family("cairn_tenant_limit_refusals_total",
             "Requests answered 429 for a per-tenant limit, by limit",
             prom::MetricType::Counter);
  const auto add = [&](const char* limit, uint64_t n) {
    prom::ClientMetric& m = refused.metric.emplace_back();
    m.label.push_back({"limit", limit});
    m.counter.value = static_cast<double>(n);
  };
  add("append_rate", limits.append_refusals());
  add("subscriptions", limits.subscription_refusals());
  out->push_back(std::move(refused));
}

}  // namespace

struct Metrics::Impl {
  Impl(storage::EventStore* event_store, const projections::Runner* runner,
       const TenantLimits* tenant_limits)
      : store(event_store),
        projections(runner),
        limits(tenant_limits),
        registry(std::make_shared<prom::Registry>()),
        requests(prom::BuildCounter()
                     .Name("cairn_http_requests_total")
                     .Help("HTTP responses by route and status code")
                     .Register(*registry)),
        request_seconds(
            prom::BuildHistogram()
                .Name("cairn_http_request_duration_seconds")
                .Help("Time from a request's header to its response, by route")
                .Register(*registry)),
        events_appended(prom::BuildCounter()
                            .Name("cairn_events_appended_total")
                            .Help("Events appended (not counting duplicates)")
                            .Register(*registry)
                            .Add({})),
        bytes_appended(prom::BuildCounter()
                           .Name("cairn_event_bytes_appended_total")
                           .Help("Bytes of event records appended")
                           .Register(*registry)
                           .Add({})),
        conflicts(prom::BuildCounter()
                      .Name("cairn_append_conflicts_total")
                      .Help("Appends refused: a wrong expected revision or a "
                            "failed append condition")
                      .Register(*registry)
                      .Add({})),
        duplicates(prom::BuildCounter()
                       .Name("cairn_append_duplicates_total")
                       .Help("Appends recognised as idempotent retries")
                       .Register(*registry)
                       .Add({})),
        append_seconds(prom::BuildHistogram()
                           .Name("cairn_append_duration_seconds")
                           .Help("Time from an append's body to the store's "
                                 "answer (durable for a 201)")
                           .Register(*registry)
                           .Add({}, LatencyBuckets())),
        connections(prom::BuildGauge()
                        .Name("cairn_http_connections_active")
                        .Help("Open client connections")
                        .Register(*registry)
                        .Add({})),
        subscriptions(
            prom::BuildGauge()
                .Name("cairn_subscriptions_active")
                .Help("Running subscriptions (WebSocket, NDJSON, SSE)")
                .Register(*registry)
                .Add({})),
        fallbacks(prom::BuildCounter()
                      .Name("cairn_subscription_slow_consumer_fallbacks_total")
                      .Help("Subscriptions that fell behind their live queue "
                            "and went back to storage")
                      .Register(*registry)
                      .Add({})),
        backups(prom::BuildCounter()
                    .Name("cairn_backups_total")
                    .Help("Backups asked for (POST /v1/admin/backups), by "
                          "outcome: ok or failed")
                    .Register(*registry)),
        backups_ok(backups.Add({{"outcome", "ok"}})),
        backups_failed(backups.Add({{"outcome", "failed"}})),
        backup_seconds(prom::BuildGauge()
                           .Name("cairn_backup_last_duration_seconds")
                           .Help("How long the last backup taken took")
                           .Register(*registry)
                           .Add({})),
        backup_time(prom::BuildGauge()
                        .Name("cairn_backup_last_success_timestamp_seconds")
                        .Help("When the last backup taken was, in seconds "
                              "since the Unix epoch; 0 before the first")
                        .Register(*registry)
                        .Add({})),
        projection_faulted(prom::BuildGauge()
                               .Name("cairn_projection_faulted")
                               .Help("1 when the projection is faulted")
                               .Register(*registry)),
        projection_rebuilding(prom::BuildGauge()
                                  .Name("cairn_projection_rebuilding")
                                  .Help("1 while the projection rebuilds")
                                  .Register(*registry)),
        projection_skipped(prom::BuildCounter()
                               .Name("cairn_projection_skipped_events_total")
                               .Help("Events a projection skipped as "
                                     "malformed, since start")
                               .Register(*registry)),
        projection_lag(prom::BuildGauge()
                           .Name("cairn_projection_lag_events")
                           .Help("Events the projection has yet to apply: "
                                 "the largest over tenants of the log end "
                                 "less its checkpoint")
                           .Register(*registry)) {
    for (size_t i = 0; i < kRoutes; ++i) {
      route_seconds[i] =
          &request_seconds.Add({{"route", RouteName(i)}}, LatencyBuckets());
    }
    for (auto& c : request_counters) c.store(nullptr);
  }

  prom::Counter& RequestCounter(size_t route, unsigned status) {
    if (status < kMinStatus || status > kMaxStatus) status = 500;
    auto& slot = request_counters[route * kStatuses + (status - kMinStatus)];
    prom::Counter* c = slot.load(std::memory_order_acquire);
    if (c == nullptr) {
      // Family::Add returns the same counter for the same labels.
      c = &requests.Add(
          {{"route", RouteName(route)}, {"status", std::to_string(status)}});
      slot.store(c, std::memory_order_release);
    }
    return *c;
  }

  // Scrape-time figures: read from their owners, set here.
  void Refresh() {
    const SubscriptionStats& subs = GlobalSubscriptionStats();
    subscriptions.Set(
        static_cast<double>(subs.active.load(std::memory_order_relaxed)));
    const double fell_back = static_cast<double>(
        subs.slow_consumer_fallbacks.load(std::memory_order_relaxed));
    std::lock_guard lock(refresh_mu);
    if (fell_back > fallbacks.Value()) {
      fallbacks.Increment(fell_back - fallbacks.Value());
    }
    if (projections == nullptr) return;
    for (const projections::ProjectionStatus& s : projections->Statuses()) {
      const prom::Labels labels{{"projection", s.name}};
      projection_faulted.Add(labels).Set(s.faulted ? 1 : 0);
      projection_rebuilding.Add(labels).Set(s.rebuilding ? 1 : 0);
      prom::Counter& skipped = projection_skipped.Add(labels);
      const double n = static_cast<double>(s.skipped);
      if (n > skipped.Value()) skipped.Increment(n - skipped.Value());
      if (store != nullptr) {
        projection_lag.Add(labels).Set(static_cast<double>(Lag(s.name)));
      }
    }
  }

  // The largest lag of `projection` over every tenant.
  uint64_t Lag(const std::string& projection) {
    uint64_t lag = 0;
    for (const std::string& tenant : store->Tenants()) {
      const uint64_t end = store->LogEnd(tenant).value();
      auto cp = store->Projections().Checkpoint(projection, tenant);
      if (!cp.has_value()) continue;
      if (end > cp->next_position) {
        lag = std::max(lag, end - cp->next_position);
      }
    }
    return lag;
  }

  storage::EventStore* const store;
  const projections::Runner* const projections;
  const TenantLimits* const limits;
  std::shared_ptr<prom::Registry> registry;
  prom::Family<prom::Counter>& requests;
  prom::Family<prom::Histogram>& request_seconds;
  std::array<prom::Histogram*, kRoutes> route_seconds{};
  std::array<std::atomic<prom::Counter*>, kRoutes * kStatuses> request_counters;
  prom::Counter& events_appended;
  prom::Counter& bytes_appended;
  prom::Counter& conflicts;
  prom::Counter& duplicates;
  prom::Histogram& append_seconds;
  prom::Gauge& connections;
  prom::Gauge& subscriptions;
  prom::Counter& fallbacks;
  prom::Family<prom::Counter>& backups;
  prom::Counter& backups_ok;
  prom::Counter& backups_failed;
  prom::Gauge& backup_seconds;
  prom::Gauge& backup_time;
  prom::Family<prom::Gauge>& projection_faulted;
  prom::Family<prom::Gauge>& projection_rebuilding;
  prom::Family<prom::Counter>& projection_skipped;
  prom::Family<prom::Gauge>& projection_lag;
  std::mutex refresh_mu;
};

Metrics::Metrics(storage::EventStore* store,
                 const projections::Runner* projections,
                 const TenantLimits* limits)
    : impl_(std::make_unique<Impl>(store, projections, limits)) {}

Metrics::~Metrics() = default;

void Metrics::ObserveRequest(const std::optional<Endpoint>& route,
                             unsigned status, double seconds) {
  const size_t index = RouteIndex(route);
  impl_->RequestCounter(index, status).Increment();
  impl_->route_seconds[index]->Observe(seconds);
}

void Metrics::ObserveAppend(const storage::WriteOutcome& outcome,
                            uint64_t events, uint64_t bytes, double seconds) {
  impl_->append_seconds.Observe(seconds);
  if (outcome.status.ok()) {
    if (outcome.duplicate) {
      impl_->duplicates.Increment();
    } else {
      impl_->events_appended.Increment(static_cast<double>(events));
      impl_->bytes_appended.Increment(static_cast<double>(bytes));
    }
  } else if (outcome.status.IsWrongExpectedVersion()) {
    impl_->conflicts.Increment();
  }
}

void Metrics::ObserveBackup(bool ok, double seconds, int64_t created_us) {
  if (!ok) {
    impl_->backups_failed.Increment();
    return;
  }
  impl_->backups_ok.Increment();
  impl_->backup_seconds.Set(seconds);
  impl_->backup_time.Set(static_cast<double>(created_us) / 1e6);
}

void Metrics::ConnectionOpened() { impl_->connections.Increment(); }

void Metrics::ConnectionClosed() { impl_->connections.Decrement(); }

std::string Metrics::Render() {
  impl_->Refresh();
  std::vector<prom::MetricFamily> families = impl_->registry->Collect();
  if (impl_->store != nullptr) {
    AddStoreFamilies(impl_->store->Stats(), &families);
  }
  if (impl_->limits != nullptr) AddLimitFamilies(*impl_->limits, &families);
  return prom::TextSerializer().Serialize(families);
}

}  // namespace cairn::server
