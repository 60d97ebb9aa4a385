#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace cairn {

// A 128-bit RFC 9562 UUID, as two big-endian halves so that the byte order
// of the text is the order of the value.
struct Uuid {
  uint64_t hi = 0;
  uint64_t lo = 0;

  auto operator<=>(const Uuid&) const = default;

  // A new version-7 UUID: 48 bits of Unix milliseconds, a 12-bit counter,
  // then random bits. Each is greater than every one this process made
  // before. Thread-safe.
  static Uuid NewV7();
  // The id after this one in a run the server makes for the events at
  // consecutive positions of one commit: the same first half, rand_b
  // counting up by one (RFC 9562 6.2, method 2). NewV7 leaves room for
  // 2^61 of them; the store keeps a run as one entry.
  Uuid NextInRun() const { return {hi, lo + 1}; }

  // Parses the canonical 8-4-4-4-12 hex form, either case. Nothing else.
  static std::optional<Uuid> Parse(std::string_view text);

  // The canonical form in lower case, 36 characters.
  std::string ToString() const;
  // Writes the 36 characters at out. REQUIRES: out has room for 36.
  void FormatTo(char* out) const;
};

}  // namespace cairn
