// JWT auth on the real cairnd (started without --dev, with an HS256 secret
// file): 401 and 403 over HTTP and WebSocket, tenants kept apart by their
// tokens, and events stamped with the token's tenant and subject.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <tuple>
#include <vector>

#include "tests/integration/integration_test_util.h"
#include "tests/support/jwt_tokens.h"
#include "tests/support/stream_client.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {
namespace {

using std::chrono::seconds;

constexpr std::string_view kSecret = "an HS256 secret for the auth tests!!";

int64_t Now() { return static_cast<int64_t>(std::time(nullptr)); }

std::string Mint(const std::string& tenant, const std::string& sub,
                 const std::string& scope, int64_t exp = Now() + 600,
                 std::string_view secret = kSecret) {
  return MintHs256(secret, tenant, sub, scope, exp);
}

HttpHeaders Bearer(const std::string& token) {
  return {{"Authorization", "Bearer " + token}};
}

std::filesystem::path WriteSecret(const std::filesystem::path& dir) {
  const auto path = dir / "jwt-secret";
  std::ofstream(path, std::ios::binary) << kSecret << "\n";
  return path;
}

// A learner event for the dashboard of `user`.
std::string AttemptBody(const std::string& user) {
  return R"({"events":[{"type":"AttemptSubmitted","data":{"attemptId":"a1",)"
         R"("userId":")" +
         user +
         R"(","exerciseId":"e","skillId":"s","lessonId":"l","correct":true,)"
         R"("score":1,"durationMs":100,"submittedAt":"2026-11-10T09:00:00Z"}}]})";
}

class AuthTest : public JwtCairndTest {
 protected:
  AuthTest()
      : JwtCairndTest([](const std::filesystem::path& dir) {
          return std::vector<std::string>{"--jwt-secret-file",
                                          WriteSecret(dir).string(),
                                          "--heartbeat-ms", "200"};
        }),
        secret_(keys_.path() / "jwt-secret") {}

  static std::string AllScopes() {
    return "events:append events:read read-models:read admin";
  }

  HttpResponse Append(const std::string& token, const std::string& stream,
                      const std::string& body = AppendBody(1)) {
    return client_->Post("/v1/streams/" + stream + "/events", body,
                         Bearer(token));
  }

  static void ExpectProblem(const HttpResponse& r, int status) {
    EXPECT_EQ(r.status, status) << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/problem+json") << r.body;
    if (status == 401) {
      EXPECT_NE(r.Header("www-authenticate").find("Bearer"), std::string::npos);
    }
  }

  const std::filesystem::path secret_;
};

TEST_F(AuthTest, NoTokenIs401ProblemJson) {
  ExpectProblem(client_->Get("/v1/streams/s/events"), 401);
  ExpectProblem(client_->Post("/v1/streams/s/events", AppendBody(1)), 401);
  ExpectProblem(client_->Get("/v1/events"), 401);
}

TEST_F(AuthTest, UnknownV1RouteWithoutTokenIs401) {
  ExpectProblem(client_->Get("/v1/no-such-route"), 401);
  const std::string token = Mint("acme", "u1", AllScopes());
  EXPECT_EQ(client_->Get("/v1/no-such-route", Bearer(token)).status, 404);
}

TEST_F(AuthTest, GarbageBadSignatureAndExpiredAre401) {
  ExpectProblem(client_->Get("/v1/events", Bearer("garbage")), 401);
  ExpectProblem(client_->Get("/v1/events", {{"Authorization", "Basic abc"}}),
                401);
  const std::string forged = Mint("acme", "u1", AllScopes(), Now() + 600,
                                  "another secret of at least 32 bytes!!");
  ExpectProblem(client_->Get("/v1/events", Bearer(forged)), 401);
  const std::string expired = Mint("acme", "u1", AllScopes(), Now() - 3600);
  ExpectProblem(client_->Get("/v1/events", Bearer(expired)), 401);
}

TEST_F(AuthTest, HealthAndMetricsNeedNoToken) {
  EXPECT_EQ(client_->Get("/healthz").status, 200);
  EXPECT_EQ(client_->Get("/readyz").status, 200);
  const HttpResponse metrics = client_->Get("/metrics");
  EXPECT_EQ(metrics.status, 200);
  EXPECT_NE(metrics.body.find("cairn_http_requests_total"), std::string::npos)
      << metrics.body.substr(0, 500);
}

TEST_F(AuthTest, AppendStampsTenantAndSubject) {
  const std::string token = Mint("acme", "alice", "events:append events:read");
  const HttpResponse append = Append(token, "orders-1");
  ASSERT_EQ(append.status, 201) << append.body;
  const HttpResponse read =
      client_->Get("/v1/streams/orders-1/events", Bearer(token));
  ASSERT_EQ(read.status, 200) << read.body;
  const json::value page = Json(read);
  ASSERT_EQ(page.at("events").as_array().size(), 1u);
  const json::value& context = page.at("events").at(0).at("context");
  EXPECT_EQ(Str(context, "orgId"), "acme");
  EXPECT_EQ(Str(context, "principal"), "alice");
}

TEST_F(AuthTest, AppendWithoutEventsAppendIs403) {
  const std::string token = Mint("acme", "u1", "events:read");
  ExpectProblem(Append(token, "orders-1"), 403);
  ExpectProblem(
      client_->Post("/v1/transactions", R"({"streams":[]})", Bearer(token)),
      403);
  ExpectProblem(client_->Delete("/v1/streams/orders-1", Bearer(token)), 403);
}

TEST_F(AuthTest, ReadsWithoutEventsReadAre403) {
  const std::string token = Mint("acme", "u1", "events:append");
  ASSERT_EQ(Append(token, "orders-1").status, 201);
  ExpectProblem(client_->Get("/v1/streams/orders-1/events", Bearer(token)),
                403);
  ExpectProblem(client_->Get("/v1/streams/orders-1", Bearer(token)), 403);
  ExpectProblem(client_->Get("/v1/streams", Bearer(token)), 403);
  ExpectProblem(client_->Get("/v1/events", Bearer(token)), 403);
  HttpHeaders follow = Bearer(token);
  follow["Accept"] = "application/x-ndjson";
  ExpectProblem(client_->Get("/v1/events?follow=true", follow), 403);
}

TEST_F(AuthTest, OtherTenantHeaderIs403) {
  HttpHeaders headers = Bearer(Mint("acme", "u1", AllScopes()));
  headers["X-Cairn-Tenant"] = "globex";
  ExpectProblem(client_->Get("/v1/events", headers), 403);
  headers["X-Cairn-Tenant"] = "acme";
  EXPECT_EQ(client_->Get("/v1/events", headers).status, 200);
}

TEST_F(AuthTest, TenantsSeeOnlyTheirOwnEvents) {
  const std::string acme = Mint("acme", "a", AllScopes());
  const std::string globex = Mint("globex", "g", AllScopes());
  ASSERT_EQ(Append(acme, "orders-1", AppendBody(2, "AcmeEvent")).status, 201);
  ASSERT_EQ(Append(globex, "orders-1", AppendBody(3, "GlobexEvent")).status,
            201);

  for (const auto& [token, type, n] :
       {std::tuple{acme, "AcmeEvent", 2u}, {globex, "GlobexEvent", 3u}}) {
    const json::value stream =
        Json(client_->Get("/v1/streams/orders-1/events", Bearer(token)));
    ASSERT_EQ(stream.at("events").as_array().size(), n);
    for (const auto& e : stream.at("events").as_array()) {
      EXPECT_EQ(Str(e, "type"), type);
    }
    const json::value log = Json(client_->Get("/v1/events", Bearer(token)));
    ASSERT_EQ(log.at("events").as_array().size(), n);
    for (const auto& e : log.at("events").as_array()) {
      EXPECT_EQ(Str(e, "type"), type);
    }
    const HttpResponse listing = client_->Get("/v1/streams", Bearer(token));
    ASSERT_EQ(listing.status, 200) << listing.body;
    EXPECT_NE(listing.body.find("orders-1"), std::string::npos);
  }
  const std::string only = Mint("initech", "i", AllScopes());
  const HttpResponse none = client_->Get("/v1/streams", Bearer(only));
  ASSERT_EQ(none.status, 200) << none.body;
  EXPECT_EQ(none.body.find("orders-1"), std::string::npos) << none.body;
  EXPECT_EQ(client_->Get("/v1/streams/orders-1/events", Bearer(only)).status,
            404);
}

TEST_F(AuthTest, SelfScopeReadsOnlyItsOwnReadModel) {
  const std::string writer = Mint("acme", "svc", AllScopes());
  const HttpResponse append =
      Append(writer, "learner-user-1", AttemptBody("user-1"));
  ASSERT_EQ(append.status, 201) << append.body;
  const std::string position =
      std::to_string(Int(Json(append), "lastPosition"));
  const std::string self = Mint("acme", "user-1", "self");
  const HttpResponse own = client_->Get(
      "/v1/read-models/dashboard/user-1?minPosition=" + position, Bearer(self));
  EXPECT_EQ(own.status, 200) << own.body;
  const std::string self2 = Mint("acme", "user-2", "self");
  const HttpResponse own_empty =
      client_->Get("/v1/read-models/dashboard/user-2", Bearer(self2));
  EXPECT_EQ(own_empty.status, 404) << own_empty.body;
  ExpectProblem(client_->Get("/v1/read-models/dashboard/user-1", Bearer(self2)),
                403);
  ExpectProblem(client_->Get("/v1/events", Bearer(self)), 403);
}

TEST_F(AuthTest, RebuildNeedsAdmin) {
  const std::string reader =
      Mint("acme", "u1", "events:append events:read read-models:read");
  ExpectProblem(client_->Request("POST", "/v1/projections/dashboard/rebuild",
                                 "", Bearer(reader)),
                403);
  EXPECT_EQ(client_->Get("/v1/projections", Bearer(reader)).status, 200);
  const std::string admin = Mint("acme", "ops", "admin");
  const HttpResponse rebuild = client_->Request(
      "POST", "/v1/projections/dashboard/rebuild", "", Bearer(admin));
  EXPECT_EQ(rebuild.status, 202) << rebuild.body;
}

TEST_F(AuthTest, WebSocketAuthMessageThenStreamSubscription) {
  const std::string token = Mint("acme", "u1", AllScopes());
  ASSERT_EQ(Append(token, "orders-1", AppendBody(2)).status, 201);
  WsClient ws(server_.port());
  ws.SendText(R"({"op":"auth","token":")" + token + R"("})");
  EXPECT_EQ(Str(NextMessage(ws), "op"), "authenticated");
  ws.SendText(
      R"({"op":"subscribe","id":"s1","stream":"orders-1","from":"start"})");
  EXPECT_EQ(Str(NextMessage(ws), "op"), "subscribed");
  for (int i = 0; i < 2; ++i) {
    const json::value v = NextMessage(ws);
    ASSERT_EQ(Str(v, "op"), "event") << json::serialize(v);
    EXPECT_EQ(Str(v.at("event").at("context"), "orgId"), "acme");
  }
  EXPECT_EQ(Str(NextMessage(ws), "op"), "caught-up");
}

TEST_F(AuthTest, WebSocketUpgradeHeaderAuthenticates) {
  const std::string token = Mint("acme", "u1", "events:read");
  WsClient ws(server_.port(), Bearer(token));
  ws.SendText(R"({"op":"subscribe","id":"s1","all":{},"from":"start"})");
  EXPECT_EQ(Str(NextMessage(ws), "op"), "subscribed");
}

TEST_F(AuthTest, WebSocketBadTokenCloses4401) {
  WsClient ws(server_.port());
  ws.SendText(R"({"op":"auth","token":"not-a-token"})");
  WsClient::Message m = ws.Read(seconds(10));
  EXPECT_TRUE(m.closed) << m.text << m.error;
  EXPECT_EQ(m.close_code, 4401);
}

TEST_F(AuthTest, WebSocketBadHeaderTokenCloses4401) {
  WsClient ws(server_.port(), Bearer("not-a-token"));
  WsClient::Message m = ws.Read(seconds(10));
  EXPECT_TRUE(m.closed) << m.text << m.error;
  EXPECT_EQ(m.close_code, 4401);
}

TEST_F(AuthTest, WebSocketAuthForAnotherTenantCloses4403) {
  WsClient ws(server_.port());
  ws.SendText(R"({"op":"auth","tenant":"globex","token":")" +
              Mint("acme", "u1", AllScopes()) + R"("})");
  WsClient::Message m = ws.Read(seconds(10));
  EXPECT_TRUE(m.closed) << m.text << m.error;
  EXPECT_EQ(m.close_code, 4403);
}

TEST_F(AuthTest, WebSocketSubscriptionsCheckScopes) {
  const std::string self = Mint("acme", "user-1", "self");
  WsClient ws(server_.port());
  ws.SendText(R"({"op":"auth","token":")" + self + R"("})");
  EXPECT_EQ(Str(NextMessage(ws), "op"), "authenticated");
  ws.SendText(
      R"({"op":"subscribe","id":"other","readModel":{"name":"dashboard","key":"user-2"}})");
  json::value v = NextMessage(ws);
  EXPECT_EQ(Str(v, "op"), "error") << json::serialize(v);
  EXPECT_EQ(Int(v, "status"), 403);
  EXPECT_EQ(Str(v, "id"), "other");
  ws.SendText(R"({"op":"subscribe","id":"log","all":{}})");
  v = NextMessage(ws);
  EXPECT_EQ(Str(v, "op"), "error") << json::serialize(v);
  EXPECT_EQ(Int(v, "status"), 403);
  ws.SendText(
      R"({"op":"subscribe","id":"own","readModel":{"name":"dashboard","key":"user-1"}})");
  EXPECT_EQ(Str(NextMessage(ws), "op"), "subscribed");
  v = NextMessage(ws);
  EXPECT_EQ(Str(v, "op"), "read-model") << json::serialize(v);
}

TEST_F(AuthTest, SighupReloadsTheSecret) {
  const std::string old_token = Mint("acme", "u1", "events:read");
  ASSERT_EQ(client_->Get("/v1/events", Bearer(old_token)).status, 200);
  constexpr std::string_view kNewSecret =
      "a new HS256 secret, 32 bytes or more";
  std::ofstream(secret_, std::ios::binary | std::ios::trunc) << kNewSecret;
  ASSERT_EQ(kill(server_.pid(), SIGHUP), 0);
  ASSERT_TRUE(server_.WaitForLog("JWT keys reloaded", seconds(10)));
  EXPECT_EQ(client_->Get("/v1/events", Bearer(old_token)).status, 401);
  const std::string new_token =
      Mint("acme", "u1", "events:read", Now() + 600, kNewSecret);
  EXPECT_EQ(client_->Get("/v1/events", Bearer(new_token)).status, 200);
}

// RS256 and ES256 keys from a JWKS file, tokens minted by cpp-jwt.
class JwksAuthTest : public JwtCairndTest {
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

  JwksAuthTest()
      : JwtCairndTest([](const std::filesystem::path& dir) {
          WriteJwks(dir / "jwks.json", {rsa_->jwk, ec_->jwk});
          return std::vector<std::string>{"--jwks-file",
                                          (dir / "jwks.json").string()};
        }),
        jwks_(keys_.path() / "jwks.json") {}

  static void WriteJwks(const std::filesystem::path& path,
                        const std::vector<std::string>& keys) {
    std::ofstream(path, std::ios::binary | std::ios::trunc) << Jwks(keys);
  }

  static std::string Token(const std::string& alg, const TestKey& key) {
    return MintSigned(alg, key, "acme", "svc-1", "events:append events:read",
                      Now() + 600);
  }

  int AppendStatus(const std::string& token) {
    return client_
        ->Post("/v1/streams/order-1/events", AppendBody(1), Bearer(token))
        .status;
  }

  static TestKey* rsa_;
  static TestKey* ec_;
  const std::filesystem::path jwks_;
};

TestKey* JwksAuthTest::rsa_ = nullptr;
TestKey* JwksAuthTest::ec_ = nullptr;

TEST_F(JwksAuthTest, Rs256AndEs256TokensVerifyAndStampTheirTenant) {
  EXPECT_EQ(AppendStatus(Token("RS256", *rsa_)), 201);
  EXPECT_EQ(AppendStatus(Token("ES256", *ec_)), 201);
  const HttpResponse r =
      client_->Get("/v1/events", Bearer(Token("ES256", *ec_)));
  ASSERT_EQ(r.status, 200) << r.body;
  const json::array events = Json(r).at("events").as_array();
  ASSERT_EQ(events.size(), 2u);
  for (const json::value& e : events) {
    EXPECT_EQ(Str(e.at("context"), "orgId"), "acme") << e;
    EXPECT_EQ(Str(e.at("context"), "principal"), "svc-1") << e;
  }
}

TEST_F(JwksAuthTest, RefusesUnknownKidWrongAlgorithmAndConfusion) {
  // A key the server does not have, under a kid it does not know.
  const TestKey stranger = MakeEcKey("ec-unknown");
  EXPECT_EQ(AppendStatus(Token("ES256", stranger)), 401);
  // A known kid, signed by another key.
  TestKey forged = MakeEcKey("ec-1");
  EXPECT_EQ(AppendStatus(Token("ES256", forged)), 401);
  // The RSA key asked to verify ES256: a key is bound to its algorithm.
  TestKey mislabelled = *ec_;
  mislabelled.kid = rsa_->kid;
  EXPECT_EQ(AppendStatus(Token("ES256", mislabelled)), 401);
  // Algorithm confusion: HS256 "signed" with the RSA public key's PEM.
  jwt::jwt_object hs{jwt::params::algorithm("HS256"),
                     jwt::params::secret(rsa_->public_pem)};
  hs.header().add_header("kid", rsa_->kid);
  EXPECT_EQ(AppendStatus(
                SignClaims(hs, "acme", "svc-1", "events:append", Now() + 600)),
            401);
  // No HS256 secret is configured at all: HS256 is refused outright.
  EXPECT_EQ(AppendStatus(Mint("acme", "svc-1", "events:append")), 401);
}

TEST_F(JwksAuthTest, SighupRotatesTheJwks) {
  const std::string old_rsa = Token("RS256", *rsa_);
  ASSERT_EQ(AppendStatus(old_rsa), 201);
  const TestKey next = MakeEcKey("ec-2");
  ASSERT_EQ(AppendStatus(Token("ES256", next)), 401);

  // The RSA key is retired, ec-2 published: no restart.
  WriteJwks(jwks_, {ec_->jwk, next.jwk});
  ASSERT_EQ(kill(server_.pid(), SIGHUP), 0);
  ASSERT_TRUE(server_.WaitForLog("JWT keys reloaded", seconds(10)));
  EXPECT_EQ(AppendStatus(Token("ES256", next)), 201);
  EXPECT_EQ(AppendStatus(Token("ES256", *ec_)), 201);
  // A token verified (and cached) under the retired key no longer passes.
  EXPECT_EQ(AppendStatus(old_rsa), 401);
}

TEST(AuthStartTest, RefusesToStartWithoutDevOrKey) {
  CairndProcess server;
  server.set_dev(false);
  EXPECT_THROW(server.Start(), std::runtime_error);
  EXPECT_NE(server.Log().find("no authentication configured"),
            std::string::npos)
      << server.Log();
}

TEST(AuthStartTest, RefusesToStartWithABadSecretFile) {
  TempDir dir;
  const auto path = dir.path() / "short";
  std::ofstream(path) << "too short";
  CairndProcess server({"--jwt-secret-file", path.string()});
  server.set_dev(false);
  EXPECT_THROW(server.Start(), std::runtime_error);
  EXPECT_NE(server.Log().find("bad JWT key file"), std::string::npos)
      << server.Log();
}

}  // namespace
}  // namespace cairn::testing
