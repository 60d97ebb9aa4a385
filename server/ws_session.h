#pragma once

// `GET /v1/ws`: a WebSocket connection carrying subscriptions (API.md,
// "Subscribing"). Beast's websocket lives in ws_session.cc alone.

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "projections/runner.h"
#include "server/auth/jwt.h"
#include "server/config.h"
#include "server/tenant_limits.h"
#include "storage/event_store.h"

namespace cairn::server {

class StopRegistry;

using UpgradeRequest =
    boost::beast::http::request<boost::beast::http::string_body>;

// A WebSocket upgrade (RFC 6455 4.1), whatever its path.
bool IsWebSocketUpgrade(const UpgradeRequest& request);

struct WebSocketContext {
  storage::EventStore* store;
  projections::Runner* projections;
  boost::asio::any_io_executor readers;
  const Config* config;
  StopRegistry* stops;  // shutdown closes sessions with "going away"
  const auth::JwtVerifier* verifier;  // null in dev mode
  TenantLimits* limits;               // open subscriptions per tenant
};

// Accepts the upgrade on `stream` and serves the connection until either
// side closes it.
boost::asio::awaitable<void> RunWebSocket(boost::beast::tcp_stream stream,
                                          UpgradeRequest request,
                                          WebSocketContext context);

}  // namespace cairn::server
