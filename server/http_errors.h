#pragma once

#include <string>
#include <string_view>

#include "protocol/status.h"
#include "server/http_types.h"

namespace cairn::server {

// The one place a Status becomes an HTTP status.
unsigned HttpStatusOf(const Status& status);

// An RFC 9457 application/problem+json response. `extra` holds more members
// as JSON text, each preceded by a comma (",\"actualRevision\":3").
HttpResponse Problem(unsigned status, std::string_view detail,
                     std::string_view trace_id, std::string_view extra = "");

// Problem(HttpStatusOf(status), status.message(), ...).
HttpResponse ProblemFromStatus(const Status& status, std::string_view trace_id,
                               std::string_view extra = "");

}  // namespace cairn::server
