#include "protocol/names.h"

#include <string>

namespace cairn {
namespace {

// Decodes one UTF-8 sequence at text[*i], advancing *i. Returns the code
// point, or -1 when the sequence is malformed.
int32_t DecodeUtf8(std::string_view text, size_t* i) {
  const auto byte = [&](size_t k) { return static_cast<uint8_t>(text[k]); };
  const uint8_t b0 = byte(*i);
  int len;
  int32_t cp;
  int32_t min;
  if (b0 < 0x80) {
    ++*i;
    return b0;
  } else if ((b0 & 0xE0) == 0xC0) {
    len = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    len = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    len = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return -1;
  }
  if (*i + len > text.size()) return -1;
  for (int k = 1; k < len; ++k) {
    const uint8_t b = byte(*i + k);
    if ((b & 0xC0) != 0x80) return -1;
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return -1;
  *i += len;
  return cp;
}

bool IsControl(int32_t cp) {
  return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

Status ValidateName(std::string_view what, std::string_view name,
                    size_t max_bytes) {
  if (name.empty()) {
    return Status::InvalidArgument(std::string(what) + " is empty");
  }
  if (name.size() > max_bytes) {
    return Status::InvalidArgument(std::string(what) + " is longer than " +
                                   std::to_string(max_bytes) + " bytes");
  }
  for (size_t i = 0; i < name.size();) {
    const int32_t cp = DecodeUtf8(name, &i);
    if (cp < 0) {
      return Status::InvalidArgument(std::string(what) + " is not valid UTF-8");
    }
    if (IsControl(cp)) {
      return Status::InvalidArgument(std::string(what) +
                                     " contains a control character");
    }
  }
  return Status::Ok();
}

}  // namespace

bool IsValidUtf8(std::string_view text) {
  for (size_t i = 0; i < text.size();) {
    if (DecodeUtf8(text, &i) < 0) return false;
  }
  return true;
}

Status ValidateStreamId(std::string_view stream) {
  return ValidateName("stream id", stream, kMaxStreamIdBytes);
}

Status ValidateTenant(std::string_view tenant) {
  return ValidateName("tenant", tenant, kMaxTenantBytes);
}

Status ValidateEventType(std::string_view type) {
  if (type.empty()) return Status::InvalidArgument("event type is empty");
  if (type.size() > kMaxEventTypeBytes) {
    return Status::InvalidArgument("event type is longer than 256 bytes");
  }
  for (const char c : type) {
    if (c < 0x20 || c > 0x7E) {
      return Status::InvalidArgument(
          "event type must be printable ASCII (0x20..0x7E)");
    }
  }
  return Status::Ok();
}

std::string_view CategoryOf(std::string_view stream) {
  const size_t dash = stream.find('-');
  return dash == std::string_view::npos ? stream : stream.substr(0, dash);
}

}  // namespace cairn
