#include "server/auth/base64url.h"

#include <cstdint>

namespace cairn::server::auth {
namespace {

// The 6-bit value of a base64url character, or -1.
int SextetOf(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '-') return 62;
  if (c == '_') return 63;
  return -1;
}

constexpr char kAlphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

}  // namespace

std::optional<std::string> Base64UrlDecode(std::string_view in) {
  // Every 4 characters carry 3 bytes; a tail of 2 or 3 carries 1 or 2.
  if (in.size() % 4 == 1) return std::nullopt;
  std::string out;
  out.reserve(in.size() / 4 * 3 + 2);
  uint32_t acc = 0;  // the bits not yet written out, at most 12 of them
  int bits = 0;
  for (char c : in) {
    const int sextet = SextetOf(c);
    if (sextet < 0) return std::nullopt;
    acc = ((acc << 6) | static_cast<uint32_t>(sextet)) & 0xfff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xff));
    }
  }
  if ((acc & ((1u << bits) - 1)) != 0) return std::nullopt;
  return out;
}

std::string Base64UrlEncode(std::string_view in) {
  std::string out;
  out.reserve((in.size() * 4 + 2) / 3);
  uint32_t acc = 0;  // the bits not yet written out, at most 14 of them
  int bits = 0;
  for (char c : in) {
    acc = ((acc << 8) | static_cast<unsigned char>(c)) & 0x3fff;
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(acc >> bits) & 0x3f]);
    }
  }
  // The last 2 or 4 bits, padded with zeros to a sextet.
  if (bits > 0) out.push_back(kAlphabet[(acc << (6 - bits)) & 0x3f]);
  return out;
}

}  // namespace cairn::server::auth
