#include "protocol/uuid.h"

#include <algorithm>
#include <atomic>
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
  // rand_a is a counter within the millisecond (RFC 9562 6.2, method 1),
  // shared by all threads, so ids made by this process only ever grow:
  // the event id index then takes them in order, like the log. Past 4,096
  // ids in one millisecond the counter borrows the next millisecond.
  static std::atomic<uint64_t> last_hi{0};
  // Per-thread generator state for the random bits, not request context.
  thread_local std::mt19937_64 rng{std::random_device{}()};
  const uint64_t ms = static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
  // unix_ts_ms (48) | ver (4) = 7 | counter (12)
  const uint64_t floor = (ms << 16) | (uint64_t{0x7} << 12);
  uint64_t prev = last_hi.load(std::memory_order_relaxed);
  uint64_t hi;
  do {
    hi = std::max(floor, prev + 1);
    if ((hi & 0xF000) != 0x7000) {  // the counter overflowed into ver
      hi = (((prev >> 16) + 1) << 16) | (uint64_t{0x7} << 12);
    }
  } while (!last_hi.compare_exchange_weak(prev, hi, std::memory_order_relaxed));
  Uuid u;
  u.hi = hi;
  // var (2) = 0b10 | rand_b (62), its top bit clear: room for NextInRun
  u.lo = (uint64_t{0x2} << 62) | (rng() & 0x1FFFFFFFFFFFFFFFull);
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
  // Byte by byte, each to its two hex digits; dashes after bytes 4, 6, 8
  // and 10 (8-4-4-4-12).
  static constexpr char kHex[] = "0123456789abcdef";
  size_t at = 0;
  for (int i = 0; i < 16; ++i) {
    if (i == 4 || i == 6 || i == 8 || i == 10) out[at++] = '-';
    const uint64_t half = i < 8 ? hi : lo;
    const auto byte = static_cast<unsigned>(half >> (56 - 8 * (i % 8))) & 0xFF;
    out[at++] = kHex[byte >> 4];
    out[at++] = kHex[byte & 0xF];
  }
}

std::string Uuid::ToString() const {
  std::string s(36, '\0');
  FormatTo(s.data());
  return s;
}

}  // namespace cairn
