#include "server/auth/jwt.h"

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <jwt/jwt.hpp>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "server/auth/base64url.h"
#include "server/auth/keys.h"
#include "server/http_errors.h"
#include "tests/support/jwt_tokens.h"
#include "tests/support/temp_dir.h"

namespace cairn::server::auth {
namespace {

using testing::B64Url;
using testing::Jwks;
using testing::MakeEcKey;
using testing::MakeRsaKey;
using testing::TestKey;

constexpr int64_t kNow = 1'800'000'000;
constexpr std::string_view kSecret = "an HS256 test secret of 32+ bytes!";

void WriteFile(const std::filesystem::path& path, std::string_view text) {
  std::ofstream(path, std::ios::binary) << text;
}

// What a token minted by cpp-jwt says; the defaults verify under
// JwtVerifierTest::Options() at kNow.
struct Spec {
  std::string alg = "HS256";
  std::string key = std::string(kSecret);      // the secret, or a private PEM
  std::map<std::string, std::string> headers;  // kid, typ
  std::map<std::string, std::string> claims = {
      {"sub", "user-1"}, {"orgId", "acme"}, {"scope", "events:append"}};
  std::optional<int64_t> exp = kNow + 300;
  std::optional<int64_t> nbf;
  std::optional<std::vector<std::string>> aud_array;
};

std::string Mint(const Spec& spec) {
  jwt::jwt_object obj{jwt::params::algorithm(spec.alg),
                      jwt::params::secret(spec.key)};
  for (const auto& [name, value] : spec.headers) {
    obj.header().add_header(name, value);
  }
  for (const auto& [name, value] : spec.claims) obj.add_claim(name, value);
  if (spec.exp) obj.add_claim("exp", *spec.exp);
  if (spec.nbf) obj.add_claim("nbf", *spec.nbf);
  if (spec.aud_array) obj.add_claim("aud", *spec.aud_array);
  std::error_code ec;
  std::string token = obj.signature(ec);
  EXPECT_FALSE(ec) << ec.message();
  return token;
}

const std::string kClaimsJson = R"({"sub":"user-1","orgId":"acme","exp":)" +
                                std::to_string(kNow + 300) + "}";

// An HS256 token of exactly these header and payload bytes, MACed with
// OpenSSL's HMAC: for tokens cpp-jwt cannot be made to write.
std::string HandBuilt(std::string_view header_json,
                      std::string_view payload_json = kClaimsJson,
                      std::string_view secret = kSecret) {
  const std::string input = B64Url(header_json) + "." + B64Url(payload_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(input.data()), input.size(), mac,
       &len);
  return input + "." +
         B64Url(std::string_view(reinterpret_cast<char*>(mac), len));
}

// The token with one byte of its signature changed.
std::string FlipSignatureByte(std::string token) {
  const size_t at = token.rfind('.') + 5;  // a full sextet, not the tail
  token[at] = token[at] == 'A' ? 'B' : 'A';
  return token;
}

class JwtVerifierTest : public ::testing::Test {
 protected:
  // RSA key generation takes a while: once for all tests.
  static void SetUpTestSuite() {
    rsa_ = new TestKey(MakeRsaKey("rsa-1"));
    ec_ = new TestKey(MakeEcKey("ec-1"));
  }
  static void TearDownTestSuite() {
    delete rsa_;
    delete ec_;
  }

  void SetUp() override {
    WriteFile(secret_file_, std::string(kSecret) + "\n");
    WriteFile(jwks_file_, Jwks({rsa_->jwk, ec_->jwk}));
  }

  JwtOptions Options() const {
    JwtOptions options;
    options.secret_file = secret_file_.string();
    options.jwks_file = jwks_file_.string();
    return options;
  }

  static std::unique_ptr<JwtVerifier> Make(const JwtOptions& options) {
    Result<std::unique_ptr<JwtVerifier>> verifier =
        JwtVerifier::Create(options);
    EXPECT_TRUE(verifier.has_value()) << verifier.error().ToString();
    return verifier.has_value() ? std::move(*verifier) : nullptr;
  }

  // Why `token` is refused, or "" when it verifies.
  static std::string Refusal(const JwtVerifier& verifier,
                             std::string_view token, int64_t now = kNow) {
    Result<Principal> principal = verifier.Verify(token, now);
    if (principal.has_value()) return "";
    EXPECT_TRUE(principal.error().IsUnauthenticated())
        << principal.error().ToString();
    return principal.error().message();
  }

  static Spec Rs256() {
    Spec spec;
    spec.alg = "RS256";
    spec.key = rsa_->private_pem;
    spec.headers["kid"] = rsa_->kid;
    return spec;
  }
  static Spec Es256(const TestKey& key = *ec_) {
    Spec spec;
    spec.alg = "ES256";
    spec.key = key.private_pem;
    spec.headers["kid"] = key.kid;
    return spec;
  }

  static TestKey* rsa_;
  static TestKey* ec_;
  testing::TempDir dir_;
  const std::filesystem::path secret_file_ = dir_.path() / "secret";
  const std::filesystem::path jwks_file_ = dir_.path() / "jwks.json";
};

TestKey* JwtVerifierTest::rsa_ = nullptr;
TestKey* JwtVerifierTest::ec_ = nullptr;

TEST_F(JwtVerifierTest, Hs256TokenVerifies) {
  auto verifier = Make(Options());
  Result<Principal> principal = verifier->Verify(Mint(Spec()), kNow);
  ASSERT_TRUE(principal.has_value()) << principal.error().ToString();
  EXPECT_EQ(principal->tenant, "acme");
  EXPECT_EQ(principal->subject, "user-1");
  EXPECT_EQ(principal->expires_at, kNow + 300);
  EXPECT_TRUE(principal->scopes.Has(Scope::kEventsAppend));
  EXPECT_FALSE(principal->scopes.Has(Scope::kEventsRead));
}

TEST_F(JwtVerifierTest, Rs256TokenVerifies) {
  auto verifier = Make(Options());
  Result<Principal> principal = verifier->Verify(Mint(Rs256()), kNow);
  ASSERT_TRUE(principal.has_value()) << principal.error().ToString();
  EXPECT_EQ(principal->tenant, "acme");
  EXPECT_EQ(principal->subject, "user-1");
}

TEST_F(JwtVerifierTest, Es256TokenVerifies) {
  auto verifier = Make(Options());
  Result<Principal> principal = verifier->Verify(Mint(Es256()), kNow);
  ASSERT_TRUE(principal.has_value()) << principal.error().ToString();
  EXPECT_EQ(principal->tenant, "acme");
  EXPECT_EQ(principal->subject, "user-1");
}

TEST_F(JwtVerifierTest, ParsesScopes) {
  auto verifier = Make(Options());
  Spec spec;
  spec.claims["scope"] = "self events:read  read-models:read admin other:x";
  Result<Principal> principal = verifier->Verify(Mint(spec), kNow);
  ASSERT_TRUE(principal.has_value()) << principal.error().ToString();
  EXPECT_TRUE(principal->scopes.Has(Scope::kSelf));
  EXPECT_TRUE(principal->scopes.Has(Scope::kEventsRead));
  EXPECT_TRUE(principal->scopes.Has(Scope::kReadModelsRead));
  EXPECT_TRUE(principal->scopes.Has(Scope::kAdmin));
  EXPECT_FALSE(principal->scopes.Has(Scope::kEventsAppend));

  spec.claims.erase("scope");
  principal = verifier->Verify(Mint(spec), kNow);
  ASSERT_TRUE(principal.has_value()) << principal.error().ToString();
  EXPECT_TRUE(principal->scopes.empty());

  EXPECT_NE(Refusal(*verifier, HandBuilt(R"({"alg":"HS256"})",
                                         R"({"sub":"u","orgId":"a","exp":)" +
                                             std::to_string(kNow + 60) +
                                             R"(,"scope":["admin"]})")),
            "");
}

TEST_F(JwtVerifierTest, RefusesWrongSegmentCount) {
  auto verifier = Make(Options());
  const std::string token = Mint(Spec());
  const std::string header_and_payload = token.substr(0, token.rfind('.'));
  EXPECT_NE(Refusal(*verifier, ""), "");
  EXPECT_NE(Refusal(*verifier, "abc"), "");
  EXPECT_NE(Refusal(*verifier, header_and_payload), "");
  EXPECT_NE(Refusal(*verifier, token + ".x"), "");
  EXPECT_NE(Refusal(*verifier, token + "."), "");
  EXPECT_EQ(Refusal(*verifier, token), "");
}

TEST_F(JwtVerifierTest, RefusesMalformedBase64) {
  auto verifier = Make(Options());
  const std::string token = Mint(Spec());
  // Standard-alphabet characters, padding and a stray character.
  EXPECT_NE(Refusal(*verifier, "+" + token.substr(1)), "");
  EXPECT_NE(Refusal(*verifier, token + "="), "");
  std::string spaced = token;
  spaced.insert(spaced.find('.') + 3, " ");
  EXPECT_NE(Refusal(*verifier, spaced), "");
}

TEST_F(JwtVerifierTest, RefusesGarbageJson) {
  auto verifier = Make(Options());
  EXPECT_EQ(Refusal(*verifier, HandBuilt("{\"alg\":\"HS256\"")),
            "malformed token header");
  // Signed, so only the payload's JSON is at fault.
  EXPECT_EQ(Refusal(*verifier, HandBuilt(R"({"alg":"HS256"})", "{sub:1}")),
            "malformed token payload");
}

TEST_F(JwtVerifierTest, RefusesNonObjectJson) {
  auto verifier = Make(Options());
  EXPECT_EQ(Refusal(*verifier, HandBuilt(R"(["HS256"])")),
            "malformed token header");
  EXPECT_EQ(Refusal(*verifier, HandBuilt(R"({"alg":"HS256"})", "42")),
            "malformed token payload");
}

TEST_F(JwtVerifierTest, RefusesFlippedSignatureByte) {
  auto verifier = Make(Options());
  for (const Spec& spec : {Spec(), Rs256(), Es256()}) {
    const std::string token = Mint(spec);
    EXPECT_EQ(Refusal(*verifier, token), "") << spec.alg;
    EXPECT_EQ(Refusal(*verifier, FlipSignatureByte(token)),
              "bad token signature")
        << spec.alg;
  }
}

TEST_F(JwtVerifierTest, RefusesChangedPayload) {
  auto verifier = Make(Options());
  const std::string token = Mint(Es256());
  const size_t dot1 = token.find('.');
  const size_t dot2 = token.rfind('.');
  Spec other = Es256();
  other.claims["orgId"] = "other-tenant";
  const std::string forged_payload = Mint(other);
  const std::string forged =
      token.substr(0, dot1) +
      forged_payload.substr(
          forged_payload.find('.'),
          forged_payload.rfind('.') - forged_payload.find('.')) +
      token.substr(dot2);
  EXPECT_EQ(Refusal(*verifier, forged), "bad token signature");
}

TEST_F(JwtVerifierTest, RefusesExpired) {
  auto verifier = Make(Options());
  Spec spec;
  spec.exp = kNow - 61;
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "token expired");
}

TEST_F(JwtVerifierTest, RefusesNotYetValid) {
  auto verifier = Make(Options());
  Spec spec;
  spec.nbf = kNow + 61;
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "token not yet valid");
}

TEST_F(JwtVerifierTest, AcceptsWithinLeeway) {
  auto verifier = Make(Options());
  Spec expired_recently;
  expired_recently.exp = kNow - 59;
  EXPECT_EQ(Refusal(*verifier, Mint(expired_recently)), "");
  Spec valid_soon;
  valid_soon.nbf = kNow + 59;
  EXPECT_EQ(Refusal(*verifier, Mint(valid_soon)), "");

  JwtOptions strict = Options();
  strict.leeway_seconds = 0;
  auto strict_verifier = Make(strict);
  EXPECT_EQ(Refusal(*strict_verifier, Mint(expired_recently)), "token expired");
  EXPECT_EQ(Refusal(*strict_verifier, Mint(valid_soon)), "token not yet valid");
}

TEST_F(JwtVerifierTest, RefusesMissingExp) {
  auto verifier = Make(Options());
  Spec spec;
  spec.exp.reset();
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "token has no exp");
  spec.claims["exp"] = "tomorrow";
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "token exp is not a time");
}

TEST_F(JwtVerifierTest, ChecksIssuer) {
  JwtOptions options = Options();
  options.issuer = "https://idp.example";
  auto verifier = Make(options);
  Spec spec;
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "token issuer not accepted");
  spec.claims["iss"] = "https://evil.example";
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "token issuer not accepted");
  spec.claims["iss"] = "https://idp.example";
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "");
}

TEST_F(JwtVerifierTest, ChecksAudience) {
  JwtOptions options = Options();
  options.audience = "cairn";
  auto verifier = Make(options);
  Spec spec;
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "token audience not accepted");
  spec.claims["aud"] = "billing";
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "token audience not accepted");
  spec.claims["aud"] = "cairn";
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "");
}

TEST_F(JwtVerifierTest, AcceptsAudienceArrayHoldingOurs) {
  JwtOptions options = Options();
  options.audience = "cairn";
  auto verifier = Make(options);
  Spec spec;
  spec.aud_array = {"billing", "cairn"};
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "");
  spec.aud_array = {"billing", "search"};
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "token audience not accepted");
}

TEST_F(JwtVerifierTest, RefusesAlgNone) {
  auto verifier = Make(Options());
  const std::string unsigned_token =
      B64Url(R"({"alg":"none","typ":"JWT"})") + "." + B64Url(kClaimsJson);
  EXPECT_EQ(Refusal(*verifier, unsigned_token + "."),
            "unsigned tokens (alg none) are refused");
  EXPECT_EQ(Refusal(*verifier, B64Url(R"({"alg":"None"})") + "." +
                                   B64Url(kClaimsJson) + "."),
            "unsigned tokens (alg none) are refused");
  // Not even with a valid MAC attached.
  EXPECT_EQ(Refusal(*verifier, HandBuilt(R"({"alg":"none"})")),
            "unsigned tokens (alg none) are refused");
}

TEST_F(JwtVerifierTest, RefusesUnsupportedAlgorithm) {
  auto verifier = Make(Options());
  EXPECT_EQ(Refusal(*verifier, HandBuilt(R"({"alg":"HS512"})")),
            "token algorithm not supported");
  EXPECT_EQ(Refusal(*verifier, HandBuilt(R"({"typ":"JWT"})")),
            "token header has no alg");
}

TEST_F(JwtVerifierTest, RefusesHs256KeyedWithRsaPublicKey) {
  // The classic algorithm confusion: the attacker MACs with the public
  // key's PEM bytes and names the RSA key.
  Spec confused;
  confused.key = rsa_->public_pem;
  confused.headers["kid"] = rsa_->kid;
  const std::string token = Mint(confused);
  EXPECT_EQ(Refusal(*Make(Options()), token),
            "token algorithm does not match its key");
  JwtOptions jwks_only = Options();
  jwks_only.secret_file.clear();
  EXPECT_EQ(Refusal(*Make(jwks_only), token),
            "token algorithm does not match its key");
  confused.headers.erase("kid");
  EXPECT_EQ(Refusal(*Make(jwks_only), Mint(confused)),
            "HS256 tokens are not accepted");
}

TEST_F(JwtVerifierTest, RefusesAlgorithmOtherThanTheKeys) {
  auto verifier = Make(Options());
  Spec es_naming_rsa = Es256();
  es_naming_rsa.headers["kid"] = rsa_->kid;
  EXPECT_EQ(Refusal(*verifier, Mint(es_naming_rsa)),
            "token algorithm does not match its key");
}

TEST_F(JwtVerifierTest, RefusesUnknownKid) {
  auto verifier = Make(Options());
  Spec spec = Rs256();
  spec.headers["kid"] = "rsa-unknown";
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "unknown token kid");
  spec.headers.erase("kid");
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "token has no kid");
}

TEST_F(JwtVerifierTest, RefusesPublicKeyAlgorithmsWithoutJwks) {
  JwtOptions options = Options();
  options.jwks_file.clear();
  EXPECT_EQ(Refusal(*Make(options), Mint(Rs256())),
            "RS256 tokens are not accepted");
}

TEST_F(JwtVerifierTest, RefusesMissingTenantOrSubject) {
  auto verifier = Make(Options());
  Spec spec;
  spec.claims.erase("orgId");
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "token has no tenant claim orgId");
  spec.claims["orgId"] = "";
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "token has no tenant claim orgId");
  spec = Spec();
  spec.claims.erase("sub");
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "token has no sub");
}

TEST_F(JwtVerifierTest, UsesCustomTenantClaim) {
  JwtOptions options = Options();
  options.tenant_claim = "https://cairn.example/tenant";
  auto verifier = Make(options);
  Spec spec;
  EXPECT_EQ(Refusal(*verifier, Mint(spec)),
            "token has no tenant claim https://cairn.example/tenant");
  spec.claims["https://cairn.example/tenant"] = "globex";
  Result<Principal> principal = verifier->Verify(Mint(spec), kNow);
  ASSERT_TRUE(principal.has_value()) << principal.error().ToString();
  EXPECT_EQ(principal->tenant, "globex");
}

TEST_F(JwtVerifierTest, ReloadRotatesJwks) {
  auto verifier = Make(Options());
  const std::string old_token = Mint(Es256());
  ASSERT_EQ(Refusal(*verifier, old_token), "");  // and now cached

  const TestKey next = MakeEcKey("ec-2");
  WriteFile(jwks_file_, Jwks({next.jwk}));
  ASSERT_TRUE(verifier->Reload().ok());
  EXPECT_EQ(verifier->TEST_CachedTokens(), 0u);
  EXPECT_EQ(Refusal(*verifier, old_token), "unknown token kid");
  EXPECT_EQ(Refusal(*verifier, Mint(Es256(next))), "");
}

TEST_F(JwtVerifierTest, FailedReloadKeepsOldKeys) {
  auto verifier = Make(Options());
  const std::string token = Mint(Rs256());
  WriteFile(jwks_file_, R"({"keys":[{"kty":"RSA","kid":"x","n":"!"}]})");
  Status status = verifier->Reload();
  EXPECT_TRUE(status.IsInvalidArgument()) << status.ToString();
  EXPECT_EQ(Refusal(*verifier, token), "");

  std::filesystem::remove(jwks_file_);
  status = verifier->Reload();
  EXPECT_EQ(status.code(), Status::Code::kIOError) << status.ToString();
  EXPECT_EQ(Refusal(*verifier, token), "");
}

TEST_F(JwtVerifierTest, DropsOneTrailingNewlineOfSecret) {
  auto verifier = Make(Options());  // the file is kSecret + "\n"
  EXPECT_EQ(Refusal(*verifier, Mint(Spec())), "");
  Spec with_newline;
  with_newline.key = std::string(kSecret) + "\n";
  EXPECT_EQ(Refusal(*verifier, Mint(with_newline)), "bad token signature");

  WriteFile(secret_file_, std::string(kSecret) + "\n\n");
  auto second = Make(Options());
  EXPECT_EQ(Refusal(*second, Mint(with_newline)), "");
  EXPECT_EQ(Refusal(*second, Mint(Spec())), "bad token signature");
}

TEST_F(JwtVerifierTest, AcceptsTypAtJwt) {
  auto verifier = Make(Options());
  for (const char* typ : {"at+jwt", "AT+JWT", "application/at+jwt", "jwt"}) {
    Spec spec = Es256();
    spec.headers["typ"] = typ;
    EXPECT_EQ(Refusal(*verifier, Mint(spec)), "") << typ;
  }
  EXPECT_EQ(Refusal(*verifier, HandBuilt(R"({"alg":"HS256"})")), "");
  EXPECT_EQ(
      Refusal(*verifier, HandBuilt(R"({"alg":"HS256","typ":"dpop+jwt"})")),
      "token typ is not JWT");
}

TEST_F(JwtVerifierTest, RefusesCritHeader) {
  auto verifier = Make(Options());
  EXPECT_EQ(Refusal(*verifier,
                    HandBuilt(R"({"alg":"HS256","crit":["exp"],"exp":1})")),
            "token header crit refused");
}

TEST_F(JwtVerifierTest, RefusesOversizedToken) {
  auto verifier = Make(Options());
  Spec spec;
  spec.claims["padding"] = std::string(kMaxTokenBytes, 'x');
  const std::string token = Mint(spec);
  ASSERT_GT(token.size(), kMaxTokenBytes);
  EXPECT_EQ(Refusal(*verifier, token), "token too large");
}

TEST_F(JwtVerifierTest, CachedTokenStillExpires) {
  JwtOptions options = Options();
  options.leeway_seconds = 0;
  auto verifier = Make(options);
  Spec spec;
  spec.exp = kNow + 10;
  const std::string token = Mint(spec);
  ASSERT_EQ(Refusal(*verifier, token, kNow), "");
  ASSERT_EQ(verifier->TEST_CachedTokens(), 1u);
  EXPECT_EQ(Refusal(*verifier, token, kNow + 9), "");
  EXPECT_EQ(Refusal(*verifier, token, kNow + 10), "token expired");
  EXPECT_EQ(Refusal(*verifier, token, kNow + 1000), "token expired");
}

TEST_F(JwtVerifierTest, CachedTokenRespectsNotBefore) {
  auto verifier = Make(Options());
  Spec spec;
  spec.nbf = kNow;
  const std::string token = Mint(spec);
  ASSERT_EQ(Refusal(*verifier, token, kNow), "");
  ASSERT_EQ(verifier->TEST_CachedTokens(), 1u);
  EXPECT_EQ(Refusal(*verifier, token, kNow - 61), "token not yet valid");
}

TEST_F(JwtVerifierTest, CacheIsBounded) {
  JwtOptions options = Options();
  options.cache_entries = 32;
  auto verifier = Make(options);
  for (int i = 0; i < 200; ++i) {
    Spec spec;
    spec.claims["sub"] = "user-" + std::to_string(i);
    Result<Principal> principal = verifier->Verify(Mint(spec), kNow);
    ASSERT_TRUE(principal.has_value()) << principal.error().ToString();
    EXPECT_EQ(principal->subject, "user-" + std::to_string(i));
  }
  EXPECT_GT(verifier->TEST_CachedTokens(), 0u);
  EXPECT_LE(verifier->TEST_CachedTokens(), 32u);
}

TEST_F(JwtVerifierTest, VerifiesWhileReloading) {
  auto verifier = Make(Options());
  const std::vector<std::string> tokens = {Mint(Spec()), Mint(Rs256()),
                                           Mint(Es256())};
  std::atomic<bool> stop{false};
  std::atomic<int> failures{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&, t] {
      while (!stop.load()) {
        if (!verifier->Verify(tokens[t], kNow).has_value()) ++failures;
      }
    });
  }
  for (int i = 0; i < 30; ++i) ASSERT_TRUE(verifier->Reload().ok());
  stop = true;
  for (std::thread& reader : readers) reader.join();
  EXPECT_EQ(failures.load(), 0);
}

TEST_F(JwtVerifierTest, CreateReportsBadFiles) {
  JwtOptions options = Options();
  options.secret_file = (dir_.path() / "missing").string();
  Result<std::unique_ptr<JwtVerifier>> verifier = JwtVerifier::Create(options);
  ASSERT_FALSE(verifier.has_value());
  EXPECT_EQ(verifier.error().code(), Status::Code::kIOError);
  EXPECT_NE(verifier.error().message().find(options.secret_file),
            std::string::npos);

  WriteFile(secret_file_, "short secret");
  verifier = JwtVerifier::Create(Options());
  ASSERT_FALSE(verifier.has_value());
  EXPECT_TRUE(verifier.error().IsInvalidArgument());
  EXPECT_EQ(verifier.error().message().find("short secret"), std::string::npos);

  options = Options();
  options.secret_file.clear();
  for (
      const char* jwks :
      {"not json", R"({"kays":[]})", R"({"keys":[]})",
       R"({"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]})",
       R"({"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":"AAAA","y":"AAAA"}]})"}) {
    WriteFile(jwks_file_, jwks);
    verifier = JwtVerifier::Create(options);
    ASSERT_FALSE(verifier.has_value()) << jwks;
    EXPECT_TRUE(verifier.error().IsInvalidArgument()) << jwks;
    EXPECT_NE(verifier.error().message().find(options.jwks_file),
              std::string::npos);
  }
  WriteFile(jwks_file_, Jwks({ec_->jwk, ec_->jwk}));
  EXPECT_FALSE(JwtVerifier::Create(options).has_value());

  EXPECT_FALSE(JwtVerifier::Create(JwtOptions()).has_value());
}

TEST_F(JwtVerifierTest, RefusesPointNotOnCurve) {
  JwtOptions options = Options();
  options.secret_file.clear();
  const std::string x = B64Url(std::string(32, '\x01'));
  WriteFile(jwks_file_,
            R"({"keys":[{"kty":"EC","crv":"P-256","kid":"e","x":")" + x +
                R"(","y":")" + x + R"("}]})");
  Result<std::unique_ptr<JwtVerifier>> verifier = JwtVerifier::Create(options);
  ASSERT_FALSE(verifier.has_value());
  EXPECT_TRUE(verifier.error().IsInvalidArgument());
}

TEST_F(JwtVerifierTest, SkipsKeysItCannotUse) {
  const std::string rs384 =
      R"({"kty":"RSA","kid":"rs384","alg":"RS384","n":"AQAB","e":"AQAB"})";
  const std::string enc =
      R"({"kty":"EC","crv":"P-256","kid":"enc","use":"enc","x":"AA","y":"AA"})";
  const std::string oct = R"({"kty":"oct","kid":"hmac","k":"c2VjcmV0"})";
  WriteFile(jwks_file_, Jwks({rs384, enc, oct, ec_->jwk}));
  auto verifier = Make(Options());
  EXPECT_EQ(Refusal(*verifier, Mint(Es256())), "");
  Spec spec = Rs256();
  spec.headers["kid"] = "rs384";
  EXPECT_EQ(Refusal(*verifier, Mint(spec)), "unknown token kid");
}

TEST_F(JwtVerifierTest, RefusalIsHttp401) {
  auto verifier = Make(Options());
  Result<Principal> principal = verifier->Verify("x.y.z", kNow);
  ASSERT_FALSE(principal.has_value());
  EXPECT_EQ(HttpStatusOf(principal.error()), 401u);
  EXPECT_EQ(HttpStatusOf(Status::PermissionDenied("no events:append")), 403u);
}

TEST(JwtBase64UrlTest, DecodesUnpadded) {
  EXPECT_EQ(Base64UrlDecode(""), "");
  EXPECT_EQ(Base64UrlDecode("aGk"), "hi");
  EXPECT_EQ(Base64UrlDecode("aGkh"), "hi!");
  EXPECT_EQ(Base64UrlDecode("-_8"), "\xfb\xff");
}

TEST(JwtBase64UrlTest, RefusesNonCanonicalInput) {
  EXPECT_EQ(Base64UrlDecode("aGk="), std::nullopt);   // padding
  EXPECT_EQ(Base64UrlDecode("+/8"), std::nullopt);    // standard alphabet
  EXPECT_EQ(Base64UrlDecode("aGl"), std::nullopt);    // unused bits set
  EXPECT_EQ(Base64UrlDecode("aGkha"), std::nullopt);  // impossible length
}

TEST(JwtBase64UrlTest, EncodesWhatDecodes) {
  EXPECT_EQ(Base64UrlEncode(""), "");
  EXPECT_EQ(Base64UrlEncode("hi"), "aGk");
  EXPECT_EQ(Base64UrlEncode("hi!"), "aGkh");
  EXPECT_EQ(Base64UrlEncode("\xfb\xff"), "-_8");
  // Every length's tail, checked against cpp-jwt's encoder.
  std::string bytes;
  for (int i = 0; i < 70; ++i) {
    EXPECT_EQ(Base64UrlEncode(bytes), B64Url(bytes)) << i << " bytes";
    EXPECT_EQ(Base64UrlDecode(Base64UrlEncode(bytes)), bytes);
    bytes.push_back(static_cast<char>(i * 37 + 200));
  }
}

// What `cairnctl token mint` signs verifies.
TEST_F(JwtVerifierTest, SignHs256TokenVerifies) {
  Result<std::string> secret = ReadHs256Secret(secret_file_.string());
  ASSERT_TRUE(secret.has_value()) << secret.error().ToString();
  EXPECT_EQ(*secret, kSecret);  // the trailing newline dropped
  const std::string token =
      SignHs256(R"({"sub":"svc","orgId":"acme","scope":"admin","exp":)" +
                    std::to_string(kNow + 60) + "}",
                *secret);
  auto verifier = Make(Options());
  Result<Principal> principal = verifier->Verify(token, kNow);
  ASSERT_TRUE(principal.has_value()) << principal.error().ToString();
  EXPECT_EQ(principal->tenant, "acme");
  EXPECT_EQ(principal->subject, "svc");
  EXPECT_TRUE(principal->scopes.Has(Scope::kAdmin));

  // The same bytes as a token built by hand with cpp-jwt's base64url and
  // OpenSSL's HMAC.
  EXPECT_EQ(SignHs256(kClaimsJson, *secret),
            HandBuilt(R"({"alg":"HS256","typ":"JWT"})", kClaimsJson));
  EXPECT_NE(Refusal(*verifier, SignHs256(kClaimsJson, "another secret")), "");
}

TEST_F(JwtVerifierTest, ReadHs256SecretRefusesAShortSecret) {
  WriteFile(secret_file_, "short\n");
  Result<std::string> secret = ReadHs256Secret(secret_file_.string());
  ASSERT_FALSE(secret.has_value());
  EXPECT_NE(secret.error().message().find("shorter than 32 bytes"),
            std::string::npos);
}

}  // namespace
}  // namespace cairn::server::auth
