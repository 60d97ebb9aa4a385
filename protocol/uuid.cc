#include "protocol/uuid.h"

#include <chrono>
#include <random>

namespace cairn {
namespace {

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

constexpr bool IsDashIndex(size_t i) {
  return i == 8 || i == 13 || i == 18 || i == 23;
}

}  // namespace

Uuid Uuid::NewV7() {
  // One generator per thread, seeded from the OS; the state is not request
  // context, so a thread_local is fine here.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  const uint64_t r1 = rng();
  const uint64_t r2 = rng();
  Uuid u;
  // unix_ts_ms (48) | ver (4) = 7 | rand_a (12)
  u.hi = (ms << 16) | (uint64_t{0x7} << 12) | (r1 & 0x0FFF);
  // var (2) = 0b10 | rand_b (62)
  u.lo = (uint64_t{0x2} << 62) | (r2 & 0x3FFFFFFFFFFFFFFFull);
  return u;
}

std::optional<Uuid> Uuid::Parse(std::string_view text) {
  if (text.size() != 36) return std::nullopt;
  uint64_t halves[2] = {0, 0};
  int nibbles = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (IsDashIndex(i)) {
      if (text[i] != '-') return std::nullopt;
      continue;
    }
    const int v = HexValue(text[i]);
    if (v < 0) return std::nullopt;
    uint64_t& half = halves[nibbles / 16];
    half = (half << 4) | static_cast<uint64_t>(v);
    ++nibbles;
  }
  return Uuid{halves[0], halves[1]};
}

void Uuid::FormatTo(char* out) const {
  static constexpr char kHex[] = "0123456789abcdef";
  int nibble = 0;
  for (size_t i = 0; i < 36; ++i) {
    if (IsDashIndex(i)) {
      out[i] = '-';
      continue;
    }
    const uint64_t half = nibble < 16 ? hi : lo;
    const int shift = 60 - 4 * (nibble % 16);
    out[i] = kHex[(half >> shift) & 0xF];
    ++nibble;
  }
}

std::string Uuid::ToString() const {
  std::string s(36, '\0');
  FormatTo(s.data());
  return s;
}

}  // namespace cairn
