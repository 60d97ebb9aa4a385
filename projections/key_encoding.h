#pragma once

// Fixed-width big-endian integers in projections' keys, so that RocksDB's
// byte order of the keys is the numeric order of the integers.

#include <cstdint>
#include <string>
#include <string_view>

namespace cairn::projections {

// Appends the low `bytes` bytes of `v`, most significant first.
inline void PutBigEndian(std::string* out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) {
    out->push_back(static_cast<char>((v >> (8 * i)) & 0xff));
  }
}

// REQUIRES: in.size() >= bytes.
inline uint64_t GetBigEndian(std::string_view in, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    v = (v << 8) | static_cast<unsigned char>(in[i]);
  }
  return v;
}

}  // namespace cairn::projections
