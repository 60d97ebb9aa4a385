#pragma once

#include <openssl/evp.h>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "protocol/result.h"

namespace cairn::server::auth {

// The JWS algorithms Cairn verifies (RFC 7518 §3.1).
enum class Algorithm { kHS256, kRS256, kES256 };

// "HS256", "RS256" or "ES256" (case-sensitive, as RFC 7515 says); nullopt
// for anything else, "none" included.
std::optional<Algorithm> AlgorithmFromName(std::string_view name);

// A unique_ptr deleter calling an OpenSSL free function.
template <auto Free>
struct OpenSslFree {
  template <typename T>
  void operator()(T* p) const {
    Free(p);
  }
};
using EvpPkeyPtr = std::unique_ptr<EVP_PKEY, OpenSslFree<EVP_PKEY_free>>;

// A public key from a JWKS file and the one algorithm it may verify: a token
// naming this key by `kid` must also name this algorithm, which rules out
// algorithm confusion (an HS256 MAC keyed with the public key's bytes).
struct PublicKey {
  Algorithm alg;
  EvpPkeyPtr pkey;

  // True iff `signature` (as a JWS carries it: raw r||s for ES256) signs
  // `signing_input` under this key and `alg`.
  bool Verify(std::string_view signing_input, std::string_view signature) const;
};

// Reads an HS256 secret file as KeySet::Load does: its bytes are the key,
// one trailing newline dropped, at least 32 bytes (RFC 7518 §3.2).
Result<std::string> ReadHs256Secret(const std::string& file);

// The compact JWS of `claims_json` signed with HS256 under `secret`: the
// tokens `cairnctl token mint` hands out. The server itself only verifies.
std::string SignHs256(std::string_view claims_json, std::string_view secret);

// The keys a verifier trusts, parsed once. Immutable after Load, so one
// KeySet may be used from many threads at once.
class KeySet {
 public:
  // Reads the HS256 secret file (its bytes are the key, one trailing newline
  // dropped; at least 32 bytes, RFC 7518 §3.2) and the JWKS file, either of
  // which may be empty (not configured). A JWKS key is used when it is RSA
  // (RS256, 2048 bits or more) or EC P-256 (ES256), its `alg`, if given,
  // names that algorithm, and its `use`, if given, is "sig"; other keys are
  // skipped, as RFC 7517 §5 allows. Errors name the file and say what is
  // wrong, never with key material: IOError when unreadable,
  // InvalidArgument when malformed, with a usable key missing its `kid`,
  // with a `kid` twice, or without one usable key.
  static Result<KeySet> Load(const std::string& secret_file,
                             const std::string& jwks_file);

  bool has_hs256() const { return !hs256_secret_.empty(); }
  bool has_public_keys() const { return !public_keys_.empty(); }

  // REQUIRES: has_hs256(). True iff `mac` is the HMAC-SHA256 of
  // `signing_input` under the secret; compared in constant time.
  bool VerifyHs256(std::string_view signing_input, std::string_view mac) const;

  // The JWKS key with this `kid`, or nullptr.
  const PublicKey* Find(std::string_view kid) const;

 private:
  Status LoadJwks(const std::string& file);

  struct StringHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const {
      return std::hash<std::string_view>{}(s);
    }
  };

  std::string hs256_secret_;
  std::unordered_map<std::string, PublicKey, StringHash, std::equal_to<>>
      public_keys_;  // by kid
};

}  // namespace cairn::server::auth
