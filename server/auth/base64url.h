#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace cairn::server::auth {

// Decodes base64url without padding (RFC 4648 §5), as JWS and JWK write it.
// nullopt for a character outside the alphabet (padding included), a length
// no encoding has, or non-zero unused bits in the last character: only the
// one canonical spelling of some bytes decodes, so a token cannot be varied
// without changing its bytes.
std::optional<std::string> Base64UrlDecode(std::string_view in);

// Encodes base64url without padding: the one spelling Base64UrlDecode takes.
std::string Base64UrlEncode(std::string_view in);

}  // namespace cairn::server::auth
