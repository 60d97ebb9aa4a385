#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/json_text.h"  // AppendJsonString

namespace boost::json {
class value;
}

namespace cairn::server {

void AppendUint(std::string* out, uint64_t v);
void AppendInt(std::string* out, int64_t v);

// A double in the shortest form that reads back the same (not Boost.JSON's
// "7.5E-1"). False, writing null, for an infinity or a NaN, which JSON has
// not: Boost.JSON 1.81 reads 1e400 as an infinity.
bool AppendDouble(std::string* out, double v);

// The number, or null when there is none.
void AppendOptionalUint(std::string* out, std::optional<uint64_t> v);

// Appends microseconds since the epoch as RFC 3339 UTC with 6 decimals,
// quotes included: "2026-11-25T02:44:32.123456Z".
void AppendTimestamp(std::string* out, int64_t micros);

// Compact JSON of a parsed value. Numbers keep their kind: integers as
// written, doubles as AppendDouble. Recursion is bounded by the parser's
// max_depth. False when the value held a number beyond a double's range,
// written as null.
bool AppendCompactJson(std::string* out, const boost::json::value& v);

}  // namespace cairn::server
