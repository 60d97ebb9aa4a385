#pragma once

// HS256 bearer tokens for tests, minted by cpp-jwt: an implementation
// independent of the server's verifier. Link cpp-jwt::cpp-jwt.

#include <gtest/gtest.h>

#include <cstdint>
#include <jwt/jwt.hpp>
#include <string>
#include <string_view>
#include <system_error>

namespace cairn::testing {

inline std::string MintHs256(std::string_view secret, const std::string& tenant,
                             const std::string& sub, const std::string& scope,
                             int64_t exp) {
  jwt::jwt_object obj{jwt::params::algorithm("HS256"),
                      jwt::params::secret(std::string(secret))};
  obj.add_claim("sub", sub);
  obj.add_claim("orgId", tenant);
  obj.add_claim("scope", scope);
  obj.add_claim("exp", exp);
  std::error_code ec;
  std::string token = obj.signature(ec);
  EXPECT_FALSE(ec) << ec.message();
  return token;
}

}  // namespace cairn::testing
