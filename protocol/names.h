#pragma once

#include <string_view>

#include "protocol/status.h"

namespace cairn {

inline constexpr size_t kMaxStreamIdBytes = 256;
inline constexpr size_t kMaxEventTypeBytes = 256;
inline constexpr size_t kMaxTenantBytes = 256;

// The rules for names that clients choose. Each returns InvalidArgument with
// a message that says what is wrong, or Ok.

// 1..256 bytes of valid UTF-8 without control characters (C0, DEL, C1).
Status ValidateStreamId(std::string_view stream);
// 1..256 printable ASCII bytes (0x20..0x7E).
Status ValidateEventType(std::string_view type);
// A tenant (organisation) name: the same rules as a stream id.
Status ValidateTenant(std::string_view tenant);

// The part of a stream id before its first '-'; the whole id if none.
std::string_view CategoryOf(std::string_view stream);

// True when text is well-formed UTF-8 (no overlongs, surrogates or values
// past U+10FFFF).
bool IsValidUtf8(std::string_view text);

}  // namespace cairn
