// Bearer tokens (server/auth/jwt.h) under a verifier of an HS256 secret and
// a JWKS of an RS256 and an ES256 key (jwt_fixture.h). The input is tried
// as a whole token, and as the claims and as the header of a token signed
// with the secret, so that the checks behind the signature are reached too;
// and as bytes and text for base64url (server/auth/base64url.h).
//
// A token that verifies must say what its claims say, verify again from the
// cache, and be refused once expired.

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "server/auth/base64url.h"
#include "server/auth/jwt.h"
#include "tests/fuzz/fuzz_check.h"
#include "tests/fuzz/jwt_fixture.h"

namespace {

namespace json = boost::json;
using cairn::Result;
using cairn::fuzz::kNow;
using cairn::server::auth::Base64UrlDecode;
using cairn::server::auth::Principal;

// A header and claims that verify under the fixture's options.
constexpr std::string_view kHeader = R"({"alg":"HS256","typ":"JWT"})";
constexpr std::string_view kClaims =
    R"({"iss":"https://issuer.example","aud":"cairn","sub":"user-1",)"
    R"("orgId":"org-1","scope":"events:read admin","exp":1800003600})";

const cairn::server::auth::JwtVerifier& Verifier() {
  static const auto* verifier = cairn::fuzz::MakeVerifier().release();
  return *verifier;
}

// A segment of a token that verified, as JSON.
json::object Segment(std::string_view token, size_t index) {
  size_t begin = 0;
  for (size_t i = 0; i < index; ++i) begin = token.find('.', begin) + 1;
  const size_t end = token.find('.', begin);
  const std::optional<std::string> text = Base64UrlDecode(
      token.substr(begin, end == std::string_view::npos ? end : end - begin));
  FUZZ_CHECK(text.has_value());
  boost::system::error_code ec;
  json::value value = json::parse(*text, ec);
  FUZZ_CHECK(!ec && value.is_object());
  return std::move(value.get_object());
}

bool HasAudience(const json::value* aud) {
  if (aud == nullptr) return false;
  if (aud->is_string()) return aud->get_string() == cairn::fuzz::kAudience;
  if (!aud->is_array()) return false;
  for (const json::value& a : aud->get_array()) {
    if (a.is_string() && a.get_string() == cairn::fuzz::kAudience) return true;
  }
  return false;
}

// What a verified token's claims must say of its principal.
void CheckClaims(std::string_view token, const Principal& p) {
  const json::object header = Segment(token, 0);
  const json::value* alg = header.if_contains("alg");
  FUZZ_CHECK(alg != nullptr && alg->is_string());
  FUZZ_CHECK(*alg == "HS256" || *alg == "RS256" || *alg == "ES256");
  FUZZ_CHECK(!header.contains("crit"));

  const json::object claims = Segment(token, 1);
  const json::value* tenant = claims.if_contains("orgId");
  const json::value* sub = claims.if_contains("sub");
  const json::value* iss = claims.if_contains("iss");
  FUZZ_CHECK(tenant != nullptr && tenant->is_string() &&
             tenant->get_string() == p.tenant);
  FUZZ_CHECK(sub != nullptr && sub->is_string() &&
             sub->get_string() == p.subject);
  FUZZ_CHECK(iss != nullptr && iss->is_string() &&
             iss->get_string() == cairn::fuzz::kIssuer);
  FUZZ_CHECK(HasAudience(claims.if_contains("aud")));
  FUZZ_CHECK(claims.contains("exp"));
  FUZZ_CHECK(!p.tenant.empty() && !p.subject.empty());
}

void CheckToken(std::string_view token) {
  const auto& verifier = Verifier();
  const Result<Principal> first = verifier.Verify(token, kNow);
  // Verified afresh or from the cache, the answer is the same.
  const Result<Principal> again = verifier.Verify(token, kNow);
  FUZZ_CHECK(first.has_value() == again.has_value());
  if (!first.has_value()) {
    FUZZ_CHECK(first.error().IsUnauthenticated());
    FUZZ_CHECK(again.error().message() == first.error().message());
    return;
  }
  FUZZ_CHECK(token.size() <= cairn::server::auth::kMaxTokenBytes);
  FUZZ_CHECK(again->tenant == first->tenant);
  FUZZ_CHECK(again->subject == first->subject);
  FUZZ_CHECK(again->scopes == first->scopes);
  FUZZ_CHECK(again->expires_at == first->expires_at);
  FUZZ_CHECK(kNow < first->expires_at + cairn::fuzz::kLeewaySeconds);
  CheckClaims(token, *first);
  // Cached, and refused all the same from exp + leeway on.
  FUZZ_CHECK(
      !verifier.Verify(token, first->expires_at + cairn::fuzz::kLeewaySeconds)
           .has_value());
}

// Only the one canonical spelling of some bytes decodes, and decoding
// undoes encoding.
void CheckBase64(std::string_view input) {
  const std::optional<std::string> round =
      Base64UrlDecode(cairn::fuzz::Base64UrlEncode(input));
  FUZZ_CHECK(round.has_value() && *round == input);
  if (const std::optional<std::string> bytes = Base64UrlDecode(input)) {
    FUZZ_CHECK(cairn::fuzz::Base64UrlEncode(*bytes) == input);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  CheckBase64(input);
  CheckToken(input);
  CheckToken(cairn::fuzz::MintHs256(kHeader, input));
  CheckToken(cairn::fuzz::MintHs256(input, kClaims));
  return 0;
}
