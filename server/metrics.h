#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "projections/runner.h"
#include "server/router.h"
#include "server/tenant_limits.h"
#include "storage/event_store.h"

namespace cairn::server {

// cairnd's metrics probe (STYLE.md, "Metrics"): one Prometheus registry whose
// families are registered once, in the constructor; the hot paths below
// update cached handles. Labels take only bounded values (route names,
// status codes, projection names): never a tenant, stream or event type.
// Thread-safe.
class Metrics {
 public:
  // `store`, `projections` and `limits` (any may be null) are read at
  // scrape time; they must outlive the probe.
  Metrics(storage::EventStore* store, const projections::Runner* projections,
          const TenantLimits* limits = nullptr);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  // One HTTP response: `route` is the matched endpoint (none: no route
  // matched), `status` its HTTP status, `seconds` from the header read to
  // the response's start.
  void ObserveRequest(const std::optional<Endpoint>& route, unsigned status,
                      double seconds);

  // One append (or transaction) answered by the store: `events` and
  // `bytes` (record bytes) proposed, `seconds` from the request to the
  // store's answer.
  void ObserveAppend(const storage::WriteOutcome& outcome, uint64_t events,
                     uint64_t bytes, double seconds);

  // One backup asked for over HTTP: taken or not, and for one taken, how
  // long it took and when (µs since the Unix epoch).
  void ObserveBackup(bool ok, double seconds, int64_t created_us);

  void ConnectionOpened();
  void ConnectionClosed();
  // The registry in Prometheus text format (version 0.0.4). Reads
  // projection checkpoints: run it on a reader thread, not an I/O thread.
  std::string Render();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace cairn::server
