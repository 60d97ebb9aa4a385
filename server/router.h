#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cairn::server {

enum class Endpoint {
  kHealthz,         // GET /healthz
  kReadyz,          // GET /readyz
  kMetrics,         // GET /metrics
  kStreamEvents,    // GET, POST /v1/streams/{stream}/events
  kStream,          // GET, DELETE /v1/streams/{stream}
  kStreamMetadata,  // PUT /v1/streams/{stream}/metadata
  kStreams,         // GET /v1/streams
  kLog,             // GET /v1/events
  kTransactions,    // POST /v1/transactions
  kReadModel,       // GET /v1/read-models/{projection}/{key}
  kProjections,     // GET /v1/projections
  kRebuild,         // POST /v1/projections/{projection}/rebuild
  kOpenApi,         // GET /v1/openapi.json (docs/openapi.json)
  kBackups,         // GET, POST /v1/admin/backups
};

struct Route {
  enum class Outcome { kOk, kNotFound, kMethodNotAllowed, kBadTarget };
  Outcome outcome = Outcome::kNotFound;
  Endpoint endpoint = Endpoint::kHealthz;
  std::string stream;  // percent-decoded, not yet validated
  // kReadModel: percent-decoded.
  std::string projection;
  std::string key;
  std::string allow;  // for 405: the methods the path has
  // Percent-decoded query parameters, in order.
  std::vector<std::pair<std::string, std::string>> query;

  // The first value of a query parameter.
  std::optional<std::string_view> Param(std::string_view key) const;
};

// The endpoint's name for metrics: a bounded set, one per Endpoint
// ("stream_events", "healthz", ...), never a path parameter.
std::string_view EndpointName(Endpoint endpoint);

// Matches a request line's method and origin-form target. Pure: no I/O.
Route MatchRoute(std::string_view method, std::string_view target);

}  // namespace cairn::server
