#include "server/trace_context.h"

#include <random>

namespace cairn::server {
namespace {

bool IsLowerHex(std::string_view s) {
  for (char c : s) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

bool AllZero(std::string_view s) {
  return s.find_first_not_of('0') == std::string_view::npos;
}

std::string RandomHex(size_t digits) {
  // Per-thread generator state, not request context.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  static constexpr char kHex[] = "0123456789abcdef";
  std::string s(digits, '0');
  uint64_t bits = 0;
  for (size_t i = 0; i < digits; ++i) {
    if (i % 16 == 0) {
      do bits = rng();
      while (i == 0 && bits == 0);
    }
    s[i] = kHex[bits & 0xF];
    bits >>= 4;
  }
  return s;
}

}  // namespace

TraceContext TraceContext::FromHeader(std::string_view h) {
  TraceContext t;
  // 00-<32 hex>-<16 hex>-<2 hex>
  const bool valid =
      h.size() == 55 && h.substr(0, 3) == "00-" && h[35] == '-' &&
      h[52] == '-' && IsLowerHex(h.substr(3, 32)) &&
      IsLowerHex(h.substr(36, 16)) && IsLowerHex(h.substr(53, 2)) &&
      !AllZero(h.substr(3, 32)) && !AllZero(h.substr(36, 16));
  if (valid) {
    t.trace_id = std::string(h.substr(3, 32));
    t.sampled = (std::stoi(std::string(h.substr(53, 2)), nullptr, 16) & 1) != 0;
  } else {
    t.trace_id = RandomHex(32);
  }
  t.span_id = RandomHex(16);
  return t;
}

std::string TraceContext::ToHeader() const {
  return "00-" + trace_id + "-" + span_id + (sampled ? "-01" : "-00");
}

}  // namespace cairn::server
