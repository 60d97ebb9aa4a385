#pragma once

#include <atomic>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/thread_pool.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "projections/runner.h"
#include "server/auth/jwt.h"
#include "server/config.h"
#include "server/http_types.h"
#include "server/metrics.h"
#include "server/router.h"
#include "server/tenant_limits.h"
#include "server/trace_context.h"
#include "storage/event_store.h"

namespace cairn::server {

// The parts of a request the API looks at; views into the session's parser,
// valid until the response is written.
struct RequestHead {
  std::string_view method;
  std::string_view target;
  std::string_view content_type;
  std::string_view accept;
  std::string_view tenant;  // X-Cairn-Tenant
  std::string_view authorization;
  std::string_view traceparent;
  std::string_view last_event_id;  // SSE resume
  std::string_view if_none_match;
  std::optional<uint64_t> content_length;
  bool has_body = false;  // Content-Length > 0 or chunked
};

// A request routed and checked as far as it can be before its body is read.
struct PreparedRequest {
  Route route;
  TraceContext trace;
  // Who asks (server/auth/authorizer.h); empty for /healthz and /readyz.
  auth::Principal principal;
  // Set when the request is answered without its body (401, 403, 404,
  // 405, 413, 415);
  // the session then closes the connection if a body was coming.
  std::optional<HttpResponse> early;
};

// The HTTP API of cairnd: maps requests to the store and answers. Knows
// nothing of sockets or Beast, so it is tested with plain values.
// Thread-safe; Handle runs on the connection's loop and sends storage
// work to the sequencer and the reader pool, and backups to a thread of
// their own.
class Api {
 public:
  // `verifier` checks bearer tokens when not in dev mode (null: every /v1
  // request is 401); it must outlive the Api, as must `limits` (appends
  // and subscriptions per tenant) and `metrics` (null: none, and /metrics
  // answers 404).
  Api(storage::EventStore* store, projections::Runner* projections,
      boost::asio::any_io_executor readers, const Config& config,
      const auth::JwtVerifier* verifier, TenantLimits* limits,
      Metrics* metrics = nullptr);

  // Authenticates (401, 403 for another tenant), routes (404, 405),
  // authorizes the route (403), then checks size and type (413, 415), in
  // that order (API.md precedence).
  PreparedRequest Prepare(const RequestHead& head) const;

  boost::asio::awaitable<HttpResponse> Handle(const PreparedRequest& prepared,
                                              const RequestHead& head,
                                              std::string body);

  storage::EventStore* store() const { return store_; }
  projections::Runner* projections() const { return projections_; }

  // After this, new requests are answered 503 and /readyz fails.
  void SetShuttingDown() { shutting_down_.store(true); }
  bool shutting_down() const { return shutting_down_.load(); }

 private:
  // None when the tenant's append rate admits `events` more; else 429.
  std::optional<HttpResponse> AdmitAppend(const std::string& tenant,
                                          uint64_t events,
                                          const std::string& trace) const;
  boost::asio::awaitable<HttpResponse> Append(const PreparedRequest& p,
                                              const std::string& tenant,
                                              std::string_view body);
  boost::asio::awaitable<HttpResponse> Transaction(const PreparedRequest& p,
                                                   const std::string& tenant,
                                                   std::string_view body);
  boost::asio::awaitable<HttpResponse> ReadStream(const PreparedRequest& p,
                                                  const std::string& tenant,
                                                  bool ndjson);
  boost::asio::awaitable<HttpResponse> ReadLog(const PreparedRequest& p,
                                               const std::string& tenant,
                                               bool ndjson);
  // A read that is a subscription: follow=true, or SSE.
  boost::asio::awaitable<HttpResponse> Subscribe(const PreparedRequest& p,
                                                 const RequestHead& head,
                                                 const std::string& tenant,
                                                 bool sse, bool follow);
  boost::asio::awaitable<HttpResponse> ReadModel(const PreparedRequest& p,
                                                 const RequestHead& head,
                                                 const std::string& tenant);
  boost::asio::awaitable<HttpResponse> ListProjections(
      const PreparedRequest& p, const std::string& tenant);
  boost::asio::awaitable<HttpResponse> StreamInfo(const PreparedRequest& p,
                                                  const std::string& tenant);
  boost::asio::awaitable<HttpResponse> ListStreams(const PreparedRequest& p,
                                                   const std::string& tenant);
  boost::asio::awaitable<HttpResponse> DeleteStream(const PreparedRequest& p,
                                                    const std::string& tenant);
  boost::asio::awaitable<HttpResponse> SetMetadata(const PreparedRequest& p,
                                                   const std::string& tenant,
                                                   std::string_view body);
  boost::asio::awaitable<HttpResponse> CreateBackup(const PreparedRequest& p,
                                                    const std::string& tenant);
  boost::asio::awaitable<HttpResponse> ListBackups(const PreparedRequest& p);

  storage::EventStore* const store_;
  projections::Runner* const projections_;
  const boost::asio::any_io_executor readers_;
  const Config config_;
  const auth::JwtVerifier* const verifier_;
  TenantLimits* const limits_;
  Metrics* const metrics_;
  std::atomic<bool> shutting_down_{false};
  // Backups copy the whole store, for minutes on a large one: on a reader
  // thread they would take it from reads for as long. One thread, so they
  // queue here (each incremental on the one before) rather than in
  // storage. Last: joined first, while what a backup uses still exists
  // (the store is closed before, which stops a backup in progress).
  boost::asio::thread_pool backups_{1};
};

}  // namespace cairn::server
