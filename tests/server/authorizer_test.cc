#include "server/auth/authorizer.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <string>

#include "server/router.h"
#include "tests/support/jwt_tokens.h"
#include "tests/support/temp_dir.h"

namespace cairn::server::auth {
namespace {

constexpr int64_t kNow = 1'800'000'000;
constexpr std::string_view kSecret = "an HS256 test secret of 32+ bytes!";

std::string Mint(const std::string& scope, const std::string& tenant = "acme",
                 const std::string& sub = "user-1", int64_t exp = kNow + 300) {
  return cairn::testing::MintHs256(kSecret, tenant, sub, scope, exp);
}

Principal WithScopes(std::initializer_list<Scope> scopes,
                     std::string sub = "user-1") {
  Principal p;
  p.tenant = "acme";
  p.subject = std::move(sub);
  for (Scope s : scopes) p.scopes.Add(s);
  return p;
}

class AuthorizerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto path = dir_.path() / "secret";
    std::ofstream(path, std::ios::binary) << kSecret;
    JwtOptions options;
    options.secret_file = path.string();
    auto verifier = JwtVerifier::Create(options);
    ASSERT_TRUE(verifier.has_value()) << verifier.error().ToString();
    verifier_ = std::move(*verifier);
  }

  Result<Principal> Auth(std::string_view authorization,
                         std::string_view tenant = "") const {
    return Authenticate(authorization, tenant, false, verifier_.get(), kNow);
  }

  testing::TempDir dir_;
  std::unique_ptr<JwtVerifier> verifier_;
};

TEST_F(AuthorizerTest, DevModeIsAnonymousWithEveryScope) {
  auto p = Authenticate("", "", true, nullptr, kNow);
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->tenant, "default");
  EXPECT_EQ(p->subject, "anonymous");
  EXPECT_EQ(p->scopes, AllScopes());
  auto globex = Authenticate("Bearer junk", "globex", true, nullptr, kNow);
  ASSERT_TRUE(globex.has_value());
  EXPECT_EQ(globex->tenant, "globex");
}

TEST_F(AuthorizerTest, MissingHeaderIsUnauthenticated) {
  auto p = Auth("");
  ASSERT_FALSE(p.has_value());
  EXPECT_TRUE(p.error().IsUnauthenticated());
}

TEST_F(AuthorizerTest, NonBearerSchemeIsUnauthenticated) {
  auto p = Auth("Basic dXNlcjpwYXNz");
  ASSERT_FALSE(p.has_value());
  EXPECT_TRUE(p.error().IsUnauthenticated());
}

TEST_F(AuthorizerTest, GarbageTokenIsUnauthenticated) {
  auto p = Auth("Bearer not.a.token");
  ASSERT_FALSE(p.has_value());
  EXPECT_TRUE(p.error().IsUnauthenticated());
}

TEST_F(AuthorizerTest, ExpiredTokenIsUnauthenticated) {
  auto p = Auth("Bearer " + Mint("events:read", "acme", "u", kNow - 3600));
  ASSERT_FALSE(p.has_value());
  EXPECT_TRUE(p.error().IsUnauthenticated());
}

TEST_F(AuthorizerTest, NoVerifierIsUnauthenticated) {
  auto p =
      Authenticate("Bearer " + Mint("events:read"), "", false, nullptr, kNow);
  ASSERT_FALSE(p.has_value());
  EXPECT_TRUE(p.error().IsUnauthenticated());
}

TEST_F(AuthorizerTest, ValidTokenGivesTenantSubjectScopes) {
  auto p = Auth("bearer  " + Mint("events:read admin"));
  ASSERT_TRUE(p.has_value()) << p.error().ToString();
  EXPECT_EQ(p->tenant, "acme");
  EXPECT_EQ(p->subject, "user-1");
  EXPECT_TRUE(p->scopes.Has(Scope::kEventsRead));
  EXPECT_TRUE(p->scopes.Has(Scope::kAdmin));
  EXPECT_FALSE(p->scopes.Has(Scope::kEventsAppend));
}

TEST_F(AuthorizerTest, SameTenantHeaderIsAccepted) {
  EXPECT_TRUE(Auth("Bearer " + Mint("events:read"), "acme").has_value());
}

TEST_F(AuthorizerTest, OtherTenantHeaderIsPermissionDenied) {
  auto p = Auth("Bearer " + Mint("events:read"), "globex");
  ASSERT_FALSE(p.has_value());
  EXPECT_TRUE(p.error().IsPermissionDenied());
}

TEST_F(AuthorizerTest, BareTokenAuthenticates) {
  auto p = AuthenticateToken(Mint("self"), "", verifier_.get(), kNow);
  ASSERT_TRUE(p.has_value());
  EXPECT_TRUE(p->scopes.Has(Scope::kSelf));
  auto empty = AuthenticateToken("", "", verifier_.get(), kNow);
  ASSERT_FALSE(empty.has_value());
  EXPECT_TRUE(empty.error().IsUnauthenticated());
}

TEST(AuthorizerPathTest, OnlyV1NeedsAToken) {
  EXPECT_TRUE(IsPublicPath("/healthz"));
  EXPECT_TRUE(IsPublicPath("/readyz"));
  EXPECT_TRUE(IsPublicPath("/metrics"));
  EXPECT_TRUE(IsPublicPath("/v1x"));
  EXPECT_FALSE(IsPublicPath("/v1"));
  EXPECT_FALSE(IsPublicPath("/v1/streams"));
  EXPECT_FALSE(IsPublicPath("/v1/nothing-here?x=1"));
}

Status Check(const Principal& p, std::string_view method,
             std::string_view target) {
  const Route route = MatchRoute(method, target);
  EXPECT_EQ(route.outcome, Route::Outcome::kOk) << method << " " << target;
  return AuthorizeRoute(p, route, method);
}

TEST(AuthorizeRouteTest, WritesNeedEventsAppend) {
  const Principal reader = WithScopes({Scope::kEventsRead});
  const Principal writer = WithScopes({Scope::kEventsAppend});
  for (auto [method, target] : {std::pair{"POST", "/v1/streams/s/events"},
                                {"POST", "/v1/transactions"},
                                {"DELETE", "/v1/streams/s"},
                                {"PUT", "/v1/streams/s/metadata"}}) {
    EXPECT_TRUE(Check(reader, method, target).IsPermissionDenied()) << target;
    EXPECT_TRUE(Check(writer, method, target).ok()) << target;
  }
}

TEST(AuthorizeRouteTest, ReadsNeedEventsRead) {
  const Principal reader = WithScopes({Scope::kEventsRead});
  const Principal writer = WithScopes({Scope::kEventsAppend});
  for (const char* target :
       {"/v1/streams/s/events", "/v1/streams/s", "/v1/streams", "/v1/events",
        "/v1/events?follow=true"}) {
    EXPECT_TRUE(Check(writer, "GET", target).IsPermissionDenied()) << target;
    EXPECT_TRUE(Check(reader, "GET", target).ok()) << target;
  }
}

TEST(AuthorizeRouteTest, ReadModelsNeedReadModelsReadOrSelf) {
  const Principal models = WithScopes({Scope::kReadModelsRead});
  const Principal self = WithScopes({Scope::kSelf}, "user-1");
  const Principal events = WithScopes({Scope::kEventsRead});
  EXPECT_TRUE(Check(models, "GET", "/v1/read-models/dashboard/user-2").ok());
  EXPECT_TRUE(Check(self, "GET", "/v1/read-models/dashboard/user-1").ok());
  EXPECT_TRUE(Check(self, "GET", "/v1/read-models/dashboard/user-2")
                  .IsPermissionDenied());
  EXPECT_TRUE(Check(events, "GET", "/v1/read-models/dashboard/user-1")
                  .IsPermissionDenied());
  EXPECT_TRUE(Check(self, "GET", "/v1/events").IsPermissionDenied());
}

TEST(AuthorizeRouteTest, ProjectionsListingNeedsReadModelsReadOrAdmin) {
  EXPECT_TRUE(
      Check(WithScopes({Scope::kReadModelsRead}), "GET", "/v1/projections")
          .ok());
  EXPECT_TRUE(
      Check(WithScopes({Scope::kAdmin}), "GET", "/v1/projections").ok());
  EXPECT_TRUE(Check(WithScopes({Scope::kSelf}), "GET", "/v1/projections")
                  .IsPermissionDenied());
}

TEST(AuthorizeRouteTest, RebuildNeedsAdmin) {
  const char* target = "/v1/projections/dashboard/rebuild";
  EXPECT_TRUE(Check(WithScopes({Scope::kReadModelsRead, Scope::kEventsAppend}),
                    "POST", target)
                  .IsPermissionDenied());
  EXPECT_TRUE(Check(WithScopes({Scope::kAdmin}), "POST", target).ok());
}

// A backup is of every tenant: admin, for both methods, and nothing else
// grants it.
TEST(AuthorizeRouteTest, BackupsNeedAdmin) {
  const Principal others = WithScopes({Scope::kEventsAppend, Scope::kEventsRead,
                                       Scope::kReadModelsRead, Scope::kSelf});
  const Principal admin = WithScopes({Scope::kAdmin});
  for (const char* method : {"GET", "POST"}) {
    EXPECT_TRUE(Check(others, method, "/v1/admin/backups").IsPermissionDenied())
        << method;
    EXPECT_TRUE(Check(admin, method, "/v1/admin/backups").ok()) << method;
  }
}

TEST(AuthorizeRouteTest, HealthNeedsNothing) {
  const Principal none;
  EXPECT_TRUE(Check(none, "GET", "/healthz").ok());
  EXPECT_TRUE(Check(none, "GET", "/readyz").ok());
}

}  // namespace
}  // namespace cairn::server::auth
