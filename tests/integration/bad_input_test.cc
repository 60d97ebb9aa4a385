// The bad-input table of the foundation issue (issue 2, "Bad input"): each
// input gets the status of API.md's table as problem+json, appends
// nothing, changes no stored byte (the tenant log, the stream listing and a
// stream's info read back identical, byte for byte), and leaves the server
// serving.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "tests/integration/integration_test_util.h"

namespace cairn::testing {
namespace {

constexpr size_t kMaxEventBytes = 1024;
constexpr size_t kMaxBodyBytes = 65536;

struct BadInput {
  std::string name;  // a gtest name: letters, digits, underscores
  int status;
  // Either a request for the HTTP client…
  std::string method;
  std::string target;
  std::string body;
  HttpHeaders headers;
  // …or, when set, bytes sent as they are on a new connection.
  std::string raw;
};

// gtest prints the case by its name, not its bytes.
void PrintTo(const BadInput& b, std::ostream* os) { *os << b.name; }

const HttpHeaders kJson = {{"Content-Type", "application/json"}};

BadInput Post(std::string name, int status, std::string target,
              std::string body, HttpHeaders headers = kJson) {
  return {std::move(name),   status,          "POST",
          std::move(target), std::move(body), std::move(headers)};
}
BadInput Append(std::string name, int status, std::string body) {
  return Post(std::move(name), status, "/v1/streams/s-1/events",
              std::move(body));
}
BadInput Get(std::string name, int status, std::string target,
             HttpHeaders headers = {}) {
  return {std::move(name),   status, "GET",
          std::move(target), "",     std::move(headers)};
}
BadInput Raw(std::string name, int status, std::string bytes) {
  BadInput b{std::move(name), status};
  b.raw = std::move(bytes);
  return b;
}

std::string Nested(size_t depth) {
  return std::string(depth, '[') + std::string(depth, ']');
}

std::vector<BadInput> Table() {
  const std::string event = R"({"type":"T"})";
  const std::string ok = R"({"events":[)" + event + "]}";
  const std::string big_data =
      std::string(R"(")") + std::string(kMaxEventBytes, 'x') + R"(")";
  std::vector<BadInput> t = {
      // Bodies of POST /v1/streams/{stream}/events.
      Append("MalformedJson", 400, R"({"events":[)"),
      Append("MalformedJsonTrailingGarbage", 400, ok + "x"),
      Append("MalformedJsonSingleQuotes", 400, "{'events':[]}"),
      Append("EmptyBody", 400, ""),
      Append("BodyIsAnArray", 400, "[" + event + "]"),
      Append("BodyIsAString", 400, R"("events")"),
      Append("BodyIsNull", 400, "null"),
      Append("EventsMissing", 400, R"({"expectedRevision":"any"})"),
      Append("EventsNotAnArray", 400, R"({"events":)" + event + "}"),
      Append("EventsNull", 400, R"({"events":null})"),
      Append("EventsEmpty", 400, R"({"events":[]})"),
      Append("EventNotAnObject", 400, R"({"events":[1]})"),
      Append("EventWithoutType", 400, R"({"events":[{"data":{}}]})"),
      Append("SecondEventWithoutType", 400,
             R"({"events":[{"type":"T"},{"data":{}}]})"),
      Append("TypeNotAString", 400, R"({"events":[{"type":7}]})"),
      Append("TypeEmpty", 400, R"({"events":[{"type":""}]})"),
      Append("TypeOf257Bytes", 400,
             R"({"events":[{"type":")" + std::string(257, 'T') + R"("}]})"),
      Append("TypeWithAControlCharacter", 400,
             R"({"events":[{"type":"A\u0001B"}]})"),
      Append("TypeNotAscii", 400, R"({"events":[{"type":"caf\u00e9"}]})"),
      Append("IdNotAUuid", 400, R"({"events":[{"id":"x","type":"T"}]})"),
      Append("IdNotAString", 400, R"({"events":[{"id":1,"type":"T"}]})"),
      Append("EventMetadataNotAnObject", 400,
             R"({"events":[{"type":"T","metadata":[1]}]})"),
      Append("ExpectedRevisionFoo", 400,
             R"({"expectedRevision":"foo","events":[)" + event + "]}"),
      Append("ExpectedRevisionMinus5", 400,
             R"({"expectedRevision":-5,"events":[)" + event + "]}"),
      Append("ExpectedRevision1Point5", 400,
             R"({"expectedRevision":1.5,"events":[)" + event + "]}"),
      Append("ExpectedRevisionTrue", 400,
             R"({"expectedRevision":true,"events":[)" + event + "]}"),
      Append("ExpectedRevisionTooLarge", 400,
             R"({"expectedRevision":18446744073709551616,"events":[)" + event +
                 "]}"),
      Append("DataNested10000Deep", 400,
             R"({"events":[{"type":"T","data":)" + Nested(10000) + "}]}"),
      Append("MetadataNested10000Deep", 400,
             R"({"events":[{"type":"T","metadata":{"a":)" + Nested(10000) +
                 "}}]}"),
      Append("BodyNested10000Deep", 400, Nested(10000)),
      Append("InvalidUtf8InAString", 400,
             "{\"events\":[{\"type\":\"T\",\"data\":\"\xff\xfe\"}]}"),
      Append("EventOverMaxEventBytes", 413,
             R"({"events":[{"type":"T","data":)" + big_data + "}]}"),
      Append("EventOverMaxEventBytesInMetadata", 413,
             R"({"events":[{"type":"T","metadata":{"m":)" + big_data + "}}]}"),
      Append(
          "SecondEventOverMaxEventBytes", 413,
          R"({"events":[{"type":"T"},{"type":"T","data":)" + big_data + "}]}"),
      Append("BodyOverMaxBodyBytes", 413,
             R"({"events":[{"type":"T","data":")" +
                 std::string(kMaxBodyBytes, 'x') + R"("}]})"),

      // Stream ids in the path.
      Post("StreamIdOf257Bytes", 400,
           "/v1/streams/" + std::string(257, 's') + "/events", ok),
      Post("StreamIdWithAControlCharacter", 400, "/v1/streams/s%01x/events",
           ok),
      Post("StreamIdWithDel", 400, "/v1/streams/s%7Fx/events", ok),
      Post("StreamIdWithInvalidUtf8", 400, "/v1/streams/s%FFx/events", ok),
      Post("StreamIdWithAnOverlongUtf8", 400, "/v1/streams/%C0%AF/events", ok),
      Post("StreamIdWithASurrogate", 400, "/v1/streams/%ED%A0%80/events", ok),
      Post("StreamIdEmpty", 400, "/v1/streams//events", ok),
      Get("ReadStreamIdWithInvalidUtf8", 400, "/v1/streams/s%FFx/events"),
      Get("InfoStreamIdOf257Bytes", 400,
          "/v1/streams/" + std::string(257, 's')),

      // Content types.
      Post("ContentTypeTextPlain", 415, "/v1/streams/s-1/events", ok,
           {{"Content-Type", "text/plain"}}),
      Post("ContentTypeMissing", 415, "/v1/streams/s-1/events", ok, {}),
      Post("ContentTypeJsonx", 415, "/v1/streams/s-1/events", ok,
           {{"Content-Type", "application/jsonx"}}),
      Post("ContentTypeNdjson", 415, "/v1/transactions", ok,
           {{"Content-Type", "application/x-ndjson"}}),
      {"MetadataContentTypeForm",
       415,
       "PUT",
       "/v1/streams/s-1/metadata",
       R"({"maxCount":1})",
       {{"Content-Type", "application/x-www-form-urlencoded"}}},

      // Routes.
      Post("UnknownRoute", 404, "/v1/nope", ok),
      Get("UnknownRouteGet", 404, "/v1/streams/s-1/events/x"),
      Post("UnknownRouteBeforeContentType", 404, "/v1/nope", ok,
           {{"Content-Type", "text/plain"}}),

      // POST /v1/transactions.
      Post("TransactionMalformedJson", 400, "/v1/transactions", "{"),
      Post("TransactionBodyIsAnArray", 400, "/v1/transactions", "[]"),
      Post("TransactionAppendsMissing", 400, "/v1/transactions", "{}"),
      Post("TransactionAppendsNotAnArray", 400, "/v1/transactions",
           R"({"appends":{}})"),
      Post("TransactionAppendsEmpty", 400, "/v1/transactions",
           R"({"appends":[]})"),
      Post("TransactionStreamMissing", 400, "/v1/transactions",
           R"({"appends":[{"events":[{"type":"T"}]}]})"),
      Post("TransactionStreamEmpty", 400, "/v1/transactions",
           R"({"appends":[{"stream":"ok-1","events":[{"type":"T"}]},)"
           R"({"stream":"","events":[{"type":"T"}]}]})"),
      Post("TransactionStreamOf257Bytes", 400, "/v1/transactions",
           R"({"appends":[{"stream":")" + std::string(257, 's') +
               R"(","events":[{"type":"T"}]}]})"),
      Post("TransactionStreamTwice", 400, "/v1/transactions",
           R"({"appends":[{"stream":"a-1","events":[{"type":"T"}]},)"
           R"({"stream":"a-1","events":[{"type":"T"}]}]})"),
      Post("TransactionSecondAppendInvalid", 400, "/v1/transactions",
           R"({"appends":[{"stream":"ok-1","events":[{"type":"T"}]},)"
           R"({"stream":"ok-2","events":[]}]})"),
      Post("TransactionExpectedRevisionFoo", 400, "/v1/transactions",
           R"({"appends":[{"stream":"ok-1","expectedRevision":"foo",)"
           R"("events":[{"type":"T"}]}]})"),
      Post("TransactionSameIdInTwoStreams", 400, "/v1/transactions",
           R"({"appends":[{"stream":"a-1","events":[{"type":"T","id":)"
           R"("0b5d3c3e-6a5f-4b7e-9d9e-1f0c2e0a9b11"}]},{"stream":"b-1",)"
           R"("events":[{"type":"T","id":)"
           R"("0b5d3c3e-6a5f-4b7e-9d9e-1f0c2e0a9b11"}]}]})"),
      Post("TransactionConditionNotAnObject", 400, "/v1/transactions",
           R"({"appends":[{"stream":"ok-1","events":[{"type":"T"}]}],)"
           R"("condition":[]})"),
      Post("TransactionConditionWithoutMatch", 400, "/v1/transactions",
           R"({"appends":[{"stream":"ok-1","events":[{"type":"T"}]}],)"
           R"("condition":{"after":1}})"),
      Post("TransactionConditionTypesNotStrings", 400, "/v1/transactions",
           R"({"appends":[{"stream":"ok-1","events":[{"type":"T"}]}],)"
           R"("condition":{"failIfEventsMatch":{"types":[1]}}})"),
      Post("TransactionConditionAfterNegative", 400, "/v1/transactions",
           R"({"appends":[{"stream":"ok-1","events":[{"type":"T"}]}],)"
           R"("condition":{"failIfEventsMatch":{},"after":-1}})"),
      Post("TransactionEventOverMaxEventBytes", 413, "/v1/transactions",
           R"({"appends":[{"stream":"ok-1","events":[{"type":"T"}]},)"
           R"({"stream":"ok-2","events":[{"type":"T","data":)" +
               big_data + "}]}]}"),

      // PUT /v1/streams/{stream}/metadata.
      {"MetadataMalformedJson", 400, "PUT", "/v1/streams/s-1/metadata", "{",
       kJson},
      {"MetadataMaxCountNegative", 400, "PUT", "/v1/streams/s-1/metadata",
       R"({"maxCount":-1})", kJson},
      {"MetadataMaxAgeNotANumber", 400, "PUT", "/v1/streams/s-1/metadata",
       R"({"maxAgeSeconds":"1h"})", kJson},
      {"MetadataNotAnObject", 400, "PUT", "/v1/streams/s-1/metadata", "[1]",
       kJson},

      // DELETE and query parameters.
      {"DeleteExpectedRevisionFoo",
       400,
       "DELETE",
       "/v1/streams/s-1?expectedRevision=foo",
       "",
       {}},
      {"DeleteExpectedRevisionMinus5",
       400,
       "DELETE",
       "/v1/streams/s-1?expectedRevision=-5",
       "",
       {}},
      {"DeleteTombstoneMaybe",
       400,
       "DELETE",
       "/v1/streams/s-1?tombstone=maybe",
       "",
       {}},
      Get("StreamReadLimitZero", 400, "/v1/streams/s-1/events?limit=0"),
      Get("StreamReadLimitTooLarge", 400, "/v1/streams/s-1/events?limit=10001"),
      Get("StreamReadFromNegative", 400, "/v1/streams/s-1/events?from=-1"),
      Get("StreamReadDirectionUp", 400, "/v1/streams/s-1/events?direction=up"),
      Get("LogReadFromNotANumber", 400, "/v1/events?from=x"),
      Get("LogReadLimitNotANumber", 400, "/v1/events?limit=1e3"),
      Get("ListingLimitZero", 400, "/v1/streams?limit=0"),
      Get("TenantWithInvalidUtf8", 400, "/v1/events",
          {{"X-Cairn-Tenant", "a\xff"}}),
      Get("TenantOf257Bytes", 400, "/v1/events",
          {{"X-Cairn-Tenant", std::string(257, 't')}}),
      Post("AppendWithBadTenant", 400, "/v1/streams/s-1/events", ok,
           {{"Content-Type", "application/json"},
            {"X-Cairn-Tenant", std::string(257, 't')}}),

      // Bodies over --max-body-bytes that are never sent whole: the answer
      // comes from the announced length (or the chunks read so far).
      Raw("ContentLengthOverMaxBodyBytesUnsent", 413,
          "POST /v1/streams/s-1/events HTTP/1.1\r\nHost: x\r\n"
          "Content-Type: application/json\r\n"
          "Content-Length: 104857600\r\n\r\n{\"events\":["),
      Raw("ChunkedBodyOverMaxBodyBytes", 413,
          [] {
            std::string r =
                "POST /v1/streams/s-1/events HTTP/1.1\r\nHost: x\r\n"
                "Content-Type: application/json\r\n"
                "Transfer-Encoding: chunked\r\n\r\n";
            for (size_t sent = 0; sent <= kMaxBodyBytes; sent += 4096) {
              r += "1000\r\n" + std::string(4096, ' ') + "\r\n";
            }
            return r;
          }()),

      // Malformed request lines and headers.
      Raw("RequestLineGarbage", 400, "GARBAGE\r\n\r\n"),
      Raw("RequestLineWithoutTarget", 400, "GET\r\n\r\n"),
      Raw("RequestLineDoubleSpace", 400, "GET  /healthz HTTP/1.1\r\n\r\n"),
      Raw("RequestLineBadVersion", 400, "GET /v1/events HTTP/9.9\r\n\r\n"),
      Raw("RequestLineNotHttp", 400, "GET /v1/events FTP/1.1\r\n\r\n"),
      Raw("RequestLineBareLf", 400, "GET /v1/events HTTP/1.1\nHost: x\n\n"),
      Raw("RequestLineNulInTarget", 400,
          std::string("GET /v1/ev\0nts HTTP/1.1\r\n\r\n", 27)),
      Raw("RequestLineTlsHello", 400,
          std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11) +
              std::string(64, '\0')),
      Raw("TargetAbsoluteForm", 400,
          "GET http://example.com/v1/events HTTP/1.1\r\nHost: x\r\n"
          "Connection: close\r\n\r\n"),
      Raw("TargetBadPercentEncoding", 400,
          "GET /v1/events?from=%zz HTTP/1.1\r\nHost: x\r\n"
          "Connection: close\r\n\r\n"),
      Raw("HeaderWithoutColon", 400,
          "GET /v1/events HTTP/1.1\r\nBad Header\r\n\r\n"),
      Raw("HeaderNameWithASpace", 400,
          "GET /v1/events HTTP/1.1\r\nBad Name: x\r\n\r\n"),
      Raw("HeaderValueWithAControlCharacter", 400,
          "GET /v1/events HTTP/1.1\r\nX-A: a\x01z\r\n\r\n"),
      Raw("ContentLengthNotANumber", 400,
          "POST /v1/streams/s-1/events HTTP/1.1\r\nContent-Length: abc\r\n"
          "Content-Type: application/json\r\n\r\n"),
      Raw("ContentLengthNegative", 400,
          "POST /v1/streams/s-1/events HTTP/1.1\r\nContent-Length: -1\r\n"
          "Content-Type: application/json\r\n\r\n"),
      Raw("ContentLengthTwiceDifferent", 400,
          "POST /v1/streams/s-1/events HTTP/1.1\r\nContent-Length: 2\r\n"
          "Content-Length: 3\r\nContent-Type: application/json\r\n\r\n{}x"),
      Raw("ChunkSizeNotHex", 400,
          "POST /v1/streams/s-1/events HTTP/1.1\r\nHost: x\r\n"
          "Content-Type: application/json\r\n"
          "Transfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n"),
      Raw("HeaderOver16KiB", 431,
          "GET /v1/events HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'x') +
              "\r\n\r\n"),
  };

  // Random binary bodies, seeded so that a failure reproduces.
  std::mt19937 rng(20261125);
  for (int i = 0; i < 12; ++i) {
    std::string body(1 + rng() % 4000, '\0');
    for (auto& c : body) c = static_cast<char>(rng());
    t.push_back(Append("RandomBinaryBody" + std::to_string(i), 400, body));
  }
  // Random bytes that start like JSON.
  for (int i = 0; i < 4; ++i) {
    std::string body = R"({"events":[{"type":"T","data":)";
    body.resize(body.size() + 1 + rng() % 500);
    for (size_t k = 31; k < body.size(); ++k)
      body[k] = static_cast<char>(rng());
    t.push_back(Append("RandomBytesAfterJson" + std::to_string(i), 400, body));
  }
  return t;
}

class BadInputTest : public ::testing::TestWithParam<BadInput> {
 protected:
  // One server for the suite (ctest runs each case in its own process, so
  // each gets its own there).
  static void SetUpTestSuite() {
    server_ = new CairndProcess(std::vector<std::string>{
        "--max-event-bytes", std::to_string(kMaxEventBytes), "--max-body-bytes",
        std::to_string(kMaxBodyBytes)});
    try {
      server_->Start();
    } catch (const std::exception& e) {
      start_error_ = new std::string(e.what());
      return;
    }
    // Stored data that must not change: events in two streams, one with
    // metadata, one with client ids.
    HttpClient client(server_->port());
    const auto post = [&](const std::string& target, const std::string& body) {
      const HttpResponse r = client.Post(target, body);
      if (r.status != 201) {
        start_error_ = new std::string("seeding failed: " + r.body);
      }
    };
    post("/v1/streams/s-1/events",
         R"({"events":[{"type":"T","data":{"a":1}},{"type":"U"}]})");
    post("/v1/streams/other-1/events",
         R"({"events":[{"id":"0b5d3c3e-6a5f-4b7e-9d9e-1f0c2e0a9b11",)"
         R"("type":"T","data":[1,"x",null]}]})");
    client.Put("/v1/streams/s-1/metadata", R"({"maxCount":10})");
  }
  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete start_error_;
    start_error_ = nullptr;
  }

  void SetUp() override {
    ASSERT_EQ(start_error_, nullptr) << *start_error_;
    client_ = std::make_unique<HttpClient>(server_->port());
  }

  // What must not change: the log, the listing and a stream's info.
  std::string Snapshot() {
    std::string out;
    for (const char* target :
         {"/v1/events?limit=10000", "/v1/streams?limit=10000",
          "/v1/streams/s-1", "/v1/streams/other-1"}) {
      const HttpResponse r = client_->Get(target);
      EXPECT_EQ(r.status, 200) << target << ": " << r.body;
      out += r.body + "\n";
    }
    return out;
  }

  static CairndProcess* server_;
  static std::string* start_error_;
  std::unique_ptr<HttpClient> client_;
};

CairndProcess* BadInputTest::server_ = nullptr;
std::string* BadInputTest::start_error_ = nullptr;

TEST_P(BadInputTest, AnswersAProblemAndChangesNothing) {
  const BadInput& bad = GetParam();
  const std::string before = Snapshot();
  ASSERT_NE(before.find("\"s-1\""), std::string::npos) << before;

  HttpResponse r;
  if (!bad.raw.empty()) {
    const std::string reply = SendRaw(server_->port(), bad.raw);
    r = ParseResponse(reply);
    ASSERT_NE(r.status, 0) << r.error << "; the reply: " << reply;
  } else {
    // A fresh connection: some of these end it.
    HttpClient fresh(server_->port());
    fresh.set_retry(false);
    r = fresh.Request(bad.method, bad.target, bad.body, bad.headers);
    ASSERT_NE(r.status, 0) << r.error;
  }
  EXPECT_EQ(r.status, bad.status) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/problem+json");
  boost::system::error_code ec;
  const json::value problem = json::parse(r.body, ec);
  ASSERT_FALSE(ec) << r.body;
  ASSERT_TRUE(problem.is_object()) << r.body;
  EXPECT_EQ(problem.at("status"), bad.status) << r.body;
  EXPECT_TRUE(problem.at("title").is_string()) << r.body;
  EXPECT_TRUE(problem.at("detail").is_string()) << r.body;
  EXPECT_FALSE(problem.at("detail").as_string().empty()) << r.body;
  EXPECT_FALSE(r.Header("traceparent").empty());

  EXPECT_EQ(Snapshot(), before) << "stored data changed";
  const HttpResponse health = client_->Get("/healthz");
  EXPECT_EQ(health.status, 200) << health.error;
  EXPECT_TRUE(server_->running());
}

INSTANTIATE_TEST_SUITE_P(IssueTwo, BadInputTest, ::testing::ValuesIn(Table()),
                         [](const ::testing::TestParamInfo<BadInput>& info) {
                           return info.param.name;
                         });

}  // namespace
}  // namespace cairn::testing
