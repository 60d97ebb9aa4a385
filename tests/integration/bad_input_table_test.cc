// The bad-input table of the foundation issue. Each input gets the status
// of API.md's table as problem+json, appends nothing, changes no stored
// byte (the whole tenant log reads back identical), and leaves the server
// serving.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <memory>
#include <random>
#include <string>

#include "tests/integration/cairnd_fixture.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {
namespace {

namespace json = boost::json;

struct BadInput {
  std::string name;
  std::string method;
  std::string target;
  std::string body;
  std::map<std::string, std::string> headers;
  int status;
};

std::string Event(const std::string& type = "T") {
  return R"({"type":")" + type + R"("})";
}

std::vector<BadInput> Table() {
  const std::map<std::string, std::string> kJson = {
      {"Content-Type", "application/json"}};
  const std::string ok_events = R"({"events":[)" + Event() + "]}";
  std::vector<BadInput> t = {
      {"malformed JSON", "POST", "/v1/streams/s-1/events", R"({"events":[)",
       kJson, 400},
      {"body not an object", "POST", "/v1/streams/s-1/events", "[1,2]", kJson,
       400},
      {"events missing", "POST", "/v1/streams/s-1/events", "{}", kJson, 400},
      {"events not an array", "POST", "/v1/streams/s-1/events",
       R"({"events":{}})", kJson, 400},
      {"events empty", "POST", "/v1/streams/s-1/events", R"({"events":[]})",
       kJson, 400},
      {"event without type", "POST", "/v1/streams/s-1/events",
       R"({"events":[{"data":{}}]})", kJson, 400},
      {"type of 257 bytes", "POST", "/v1/streams/s-1/events",
       R"({"events":[)" + Event(std::string(257, 'T')) + "]}", kJson, 400},
      {"stream id of 257 bytes", "POST",
       "/v1/streams/" + std::string(257, 's') + "/events", ok_events, kJson,
       400},
      {"stream id with a control character", "POST", "/v1/streams/s%01x/events",
       ok_events, kJson, 400},
      {"stream id of invalid UTF-8", "POST", "/v1/streams/s%FFx/events",
       ok_events, kJson, 400},
      {"expectedRevision foo", "POST", "/v1/streams/s-1/events",
       R"({"expectedRevision":"foo","events":[)" + Event() + "]}", kJson, 400},
      {"expectedRevision -5", "POST", "/v1/streams/s-1/events",
       R"({"expectedRevision":-5,"events":[)" + Event() + "]}", kJson, 400},
      {"expectedRevision 1.5", "POST", "/v1/streams/s-1/events",
       R"({"expectedRevision":1.5,"events":[)" + Event() + "]}", kJson, 400},
      {"event over --max-event-bytes", "POST", "/v1/streams/s-1/events",
       R"({"events":[{"type":"T","data":")" + std::string(2000, 'x') +
           R"("}]})",
       kJson, 413},
      {"wrong Content-Type",
       "POST",
       "/v1/streams/s-1/events",
       ok_events,
       {{"Content-Type", "text/plain"}},
       415},
      {"no Content-Type", "POST", "/v1/streams/s-1/events", ok_events, {}, 415},
      {"unknown route", "POST", "/v1/nope", ok_events, kJson, 404},
      {"data nested 10,000 levels", "POST", "/v1/streams/s-1/events",
       R"({"events":[{"type":"T","data":)" + std::string(10000, '[') +
           std::string(10000, ']') + "}]}",
       kJson, 400},
      {"transaction with a bad stream", "POST", "/v1/transactions",
       R"({"appends":[{"stream":"ok-1","events":[{"type":"T"}]},)"
       R"({"stream":"","events":[{"type":"T"}]}]})",
       kJson, 400},
      {"bad from", "GET", "/v1/events?from=x", "", {}, 400},
      {"bad limit", "GET", "/v1/streams/s-1/events?limit=0", "", {}, 400},
      {"bad direction",
       "GET",
       "/v1/streams/s-1/events?direction=up",
       "",
       {},
       400},
      {"bad tenant",
       "GET",
       "/v1/events",
       "",
       {{"X-Cairn-Tenant", "a\x7f"}},
       400},
  };
  // Random binary bodies, seeded so that a failure reproduces.
  std::mt19937 rng(20261125);
  for (int i = 0; i < 20; ++i) {
    std::string body(1 + rng() % 2000, '\0');
    for (auto& c : body) c = static_cast<char>(rng());
    t.push_back({"random binary body " + std::to_string(i), "POST",
                 "/v1/streams/s-1/events", body, kJson, 400});
  }
  return t;
}

class BadInputTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<CairndProcess>(
        dir_.str(), std::vector<std::string>{"--max-event-bytes", "1024",
                                             "--max-body-bytes", "65536"});
    client_ = std::make_unique<HttpClient>(server_->port());
    // Some stored data that must not change.
    ASSERT_EQ(client_
                  ->PostJson("/v1/streams/s-1/events",
                             R"({"events":[{"type":"T","data":{"a":1}}]})")
                  .status,
              201);
  }
  std::string Log() { return client_->Get("/v1/events?limit=10000").body; }

  TempDir dir_;
  std::unique_ptr<CairndProcess> server_;
  std::unique_ptr<HttpClient> client_;
};

TEST_F(BadInputTest, EveryBadInputIsAProblemAndChangesNothing) {
  const std::string before = Log();
  for (const BadInput& bad : Table()) {
    SCOPED_TRACE(bad.name);
    HttpClient fresh(server_->port());
    HttpResult r = fresh.Request(bad.method, bad.target, bad.body, bad.headers);
    EXPECT_EQ(r.status, bad.status) << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/problem+json");
    boost::system::error_code ec;
    json::value problem = json::parse(r.body, ec);
    ASSERT_FALSE(ec) << r.body;
    EXPECT_EQ(problem.at("status").to_number<int>(), bad.status);
    EXPECT_TRUE(problem.at("title").is_string());
    EXPECT_TRUE(problem.at("detail").is_string());
    EXPECT_EQ(Log(), before);
    EXPECT_EQ(client_->Get("/healthz").status, 200);
  }
}

TEST_F(BadInputTest, OversizedBodyIs413WithoutBeingRead) {
  const std::string before = Log();
  // Announce 100 MiB but send only the head: the answer must come anyway.
  const std::string head =
      "POST /v1/streams/s-1/events HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nContent-Length: 104857600\r\n\r\n"
      "{\"events\":[";
  const std::string reply = HttpClient::SendRaw(server_->port(), head);
  EXPECT_EQ(reply.substr(0, 12), "HTTP/1.1 413") << reply;
  EXPECT_NE(reply.find("application/problem+json"), std::string::npos);
  // A chunked body that grows past the limit is cut off too.
  std::string chunked =
      "POST /v1/streams/s-1/events HTTP/1.1\r\nHost: x\r\n"
      "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n";
  for (int i = 0; i < 20; ++i) {
    chunked += "1000\r\n" + std::string(4096, ' ') + "\r\n";
  }
  const std::string reply2 = HttpClient::SendRaw(server_->port(), chunked);
  EXPECT_EQ(reply2.substr(0, 12), "HTTP/1.1 413") << reply2.substr(0, 200);
  EXPECT_EQ(Log(), before);
  EXPECT_EQ(client_->Get("/healthz").status, 200);
}

TEST_F(BadInputTest, MalformedRequestLinesAndHeadersAre400) {
  const std::string before = Log();
  for (const std::string& raw :
       {std::string("GARBAGE\r\n\r\n"), std::string("GET\r\n\r\n"),
        std::string("GET /v1/events HTTP/9.9\r\n\r\n"),
        std::string("GET /v1/events HTTP/1.1\r\nBad Header\r\n\r\n"),
        std::string("GET /v1/events HTTP/1.1\r\nContent-Length: abc\r\n\r\n"),
        std::string("\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03", 11)}) {
    SCOPED_TRACE(raw);
    const std::string reply = HttpClient::SendRaw(server_->port(), raw);
    EXPECT_EQ(reply.substr(0, 12), "HTTP/1.1 400") << reply;
    EXPECT_EQ(client_->Get("/healthz").status, 200);
  }
  const std::string huge_header =
      "GET /v1/events HTTP/1.1\r\nX-Big: " + std::string(64 * 1024, 'x') +
      "\r\n\r\n";
  EXPECT_EQ(HttpClient::SendRaw(server_->port(), huge_header).substr(0, 12),
            "HTTP/1.1 431");
  EXPECT_EQ(Log(), before);
}

}  // namespace
}  // namespace cairn::testing
