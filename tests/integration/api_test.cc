// Every behaviour of the foundation issue (issue 2) over real HTTP against
// the real cairnd: appends and their expectations, idempotent retries,
// transactions, conditional appends, reads and paging, NDJSON, deletion,
// metadata, tenants, routing, trace context and graceful shutdown.

#include <gtest/gtest.h>
#include <signal.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <memory>
#include <mutex>
#include <regex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/integration_test_util.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {
namespace {

constexpr char kId1[] = "0b5d3c3e-6a5f-4b7e-9d9e-1f0c2e0a9b11";
constexpr char kId2[] = "1b5d3c3e-6a5f-4b7e-9d9e-1f0c2e0a9b12";
constexpr char kId3[] = "2b5d3c3e-6a5f-4b7e-9d9e-1f0c2e0a9b13";

// {"events":[{"id":ID,"type":"T"}, …]} (expectedRevision when given).
std::string EventsWithIds(const std::vector<std::string>& ids,
                          const std::string& expected = "") {
  std::string body = "{";
  if (!expected.empty()) body += R"("expectedRevision":)" + expected + ",";
  body += R"("events":[)";
  for (size_t i = 0; i < ids.size(); ++i) {
    if (i > 0) body += ",";
    body += R"({"id":")" + ids[i] + R"(","type":"T","data":{"i":)" +
            std::to_string(i) + "}}";
  }
  return body + "]}";
}

void ExpectProblem(const HttpResponse& r, int status) {
  EXPECT_EQ(r.status, status) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/problem+json");
  const json::value v = Json(r);
  ASSERT_TRUE(v.is_object()) << r.body;
  EXPECT_EQ(Int(v, "status"), status);
  EXPECT_TRUE(v.at("title").is_string());
  EXPECT_TRUE(v.at("detail").is_string());
}

using ApiTest = CairndTest;

// ---------------------------------------------------------------- append

TEST_F(ApiTest, AppendAnswers201WithRevisionsAndPositions) {
  HttpResponse r = Append("learner-1", AppendBody(3));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/json");
  json::value v = Json(r);
  EXPECT_EQ(Str(v, "stream"), "learner-1");
  EXPECT_EQ(Int(v, "firstRevision"), 0);
  EXPECT_EQ(Int(v, "lastRevision"), 2);
  EXPECT_EQ(Int(v, "firstPosition"), 0);
  EXPECT_EQ(Int(v, "lastPosition"), 2);

  // Revisions count per stream, positions per tenant.
  r = Append("other-1", AppendBody(2));
  ASSERT_EQ(r.status, 201) << r.body;
  v = Json(r);
  EXPECT_EQ(Int(v, "firstRevision"), 0);
  EXPECT_EQ(Int(v, "lastRevision"), 1);
  EXPECT_EQ(Int(v, "firstPosition"), 3);
  EXPECT_EQ(Int(v, "lastPosition"), 4);
}

TEST_F(ApiTest, AppendedEventReadsBackWithEveryField) {
  const HttpResponse r =
      Append("attempt-42",
             std::string(R"({"events":[{"id":")") + kId1 +
                 R"(","type":"AttemptSubmitted","data":{"exerciseId":"ex-7",)"
                 R"("correct":true,"score":0.75,"tags":["a","b"],"none":null},)"
                 R"("metadata":{"userId":"user-1","correlationId":"c-9"}}]})",
             {{"X-Cairn-Tenant", "acme"}});
  ASSERT_EQ(r.status, 201) << r.body;
  const HttpResponse read = client_->Get("/v1/streams/attempt-42/events",
                                         {{"X-Cairn-Tenant", "acme"}});
  ASSERT_EQ(read.status, 200) << read.body;
  const json::value page = Json(read);
  ASSERT_EQ(page.at("events").as_array().size(), 1u);
  const json::value& e = page.at("events").at(0);
  EXPECT_EQ(Str(e, "id"), kId1);
  EXPECT_EQ(Str(e, "stream"), "attempt-42");
  EXPECT_EQ(Str(e, "type"), "AttemptSubmitted");
  EXPECT_EQ(Int(e, "revision"), 0);
  EXPECT_EQ(Int(e, "position"), 0);
  EXPECT_TRUE(std::regex_match(
      Str(e, "time"), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")))
      << e.at("time");
  EXPECT_EQ(e.at("data"), json::parse(R"({"exerciseId":"ex-7","correct":true,
      "score":0.75,"tags":["a","b"],"none":null})"));
  EXPECT_EQ(e.at("metadata"),
            json::parse(R"({"userId":"user-1","correlationId":"c-9"})"));
  EXPECT_EQ(Str(e.at("context"), "orgId"), "acme");
  EXPECT_EQ(Str(e.at("context"), "principal"), "anonymous");
  EXPECT_EQ(Str(e.at("context"), "traceId").size(), 32u);
}

TEST_F(ApiTest, ServerAssignsAnIdWhenTheClientGivesNone) {
  AppendOk("s-1", 2);
  const json::array events = StreamEvents("s-1");
  ASSERT_EQ(events.size(), 2u);
  const std::regex uuid(
      "[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}");
  EXPECT_TRUE(std::regex_match(Str(events[0], "id"), uuid)) << events[0];
  EXPECT_NE(Str(events[0], "id"), Str(events[1], "id"));
}

TEST_F(ApiTest, ContextComesFromTheServerNotTheClient) {
  const HttpResponse r = Append(
      "s-1",
      R"({"events":[{"type":"T","context":{"orgId":"evil","principal":"root"}}]})");
  ASSERT_EQ(r.status, 201) << r.body;
  const json::array events = StreamEvents("s-1");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(Str(events[0].at("context"), "orgId"), "default");
  EXPECT_EQ(Str(events[0].at("context"), "principal"), "anonymous");
}

TEST_F(ApiTest, ExpectedRevisionAnyAppendsWhateverTheStreamHolds) {
  EXPECT_EQ(Append("s-1", AppendBody(1, "T", R"("any")")).status, 201);
  EXPECT_EQ(Append("s-1", AppendBody(1, "T", R"("any")")).status, 201);
  EXPECT_EQ(Append("s-1", AppendBody(1)).status, 201);  // the default
  EXPECT_EQ(StreamEvents("s-1").size(), 3u);
}

TEST_F(ApiTest, ExpectedRevisionNoStreamFailsOnceTheStreamExists) {
  ASSERT_EQ(Append("s-1", AppendBody(2, "T", R"("no_stream")")).status, 201);
  const HttpResponse r = Append("s-1", AppendBody(1, "T", R"("no_stream")"));
  ExpectProblem(r, 409);
  EXPECT_EQ(Int(Json(r), "actualRevision"), 1);
  EXPECT_EQ(StreamEvents("s-1").size(), 2u);
}

TEST_F(ApiTest, ExpectedRevisionExistsFailsWithNullWhenThereIsNoStream) {
  HttpResponse r = Append("s-1", AppendBody(1, "T", R"("exists")"));
  ExpectProblem(r, 409);
  ASSERT_TRUE(Json(r).as_object().contains("actualRevision")) << r.body;
  EXPECT_TRUE(Json(r).at("actualRevision").is_null()) << r.body;
  EXPECT_EQ(client_->Get("/v1/streams/s-1/events").status, 404);

  AppendOk("s-1", 1);
  r = Append("s-1", AppendBody(1, "T", R"("exists")"));
  EXPECT_EQ(r.status, 201) << r.body;
}

TEST_F(ApiTest, ExpectedRevisionNumberMustEqualTheLastRevision) {
  AppendOk("s-1", 2);  // revisions 0 and 1
  for (const char* wrong : {"0", "2", "7"}) {
    SCOPED_TRACE(wrong);
    const HttpResponse r = Append("s-1", AppendBody(1, "T", wrong));
    ExpectProblem(r, 409);
    EXPECT_EQ(Int(Json(r), "actualRevision"), 1);
  }
  HttpResponse r = Append("s-1", AppendBody(1, "T", "1"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Int(Json(r), "firstRevision"), 2);
  // On a stream that does not exist a number fails with null.
  r = Append("s-2", AppendBody(1, "T", "0"));
  ExpectProblem(r, 409);
  EXPECT_TRUE(Json(r).at("actualRevision").is_null());
  EXPECT_EQ(LogEvents().size(), 3u);
}

TEST_F(ApiTest, MultiEventAppendIsAtomic) {
  AppendOk("s-1", 1);
  // The third event is invalid: none of the three is stored.
  HttpResponse r =
      Append("s-1", R"({"events":[{"type":"A"},{"type":"B"},{"data":{}}]})");
  EXPECT_EQ(r.status, 400) << r.body;
  // A failed expectation: none stored either.
  r = Append("s-1", AppendBody(3, "T", "5"));
  EXPECT_EQ(r.status, 409) << r.body;
  EXPECT_EQ(LogEvents().size(), 1u);

  // A good one commits all, on consecutive revisions and positions.
  r = Append("s-1", AppendBody(4, "T", "0"));
  ASSERT_EQ(r.status, 201) << r.body;
  const json::array events = StreamEvents("s-1");
  ASSERT_EQ(events.size(), 5u);
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(Int(events[i], "revision"), static_cast<int64_t>(i));
    EXPECT_EQ(Int(events[i], "position"), static_cast<int64_t>(i));
  }
}

TEST_F(ApiTest, NamesOfExactly256BytesAreAccepted) {
  const std::string stream = "s-" + std::string(254, 'x');
  const std::string type(256, 'T');
  const HttpResponse r = Append(stream, AppendBody(1, type));
  ASSERT_EQ(r.status, 201) << r.body;
  const json::array events = StreamEvents(stream);
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(Str(events[0], "stream"), stream);
  EXPECT_EQ(Str(events[0], "type"), type);
}

// Limits at their edges: exactly the limit passes, one byte more is 413.
class LimitsTest : public CairndTest {
 protected:
  LimitsTest()
      : CairndTest({"--max-event-bytes", "1024", "--max-body-bytes", "65536"}) {
  }
};

TEST_F(LimitsTest, EventOfExactlyMaxEventBytesIsAccepted) {
  // type "T" (1) + data "\"x…x\"" (n + 2) + metadata {} (2), as stored.
  const auto body = [](size_t n) {
    return R"({"events":[{"type":"T","data":")" + std::string(n, 'x') +
           R"("}]})";
  };
  EXPECT_EQ(Append("s-1", body(1019)).status, 201);
  ExpectProblem(Append("s-1", body(1020)), 413);
  // Measured compact, as stored: whitespace in the request does not count.
  const std::string spaced = R"({"events":[{"type":"T","data":   [)" +
                             std::string(600, ' ') + R"(1]}]})";
  EXPECT_EQ(Append("s-1", spaced).status, 201);
  EXPECT_EQ(StreamEvents("s-1").size(), 2u);
}

TEST_F(LimitsTest, BodyOfExactlyMaxBodyBytesIsAccepted) {
  const auto body = [](size_t size) {
    std::string b = R"({"events":[{"type":"T"}]})";
    b.insert(1, size - b.size(), ' ');  // whitespace is still JSON
    return b;
  };
  EXPECT_EQ(Append("s-1", body(65536)).status, 201);
  ExpectProblem(Append("s-1", body(65537)), 413);
  EXPECT_EQ(StreamEvents("s-1").size(), 1u);
  // The connection that sent the refused body is gone; a new one works.
  EXPECT_EQ(client_->Get("/healthz").status, 200);
}

// ---------------------------------------------------------------- retries

TEST_F(ApiTest, ExactRetryAnswers200DuplicateWithTheOriginalResult) {
  // no_stream would fail on a retry: the retry check comes first.
  const std::string body = EventsWithIds({kId1, kId2}, R"("no_stream")");
  const HttpResponse first = Append("s-1", body);
  ASSERT_EQ(first.status, 201) << first.body;
  AppendOk("s-2", 1);
  const std::string log_before = client_->Get("/v1/events?limit=10000").body;

  const HttpResponse retry = Append("s-1", body);
  ASSERT_EQ(retry.status, 200) << retry.body;
  const json::value v = Json(retry);
  EXPECT_EQ(v.at("duplicate"), true);
  const json::value original = Json(first);
  for (const char* key : {"stream", "firstRevision", "lastRevision",
                          "firstPosition", "lastPosition"}) {
    EXPECT_EQ(v.at(key), original.at(key)) << key;
  }
  // Nothing appended.
  EXPECT_EQ(client_->Get("/v1/events?limit=10000").body, log_before);
  EXPECT_EQ(StreamEvents("s-1").size(), 2u);
}

TEST_F(ApiTest, RetryOfAnOlderAppendIsStillADuplicate) {
  ASSERT_EQ(Append("s-1", EventsWithIds({kId1})).status, 201);
  AppendOk("s-1", 3);  // the stream moved on
  const HttpResponse retry = Append("s-1", EventsWithIds({kId1}, "0"));
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(Json(retry).at("duplicate"), true);
  EXPECT_EQ(Int(Json(retry), "firstPosition"), 0);
  EXPECT_EQ(LogEvents().size(), 4u);
}

TEST_F(ApiTest, PartlyMatchingIdsAre409) {
  ASSERT_EQ(Append("s-1", EventsWithIds({kId1, kId2})).status, 201);
  // An old id with a new one, before or after it; the old ones in
  // another order.
  for (const auto& ids : std::vector<std::vector<std::string>>{
           {kId1, kId3}, {kId3, kId2}, {kId2, kId1}, {kId1, kId2, kId3}}) {
    SCOPED_TRACE(ids[0] + "," + ids[1]);
    ExpectProblem(Append("s-1", EventsWithIds(ids)), 409);
  }
  EXPECT_EQ(LogEvents().size(), 2u);
}

TEST_F(ApiTest, IdReusedInAnotherStreamIs409) {
  ASSERT_EQ(Append("s-1", EventsWithIds({kId1})).status, 201);
  ExpectProblem(Append("s-2", EventsWithIds({kId1})), 409);
  EXPECT_EQ(client_->Get("/v1/streams/s-2/events").status, 404);
  EXPECT_EQ(LogEvents().size(), 1u);
}

TEST_F(ApiTest, SameIdTwiceInOneRequestIs400) {
  ExpectProblem(Append("s-1", EventsWithIds({kId1, kId2, kId1})), 400);
  EXPECT_EQ(LogEvents().size(), 0u);
}

// ---------------------------------------------------------- transactions

TEST_F(ApiTest, TransactionCommitsEveryStreamWithResultsInOrder) {
  AppendOk("c-1", 1);  // position 0
  const HttpResponse r = Transaction(
      R"({"appends":[)"
      R"({"stream":"b-1","expectedRevision":"no_stream","events":)" +
      EventsJson(2) + R"(},{"stream":"a-1","events":)" + EventsJson(1) +
      R"(},{"stream":"c-1","expectedRevision":0,"events":)" + EventsJson(3) +
      "}]}");
  ASSERT_EQ(r.status, 201) << r.body;
  const json::value v = Json(r);
  const json::array& results = v.at("results").as_array();
  ASSERT_EQ(results.size(), 3u);
  // In the order of the request, not of the stream ids.
  EXPECT_EQ(Str(results[0], "stream"), "b-1");
  EXPECT_EQ(Int(results[0], "firstRevision"), 0);
  EXPECT_EQ(Int(results[0], "lastRevision"), 1);
  EXPECT_EQ(Int(results[0], "firstPosition"), 1);
  EXPECT_EQ(Int(results[0], "lastPosition"), 2);
  EXPECT_EQ(Str(results[1], "stream"), "a-1");
  EXPECT_EQ(Int(results[1], "firstPosition"), 3);
  EXPECT_EQ(Str(results[2], "stream"), "c-1");
  EXPECT_EQ(Int(results[2], "firstRevision"), 1);
  EXPECT_EQ(Int(results[2], "lastRevision"), 3);
  EXPECT_EQ(Int(results[2], "lastPosition"), 6);
  EXPECT_EQ(Int(v, "firstPosition"), 1);
  EXPECT_EQ(Int(v, "lastPosition"), 6);
  EXPECT_EQ(LogEvents().size(), 7u);
}

TEST_F(ApiTest, TransactionConflictListsEveryFailingStreamAndWritesNothing) {
  AppendOk("a-1", 2);  // last revision 1
  AppendOk("b-1", 1);  // last revision 0
  const std::string before = client_->Get("/v1/events?limit=10000").body;
  const HttpResponse r = Transaction(
      R"({"appends":[)"
      R"({"stream":"a-1","expectedRevision":0,"events":)" +
      EventsJson(1) + R"(},{"stream":"b-1","expectedRevision":0,"events":)" +
      EventsJson(1) +
      R"(},{"stream":"c-1","expectedRevision":"exists","events":)" +
      EventsJson(1) +
      R"(},{"stream":"b-2","expectedRevision":"no_stream","events":)" +
      EventsJson(1) + "}]}");
  ExpectProblem(r, 409);
  const json::array conflicts = Json(r).at("conflicts").as_array();
  ASSERT_EQ(conflicts.size(), 2u) << r.body;  // b-1 and b-2 were right
  EXPECT_EQ(Str(conflicts[0], "stream"), "a-1");
  EXPECT_EQ(Int(conflicts[0], "expectedRevision"), 0);
  EXPECT_EQ(Int(conflicts[0], "actualRevision"), 1);
  EXPECT_EQ(Str(conflicts[1], "stream"), "c-1");
  EXPECT_EQ(Str(conflicts[1], "expectedRevision"), "exists");
  EXPECT_TRUE(conflicts[1].at("actualRevision").is_null());
  EXPECT_EQ(client_->Get("/v1/events?limit=10000").body, before);
  EXPECT_EQ(client_->Get("/v1/streams/b-2/events").status, 404);
}

TEST_F(ApiTest, TransactionRetryIsADuplicate) {
  const std::string body =
      std::string(R"({"appends":[{"stream":"a-1","events":[{"id":")") + kId1 +
      R"(","type":"T"}]},{"stream":"b-1","events":[{"id":")" + kId2 +
      R"(","type":"T"}]}]})";
  const HttpResponse first = Transaction(body);
  ASSERT_EQ(first.status, 201) << first.body;
  const HttpResponse retry = Transaction(body);
  ASSERT_EQ(retry.status, 200) << retry.body;
  EXPECT_EQ(Json(retry).at("duplicate"), true);
  EXPECT_EQ(Json(retry).at("results"), Json(first).at("results"));
  EXPECT_EQ(LogEvents().size(), 2u);
}

// ---------------------------------------------------- conditional append

class ConditionalAppendTest : public CairndTest {
 protected:
  void SetUp() override {
    CairndTest::SetUp();
    AppendOk("lesson-1", 1, "LessonCompleted");    // position 0
    AppendOk("attempt-1", 1, "AttemptSubmitted");  // position 1
    AppendOk("lesson-2", 1, "LessonStarted");      // position 2
  }

  // A transaction appending one event to x-1 under the condition.
  HttpResponse Conditional(const std::string& match, const std::string& after) {
    std::string condition = R"({"failIfEventsMatch":)" + match;
    if (!after.empty()) condition += R"(,"after":)" + after;
    condition += "}";
    return Transaction(R"({"appends":[{"stream":"x-1","events":)" +
                       EventsJson(1) + R"(}],"condition":)" + condition + "}");
  }

  void ExpectConflictAt(const HttpResponse& r, int64_t position) {
    ExpectProblem(r, 409);
    EXPECT_EQ(Int(Json(r), "conflictPosition"), position) << r.body;
    EXPECT_EQ(client_->Get("/v1/streams/x-1/events").status, 404);
  }
};

TEST_F(ConditionalAppendTest, FailsOnAMatchingTypeAfterThePosition) {
  ExpectConflictAt(Conditional(R"({"types":["LessonStarted"]})", "1"), 2);
  // Any entry of a list matches: the first match is reported.
  ExpectConflictAt(
      Conditional(R"({"types":["LessonStarted","AttemptSubmitted"]})", "0"), 1);
}

TEST_F(ConditionalAppendTest, FailsOnAMatchingCategoryAfterThePosition) {
  ExpectConflictAt(Conditional(R"({"categories":["lesson"]})", "0"), 2);
}

TEST_F(ConditionalAppendTest, FailsOnAMatchingStreamAfterThePosition) {
  ExpectConflictAt(Conditional(R"({"streams":["attempt-1"]})", "0"), 1);
}

TEST_F(ConditionalAppendTest, WithoutAfterAnyMatchFails) {
  ExpectConflictAt(Conditional(R"({"categories":["lesson"]})", ""), 0);
}

TEST_F(ConditionalAppendTest, SucceedsWhenNothingMatchesAfterThePosition) {
  // Matches only at or before `after`.
  HttpResponse r = Conditional(R"({"types":["LessonCompleted"]})", "0");
  ASSERT_EQ(r.status, 201) << r.body;
  // Matches nothing at all.
  r = Conditional(R"({"types":["Nope"],"categories":["lesson"]})", "");
  ASSERT_EQ(r.status, 201) << r.body;
  // Every list must match: the type is there, but not in that category.
  r = Conditional(R"({"types":["AttemptSubmitted"],"categories":["lesson"]})",
                  "0");
  ASSERT_EQ(r.status, 201) << r.body;
  // After the last position nothing can match.
  r = Conditional(R"({"categories":["lesson","attempt","x"]})", "1000");
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(StreamEvents("x-1").size(), 4u);
}

TEST_F(ConditionalAppendTest, ASecondDecisionOnTheSamePositionFails) {
  // A decision at position 2, then another writer appends: it fails.
  ASSERT_EQ(Conditional(R"({"categories":["x"]})", "2").status, 201);
  ExpectProblem(Conditional(R"({"categories":["x"]})", "2"), 409);
}

// ---------------------------------------------------------------- reads

TEST_F(ApiTest, StreamReadPagesForwardWithNext) {
  AppendOk("s-1", 5);
  HttpResponse r = client_->Get("/v1/streams/s-1/events?limit=2");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value page = Json(r);
  ASSERT_EQ(page.at("events").as_array().size(), 2u);
  EXPECT_EQ(Int(page.at("events").at(0), "revision"), 0);
  EXPECT_EQ(Int(page, "next"), 2);
  page = Json(client_->Get("/v1/streams/s-1/events?from=2&limit=2"));
  EXPECT_EQ(Int(page.at("events").at(0), "revision"), 2);
  EXPECT_EQ(Int(page, "next"), 4);
  page = Json(client_->Get("/v1/streams/s-1/events?from=4&limit=2"));
  ASSERT_EQ(page.at("events").as_array().size(), 1u);
  EXPECT_TRUE(page.at("next").is_null());
  // Without a limit: everything, and no next.
  page = Json(client_->Get("/v1/streams/s-1/events?direction=forward"));
  EXPECT_EQ(page.at("events").as_array().size(), 5u);
  EXPECT_TRUE(page.at("next").is_null());
  // From past the end: nothing.
  page = Json(client_->Get("/v1/streams/s-1/events?from=9"));
  EXPECT_EQ(page.at("events").as_array().size(), 0u);
  EXPECT_TRUE(page.at("next").is_null());
}

TEST_F(ApiTest, StreamReadPagesBackwardFromTheEnd) {
  AppendOk("s-1", 5);
  json::value page =
      Json(client_->Get("/v1/streams/s-1/events?direction=backward&limit=2"));
  ASSERT_EQ(page.at("events").as_array().size(), 2u);
  EXPECT_EQ(Int(page.at("events").at(0), "revision"), 4);
  EXPECT_EQ(Int(page.at("events").at(1), "revision"), 3);
  EXPECT_EQ(Int(page, "next"), 2);
  page = Json(
      client_->Get("/v1/streams/s-1/events?direction=backward&from=2&limit=2"));
  EXPECT_EQ(Int(page.at("events").at(0), "revision"), 2);
  EXPECT_EQ(Int(page, "next"), 0);
  page = Json(
      client_->Get("/v1/streams/s-1/events?direction=backward&from=0&limit=2"));
  ASSERT_EQ(page.at("events").as_array().size(), 1u);
  EXPECT_TRUE(page.at("next").is_null());
}

TEST_F(ApiTest, ReadingAStreamThatDoesNotExistIs404) {
  ExpectProblem(client_->Get("/v1/streams/nope-1/events"), 404);
  ExpectProblem(client_->Get("/v1/streams/nope-1/events",
                             {{"Accept", "application/x-ndjson"}}),
                404);
  ExpectProblem(client_->Get("/v1/streams/nope-1"), 404);
}

TEST_F(ApiTest, StreamIdsArePercentDecoded) {
  // "café-1" and a stream id with a slash and a space in it.
  AppendOk("caf%C3%A9-1", 1);
  AppendOk("a%2Fb%20c", 1);
  const json::array events = StreamEvents("caf%C3%A9-1");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(Str(events[0], "stream"), "caf\xC3\xA9-1");
  EXPECT_EQ(Str(StreamEvents("a%2Fb%20c")[0], "stream"), "a/b c");
}

TEST_F(ApiTest, StreamInfoHasEveryField) {
  AppendOk("s-0", 1);
  AppendOk("attempt-2", 3);
  const HttpResponse r = client_->Get("/v1/streams/attempt-2");
  ASSERT_EQ(r.status, 200) << r.body;
  const json::value info = Json(r);
  EXPECT_EQ(Str(info, "stream"), "attempt-2");
  EXPECT_EQ(Int(info, "lastRevision"), 2);
  EXPECT_EQ(Int(info, "lastPosition"), 3);
  EXPECT_TRUE(std::regex_match(
      Str(info, "created"),
      std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z)")));
  EXPECT_EQ(info.at("deleted"), false);
  EXPECT_TRUE(info.at("metadata").at("maxCount").is_null());
  EXPECT_TRUE(info.at("metadata").at("maxAgeSeconds").is_null());
}

TEST_F(ApiTest, ListingPagesByPrefixInStreamIdOrder) {
  for (const char* s :
       {"attempt-3", "lesson-1", "attempt-1", "attempt-2", "attempts"}) {
    AppendOk(s, 1);
  }
  HttpResponse r = client_->Get("/v1/streams?prefix=attempt-&limit=2");
  ASSERT_EQ(r.status, 200) << r.body;
  json::value list = Json(r);
  json::array streams = list.at("streams").as_array();
  ASSERT_EQ(streams.size(), 2u);
  EXPECT_EQ(Str(streams[0], "stream"), "attempt-1");
  EXPECT_EQ(Int(streams[0], "lastRevision"), 0);
  EXPECT_EQ(Int(streams[0], "lastPosition"), 2);
  EXPECT_EQ(Str(streams[1], "stream"), "attempt-2");
  ASSERT_TRUE(list.at("next").is_string());

  list = Json(client_->Get("/v1/streams?prefix=attempt-&limit=2&after=" +
                           Str(list, "next")));
  streams = list.at("streams").as_array();
  ASSERT_EQ(streams.size(), 1u);
  EXPECT_EQ(Str(streams[0], "stream"), "attempt-3");
  EXPECT_TRUE(list.at("next").is_null());

  // No prefix: every stream, in byte order.
  list = Json(client_->Get("/v1/streams"));
  std::vector<std::string> all;
  for (const auto& s : list.at("streams").as_array()) {
    all.push_back(Str(s, "stream"));
  }
  EXPECT_EQ(all,
            (std::vector<std::string>{"attempt-1", "attempt-2", "attempt-3",
                                      "attempts", "lesson-1"}));
  EXPECT_TRUE(list.at("next").is_null());
}

TEST_F(ApiTest, LogReadPagesWithNext) {
  AppendOk("a-1", 3);
  AppendOk("b-1", 2);
  json::value page = Json(client_->Get("/v1/events?limit=2"));
  ASSERT_EQ(page.at("events").as_array().size(), 2u);
  EXPECT_EQ(Int(page.at("events").at(1), "position"), 1);
  EXPECT_EQ(Int(page, "next"), 2);
  page = Json(client_->Get("/v1/events?from=2&limit=2"));
  EXPECT_EQ(Int(page.at("events").at(0), "position"), 2);
  EXPECT_EQ(Int(page, "next"), 4);
  page = Json(client_->Get("/v1/events?from=4&limit=2"));
  ASSERT_EQ(page.at("events").as_array().size(), 1u);
  EXPECT_TRUE(page.at("next").is_null());
  page = Json(client_->Get("/v1/events"));
  EXPECT_EQ(page.at("events").as_array().size(), 5u);
  EXPECT_TRUE(page.at("next").is_null());
}

TEST_F(ApiTest, LogReadFiltersByType) {
  AppendOk("attempt-1", 2, "AttemptSubmitted");
  AppendOk("lesson-1", 2, "LessonCompleted");
  AppendOk("lesson-2", 1, "LessonStarted");
  AppendOk("attempt-2", 1, "AttemptSubmitted");
  json::value page = Json(client_->Get("/v1/events?types=LessonCompleted"));
  std::vector<int64_t> positions;
  for (const auto& e : page.at("events").as_array()) {
    EXPECT_EQ(Str(e, "type"), "LessonCompleted");
    positions.push_back(Int(e, "position"));
  }
  EXPECT_EQ(positions, (std::vector<int64_t>{2, 3}));
  page = Json(client_->Get("/v1/events?types=LessonStarted,AttemptSubmitted"));
  positions.clear();
  for (const auto& e : page.at("events").as_array()) {
    positions.push_back(Int(e, "position"));
  }
  EXPECT_EQ(positions, (std::vector<int64_t>{0, 1, 4, 5}));
}

TEST_F(ApiTest, LogReadFiltersByCategoryAndPages) {
  AppendOk("attempt-1", 2, "AttemptSubmitted");
  AppendOk("lesson-1", 2, "LessonCompleted");
  AppendOk("attempt-2", 2, "AttemptSubmitted");
  AppendOk("attempt", 1, "AttemptSubmitted");  // its own category
  std::vector<int64_t> positions;
  std::string next = "0";
  for (int pages = 0; pages < 10 && !next.empty(); ++pages) {
    const HttpResponse r =
        client_->Get("/v1/events?category=attempt&limit=2&from=" + next);
    ASSERT_EQ(r.status, 200) << r.body;
    const json::value page = Json(r);
    EXPECT_LE(page.at("events").as_array().size(), 2u);
    for (const auto& e : page.at("events").as_array()) {
      positions.push_back(Int(e, "position"));
    }
    next = page.at("next").is_null() ? "" : std::to_string(Int(page, "next"));
  }
  EXPECT_TRUE(next.empty());
  EXPECT_EQ(positions, (std::vector<int64_t>{0, 1, 4, 5, 6}));
  // Type and category together: both must match.
  const json::value page =
      Json(client_->Get("/v1/events?category=lesson&types=AttemptSubmitted"));
  EXPECT_EQ(page.at("events").as_array().size(), 0u);
}

TEST_F(ApiTest, StreamReadAnswersNdjsonWhenAsked) {
  AppendOk("s-1", 1500);  // more than one internal page
  AppendOk("s-2", 1);
  HttpResponse r = client_->Get("/v1/streams/s-1/events",
                                {{"Accept", "application/x-ndjson"}});
  ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
  EXPECT_EQ(r.Header("content-type"), "application/x-ndjson");
  std::vector<json::value> lines = NdjsonLines(r.body);
  ASSERT_EQ(lines.size(), 1500u);
  for (size_t i = 0; i < lines.size(); ++i) {
    ASSERT_EQ(Int(lines[i], "revision"), static_cast<int64_t>(i));
    ASSERT_EQ(Str(lines[i], "stream"), "s-1");
  }
  r = client_->Get("/v1/streams/s-1/events?from=10&limit=3",
                   {{"Accept", "application/x-ndjson"}});
  lines = NdjsonLines(r.body);
  ASSERT_EQ(lines.size(), 3u);
  EXPECT_EQ(Int(lines[0], "revision"), 10);
}

TEST_F(ApiTest, LogReadAnswersNdjsonWhenAsked) {
  // More than two of the server's 4,096-event pages, which an unfiltered
  // read renders two at a time: every event once, in order.
  AppendOk("a-1", 4000, "A");
  AppendOk("a-2", 4000, "A");
  AppendOk("a-3", 1426, "A");
  AppendOk("b-1", 2, "B");
  const auto positions_from = [this](const std::string& target, int64_t first,
                                     size_t count) {
    const HttpResponse r =
        client_->Get(target, {{"Accept", "application/x-ndjson"}});
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    EXPECT_EQ(r.Header("content-type"), "application/x-ndjson");
    const std::vector<json::value> lines = NdjsonLines(r.body);
    ASSERT_EQ(lines.size(), count) << target;
    for (size_t i = 0; i < lines.size(); ++i) {
      ASSERT_EQ(Int(lines[i], "position"), first + static_cast<int64_t>(i))
          << target;
    }
  };
  positions_from("/v1/events", 0, 9428);
  positions_from("/v1/events?from=4000", 4000, 5428);  // from mid-page
  positions_from("/v1/events?from=9427", 9427, 1);
  positions_from("/v1/events?from=9428", 9428, 0);
  // Filtered or limited, each page starts where the one before ended.
  positions_from("/v1/events?types=B", 9426, 2);
  positions_from("/v1/events?from=5&limit=7", 5, 7);
  positions_from("/v1/events?from=4090&limit=5000", 4090, 5000);
}

// ------------------------------------------------------------- deletion

TEST_F(ApiTest, SoftDeleteHidesTheStreamFromReadsAndListings) {
  AppendOk("s-1", 2);
  AppendOk("s-2", 1);
  ExpectProblem(client_->Delete("/v1/streams/s-1?expectedRevision=0"), 409);
  HttpResponse r = client_->Delete("/v1/streams/s-1?expectedRevision=1");
  ASSERT_EQ(r.status, 204) << r.body;
  EXPECT_TRUE(r.body.empty());
  ExpectProblem(client_->Get("/v1/streams/s-1/events"), 404);
  const json::value list = Json(client_->Get("/v1/streams"));
  ASSERT_EQ(list.at("streams").as_array().size(), 1u);
  EXPECT_EQ(Str(list.at("streams").at(0), "stream"), "s-2");
  r = client_->Get("/v1/streams/s-1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r).at("deleted"), true);
  // Deleting it again: there is nothing left to delete.
  ExpectProblem(client_->Delete("/v1/streams/s-1"), 404);
}

TEST_F(ApiTest, AppendAfterSoftDeleteContinuesTheRevisions) {
  AppendOk("s-1", 3);
  ASSERT_EQ(client_->Delete("/v1/streams/s-1").status, 204);
  const HttpResponse r = Append("s-1", AppendBody(2, "T", R"("no_stream")"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Int(Json(r), "firstRevision"), 3);
  EXPECT_EQ(Int(Json(r), "firstPosition"), 3);
  const json::array events = StreamEvents("s-1");
  ASSERT_EQ(events.size(), 2u);  // the old ones stay deleted
  EXPECT_EQ(Int(events[0], "revision"), 3);
  EXPECT_EQ(Json(client_->Get("/v1/streams")).at("streams").as_array().size(),
            1u);
}

TEST_F(ApiTest, TombstoneAnswers410ToEveryLaterReadAndAppend) {
  AppendOk("s-1", 2);
  ASSERT_EQ(client_->Delete("/v1/streams/s-1?tombstone=true").status, 204);
  ExpectProblem(client_->Get("/v1/streams/s-1/events"), 410);
  ExpectProblem(client_->Get("/v1/streams/s-1"), 410);
  ExpectProblem(Append("s-1", AppendBody(1)), 410);
  ExpectProblem(Append("s-1", AppendBody(1, "T", R"("no_stream")")), 410);
  ExpectProblem(client_->Delete("/v1/streams/s-1"), 410);
  ExpectProblem(client_->Put("/v1/streams/s-1/metadata", R"({"maxCount":1})"),
                410);
  EXPECT_EQ(Json(client_->Get("/v1/streams")).at("streams").as_array().size(),
            0u);
}

TEST_F(ApiTest, TombstoneAfterSoftDeleteClosesTheStream) {
  AppendOk("s-1", 1);
  ASSERT_EQ(client_->Delete("/v1/streams/s-1").status, 204);
  ASSERT_EQ(client_->Delete("/v1/streams/s-1?tombstone=true").status, 204);
  ExpectProblem(Append("s-1", AppendBody(1)), 410);
}

// ------------------------------------------------------------- metadata

TEST_F(ApiTest, MaxCountHidesOlderEventsFromStreamReads) {
  AppendOk("s-1", 5);
  HttpResponse r =
      client_->Put("/v1/streams/s-1/metadata", R"({"maxCount":2})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r), json::parse(R"({"maxCount":2,"maxAgeSeconds":null})"));
  json::array events = StreamEvents("s-1");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(Int(events[0], "revision"), 3);
  EXPECT_EQ(Int(events[1], "revision"), 4);
  events = StreamEvents("s-1", "?direction=backward");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(Int(events[1], "revision"), 3);
  // More appends move the window.
  AppendOk("s-1", 1);
  events = StreamEvents("s-1");
  ASSERT_EQ(events.size(), 2u);
  EXPECT_EQ(Int(events[0], "revision"), 4);
  // Replaced, not merged.
  r = client_->Put("/v1/streams/s-1/metadata", R"({"maxAgeSeconds":3600})");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Json(r), json::parse(R"({"maxCount":null,"maxAgeSeconds":3600})"));
}

TEST_F(ApiTest, MetadataMayBeSetBeforeTheFirstEvent) {
  HttpResponse r =
      client_->Put("/v1/streams/s-1/metadata", R"({"maxCount":1})");
  ASSERT_EQ(r.status, 200) << r.body;
  r = client_->Get("/v1/streams/s-1");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Int(Json(r).at("metadata"), "maxCount"), 1);
  AppendOk("s-1", 3);
  const json::array events = StreamEvents("s-1");
  ASSERT_EQ(events.size(), 1u);
  EXPECT_EQ(Int(events[0], "revision"), 2);
  EXPECT_EQ(
      Int(Json(client_->Get("/v1/streams/s-1")).at("metadata"), "maxCount"), 1);
}

TEST_F(ApiTest, MaxAgeHidesEventsOnceTheyAreOlder) {
  AppendOk("s-1", 2);
  ASSERT_EQ(
      client_->Put("/v1/streams/s-1/metadata", R"({"maxAgeSeconds":1})").status,
      200);
  // Not yet a second old. (If this machine stalled for a whole second
  // between the append and here, this check would be wrong, not the
  // server.)
  const auto appended = std::chrono::steady_clock::now();
  const size_t visible = StreamEvents("s-1").size();
  if (std::chrono::steady_clock::now() - appended <
      std::chrono::milliseconds(500)) {
    EXPECT_EQ(visible, 2u);
  }
  // Await the condition: gone after a second, within 10 s.
  const auto deadline = appended + std::chrono::seconds(10);
  size_t left = visible;
  while (left > 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    left = StreamEvents("s-1").size();
  }
  EXPECT_EQ(left, 0u);
  EXPECT_GE(std::chrono::steady_clock::now() - appended,
            std::chrono::milliseconds(900));
}

// --------------------------------------------------------------- tenants

TEST_F(ApiTest, TenantsHaveTheirOwnStreamsRevisionsAndPositions) {
  AppendOk("s-1", 3, "T", {{"X-Cairn-Tenant", "a"}});
  const HttpResponse r = Append("s-1", AppendBody(1, "T", R"("no_stream")"),
                                {{"X-Cairn-Tenant", "b"}});
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Int(Json(r), "firstRevision"), 0);
  EXPECT_EQ(Int(Json(r), "firstPosition"), 0);
  EXPECT_EQ(
      Int(Json(client_->Get("/v1/streams/s-1", {{"X-Cairn-Tenant", "a"}})),
          "lastRevision"),
      2);
  EXPECT_EQ(
      Int(Json(client_->Get("/v1/streams/s-1", {{"X-Cairn-Tenant", "b"}})),
          "lastRevision"),
      0);
  // No header: the tenant "default", which has nothing.
  ExpectProblem(client_->Get("/v1/streams/s-1/events"), 404);
}

TEST_F(ApiTest, ATenantSeesNoneOfAnotherTenantsEventsOrStreams) {
  AppendOk("attempt-1", 2, "Secret", {{"X-Cairn-Tenant", "a"}});
  AppendOk("lesson-9", 1, "Secret", {{"X-Cairn-Tenant", "a"}});
  AppendOk("mine-1", 1, "Mine", {{"X-Cairn-Tenant", "b"}});
  const HttpHeaders b = {{"X-Cairn-Tenant", "b"}};
  const json::array log = LogEvents(b);
  ASSERT_EQ(log.size(), 1u);
  EXPECT_EQ(Str(log[0], "stream"), "mine-1");
  EXPECT_EQ(Str(log[0].at("context"), "orgId"), "b");
  EXPECT_EQ(Json(client_->Get("/v1/events?types=Secret", b))
                .at("events")
                .as_array()
                .size(),
            0u);
  EXPECT_EQ(Json(client_->Get("/v1/events?category=attempt", b))
                .at("events")
                .as_array()
                .size(),
            0u);
  EXPECT_TRUE(NdjsonLines(client_
                              ->Get("/v1/events?types=Secret",
                                    {{"X-Cairn-Tenant", "b"},
                                     {"Accept", "application/x-ndjson"}})
                              .body)
                  .empty());
  const json::value list = Json(client_->Get("/v1/streams", b));
  ASSERT_EQ(list.at("streams").as_array().size(), 1u);
  EXPECT_EQ(Str(list.at("streams").at(0), "stream"), "mine-1");
  ExpectProblem(client_->Get("/v1/streams/attempt-1", b), 404);
  ExpectProblem(client_->Get("/v1/streams/attempt-1/events", b), 404);
  // Nor may it change them.
  ExpectProblem(client_->Delete("/v1/streams/attempt-1", b), 404);
  EXPECT_EQ(LogEvents({{"X-Cairn-Tenant", "a"}}).size(), 3u);
  // An event id of tenant a is free in tenant b.
  ASSERT_EQ(
      Append("x-1", EventsWithIds({kId1}), {{"X-Cairn-Tenant", "a"}}).status,
      201);
  EXPECT_EQ(Append("x-1", EventsWithIds({kId1}), b).status, 201);
}

// -------------------------------------------------- routing and operations

TEST_F(ApiTest, HealthzAndReadyzAnswer200) {
  HttpResponse r = client_->Get("/healthz");
  EXPECT_EQ(r.status, 200) << r.body;
  r = client_->Get("/readyz");
  EXPECT_EQ(r.status, 200) << r.body;
}

TEST_F(ApiTest, UnknownRouteIs404Problem) {
  for (const char* target :
       {"/", "/v1", "/v1/nope", "/v1/streams/s-1/events/extra", "/v2/events",
        "/healthz/x"}) {
    SCOPED_TRACE(target);
    ExpectProblem(client_->Get(target), 404);
  }
  ExpectProblem(client_->Post("/v1/nope", "{}"), 404);
}

TEST_F(ApiTest, KnownRouteWithAnotherMethodIs405WithAllow) {
  struct Case {
    const char* method;
    const char* target;
    const char* allow;
  };
  for (const Case& c :
       {Case{"PATCH", "/v1/streams/s-1/events", "GET, POST"},
        Case{"PUT", "/v1/streams/s-1", "GET, DELETE"},
        Case{"GET", "/v1/streams/s-1/metadata", "PUT"},
        Case{"POST", "/v1/events", "GET"}, Case{"DELETE", "/v1/streams", "GET"},
        Case{"GET", "/v1/transactions", "POST"},
        Case{"POST", "/healthz", "GET"}}) {
    SCOPED_TRACE(std::string(c.method) + " " + c.target);
    const HttpResponse r = client_->Request(c.method, c.target);
    ExpectProblem(r, 405);
    EXPECT_EQ(r.Header("allow"), c.allow);
  }
}

TEST_F(ApiTest, EveryResponseCarriesATraceparent) {
  AppendOk("s-1", 1);
  const std::regex traceparent("00-[0-9a-f]{32}-[0-9a-f]{16}-0[01]");
  std::set<std::string> traces;
  for (HttpResponse r :
       {client_->Get("/healthz"), client_->Get("/readyz"),
        Append("s-2", AppendBody(1)), Append("s-1", AppendBody(1, "T", "9")),
        client_->Get("/v1/streams/s-1/events"),
        client_->Get("/v1/streams/s-1/events",
                     {{"Accept", "application/x-ndjson"}}),
        client_->Get("/v1/events"), client_->Get("/v1/streams"),
        client_->Get("/v1/streams/nope"), client_->Get("/v1/nope"),
        client_->Request("PATCH", "/v1/events"),
        client_->Post("/v1/streams/s-1/events", "{"),
        client_->Delete("/v1/streams/s-2")}) {
    SCOPED_TRACE(std::to_string(r.status) + " " + r.body.substr(0, 100));
    EXPECT_TRUE(std::regex_match(r.Header("traceparent"), traceparent))
        << r.Header("traceparent");
    traces.insert(r.Header("traceparent").substr(3, 32));
  }
  EXPECT_EQ(traces.size(), 13u);  // a new trace for each
}

TEST_F(ApiTest, IncomingTraceparentIsContinuedIntoTheStoredEvent) {
  const std::string trace = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string parent = "00-" + trace + "-00f067aa0ba902b7-01";
  const HttpResponse r =
      Append("s-1", AppendBody(2), {{"traceparent", parent}});
  ASSERT_EQ(r.status, 201) << r.body;
  const std::string answered = r.Header("traceparent");
  EXPECT_EQ(answered.substr(0, 36), "00-" + trace + "-");
  EXPECT_NE(answered.substr(36, 16), "00f067aa0ba902b7");  // the server's span
  for (const auto& e : StreamEvents("s-1")) {
    EXPECT_EQ(Str(e.at("context"), "traceId"), trace);
  }
  // Problems carry it too.
  const HttpResponse p =
      Append("s-1", AppendBody(1, "T", "0"), {{"traceparent", parent}});
  EXPECT_EQ(Str(Json(p), "traceId"), trace);
  EXPECT_EQ(p.Header("traceparent").substr(3, 32), trace);
}

TEST_F(ApiTest, InvalidTraceparentStartsANewTrace) {
  for (const std::string bad :
       {"00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "xx-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736", "garbage"}) {
    SCOPED_TRACE(bad);
    const HttpResponse r = Append("s-1", AppendBody(1), {{"traceparent", bad}});
    ASSERT_EQ(r.status, 201) << r.body;
    const std::string trace = r.Header("traceparent").substr(3, 32);
    EXPECT_NE(trace, "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_NE(trace, "00000000000000000000000000000000");
    EXPECT_EQ(
        Str(StreamEvents("s-1", "?direction=backward&limit=1")[0].at("context"),
            "traceId"),
        trace);
  }
}

TEST_F(ApiTest, KeepAliveServesManyRequestsOnOneConnection) {
  // One client, one connection: 200 requests in a row, and pipelined
  // requests answered in order.
  for (int i = 0; i < 200; ++i) {
    ASSERT_EQ(Append("s-1", AppendBody(1)).status, 201);
  }
  std::string two;
  for (int i = 0; i < 2; ++i) {
    two += "GET /v1/streams/s-1 HTTP/1.1\r\nHost: x\r\n\r\n";
  }
  two += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::string raw = SendRaw(server_.port(), two);
  size_t count = 0;
  for (size_t at = 0; (at = raw.find("HTTP/1.1 200", at)) != std::string::npos;
       ++at) {
    ++count;
  }
  EXPECT_EQ(count, 3u) << raw;
}

TEST_F(ApiTest, LargeBodiesPipelinedOnOneConnectionAreEachAppendedWhole) {
  // Bodies of several reads each (cairnd reads at most 64 KiB at a time),
  // sent back to back, so that the next request's bytes arrive with the
  // end of each body.
  std::string body = AppendBody(300);
  body.insert(1, std::string(100'000, ' '));  // past 64 KiB either way
  ASSERT_GT(body.size(), 100'000u);
  std::string requests;
  for (int i = 0; i < 3; ++i) {
    requests +=
        "POST /v1/streams/s-1/events HTTP/1.1\r\nHost: x\r\n"
        "Content-Type: application/json\r\nContent-Length: " +
        std::to_string(body.size()) + "\r\n\r\n" + body;
  }
  requests += "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
  const std::string raw = SendRaw(server_.port(), requests);
  size_t created = 0;
  for (size_t at = 0; (at = raw.find("HTTP/1.1 201", at)) != std::string::npos;
       ++at) {
    ++created;
  }
  EXPECT_EQ(created, 3u) << raw.substr(0, 2000);
  EXPECT_NE(raw.find("HTTP/1.1 200"), std::string::npos);
  const json::array events = StreamEvents("s-1", "?limit=1000");
  ASSERT_EQ(events.size(), 900u);
  for (size_t i = 0; i < events.size(); ++i) {
    ASSERT_EQ(events[i].at("data").at("n").as_int64(),
              static_cast<int64_t>(i % 300));
  }
}

TEST_F(ApiTest, ResponseHeadsFollowTheRequestsVersion) {
  // HTTP/1.0 keeps the connection only when asked, and says so.
  const std::string old =
      SendRaw(server_.port(),
              "GET /healthz HTTP/1.0\r\nConnection: keep-alive\r\n\r\n"
              "GET /healthz HTTP/1.0\r\n\r\n");
  const HttpResponse first = ParseResponse(old);
  ASSERT_EQ(first.status, 200) << old;
  EXPECT_TRUE(old.starts_with("HTTP/1.0 200 OK\r\n")) << old;
  EXPECT_EQ(first.Header("connection"), "keep-alive") << old;
  EXPECT_EQ(first.Header("server"), "cairn") << old;
  const size_t second = old.find("HTTP/1.0 200 OK", 1);
  ASSERT_NE(second, std::string::npos) << old;
  EXPECT_EQ(ParseResponse(old.substr(second)).Header("connection"), "") << old;
  // Each body is exactly as long as its Content-Length says.
  EXPECT_EQ(std::to_string(first.body.size()), first.Header("content-length"));

  // HTTP/1.1 says close when it closes; an error is problem+json.
  const std::string closing =
      SendRaw(server_.port(),
              "GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
  const HttpResponse missing = ParseResponse(closing);
  ASSERT_EQ(missing.status, 404) << closing;
  EXPECT_TRUE(closing.starts_with("HTTP/1.1 404 Not Found\r\n")) << closing;
  EXPECT_EQ(missing.Header("connection"), "close") << closing;
  EXPECT_EQ(missing.Header("content-type"), "application/problem+json")
      << closing;
  EXPECT_EQ(std::to_string(missing.body.size()),
            missing.Header("content-length"));
  EXPECT_EQ(missing.Header("traceparent").size(), 55u) << closing;
}

// ------------------------------------------------------------- shutdown

TEST(ApiShutdownTest, SigtermExitsZeroAndKeepsEveryAcknowledgedEvent) {
  TempDir dir;
  std::vector<std::pair<int64_t, std::string>> acked;  // position, stream
  {
    CairndProcess server(dir.path());
    server.Start();
    HttpClient client(server.port());
    for (int i = 0; i < 30; ++i) {
      const std::string stream = "s-" + std::to_string(i % 4);
      const HttpResponse r =
          client.Post("/v1/streams/" + stream + "/events", AppendBody(2));
      ASSERT_EQ(r.status, 201) << r.body;
      acked.emplace_back(Int(Json(r), "firstPosition"), stream);
    }
    client.Close();
    EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Log();
    EXPECT_NE(server.Log().find("\"msg\":\"stopped\""), std::string::npos)
        << server.Log();
  }
  CairndProcess server(dir.path());
  server.Start();
  HttpClient client(server.port());
  const json::array log =
      Json(client.Get("/v1/events?limit=10000")).at("events").as_array();
  ASSERT_EQ(log.size(), 60u);
  for (const auto& [position, stream] : acked) {
    EXPECT_EQ(Str(log[static_cast<size_t>(position)], "stream"), stream);
  }
  // The log goes on gaplessly; stream heads were recovered.
  const HttpResponse r =
      client.Post("/v1/streams/s-0/events", AppendBody(1, "T", "15"));
  ASSERT_EQ(r.status, 201) << r.body;
  EXPECT_EQ(Int(Json(r), "firstPosition"), 60);
  EXPECT_EQ(Int(Json(r), "firstRevision"), 16);
}

TEST(ApiShutdownTest, ConnectionsOnEveryIoThreadAreServedAndClosedAtSigterm) {
  // Connections go to the I/O threads' event loops in turn: with three
  // loops and six connections, each loop holds two. A loop that did not
  // run would leave its connections unanswered, and at SIGTERM open until
  // the grace period ends.
  CairndProcess server({"--io-threads", "3", "--shutdown-grace-seconds", "60"});
  server.Start();
  std::vector<std::unique_ptr<HttpClient>> clients;
  for (int i = 0; i < 6; ++i) {
    clients.push_back(
        std::make_unique<HttpClient>(server.port(), std::chrono::seconds(10)));
    clients.back()->set_retry(false);  // a new connection would go elsewhere
  }
  for (int round = 0; round < 2; ++round) {
    for (size_t i = 0; i < clients.size(); ++i) {
      const HttpResponse r = clients[i]->Post(
          "/v1/streams/c-" + std::to_string(i) + "/events", AppendBody(1));
      ASSERT_EQ(r.status, 201) << "connection " << i << ": " << r.body;
    }
  }
  // Every connection is open and idle: each loop closes its own.
  EXPECT_EQ(server.Stop(SIGTERM, std::chrono::seconds(20)), 0) << server.Log();
  EXPECT_EQ(server.Log().find("grace period over"), std::string::npos)
      << server.Log();
}

TEST(ApiShutdownTest, SigtermDuringAppendsLosesNoAcknowledgedEvent) {
  TempDir dir;
  constexpr int kWriters = 4;
  std::mutex mu;
  std::vector<std::string> acked_ids;  // guarded by mu
  std::set<int> other_statuses;        // guarded by mu
  std::atomic<int> acks{0};
  {
    CairndProcess server(dir.path());
    server.Start();
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        HttpClient client(server.port(), std::chrono::seconds(20));
        client.set_retry(false);
        for (int i = 0; i < 100000; ++i) {
          char id[37];
          std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%04x%08x", w,
                        i);
          const HttpResponse r = client.Post(
              "/v1/streams/w-" + std::to_string(w) + "/events",
              std::string(R"({"events":[{"id":")") + id + R"(","type":"T"}]})");
          std::lock_guard lock(mu);
          if (r.status == 201) {
            acked_ids.push_back(id);
            acks.fetch_add(1);
            continue;
          }
          if (r.status != 0) other_statuses.insert(r.status);
          return;  // 503 or closed: shutting down
        }
      });
    }
    // Await some acknowledgements, then SIGTERM with appends in flight.
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (acks.load() < 300 && std::chrono::steady_clock::now() < deadline) {
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    }
    ASSERT_GE(acks.load(), 300);
    EXPECT_EQ(server.Stop(SIGTERM), 0) << server.Log();
    for (auto& t : writers) t.join();
  }
  for (int status : other_statuses) EXPECT_EQ(status, 503);

  CairndProcess server(dir.path());
  server.Start();
  HttpClient client(server.port());
  const HttpResponse r =
      client.Get("/v1/events", {{"Accept", "application/x-ndjson"}});
  std::set<std::string> stored;
  int64_t position = 0;
  for (const json::value& e : NdjsonLines(r.body)) {
    EXPECT_EQ(Int(e, "position"), position++);
    stored.insert(Str(e, "id"));
  }
  for (const std::string& id : acked_ids) {
    EXPECT_TRUE(stored.count(id)) << "acknowledged, then lost: " << id;
  }
}

}  // namespace
}  // namespace cairn::testing
