#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "protocol/result.h"
#include "server/tenant_limits.h"

namespace cairn::server {

// A response body produced piece by piece (NDJSON reads): Read(index)
// runs on a reader thread and returns chunk `index` (0, 1, 2, ...), or none
// past the end. A failure after the first chunk ends the response early
// (the status is already sent), so sources fail before their first chunk
// wherever they can.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  virtual Result<std::optional<std::string>> Read(size_t index) = 0;
  // False (the default): each chunk may depend on the one before (a page
  // starts where the last one ended), so Read is called one at a time, in
  // order. True: every chunk is a fixed range that Read finds from its
  // index alone, safe to call from several threads at once, so chunks are
  // read in parallel.
  virtual bool Independent() const { return false; }
};

struct SubscriptionSpec;  // server/subscription.h

// A response body that is a subscription (follow=true, SSE): the session
// runs it, framing each event as a line or an SSE event.
struct SubscriptionBody {
  enum class Format { kNdjson, kSse };
  Format format = Format::kNdjson;
  std::shared_ptr<SubscriptionSpec> spec;
  // The tenant's place among its open subscriptions, held until the
  // subscription ends.
  TenantLimits::SubscriptionSlot slot;
};

// What a handler answers; the session turns it into HTTP/1.1 (server/
// http_server.cc is the only place that knows Beast).
struct HttpResponse {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  std::shared_ptr<ChunkSource> stream;  // when set, replaces body (chunked)
  std::optional<SubscriptionBody> subscription;  // or this, chunked
};

}  // namespace cairn::server
