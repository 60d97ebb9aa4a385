#pragma once

// The keys and verifier options shared by jwt_fuzzer.cc and the corpus
// generator (make_corpus.cc), which mints the seed tokens with the private
// keys below. Test keys, made for these fuzz targets and trusted nowhere.

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "server/auth/jwt.h"

namespace cairn::fuzz {

// The verifier's clock: seed tokens expire an hour after it.
inline constexpr int64_t kNow = 1'800'000'000;
inline constexpr int64_t kLeewaySeconds = 60;
inline constexpr std::string_view kIssuer = "https://issuer.example";
inline constexpr std::string_view kAudience = "cairn";
inline constexpr std::string_view kHs256Secret =
    "the HS256 secret of Cairn's fuzz targets";
inline constexpr std::string_view kRsaKid = "fuzz-rsa";
inline constexpr std::string_view kEcKid = "fuzz-ec";

// The public halves of the two keys below: RS256 (RSA 2048) and ES256.
inline constexpr std::string_view kJwks =
    R"({"keys":[{"kty":"RSA","use":"sig","alg":"RS256","kid":"fuzz-rsa","n":"2Z7UKC-xn7c3tA1LWr0vtKPLwRumnMuM5QSj3G1IP3gNNxvD9E9Kf_7Gveg0bMJNYhV6i4cLNlyZB8x8HaT3YBxkoDQCtQY9QM5lTABzQWiYysXEWVn6gilxYuS3hx0FeM6ebSa7nhU-TG0RKJcjo8CPyaQbFXnveY_DsugrLbXciPS5CSgqR8-Vlen2mVA89LikfoK9rAg4-atg0fSj-PZ01Of4Wm2__tfn7UxNmYvtoqCkfmbGgmVUgcXBc9DZM8RqwGzeogj6BhBoImr8WmSUAho5hjjHIYDuKW7rWGt77UPNvVX69T7dzWzunhFTXGRjYQe9N53H3KFK-TxhoQ","e":"AQAB"},{"kty":"EC","crv":"P-256","kid":"fuzz-ec","x":"FFbV44Dbf2KxH2-MlJDPxryEL1X3q0gtyRogQ7h9ie0","y":"H86uq-TK8XNVUFzrd8G5fjqSDDScO5AE-e4P6IHzKvo"}]})";

inline constexpr std::string_view kRsaPrivatePem =
    R"(-----BEGIN PRIVATE KEY-----
MIIEvgIBADANBgkqhkiG9w0BAQEFAASCBKgwggSkAgEAAoIBAQDZntQoL7Gftze0
DUtavS+0o8vBG6acy4zlBKPcbUg/eA03G8P0T0p//sa96DRswk1iFXqLhws2XJkH
zHwdpPdgHGSgNAK1Bj1AzmVMAHNBaJjKxcRZWfqCKXFi5LeHHQV4zp5tJrueFT5M
bREolyOjwI/JpBsVee95j8Oy6CsttdyI9LkJKCpHz5WV6faZUDz0uKR+gr2sCDj5
q2DR9KP49nTU5/habb/+1+ftTE2Zi+2ioKR+ZsaCZVSBxcFz0NkzxGrAbN6iCPoG
EGgiavxaZJQCGjmGOMchgO4pbutYa3vtQ829Vfr1Pt3NbO6eEVNcZGNhB703ncfc
oUr5PGGhAgMBAAECggEAA/40kVoyraYMeRrHV65h+jQJMI1j1LutZaRcp1Y//Z4j
y++P/GMaEFgp6GEi2R4FknenbHj5XTF8w1ZerqKQwWwz8naR2CV5qT9AP5FAjCIx
r4LKdANBI/NDt9dPgMSpDYrpAEK2LZPhNUDJEFAZoM8PNFl0/8Nhf/8Bzb4R0MBd
T3VVWlSGd7FTnX8fzo/4wg1z9gHE+vvo+3CBbQffnt0dYh3Cdjo5K/rictER4VmF
dphry3Zi1hekQ/+dR4yHifrUlVCtF2d1vTfd/Q79uZpJwVZBw3w2RACi2oane2dM
VjwJHZ0xQ8YHTz43ZxbGRk4lCdzCPPv2qalyL6mlcwKBgQD/z63KfjsVIY90bdqy
GuTfI37AIlkpZZJUnw5EIVE024jTQ56C6E8x+uydvNElMlkzF51iMy89d1DS3bBZ
STqEBUos2Ym/iTfTRt/FWxbtNfW+/8n3tiBuDP6Oyi+75e1J/JCoqpHMM2he8d6Z
lB4Ze7BKpqpqSKjRZK1cF3dLywKBgQDZx++UqxkxoVg6Giu67WHTHUoRm431nk0G
PEePHEwCtBqob/B0RxOBhJlXqkAJ+hzyghiSQjywAbe3eOR9UGp1brEMKUDrWP4K
ZQIujn25pad9spVsw9vwt+xQ3Gyitvva98CWuX/6Lj4nulbzJqcKYucd8ToRvMdE
QMqO87AywwKBgQDN306nY3WbKPoxomNZ6Sj+p6tPZ5VIKpVcgvFRRVr8Zh20oHvG
ML3jpGSfAaF0BRQieUPRDw5aslaajY1qHfP44eTzOVORkRYbc7ONOiS2XTHcODFL
qQhqaQzIz9EgsAeK/rdQ9o0FwO2jU5ZpFPowWgnj2kPV64npktOuBLiehwKBgQCq
uUHnmfm2HnW7lqiRcWYuydc21msDEYXwTXELj3NG60m6oYYuoUl5Tymmv6BUMe5f
bf01KxfIIpCTFAKK+m96f7vrfKuX07vTCjwboziMQIB82XKqQSA6JPTsrt+67xeh
IHepsOHSjk3LdxiSpMpuKfpkTqbnIMZVizU/u2l1YQKBgGCksMeq7/uXD0bpbAqF
ETLmDKzJ7YtJcAvZvJ+qA4dRt17nvrElYhr2u7BMmv6YqXpsfP/qdLsPur7bdscl
OSOPj00xyCSlyMon006hA5dICydXjn+x4kvcrtXdOZXt2VIVGdRenpdtBUv0eI4M
Or61tpL74uCs5LYKVzATnhsH
-----END PRIVATE KEY-----
)";

inline constexpr std::string_view kEcPrivatePem = R"(-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgjZ8tMQhgn4IRPB8n
Htgi83YdBskmJLjrUmLYmNEAv5ahRANCAAQUVtXjgNt/YrEfb4yUkM/GvIQvVfer
SC3JGiBDuH2J7R/OrqvkyvFzVVBc63fBuX46kgw0nDuQBPnuD+iB8yr6
-----END PRIVATE KEY-----
)";

// base64url without padding (RFC 4648 §5), as a JWS writes its segments.
inline std::string Base64UrlEncode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (const char c : bytes) {
    bits = (bits << 8) | static_cast<uint8_t>(c);
    count += 8;
    while (count >= 6) {
      count -= 6;
      out.push_back(kAlphabet[(bits >> count) & 0x3F]);
    }
  }
  if (count > 0) out.push_back(kAlphabet[(bits << (6 - count)) & 0x3F]);
  return out;
}

// The HMAC-SHA256 of `data` under kHs256Secret.
inline std::string Hs256Mac(std::string_view data) {
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), kHs256Secret.data(), static_cast<int>(kHs256Secret.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac,
       &len);
  return std::string(reinterpret_cast<const char*>(mac), len);
}

// A compact JWS of these header and claims texts (any bytes), signed with
// the HS256 secret.
inline std::string MintHs256(std::string_view header, std::string_view claims) {
  std::string token = Base64UrlEncode(header) + "." + Base64UrlEncode(claims);
  return token + "." + Base64UrlEncode(Hs256Mac(token));
}

// A verifier of the secret and the JWKS above, checking kIssuer and
// kAudience, with a small cache so that the fuzz targets fill and evict it.
// Aborts when it cannot be made: the fuzz target would test nothing.
inline std::unique_ptr<server::auth::JwtVerifier> MakeVerifier() {
  std::string dir =
      (std::filesystem::temp_directory_path() / "cairn-fuzz-XXXXXX").string();
  if (mkdtemp(dir.data()) == nullptr) std::abort();
  const std::filesystem::path secret = std::filesystem::path(dir) / "secret";
  const std::filesystem::path jwks = std::filesystem::path(dir) / "jwks.json";
  std::ofstream(secret, std::ios::binary) << kHs256Secret;
  std::ofstream(jwks, std::ios::binary) << kJwks;
  server::auth::JwtOptions options;
  options.secret_file = secret.string();
  options.jwks_file = jwks.string();
  options.issuer = std::string(kIssuer);
  options.audience = std::string(kAudience);
  options.leeway_seconds = kLeewaySeconds;
  options.cache_entries = 64;
  Result<std::unique_ptr<server::auth::JwtVerifier>> verifier =
      server::auth::JwtVerifier::Create(std::move(options));
  // The keys are read: the files are no longer needed.
  std::filesystem::remove_all(dir);
  if (!verifier) std::abort();
  return *std::move(verifier);
}

}  // namespace cairn::fuzz
