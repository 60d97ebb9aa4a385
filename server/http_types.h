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

// A response body produced piece by piece (NDJSON reads): Next runs on a
// reader thread and returns the next chunk, or none at the end. A failure
// after the first chunk ends the response early (the status is already
// sent), so sources fail before their first chunk wherever they can.
class ChunkSource {
 public:
  virtual ~ChunkSource() = default;
  virtual Result<std::optional<std::string>> Next() = 0;
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
