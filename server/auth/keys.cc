#include "server/auth/keys.h"

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/param_build.h>

#include <boost/json.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <utility>

#include "server/auth/base64url.h"

namespace cairn::server::auth {
namespace {

namespace json = boost::json;

using BnPtr = std::unique_ptr<BIGNUM, OpenSslFree<BN_free>>;
using EcdsaSigPtr = std::unique_ptr<ECDSA_SIG, OpenSslFree<ECDSA_SIG_free>>;
using EvpMdCtxPtr = std::unique_ptr<EVP_MD_CTX, OpenSslFree<EVP_MD_CTX_free>>;
using EvpPkeyCtxPtr =
    std::unique_ptr<EVP_PKEY_CTX, OpenSslFree<EVP_PKEY_CTX_free>>;
using ParamBldPtr =
    std::unique_ptr<OSSL_PARAM_BLD, OpenSslFree<OSSL_PARAM_BLD_free>>;
using ParamPtr = std::unique_ptr<OSSL_PARAM, OpenSslFree<OSSL_PARAM_free>>;

constexpr size_t kMinHs256SecretBytes = 32;
constexpr int kMinRsaBits = 2048;
constexpr size_t kP256CoordinateBytes = 32;

const unsigned char* Bytes(std::string_view s) {
  return reinterpret_cast<const unsigned char*>(s.data());
}

// The whole file; `what` names it in the error ("JWKS file /etc/x.json").
Result<std::string> ReadFile(const std::string& path, const std::string& what) {
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) {
    return Status::IOError(what + ": cannot open (" + std::strerror(errno) +
                           ")");
  }
  std::string text;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, f)) > 0) text.append(buf, n);
  const int read_errno = std::ferror(f) ? errno : 0;
  std::fclose(f);
  if (read_errno != 0) {
    return Status::IOError(what + ": cannot read (" +
                           std::strerror(read_errno) + ")");
  }
  return text;
}

// The member `name` when it is a string; nullptr when absent. A member of
// another type is reported through *malformed.
const json::string* StringMember(const json::object& o, std::string_view name,
                                 bool* malformed) {
  const json::value* v = o.if_contains(name);
  if (v == nullptr) return nullptr;
  if (!v->is_string()) *malformed = true;
  return v->if_string();
}

// The bytes of a base64url member of a JWK (n, e, x, y).
Result<std::string> Base64Member(const json::object& jwk,
                                 std::string_view name) {
  bool malformed = false;
  const json::string* s = StringMember(jwk, name, &malformed);
  if (s == nullptr) {
    return Status::InvalidArgument("no \"" + std::string(name) + "\" string");
  }
  std::optional<std::string> bytes = Base64UrlDecode(*s);
  if (!bytes || bytes->empty()) {
    return Status::InvalidArgument("\"" + std::string(name) +
                                   "\" is not base64url");
  }
  return *std::move(bytes);
}

// Builds a public key of `type` ("RSA", "EC") from its parameters and checks
// it (for EC, that the point is on the curve).
Result<EvpPkeyPtr> PublicKeyFromParams(const char* type, OSSL_PARAM_BLD* bld) {
  ParamPtr params(OSSL_PARAM_BLD_to_param(bld));
  EvpPkeyCtxPtr ctx(EVP_PKEY_CTX_new_from_name(nullptr, type, nullptr));
  EVP_PKEY* raw = nullptr;
  if (params == nullptr || ctx == nullptr ||
      EVP_PKEY_fromdata_init(ctx.get()) != 1 ||
      EVP_PKEY_fromdata(ctx.get(), &raw, EVP_PKEY_PUBLIC_KEY, params.get()) !=
          1) {
    ERR_clear_error();
    return Status::InvalidArgument(std::string("not a valid ") + type +
                                   " public key");
  }
  EvpPkeyPtr pkey(raw);
  EvpPkeyCtxPtr check(EVP_PKEY_CTX_new_from_pkey(nullptr, raw, nullptr));
  if (check == nullptr || EVP_PKEY_public_check(check.get()) != 1) {
    ERR_clear_error();
    return Status::InvalidArgument(std::string("not a valid ") + type +
                                   " public key");
  }
  return pkey;
}

Result<EvpPkeyPtr> RsaKey(const json::object& jwk) {
  Result<std::string> n = Base64Member(jwk, "n");
  if (!n) return n.error();
  Result<std::string> e = Base64Member(jwk, "e");
  if (!e) return e.error();
  BnPtr bn_n(BN_bin2bn(Bytes(*n), static_cast<int>(n->size()), nullptr));
  BnPtr bn_e(BN_bin2bn(Bytes(*e), static_cast<int>(e->size()), nullptr));
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bn_n == nullptr || bn_e == nullptr || bld == nullptr ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_N, bn_n.get()) !=
          1 ||
      OSSL_PARAM_BLD_push_BN(bld.get(), OSSL_PKEY_PARAM_RSA_E, bn_e.get()) !=
          1) {
    ERR_clear_error();
    return Status::Internal("out of memory building an RSA key");
  }
  Result<EvpPkeyPtr> pkey = PublicKeyFromParams("RSA", bld.get());
  if (pkey && EVP_PKEY_get_bits(pkey->get()) < kMinRsaBits) {
    return Status::InvalidArgument("RSA key shorter than 2048 bits");
  }
  return pkey;
}

Result<EvpPkeyPtr> P256Key(const json::object& jwk) {
  Result<std::string> x = Base64Member(jwk, "x");
  if (!x) return x.error();
  Result<std::string> y = Base64Member(jwk, "y");
  if (!y) return y.error();
  if (x->size() != kP256CoordinateBytes || y->size() != kP256CoordinateBytes) {
    return Status::InvalidArgument("\"x\" and \"y\" must be 32 bytes each");
  }
  // The uncompressed point encoding: 0x04 || x || y (SEC 1 §2.3.3).
  const std::string point = '\x04' + *x + *y;
  ParamBldPtr bld(OSSL_PARAM_BLD_new());
  if (bld == nullptr ||
      OSSL_PARAM_BLD_push_utf8_string(bld.get(), OSSL_PKEY_PARAM_GROUP_NAME,
                                      "prime256v1", 0) != 1 ||
      OSSL_PARAM_BLD_push_octet_string(bld.get(), OSSL_PKEY_PARAM_PUB_KEY,
                                       point.data(), point.size()) != 1) {
    ERR_clear_error();
    return Status::Internal("out of memory building an EC key");
  }
  return PublicKeyFromParams("EC", bld.get());
}

struct NamedKey {
  std::string kid;
  PublicKey key;
};

// One JWKS entry: a usable key, nullopt for a key to skip, or an error.
Result<std::optional<NamedKey>> ParseJwk(const json::object& jwk) {
  bool malformed = false;
  const json::string* kty = StringMember(jwk, "kty", &malformed);
  const json::string* use = StringMember(jwk, "use", &malformed);
  const json::string* alg = StringMember(jwk, "alg", &malformed);
  const json::string* crv = StringMember(jwk, "crv", &malformed);
  const json::string* kid = StringMember(jwk, "kid", &malformed);
  if (malformed) {
    return Status::InvalidArgument(
        "\"kty\", \"use\", \"alg\", \"crv\" and \"kid\" must be strings");
  }
  if (kty == nullptr) return Status::InvalidArgument("no \"kty\"");
  if (use != nullptr && *use != "sig") return std::optional<NamedKey>();

  Algorithm bound;
  if (*kty == "RSA" && (alg == nullptr || *alg == "RS256")) {
    bound = Algorithm::kRS256;
  } else if (*kty == "EC" && crv != nullptr && *crv == "P-256" &&
             (alg == nullptr || *alg == "ES256")) {
    bound = Algorithm::kES256;
  } else {
    return std::optional<NamedKey>();  // RS384, P-384, oct, OKP, ...
  }
  // Keys are chosen by the token's `kid`: one without is unreachable, which
  // is a mistake worth a refusal to start.
  if (kid == nullptr || kid->empty()) {
    return Status::InvalidArgument("no \"kid\"");
  }
  Result<EvpPkeyPtr> pkey =
      bound == Algorithm::kRS256 ? RsaKey(jwk) : P256Key(jwk);
  if (!pkey) return pkey.error();
  return std::optional<NamedKey>(
      NamedKey{std::string(*kid), PublicKey{bound, *std::move(pkey)}});
}

// JWS carries an ECDSA signature as raw, fixed-width r || s (RFC 7518
// §3.4); OpenSSL verifies the DER ECDSA-Sig-Value.
std::optional<std::string> RawEcdsaToDer(std::string_view raw) {
  constexpr int kHalf = kP256CoordinateBytes;
  if (raw.size() != 2 * kP256CoordinateBytes) return std::nullopt;
  EcdsaSigPtr sig(ECDSA_SIG_new());
  BIGNUM* r = BN_bin2bn(Bytes(raw), kHalf, nullptr);
  BIGNUM* s = BN_bin2bn(Bytes(raw) + kHalf, kHalf, nullptr);
  if (sig == nullptr || r == nullptr || s == nullptr ||
      ECDSA_SIG_set0(sig.get(), r, s) != 1) {  // on success sig owns r, s
    BN_free(r);
    BN_free(s);
    return std::nullopt;
  }
  const int len = i2d_ECDSA_SIG(sig.get(), nullptr);
  if (len <= 0) return std::nullopt;
  std::string der(static_cast<size_t>(len), '\0');
  auto* out = reinterpret_cast<unsigned char*>(der.data());
  if (i2d_ECDSA_SIG(sig.get(), &out) != len) return std::nullopt;
  return der;
}

}  // namespace

std::optional<Algorithm> AlgorithmFromName(std::string_view name) {
  if (name == "HS256") return Algorithm::kHS256;
  if (name == "RS256") return Algorithm::kRS256;
  if (name == "ES256") return Algorithm::kES256;
  return std::nullopt;
}

bool PublicKey::Verify(std::string_view signing_input,
                       std::string_view signature) const {
  std::string der;
  if (alg == Algorithm::kES256) {
    std::optional<std::string> converted = RawEcdsaToDer(signature);
    if (!converted) return false;
    der = *std::move(converted);
    signature = der;
  }
  // A context per call: EVP_MD_CTX is not shareable, the EVP_PKEY is.
  EvpMdCtxPtr ctx(EVP_MD_CTX_new());
  const bool ok =
      ctx != nullptr &&
      EVP_DigestVerifyInit(ctx.get(), nullptr, EVP_sha256(), nullptr,
                           pkey.get()) == 1 &&
      EVP_DigestVerify(ctx.get(), Bytes(signature), signature.size(),
                       Bytes(signing_input), signing_input.size()) == 1;
  // A refused signature is an answer, not an error to leave on this
  // thread's OpenSSL error queue.
  if (!ok) ERR_clear_error();
  return ok;
}

Result<std::string> ReadHs256Secret(const std::string& file) {
  const std::string where = "JWT secret file " + file;
  Result<std::string> secret = ReadFile(file, where);
  if (!secret) return secret.error();
  if (!secret->empty() && secret->back() == '\n') secret->pop_back();
  if (secret->size() < kMinHs256SecretBytes) {
    return Status::InvalidArgument(
        where + ": shorter than 32 bytes, too short for HS256");
  }
  return secret;
}

std::string SignHs256(std::string_view claims_json, std::string_view secret) {
  std::string token = Base64UrlEncode(R"({"alg":"HS256","typ":"JWT"})");
  token += '.';
  token += Base64UrlEncode(claims_json);
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int mac_len = 0;
  // HMAC fails only when OpenSSL cannot allocate; there is no token then.
  if (HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
           Bytes(token), token.size(), mac, &mac_len) == nullptr) {
    ERR_clear_error();
    return "";
  }
  token += '.';
  token += Base64UrlEncode(
      std::string_view(reinterpret_cast<const char*>(mac), mac_len));
  return token;
}

Result<KeySet> KeySet::Load(const std::string& secret_file,
                            const std::string& jwks_file) {
  if (secret_file.empty() && jwks_file.empty()) {
    return Status::InvalidArgument(
        "no JWT key: neither a secret file nor a JWKS file");
  }
  KeySet keys;
  if (!secret_file.empty()) {
    Result<std::string> secret = ReadHs256Secret(secret_file);
    if (!secret) return secret.error();
    keys.hs256_secret_ = *std::move(secret);
  }
  if (!jwks_file.empty()) {
    Status status = keys.LoadJwks(jwks_file);
    if (!status.ok()) return status;
  }
  return keys;
}

Status KeySet::LoadJwks(const std::string& file) {
  const std::string where = "JWKS file " + file;
  Result<std::string> text = ReadFile(file, where);
  if (!text) return text.error();
  boost::system::error_code ec;
  const json::value doc = json::parse(*text, ec);
  if (ec) {
    return Status::InvalidArgument(where + ": not JSON (" + ec.message() + ")");
  }
  const json::value* list =
      doc.is_object() ? doc.get_object().if_contains("keys") : nullptr;
  if (list == nullptr || !list->is_array()) {
    return Status::InvalidArgument(where + ": no \"keys\" array");
  }
  const json::array& jwks = list->get_array();
  for (size_t i = 0; i < jwks.size(); ++i) {
    const std::string at = where + ": key " + std::to_string(i) + ": ";
    if (!jwks[i].is_object()) {
      return Status::InvalidArgument(at + "not an object");
    }
    Result<std::optional<NamedKey>> key = ParseJwk(jwks[i].get_object());
    if (!key) return Status::InvalidArgument(at + key.error().message());
    if (!key->has_value()) continue;
    NamedKey& named = **key;
    auto [it, inserted] =
        public_keys_.emplace(std::move(named.kid), std::move(named.key));
    if (!inserted) {
      return Status::InvalidArgument(at + "\"kid\" \"" + it->first +
                                     "\" used twice");
    }
  }
  if (public_keys_.empty()) {
    return Status::InvalidArgument(where + ": no RS256 or ES256 signing key");
  }
  return Status::Ok();
}

bool KeySet::VerifyHs256(std::string_view signing_input,
                         std::string_view mac) const {
  unsigned char expected[EVP_MAX_MD_SIZE];
  unsigned int expected_len = 0;
  if (HMAC(EVP_sha256(), hs256_secret_.data(),
           static_cast<int>(hs256_secret_.size()), Bytes(signing_input),
           signing_input.size(), expected, &expected_len) == nullptr) {
    ERR_clear_error();
    return false;
  }
  // The length is public (32); the bytes are compared in constant time so
  // that timing tells a forger nothing about the right MAC.
  return mac.size() == expected_len &&
         CRYPTO_memcmp(expected, mac.data(), expected_len) == 0;
}

const PublicKey* KeySet::Find(std::string_view kid) const {
  auto it = public_keys_.find(kid);
  return it == public_keys_.end() ? nullptr : &it->second;
}

}  // namespace cairn::server::auth
