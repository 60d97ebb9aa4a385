// GET /v1/openapi.json from the real cairnd: the bytes of docs/openapi.json,
// in dev mode and to any authenticated caller with JWT auth (no scope
// needed); 401 without a token.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <string_view>
#include <vector>

#include "tests/integration/integration_test_util.h"
#include "tests/support/cairnd_process.h"
#include "tests/support/http_client.h"
#include "tests/support/jwt_tokens.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {
namespace {

constexpr std::string_view kSecret = "an HS256 secret for the OpenAPI tests";

std::string TheFile() {
  std::ifstream in(CAIRN_OPENAPI_FILE, std::ios::binary);
  EXPECT_TRUE(in) << CAIRN_OPENAPI_FILE;
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class OpenApiTest : public CairndTest {};

TEST_F(OpenApiTest, ServesTheFileAsJson) {
  const HttpResponse r = client_->Get("/v1/openapi.json");
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 500);
  EXPECT_EQ(r.Header("content-type"), "application/json");
  EXPECT_FALSE(r.Header("traceparent").empty());
  EXPECT_EQ(r.body, TheFile());
  EXPECT_EQ(Json(r).at("openapi").as_string(), "3.1.0");
}

TEST_F(OpenApiTest, SameDocumentForEveryTenant) {
  const HttpResponse a =
      client_->Get("/v1/openapi.json", {{"X-Cairn-Tenant", "acme"}});
  const HttpResponse b =
      client_->Get("/v1/openapi.json", {{"X-Cairn-Tenant", "globex"}});
  ASSERT_EQ(a.status, 200);
  ASSERT_EQ(b.status, 200);
  EXPECT_EQ(a.body, b.body);
}

TEST_F(OpenApiTest, OtherMethodsAre405) {
  const HttpResponse r = client_->Post("/v1/openapi.json", "{}");
  EXPECT_EQ(r.status, 405) << r.body;
  EXPECT_EQ(r.Header("allow"), "GET");
  EXPECT_EQ(r.Header("content-type"), "application/problem+json");
}

TEST_F(OpenApiTest, CountedUnderTheRouteOpenapi) {
  ASSERT_EQ(client_->Get("/v1/openapi.json").status, 200);
  const HttpResponse m = client_->Get("/metrics");
  ASSERT_EQ(m.status, 200);
  EXPECT_NE(m.body.find(
                R"(cairn_http_requests_total{route="openapi",status="200"} 1)"),
            std::string::npos)
      << m.body.substr(0, 2000);
}

// JWT auth (no --dev): an HS256 secret file.
class OpenApiJwtTest : public JwtCairndTest {
 protected:
  OpenApiJwtTest()
      : JwtCairndTest([](const std::filesystem::path& dir) {
          const auto secret = dir / "jwt-secret";
          std::ofstream(secret, std::ios::binary) << kSecret;
          return std::vector<std::string>{"--jwt-secret-file", secret.string()};
        }) {}

  static HttpHeaders Bearer(const std::string& scope) {
    const std::string token =
        MintHs256(kSecret, "acme", "svc-docs", scope,
                  static_cast<int64_t>(std::time(nullptr)) + 600);
    return {{"Authorization", "Bearer " + token}};
  }
};

TEST_F(OpenApiJwtTest, WithoutATokenIs401) {
  const HttpResponse r = client_->Get("/v1/openapi.json");
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/problem+json");
  EXPECT_EQ(r.Header("www-authenticate"), "Bearer");
  EXPECT_EQ(r.body.find("\"openapi\""), std::string::npos);
}

TEST_F(OpenApiJwtTest, ABadTokenIs401) {
  const HttpResponse r = client_->Get(
      "/v1/openapi.json", {{"Authorization", "Bearer not.a.token"}});
  EXPECT_EQ(r.status, 401) << r.body;
}

TEST_F(OpenApiJwtTest, AnyAuthenticatedCallerGetsItWithoutAScope) {
  for (const std::string scope : {"", "events:read", "self", "admin"}) {
    const HttpResponse r = client_->Get("/v1/openapi.json", Bearer(scope));
    EXPECT_EQ(r.status, 200) << "scope \"" << scope << "\": " << r.body;
    EXPECT_EQ(r.body, TheFile()) << "scope \"" << scope << "\"";
  }
}

TEST_F(OpenApiJwtTest, AnotherTenantsHeaderIs403) {
  HttpHeaders headers = Bearer("");
  headers["X-Cairn-Tenant"] = "globex";
  EXPECT_EQ(client_->Get("/v1/openapi.json", headers).status, 403);
}

}  // namespace
}  // namespace cairn::testing
