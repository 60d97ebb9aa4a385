#pragma once

#include <memory>
#include <string>

#include "projections/runner.h"
#include "protocol/result.h"
#include "server/auth/jwt.h"
#include "server/config.h"
#include "storage/event_store.h"

namespace cairn::server {

// cairnd's HTTP/1.1 server: a listener and one coroutine per connection on
// one of Config::io_threads event loops, each run by a thread of its own.
class HttpServer {
 public:
  // Binds the listen address (port 0 picks a free port). `verifier` checks
  // bearer tokens (null in dev mode) and must outlive the server.
  static Result<std::unique_ptr<HttpServer>> Create(
      const Config& config, storage::EventStore* store,
      projections::Runner* projections, auth::JwtVerifier* verifier);
  virtual ~HttpServer() = default;

  // The address bound, e.g. "127.0.0.1:41235".
  virtual std::string BoundAddress() const = 0;

  // Serves until SIGTERM or SIGINT, then drains: stops accepting, finishes
  // the requests already read (later ones get 503), waits up to the grace
  // period for connections to end, and returns. SIGHUP reloads the JWT
  // keys (JwtVerifier::Reload) and logs the outcome. Blocks the caller.
  virtual void Run() = 0;
};

}  // namespace cairn::server
