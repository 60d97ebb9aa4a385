// The key files of server/auth/keys.h: the input as a JWKS file and as an
// HS256 secret file, both read through a memfd so that no disk is touched.
//
// A JWKS that loads holds exactly its usable keys (RFC 7517 §5: others are
// skipped), each bound to the algorithm of its type; a secret loads exactly
// when it is long enough, and MACs verify under it.

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <sys/mman.h>
#include <unistd.h>

#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "server/auth/keys.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace json = boost::json;
using cairn::Result;
using cairn::server::auth::Algorithm;
using cairn::server::auth::KeySet;

// RSA moduli past this many base64url characters (4,096 bits) are skipped:
// OpenSSL's check of a large modulus runs a prime test for seconds, and a
// key file is configuration, not a client's bytes.
constexpr size_t kMaxModulusChars = 683;

// The path of a memfd holding `bytes`, rewritten on each call.
const std::string& FileOf(std::string_view bytes) {
  static const int fd = memfd_create("cairn-fuzz-key", 0);
  static const std::string path = "/proc/self/fd/" + std::to_string(fd);
  FUZZ_CHECK(fd >= 0);
  FUZZ_CHECK(ftruncate(fd, 0) == 0);
  FUZZ_CHECK(pwrite(fd, bytes.data(), bytes.size(), 0) ==
             static_cast<ssize_t>(bytes.size()));
  return path;
}

const json::string* StringMember(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return v == nullptr ? nullptr : v->if_string();
}

// The algorithm a JWK is bound to if it is usable, written independently of
// keys.cc from KeySet::Load's contract; nullopt for a key to skip.
std::optional<Algorithm> UsableAs(const json::object& jwk) {
  const json::string* kty = StringMember(jwk, "kty");
  const json::string* use = StringMember(jwk, "use");
  const json::string* alg = StringMember(jwk, "alg");
  const json::string* crv = StringMember(jwk, "crv");
  if (kty == nullptr || (use != nullptr && *use != "sig")) return std::nullopt;
  if (*kty == "RSA" && (alg == nullptr || *alg == "RS256")) {
    return Algorithm::kRS256;
  }
  if (*kty == "EC" && crv != nullptr && *crv == "P-256" &&
      (alg == nullptr || *alg == "ES256")) {
    return Algorithm::kES256;
  }
  return std::nullopt;
}

void CheckJwks(std::string_view text) {
  boost::system::error_code ec;
  const json::value doc = json::parse(text, ec);
  const json::value* keys =
      !ec && doc.is_object() ? doc.get_object().if_contains("keys") : nullptr;
  const json::array* list = keys == nullptr ? nullptr : keys->if_array();
  if (list != nullptr) {
    for (const json::value& k : *list) {
      const json::string* n =
          k.is_object() ? StringMember(k.get_object(), "n") : nullptr;
      if (n != nullptr && n->size() > kMaxModulusChars) return;
    }
  }

  Result<KeySet> loaded = KeySet::Load("", FileOf(text));
  if (!loaded.has_value()) {
    FUZZ_CHECK(loaded.error().IsInvalidArgument());
    return;
  }
  FUZZ_CHECK(list != nullptr);
  FUZZ_CHECK(loaded->has_public_keys() && !loaded->has_hs256());
  for (const json::value& k : *list) {
    FUZZ_CHECK(k.is_object());
    const json::object& jwk = k.get_object();
    const json::string* kid = StringMember(jwk, "kid");
    const std::optional<Algorithm> usable = UsableAs(jwk);
    // Loaded: every usable key has a kid, which no other usable key has.
    FUZZ_CHECK(!usable || (kid != nullptr && !kid->empty()));
    if (kid == nullptr) continue;
    const cairn::server::auth::PublicKey* key = loaded->Find(*kid);
    if (usable) {
      FUZZ_CHECK(key != nullptr && key->alg == *usable);
      // A made-up signature is refused, and refusing it throws nothing.
      FUZZ_CHECK(!key->Verify("header.claims", std::string(64, '\x01')));
    }
  }
}

void CheckSecret(std::string_view text) {
  Result<KeySet> loaded = KeySet::Load(FileOf(text), "");
  std::string_view secret = text;
  if (!secret.empty() && secret.back() == '\n') secret.remove_suffix(1);
  FUZZ_CHECK(loaded.has_value() == (secret.size() >= 32));
  if (!loaded.has_value()) {
    FUZZ_CHECK(loaded.error().IsInvalidArgument());
    return;
  }
  FUZZ_CHECK(loaded->has_hs256() && !loaded->has_public_keys());
  const std::string_view input = "header.claims";
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  FUZZ_CHECK(HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                  reinterpret_cast<const unsigned char*>(input.data()),
                  input.size(), mac, &len) != nullptr);
  std::string good(reinterpret_cast<const char*>(mac), len);
  FUZZ_CHECK(loaded->VerifyHs256(input, good));
  good[len - 1] ^= 1;
  FUZZ_CHECK(!loaded->VerifyHs256(input, good));
  FUZZ_CHECK(!loaded->VerifyHs256(input, good.substr(0, len - 1)));
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  CheckJwks(text);
  CheckSecret(text);
  return 0;
}
