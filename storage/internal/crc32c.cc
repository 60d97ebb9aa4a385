#include "storage/internal/crc32c.h"

#include <nmmintrin.h>

#include <array>
#include <cstring>

namespace rocksdb::crc32c {
namespace {

// CRC-32C's polynomial, bit-reversed (as the crc32 instruction uses it).
constexpr uint32_t kPolynomial = 0x82F63B78;

constexpr std::array<uint32_t, 256> MakeTable() {
  std::array<uint32_t, 256> table{};
  for (uint32_t i = 0; i < 256; ++i) {
    uint32_t c = i;
    for (int bit = 0; bit < 8; ++bit) {
      c = (c >> 1) ^ ((c & 1) ? kPolynomial : 0);
    }
    table[i] = c;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kTable = MakeTable();

// Both take and return the register, not the CRC (no pre- or
// post-inversion).
uint32_t ExtendByTable(uint32_t crc, const unsigned char* p, size_t n) {
  for (size_t i = 0; i < n; ++i) crc = kTable[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
  return crc;
}

__attribute__((target("sse4.2"))) uint32_t ExtendBySse42(uint32_t crc,
                                                         const unsigned char* p,
                                                         size_t n) {
  uint64_t c = crc;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);  // unaligned, little-endian as the CRC wants
    c = _mm_crc32_u64(c, word);
  }
  auto c32 = static_cast<uint32_t>(c);
  for (; n > 0; --n, ++p) c32 = _mm_crc32_u8(c32, *p);
  return c32;
}

bool HasSse42() {
  static const bool has = __builtin_cpu_supports("sse4.2");
  return has;
}

// GF(2) 32x32 matrices as 32 columns: the linear map of the CRC register
// over some number of zero bits.
using Matrix = std::array<uint32_t, 32>;

uint32_t Times(const Matrix& m, uint32_t v) {
  uint32_t sum = 0;
  for (int i = 0; v != 0; ++i, v >>= 1) {
    if (v & 1) sum ^= m[i];
  }
  return sum;
}

Matrix Square(const Matrix& m) {
  Matrix out;
  for (int i = 0; i < 32; ++i) out[i] = Times(m, m[i]);
  return out;
}

}  // namespace

std::string IsFastCrc32Supported() {
  return HasSse42() ? "Supported on x86 (SSE4.2, Cairn's storage/internal)"
                    : "Not supported on x86 (Cairn's table)";
}

uint32_t Extend(uint32_t init_crc, const char* data, size_t n) {
  const auto* p = reinterpret_cast<const unsigned char*>(data);
  const uint32_t reg = init_crc ^ 0xFFFFFFFFu;
  return (HasSse42() ? ExtendBySse42(reg, p, n) : ExtendByTable(reg, p, n)) ^
         0xFFFFFFFFu;
}

uint32_t Crc32cCombine(uint32_t crc1, uint32_t crc2, size_t crc2len) {
  // CRC(A B) = CRC(A) carried over len(B) zero bytes, xor CRC(B): the
  // inversions before and after cancel out (as in zlib's crc32_combine).
  // The WAL's writer calls this for every record it writes, so the maps
  // over 2^k zero bytes are made once; the bits of crc2len pick which.
  static const std::array<Matrix, 64> kZeroBytes = [] {
    Matrix bit;  // over one zero bit
    bit[0] = kPolynomial;
    for (int i = 1; i < 32; ++i) bit[i] = uint32_t{1} << (i - 1);
    std::array<Matrix, 64> powers;
    powers[0] = Square(Square(Square(bit)));  // one zero byte
    for (size_t k = 1; k < powers.size(); ++k) {
      powers[k] = Square(powers[k - 1]);
    }
    return powers;
  }();
  for (size_t k = 0; crc2len != 0; ++k, crc2len >>= 1) {
    if (crc2len & 1) crc1 = Times(kZeroBytes[k], crc1);
  }
  return crc1 ^ crc2;
}

}  // namespace rocksdb::crc32c

namespace cairn::storage {

bool Crc32cChecks() {
  return rocksdb::crc32c::Extend(0, "123456789", 9) == 0xE3069283;
}

uint32_t Crc32cByTable(const char* data, size_t n) {
  return rocksdb::crc32c::ExtendByTable(
             0xFFFFFFFFu, reinterpret_cast<const unsigned char*>(data), n) ^
         0xFFFFFFFFu;
}

}  // namespace cairn::storage
