// Every behaviour of the foundation issue, over real HTTP against the real
// cairnd: appends and their expectations, retries, transactions, append
// conditions, reads, deletion, metadata, tenants, routing and shutdown.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <string>

#include "tests/integration/cairnd_fixture.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {
namespace {

namespace json = boost::json;

constexpr char kId1[] = "0b5d3c3e-6a5f-4b7e-9d9e-1f0c2e0a9b11";
constexpr char kId2[] = "1b5d3c3e-6a5f-4b7e-9d9e-1f0c2e0a9b12";

std::string Events(int n, const std::string& type = "AttemptSubmitted") {
  std::string out = "[";
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ",";
    out +=
        R"({"type":")" + type + R"(","data":{"n":)" + std::to_string(i) + "}}";
  }
  return out + "]";
}

class HttpApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<CairndProcess>(dir_.str());
    client_ = std::make_unique<HttpClient>(server_->port());
  }

  HttpResult Append(const std::string& stream, const std::string& body,
                    const std::map<std::string, std::string>& headers = {}) {
    return client_->PostJson("/v1/streams/" + stream + "/events", body,
                             headers);
  }
  static json::value Json(const HttpResult& r) { return json::parse(r.body); }
  static int64_t Int(const json::value& v, const char* key) {
    return v.at(key).to_number<int64_t>();
  }

  TempDir dir_;
  std::unique_ptr<CairndProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(HttpApiTest, AppendAnswers201WithRevisionsAndPositions) {
  auto r = Append("learner-1", R"({"events":)" + Events(3) + "}");
  ASSERT_EQ(r.status, 201) << r.body;
  auto v = Json(r);
  EXPECT_EQ(v.at("stream"), "learner-1");
  EXPECT_EQ(Int(v, "firstRevision"), 0);
  EXPECT_EQ(Int(v, "lastRevision"), 2);
  EXPECT_EQ(Int(v, "firstPosition"), 0);
  EXPECT_EQ(Int(v, "lastPosition"), 2);
  r = Append("other-1", R"({"events":)" + Events(1) + "}");
  EXPECT_EQ(Int(Json(r), "firstPosition"), 3);  // one log per tenant
  EXPECT_EQ(Int(Json(r), "firstRevision"), 0);
}

TEST_F(HttpApiTest, ExpectedRevisionFormsAndConflicts) {
  const auto body = [](const std::string& expected) {
    return R"({"expectedRevision":)" + expected + R"(,"events":)" + Events(1) +
           "}";
  };
  auto r = Append("s-1", body(R"("exists")"));
  EXPECT_EQ(r.status, 409);
  EXPECT_TRUE(Json(r).at("actualRevision").is_null());
  EXPECT_EQ(Append("s-1", body(R"("no_stream")")).status, 201);
  EXPECT_EQ(Append("s-1", body(R"("no_stream")")).status, 409);
  EXPECT_EQ(Append("s-1", body(R"("exists")")).status, 201);
  r = Append("s-1", body("0"));
  ASSERT_EQ(r.status, 409);
  EXPECT_EQ(Int(Json(r), "actualRevision"), 1);
  EXPECT_EQ(r.Header("content-type"), "application/problem+json");
  EXPECT_EQ(Append("s-1", body("1")).status, 201);
  EXPECT_EQ(Append("s-1", body(R"("any")")).status, 201);
  EXPECT_EQ(Int(Json(client_->Get("/v1/streams/s-1")), "lastRevision"), 3);
}

TEST_F(HttpApiTest, IdempotentRetryAnswers200WithTheOriginalResult) {
  const std::string body =
      std::string(R"({"expectedRevision":"no_stream","events":[{"id":")") +
      kId1 + R"(","type":"T"},{"id":")" + kId2 + R"(","type":"T"}]})";
  auto first = Append("s-1", body);
  ASSERT_EQ(first.status, 201);
  Append("s-2", R"({"events":)" + Events(1) + "}");
  auto retry = Append("s-1", body);
  ASSERT_EQ(retry.status, 200) << retry.body;
  auto v = Json(retry);
  EXPECT_EQ(v.at("duplicate"), true);
  EXPECT_EQ(Int(v, "firstPosition"), 0);
  EXPECT_EQ(Int(v, "lastPosition"), 1);
  auto log = Json(client_->Get("/v1/events"));
  EXPECT_EQ(log.at("events").as_array().size(), 3u);  // nothing appended
}

TEST_F(HttpApiTest, ReusedIdsOtherThanAnExactRetryAre409Or400) {
  ASSERT_EQ(Append("s-1", std::string(R"({"events":[{"id":")") + kId1 +
                              R"(","type":"T"}]})")
                .status,
            201);
  // Partly matching: the old id with a new one.
  EXPECT_EQ(Append("s-1", std::string(R"({"events":[{"id":")") + kId1 +
                              R"(","type":"T"},{"id":")" + kId2 +
                              R"(","type":"T"}]})")
                .status,
            409);
  // The same id in another stream.
  EXPECT_EQ(Append("s-2", std::string(R"({"events":[{"id":")") + kId1 +
                              R"(","type":"T"}]})")
                .status,
            409);
  // The same id twice in one request.
  EXPECT_EQ(Append("s-3", std::string(R"({"events":[{"id":")") + kId2 +
                              R"(","type":"T"},{"id":")" + kId2 +
                              R"(","type":"T"}]})")
                .status,
            400);
  EXPECT_EQ(Json(client_->Get("/v1/events")).at("events").as_array().size(),
            1u);
}

TEST_F(HttpApiTest, TransactionsCommitAllOrNothing) {
  auto r = client_->PostJson(
      "/v1/transactions",
      R"({"appends":[{"stream":"a-1","expectedRevision":"no_stream","events":)" +
          Events(2) + R"(},{"stream":"b-1","events":)" + Events(1) + "}]}");
  ASSERT_EQ(r.status, 201) << r.body;
  auto v = Json(r);
  ASSERT_EQ(v.at("results").as_array().size(), 2u);
  EXPECT_EQ(v.at("results").at(1).at("stream"), "b-1");
  EXPECT_EQ(Int(v, "firstPosition"), 0);
  EXPECT_EQ(Int(v, "lastPosition"), 2);

  r = client_->PostJson(
      "/v1/transactions",
      R"({"appends":[{"stream":"a-1","expectedRevision":0,"events":)" +
          Events(1) + R"(},{"stream":"b-1","expectedRevision":0,"events":)" +
          Events(1) +
          R"(},{"stream":"c-1","expectedRevision":"exists","events":)" +
          Events(1) + "}]}");
  ASSERT_EQ(r.status, 409);
  auto conflicts = Json(r).at("conflicts").as_array();
  ASSERT_EQ(conflicts.size(), 2u);  // every failing stream
  EXPECT_EQ(conflicts[0].at("stream"), "a-1");
  EXPECT_EQ(conflicts[0].at("actualRevision").to_number<int>(), 1);
  EXPECT_EQ(conflicts[1].at("stream"), "c-1");
  EXPECT_TRUE(conflicts[1].at("actualRevision").is_null());
  EXPECT_EQ(Json(client_->Get("/v1/events")).at("events").as_array().size(),
            3u);
}

TEST_F(HttpApiTest, ConditionalAppendFailsOnAMatchAfterThePosition) {
  Append("lesson-1", R"({"events":)" + Events(1, "LessonCompleted") + "}");
  Append("attempt-1", R"({"events":)" + Events(1, "AttemptSubmitted") + "}");
  const auto tx = [&](const std::string& match, int after) {
    return client_->PostJson(
        "/v1/transactions",
        R"({"appends":[{"stream":"x-1","events":)" + Events(1) +
            R"(}],"condition":{"failIfEventsMatch":)" + match + R"(,"after":)" +
            std::to_string(after) + "}}");
  };
  // Position 0 is the only LessonCompleted: after it, nothing matches.
  auto r = tx(R"({"types":["LessonCompleted"],"categories":["lesson"]})", 0);
  EXPECT_EQ(r.status, 201) << r.body;
  Append("lesson-2", R"({"events":)" + Events(1, "LessonCompleted") + "}");
  r = tx(R"({"types":["LessonCompleted"]})", 0);
  ASSERT_EQ(r.status, 409);
  EXPECT_EQ(Int(Json(r), "conflictPosition"), 3);
  EXPECT_EQ(tx(R"({"streams":["attempt-1"]})", 1).status, 201);
  EXPECT_EQ(tx(R"({"categories":["attempt"]})", 0).status, 409);
}

TEST_F(HttpApiTest, StreamReadsPageForwardAndBackward) {
  Append("s-1", R"({"events":)" + Events(5) + "}");
  auto page = Json(client_->Get("/v1/streams/s-1/events?limit=2"));
  EXPECT_EQ(page.at("events").as_array().size(), 2u);
  EXPECT_EQ(Int(page, "next"), 2);
  page = Json(client_->Get("/v1/streams/s-1/events?from=4&limit=2"));
  EXPECT_EQ(page.at("events").as_array().size(), 1u);
  EXPECT_TRUE(page.at("next").is_null());
  page =
      Json(client_->Get("/v1/streams/s-1/events?direction=backward&limit=2"));
  EXPECT_EQ(page.at("events").at(0).at("revision").to_number<int>(), 4);
  EXPECT_EQ(Int(page, "next"), 2);
  page = Json(
      client_->Get("/v1/streams/s-1/events?direction=backward&from=1&limit=5"));
  EXPECT_EQ(page.at("events").as_array().size(), 2u);
  EXPECT_TRUE(page.at("next").is_null());
  const auto& e = page.at("events").at(0);
  for (const char* field : {"id", "stream", "type", "revision", "position",
                            "time", "data", "metadata", "context"}) {
    EXPECT_TRUE(e.as_object().contains(field)) << field;
  }
  EXPECT_EQ(client_->Get("/v1/streams/nope/events").status, 404);
}

TEST_F(HttpApiTest, StreamInfoAndListing) {
  for (const char* s : {"attempt-1", "attempt-2", "attempt-3", "lesson-1"}) {
    Append(s, R"({"events":)" + Events(1) + "}");
  }
  auto info = Json(client_->Get("/v1/streams/attempt-2"));
  EXPECT_EQ(Int(info, "lastRevision"), 0);
  EXPECT_EQ(Int(info, "lastPosition"), 1);
  EXPECT_EQ(info.at("deleted"), false);
  EXPECT_TRUE(info.at("metadata").at("maxCount").is_null());
  auto list = Json(client_->Get("/v1/streams?prefix=attempt-&limit=2"));
  ASSERT_EQ(list.at("streams").as_array().size(), 2u);
  EXPECT_EQ(list.at("next"), "attempt-2");
  list = Json(client_->Get("/v1/streams?prefix=attempt-&after=attempt-2"));
  ASSERT_EQ(list.at("streams").as_array().size(), 1u);
  EXPECT_EQ(list.at("streams").at(0).at("stream"), "attempt-3");
  EXPECT_TRUE(list.at("next").is_null());
}

TEST_F(HttpApiTest, TenantLogFiltersAndNdjson) {
  Append("attempt-1", R"({"events":)" + Events(3, "AttemptSubmitted") + "}");
  Append("lesson-1", R"({"events":)" + Events(2, "LessonCompleted") + "}");
  auto page = Json(client_->Get("/v1/events?types=LessonCompleted"));
  EXPECT_EQ(page.at("events").as_array().size(), 2u);
  page = Json(client_->Get("/v1/events?category=attempt&limit=2"));
  EXPECT_EQ(page.at("events").as_array().size(), 2u);
  EXPECT_EQ(Int(page, "next"), 2);
  auto nd = client_->Get("/v1/events", {{"Accept", "application/x-ndjson"}});
  ASSERT_EQ(nd.status, 200);
  EXPECT_EQ(nd.Header("content-type"), "application/x-ndjson");
  size_t lines = 0;
  for (size_t at = 0; at < nd.body.size();) {
    const size_t end = nd.body.find('\n', at);
    ASSERT_NE(end, std::string::npos);
    EXPECT_EQ(json::parse(nd.body.substr(at, end - at))
                  .at("position")
                  .to_number<size_t>(),
              lines);
    ++lines;
    at = end + 1;
  }
  EXPECT_EQ(lines, 5u);
  nd = client_->Get("/v1/streams/attempt-1/events?limit=2",
                    {{"Accept", "application/x-ndjson"}});
  EXPECT_EQ(std::count(nd.body.begin(), nd.body.end(), '\n'), 2);
}

TEST_F(HttpApiTest, SoftDeleteAndTombstone) {
  Append("s-1", R"({"events":)" + Events(2) + "}");
  auto r = client_->Request("DELETE", "/v1/streams/s-1?expectedRevision=0");
  EXPECT_EQ(r.status, 409);
  EXPECT_EQ(
      client_->Request("DELETE", "/v1/streams/s-1?expectedRevision=1").status,
      204);
  EXPECT_EQ(client_->Get("/v1/streams/s-1/events").status, 404);
  EXPECT_EQ(Json(client_->Get("/v1/streams")).at("streams").as_array().size(),
            0u);
  r = Append("s-1",
             R"({"expectedRevision":"no_stream","events":)" + Events(1) + "}");
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(Int(Json(r), "firstRevision"), 2);  // continues after the old
  auto page = Json(client_->Get("/v1/streams/s-1/events"));
  ASSERT_EQ(page.at("events").as_array().size(), 1u);

  EXPECT_EQ(client_->Request("DELETE", "/v1/streams/s-1?tombstone=true").status,
            204);
  EXPECT_EQ(client_->Get("/v1/streams/s-1/events").status, 410);
  EXPECT_EQ(Append("s-1", R"({"events":)" + Events(1) + "}").status, 410);
  EXPECT_EQ(client_->Request("DELETE", "/v1/streams/s-1").status, 410);
}

TEST_F(HttpApiTest, MetadataMaxCountHidesOlderEventsFromStreamReads) {
  auto r =
      client_->Request("PUT", "/v1/streams/s-1/metadata", R"({"maxCount":2})",
                       {{"Content-Type", "application/json"}});
  ASSERT_EQ(r.status, 200) << r.body;  // allowed before the first event
  EXPECT_EQ(Int(Json(r), "maxCount"), 2);
  Append("s-1", R"({"events":)" + Events(5) + "}");
  auto page = Json(client_->Get("/v1/streams/s-1/events"));
  ASSERT_EQ(page.at("events").as_array().size(), 2u);
  EXPECT_EQ(page.at("events").at(0).at("revision").to_number<int>(), 3);
  EXPECT_EQ(
      Int(Json(client_->Get("/v1/streams/s-1")).at("metadata"), "maxCount"), 2);
  // The tenant log keeps them until they are reclaimed.
  EXPECT_EQ(Json(client_->Get("/v1/events")).at("events").as_array().size(),
            5u);
}

TEST_F(HttpApiTest, TenantsAreIsolated) {
  Append("s-1", R"({"events":)" + Events(2) + "}", {{"X-Cairn-Tenant", "a"}});
  auto r = Append(
      "s-1", R"({"expectedRevision":"no_stream","events":)" + Events(1) + "}",
      {{"X-Cairn-Tenant", "b"}});
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(Int(Json(r), "firstPosition"), 0);
  auto b_log = Json(client_->Get("/v1/events", {{"X-Cairn-Tenant", "b"}}));
  EXPECT_EQ(b_log.at("events").as_array().size(), 1u);
  EXPECT_EQ(b_log.at("events").at(0).at("context").at("orgId"), "b");
  auto a_stream =
      Json(client_->Get("/v1/streams/s-1/events", {{"X-Cairn-Tenant", "a"}}));
  EXPECT_EQ(a_stream.at("events").as_array().size(), 2u);
  EXPECT_EQ(client_->Get("/v1/streams/s-1", {{"X-Cairn-Tenant", "c"}}).status,
            404);
  EXPECT_EQ(Json(client_->Get("/v1/streams", {{"X-Cairn-Tenant", "c"}}))
                .at("streams")
                .as_array()
                .size(),
            0u);
}

TEST_F(HttpApiTest, RoutingHealthAndTraceContext) {
  EXPECT_EQ(client_->Get("/healthz").status, 200);
  EXPECT_EQ(client_->Get("/readyz").status, 200);
  EXPECT_EQ(client_->Get("/v1/nope").status, 404);
  auto r = client_->Request("PATCH", "/v1/streams/s-1/events");
  EXPECT_EQ(r.status, 405);
  EXPECT_EQ(r.Header("allow"), "GET, POST");
  EXPECT_EQ(r.Header("traceparent").size(), 55u);

  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  r = Append("s-1", R"({"events":)" + Events(1) + "}",
             {{"traceparent", "00-" + trace + "-00f067aa0ba902b7-01"}});
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(r.Header("traceparent").substr(3, 32), trace);
  auto e = Json(client_->Get("/v1/streams/s-1/events")).at("events").at(0);
  EXPECT_EQ(e.at("context").at("traceId"), trace.c_str());
  EXPECT_EQ(e.at("context").at("principal"), "anonymous");
}

TEST_F(HttpApiTest, SigtermExitsCleanlyAndKeepsEveryAcknowledgedEvent) {
  for (int i = 0; i < 20; ++i) {
    ASSERT_EQ(
        Append("s-" + std::to_string(i % 3), R"({"events":)" + Events(2) + "}")
            .status,
        201);
  }
  EXPECT_EQ(server_->Stop(), 0);
  client_.reset();
  server_ = std::make_unique<CairndProcess>(dir_.str());
  client_ = std::make_unique<HttpClient>(server_->port());
  EXPECT_EQ(Json(client_->Get("/v1/events")).at("events").as_array().size(),
            40u);
  auto r = Append("s-0", R"({"events":)" + Events(1) + "}");
  ASSERT_EQ(r.status, 201);
  EXPECT_EQ(Int(Json(r), "firstPosition"), 40);  // gapless after restart
}

}  // namespace
}  // namespace cairn::testing
