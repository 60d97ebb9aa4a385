#include "server/router.h"

#include <gtest/gtest.h>

#include <set>
#include <string_view>

namespace cairn::server {
namespace {

TEST(RouterTest, MatchesStreamEventsAndDecodesTheStreamId) {
  Route r = MatchRoute("POST", "/v1/streams/learner-user%2F1/events");
  ASSERT_EQ(r.outcome, Route::Outcome::kOk);
  EXPECT_EQ(r.endpoint, Endpoint::kStreamEvents);
  EXPECT_EQ(r.stream, "learner-user/1");
}

TEST(RouterTest, KnownPathWithOtherMethodIsMethodNotAllowedWithAllow) {
  Route r = MatchRoute("PATCH", "/v1/streams/s/events");
  EXPECT_EQ(r.outcome, Route::Outcome::kMethodNotAllowed);
  EXPECT_EQ(r.allow, "GET, POST");
}

TEST(RouterTest, UnknownPathIsNotFound) {
  EXPECT_EQ(MatchRoute("GET", "/v2/streams").outcome,
            Route::Outcome::kNotFound);
  EXPECT_EQ(MatchRoute("GET", "/v1/streams/a/b/c").outcome,
            Route::Outcome::kNotFound);
}

TEST(RouterTest, MalformedTargetIsBadTarget) {
  EXPECT_EQ(MatchRoute("GET", "not-a-path").outcome,
            Route::Outcome::kBadTarget);
  EXPECT_EQ(MatchRoute("GET", "/v1/streams/%zz").outcome,
            Route::Outcome::kBadTarget);
}

TEST(RouterTest, QueryParametersAreDecoded) {
  Route r = MatchRoute("GET", "/v1/events?types=A%2CB,C&category=attempt");
  ASSERT_EQ(r.outcome, Route::Outcome::kOk);
  EXPECT_EQ(r.endpoint, Endpoint::kLog);
  EXPECT_EQ(r.Param("types"), "A,B,C");
  EXPECT_EQ(r.Param("category"), "attempt");
  EXPECT_FALSE(r.Param("from").has_value());
}

TEST(RouterTest, EveryEndpointIsReachable) {
  EXPECT_EQ(MatchRoute("GET", "/healthz").endpoint, Endpoint::kHealthz);
  EXPECT_EQ(MatchRoute("GET", "/readyz").endpoint, Endpoint::kReadyz);
  EXPECT_EQ(MatchRoute("GET", "/metrics").endpoint, Endpoint::kMetrics);
  EXPECT_EQ(MatchRoute("GET", "/v1/streams").endpoint, Endpoint::kStreams);
  EXPECT_EQ(MatchRoute("DELETE", "/v1/streams/s").endpoint, Endpoint::kStream);
  EXPECT_EQ(MatchRoute("PUT", "/v1/streams/s/metadata").endpoint,
            Endpoint::kStreamMetadata);
  EXPECT_EQ(MatchRoute("POST", "/v1/transactions").endpoint,
            Endpoint::kTransactions);
  EXPECT_EQ(MatchRoute("GET", "/v1/openapi.json").endpoint, Endpoint::kOpenApi);
  EXPECT_EQ(MatchRoute("POST", "/v1/admin/backups").endpoint,
            Endpoint::kBackups);
}

TEST(RouterTest, BackupsAreGetAndPost) {
  EXPECT_EQ(MatchRoute("GET", "/v1/admin/backups").outcome,
            Route::Outcome::kOk);
  EXPECT_EQ(MatchRoute("POST", "/v1/admin/backups").outcome,
            Route::Outcome::kOk);
  const Route r = MatchRoute("DELETE", "/v1/admin/backups");
  EXPECT_EQ(r.outcome, Route::Outcome::kMethodNotAllowed);
  EXPECT_EQ(r.allow, "GET, POST");
  EXPECT_EQ(MatchRoute("GET", "/v1/admin/backups/1").outcome,
            Route::Outcome::kNotFound);
  EXPECT_EQ(MatchRoute("GET", "/v1/admin").outcome, Route::Outcome::kNotFound);
}

TEST(RouterTest, OpenApiDocumentIsGetOnly) {
  EXPECT_EQ(MatchRoute("GET", "/v1/openapi.json").outcome, Route::Outcome::kOk);
  Route r = MatchRoute("POST", "/v1/openapi.json");
  EXPECT_EQ(r.outcome, Route::Outcome::kMethodNotAllowed);
  EXPECT_EQ(r.allow, "GET");
  EXPECT_EQ(MatchRoute("GET", "/v1/openapi.yaml").outcome,
            Route::Outcome::kNotFound);
}

TEST(RouterTest, EndpointNamesAreDistinctLabelValues) {
  const Endpoint all[] = {Endpoint::kHealthz,      Endpoint::kReadyz,
                          Endpoint::kMetrics,      Endpoint::kStreamEvents,
                          Endpoint::kStream,       Endpoint::kStreamMetadata,
                          Endpoint::kStreams,      Endpoint::kLog,
                          Endpoint::kTransactions, Endpoint::kReadModel,
                          Endpoint::kProjections,  Endpoint::kRebuild,
                          Endpoint::kOpenApi,      Endpoint::kBackups};
  std::set<std::string_view> names;
  for (Endpoint e : all) {
    const std::string_view name = EndpointName(e);
    EXPECT_NE(name, "unknown");
    EXPECT_EQ(name.find_first_not_of("abcdefghijklmnopqrstuvwxyz_"),
              std::string_view::npos)
        << name;
    names.insert(name);
  }
  EXPECT_EQ(names.size(), std::size(all));
}

}  // namespace
}  // namespace cairn::server
