#pragma once

// Bearer tokens for tests, minted by cpp-jwt: an implementation independent
// of the server's verifier. HS256 from a secret; RS256 and ES256 from key
// pairs made here with OpenSSL, published as a JWKS. Link cpp-jwt::cpp-jwt.

#include <gtest/gtest.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdint>
#include <jwt/jwt.hpp>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace cairn::testing {

// Adds the claims cairnd reads (tenant as orgId) and signs.
inline std::string SignClaims(jwt::jwt_object& obj, const std::string& tenant,
                              const std::string& sub, const std::string& scope,
                              int64_t exp) {
  obj.add_claim("sub", sub);
  obj.add_claim("orgId", tenant);
  obj.add_claim("scope", scope);
  obj.add_claim("exp", exp);
  std::error_code ec;
  std::string token = obj.signature(ec);
  EXPECT_FALSE(ec) << ec.message();
  return token;
}

inline std::string MintHs256(std::string_view secret, const std::string& tenant,
                             const std::string& sub, const std::string& scope,
                             int64_t exp) {
  jwt::jwt_object obj{jwt::params::algorithm("HS256"),
                      jwt::params::secret(std::string(secret))};
  return SignClaims(obj, tenant, sub, scope, exp);
}

// base64url without padding, by cpp-jwt's encoder (not the one under test).
inline std::string B64Url(std::string_view bytes) {
  std::string b64 = jwt::base64_encode(bytes.data(), bytes.size());
  b64.resize(jwt::base64_uri_encode(b64.data(), b64.size()));
  return b64;
}

// A key pair made with OpenSSL, as PEM for cpp-jwt and as a JWK.
struct TestKey {
  std::string kid;
  std::string private_pem;
  std::string public_pem;
  std::string jwk;
};

inline std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long len = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(len));
}

// A big-endian parameter of `pkey`, left-padded with zeros to `width` bytes
// when width > 0.
inline std::string BnParam(EVP_PKEY* pkey, const char* name, int width = 0) {
  BIGNUM* bn = nullptr;
  EXPECT_EQ(EVP_PKEY_get_bn_param(pkey, name, &bn), 1) << name;
  std::string out(static_cast<size_t>(width > 0 ? width : BN_num_bytes(bn)),
                  '\0');
  BN_bn2binpad(bn, reinterpret_cast<unsigned char*>(out.data()),
               static_cast<int>(out.size()));
  BN_free(bn);
  return out;
}

inline TestKey FinishKey(EVP_PKEY* pkey, std::string kid, std::string jwk) {
  TestKey key{std::move(kid), "", "", std::move(jwk)};
  BIO* bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PrivateKey(bio, pkey, nullptr, nullptr, 0, nullptr,
                                     nullptr),
            1);
  key.private_pem = BioText(bio);
  BIO_free(bio);
  bio = BIO_new(BIO_s_mem());
  EXPECT_EQ(PEM_write_bio_PUBKEY(bio, pkey), 1);
  key.public_pem = BioText(bio);
  BIO_free(bio);
  EVP_PKEY_free(pkey);
  return key;
}

inline TestKey MakeRsaKey(const std::string& kid) {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "RSA", size_t{2048});
  EXPECT_NE(pkey, nullptr);
  std::string jwk =
      R"({"kty":"RSA","use":"sig","alg":"RS256","kid":")" + kid + R"(","n":")" +
      B64Url(BnParam(pkey, OSSL_PKEY_PARAM_RSA_N)) + R"(","e":")" +
      B64Url(BnParam(pkey, OSSL_PKEY_PARAM_RSA_E)) + R"("})";
  return FinishKey(pkey, kid, std::move(jwk));
}

// Without "alg": ES256 is the default for a P-256 key.
inline TestKey MakeEcKey(const std::string& kid) {
  EVP_PKEY* pkey = EVP_PKEY_Q_keygen(nullptr, nullptr, "EC", "P-256");
  EXPECT_NE(pkey, nullptr);
  std::string jwk =
      R"({"kty":"EC","crv":"P-256","kid":")" + kid + R"(","x":")" +
      B64Url(BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_X, 32)) + R"(","y":")" +
      B64Url(BnParam(pkey, OSSL_PKEY_PARAM_EC_PUB_Y, 32)) + R"("})";
  return FinishKey(pkey, kid, std::move(jwk));
}

inline std::string Jwks(const std::vector<std::string>& keys) {
  std::string out = R"({"keys":[)";
  for (size_t i = 0; i < keys.size(); ++i) {
    if (i > 0) out += ',';
    out += keys[i];
  }
  return out + "]}";
}

// A token signed with `key`'s private half by `alg` (RS256, ES256), with
// its kid in the header.
inline std::string MintSigned(const std::string& alg, const TestKey& key,
                              const std::string& tenant, const std::string& sub,
                              const std::string& scope, int64_t exp) {
  jwt::jwt_object obj{jwt::params::algorithm(alg),
                      jwt::params::secret(key.private_pem)};
  obj.header().add_header("kid", key.kid);
  return SignClaims(obj, tenant, sub, scope, exp);
}

}  // namespace cairn::testing
