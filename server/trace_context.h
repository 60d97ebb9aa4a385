#pragma once

#include <string>
#include <string_view>

namespace cairn::server {

// W3C Trace Context for one request: the trace it belongs to and the span
// the server opens for it.
struct TraceContext {
  std::string trace_id;  // 32 lower-case hex digits, not all zero
  std::string span_id;   // 16 lower-case hex digits, not all zero
  bool sampled = false;

  // Continues a valid `traceparent` (version 00), else starts a new trace.
  static TraceContext FromHeader(std::string_view traceparent);
  // "00-<trace>-<span>-0x": the value to send back.
  std::string ToHeader() const;
};

}  // namespace cairn::server
