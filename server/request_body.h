#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "protocol/result.h"
#include "storage/event_store.h"

namespace cairn::server {

// Who is asking and under which trace: stamped into each event's context.
struct Caller {
  std::string tenant;
  std::string principal;
  std::string trace_id;
};

struct BodyLimits {
  // Bounds one event's type, data and metadata together, measured in their
  // compact form (what is stored). Default: 1 MiB.
  size_t max_event_bytes = size_t{1} << 20;
};

// Nesting deeper than this is refused (400) rather than parsed.
inline constexpr size_t kMaxJsonDepth = 64;

// Parse and validate request bodies into storage requests, encoding each
// event's record here, on the request's thread, so that the sequencer only
// patches them. Errors: InvalidArgument (400) or TooLarge (413), with a
// message for the client.

// POST /v1/streams/{stream}/events. Read in one pass without a DOM
// (server/append_body_reader.h), or with ParseAppendBodyWithDom where that
// reader leaves the body to it.
Result<storage::AppendRequest> ParseAppendBody(std::string_view body,
                                               std::string_view stream,
                                               const Caller& caller,
                                               const BodyLimits& limits);

// The same through a Boost.JSON DOM: what the fuzzer checks ParseAppendBody
// against, and what the benchmark measures it beside.
Result<storage::AppendRequest> ParseAppendBodyWithDom(std::string_view body,
                                                      std::string_view stream,
                                                      const Caller& caller,
                                                      const BodyLimits& limits);

// POST /v1/transactions
Result<storage::AppendRequest> ParseTransactionBody(std::string_view body,
                                                    const Caller& caller,
                                                    const BodyLimits& limits);

// PUT /v1/streams/{stream}/metadata
Result<storage::StreamMetadata> ParseMetadataBody(std::string_view body);

// "any", "no_stream", "exists" or a revision number, as in a query string.
Result<storage::ExpectedRevision> ParseExpectedRevisionText(
    std::string_view text);

}  // namespace cairn::server
