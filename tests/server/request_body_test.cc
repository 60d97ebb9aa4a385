#include "server/request_body.h"

#include <gtest/gtest.h>

#include <string>

#include "protocol/event_record.h"

namespace cairn::server {
namespace {

const Caller kCaller{"acme", "anonymous", "4bf92f3577b34da6a3ce929d0e0e4736"};
const BodyLimits kLimits{1024};

Status::Code AppendError(std::string_view body) {
  auto r = ParseAppendBody(body, "s-1", kCaller, kLimits);
  return r.has_value() ? Status::Code::kOk : r.error().code();
}

TEST(RequestBodyTest, ParsesEventsAndStampsContext) {
  auto r = ParseAppendBody(
      R"({"expectedRevision": 3, "events": [
          {"id": "0b5d3c3e-6a5f-4b7e-9d9e-1f0c2e0a9b11", "type": "AttemptSubmitted",
           "data": {"correct": true, "score": 0.5}, "metadata": {"userId": "u"},
           "context": {"orgId": "forged"}}]})",
      "learner-1", kCaller, kLimits);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->streams.size(), 1u);
  const auto& sa = r->streams[0];
  EXPECT_EQ(sa.expected, storage::ExpectedRevision::Exact(3));
  ASSERT_EQ(sa.events.size(), 1u);
  EXPECT_TRUE(sa.events[0].client_id);
  auto view = DecodeEventRecord(sa.events[0].record);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->id.ToString(), "0b5d3c3e-6a5f-4b7e-9d9e-1f0c2e0a9b11");
  EXPECT_EQ(view->stream, "learner-1");
  EXPECT_EQ(view->data, R"({"correct":true,"score":0.5})");
  EXPECT_EQ(view->metadata, R"({"userId":"u"})");
  // The server's context, never the client's.
  EXPECT_EQ(
      view->context,
      R"({"orgId":"acme","principal":"anonymous","traceId":"4bf92f3577b34da6a3ce929d0e0e4736"})");
}

TEST(RequestBodyTest, DefaultsAreAnyNullDataAndEmptyMetadata) {
  auto r =
      ParseAppendBody(R"({"events":[{"type":"T"}]})", "s", kCaller, kLimits);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(r->streams[0].expected, storage::ExpectedRevision::Any());
  EXPECT_FALSE(r->streams[0].events[0].client_id);
  auto view = DecodeEventRecord(r->streams[0].events[0].record);
  EXPECT_EQ(view->data, "null");
  EXPECT_EQ(view->metadata, "{}");
}

TEST(RequestBodyTest, RejectsBadBodiesAsInvalidArgument) {
  const std::string long_type(257, 'T');
  for (
      const std::string& body : std::vector<std::string>{
          "{", "[]", "42", R"({})", R"({"events":{}})", R"({"events":[]})",
          R"({"events":[1]})", R"({"events":[{}]})",
          R"({"events":[{"type":5}]})", R"({"events":[{"type":""}]})",
          R"({"events":[{"type":"a\nb"}]})",
          R"({"events":[{"type":")" + long_type + R"("}]})",
          R"({"events":[{"type":"T","metadata":[]}]})",
          R"({"events":[{"type":"T","id":"nope"}]})",
          R"({"expectedRevision":"foo","events":[{"type":"T"}]})",
          R"({"expectedRevision":-5,"events":[{"type":"T"}]})",
          R"({"expectedRevision":1.5,"events":[{"type":"T"}]})",
          R"({"events":[{"type":"T","id":"0b5d3c3e-6a5f-4b7e-9d9e-1f0c2e0a9b11"},)"
          R"({"type":"T","id":"0B5D3C3E-6A5F-4B7E-9D9E-1F0C2E0A9B11"}]})"}) {
    SCOPED_TRACE(body);
    EXPECT_EQ(AppendError(body), Status::Code::kInvalidArgument);
  }
}

// Found by tests/fuzz/request_body_fuzzer: Boost.JSON reads these as
// infinities, which were stored as null.
TEST(RequestBodyTest, NumberBeyondADoubleIsRefusedNotStoredAsNull) {
  for (const char* body :
       {R"({"events":[{"type":"T","data":1e400}]})",
        R"({"events":[{"type":"T","data":{"a":[1,-1e309]}}]})",
        R"({"events":[{"type":"T","metadata":{"m":2e308}}]})"}) {
    EXPECT_EQ(AppendError(body), Status::Code::kInvalidArgument) << body;
  }
  auto r = ParseAppendBody(R"({"events":[{"type":"T","data":1.7e308}]})", "s",
                           kCaller, kLimits);
  ASSERT_TRUE(r.has_value());
  EXPECT_EQ(DecodeEventRecord(r->streams[0].events[0].record)->data,
            "1.7e+308");
}

TEST(RequestBodyTest, DeepNestingIsRefusedNotRecursed) {
  std::string deep = R"({"events":[{"type":"T","data":)";
  deep += std::string(10'000, '[') + std::string(10'000, ']') + "}]}";
  EXPECT_EQ(AppendError(deep), Status::Code::kInvalidArgument);
}

TEST(RequestBodyTest, OversizedEventIsTooLargeEvenBesideInvalidOnes) {
  const std::string big(2000, 'x');
  EXPECT_EQ(AppendError(R"({"events":[{"type":"T","data":")" + big + R"("}]})"),
            Status::Code::kTooLarge);
  // 413 outranks 400 (API.md precedence).
  EXPECT_EQ(AppendError(R"({"expectedRevision":"foo","events":[{},)"
                        R"({"type":"T","data":")" +
                        big + R"("}]})"),
            Status::Code::kTooLarge);
}

// The stored data of a one-event body's event.
std::string StoredData(std::string_view body) {
  auto r = ParseAppendBody(body, "s", kCaller, BodyLimits{});
  if (!r.has_value()) return "error: " + r.error().message();
  return std::string(DecodeEventRecord(r->streams[0].events[0].record)->data);
}

TEST(RequestBodyTest, DataIsStoredCompactWithStringsReescaped) {
  EXPECT_EQ(
      StoredData(
          R"({"events":[{"type":"T","data":{ "a\u0041\/" : [ 1.50, 1e2, -0, true, null, "\u00e9\t" ] }}]})"),
      "{\"aA/\":[1.5,100,0,true,null,\"\u00e9\\t\"]}");
  // Longer than the parser's buffer, so it reaches the reader in parts.
  std::string escaped;
  std::string stored;
  for (int i = 0; i < 3000; ++i) {
    escaped += "\\u00e9\\n";
    stored += "\u00e9\\n";
  }
  EXPECT_EQ(
      StoredData(R"({"events":[{"type":"T","data":")" + escaped + R"("}]})"),
      "\"" + stored + "\"");
}

// What the one-pass reader leaves to the DOM: the DOM keeps a repeated
// member's last value, in the first one's place.
TEST(RequestBodyTest, RepeatedMemberKeepsTheLastValue) {
  EXPECT_EQ(
      StoredData(
          R"({"events":[{"type":"T","data":{"a":1,"b":{"x":1,"y":2,"x":3}}}]})"),
      R"({"a":1,"b":{"x":3,"y":2}})");
  std::string many = R"({"events":[{"type":"T","data":{)";
  std::string stored = "{";
  for (int i = 0; i < 40; ++i) {
    const std::string member =
        "\"k" + std::to_string(i) + "\":" + std::to_string(i);
    many += (i > 0 ? "," : "") + member;
    stored += (i > 0 ? "," : "") + member;
  }
  EXPECT_EQ(StoredData(many + "}}]}"), stored + "}");
  // Repeated members of the body and of an event: the last one counts.
  auto r = ParseAppendBody(
      R"({"expectedRevision":[1],"events":[{"type":"A"}],"expectedRevision":2,)"
      R"("events":[{"type":"B","type":"C","data":1e400,"data":[1]}]})",
      "s", kCaller, kLimits);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  EXPECT_EQ(r->streams[0].expected, storage::ExpectedRevision::Exact(2));
  ASSERT_EQ(r->streams[0].events.size(), 1u);
  auto view = DecodeEventRecord(r->streams[0].events[0].record);
  EXPECT_EQ(view->type, "C");
  EXPECT_EQ(view->data, "[1]");
}

// ParseAppendBody reads in one pass; ParseAppendBodyWithDom through a DOM.
// tests/fuzz/request_body_fuzzer checks they agree on any input; these are
// the cases each path handles by code of its own.
TEST(RequestBodyTest, OnePassReaderAgreesWithTheDom) {
  const std::string big(2000, 'x');
  for (
      const std::string& body : std::vector<std::string>{
          "",
          "{",
          "[]",
          "42",
          "{} x",
          R"({"events":[{"type":"T"}]} x)",
          R"({"events":"x"})",
          R"({"events":[1,[2],{"type":"T"}]})",
          R"({"events":[{"type":"T","metadata":null}]})",
          R"({"events":[{"type":"T","metadata":[1e400]}]})",
          R"({"events":[{"type":"T","id":null}]})",
          R"({"events":[{"type":["T"]}]})",
          R"({"expectedRevision":-1,"events":[{"type":"T"}]})",
          R"({"expectedRevision":1.0,"events":[{"type":"T"}]})",
          R"({"expectedRevision":true,"events":[{"type":"T"}]})",
          R"({"expectedRevision":{"a":1},"events":[{"type":"T"}]})",
          R"({"expectedRevision":"1"})",
          R"({"expectedRevision":18446744073709551615,"events":[{"type":"T"}]})",
          R"({"events":[{"type":"T","data":")" + big + R"("},{}]})",
          R"({"x":{"events":[]},"events":[{"type":"T","x":{"type":5}}]})",
          R"({"events":[{"type":"T","data":{"a":{"b":[{"c":{}}]},"d":[]}}]})"}) {
    SCOPED_TRACE(body);
    auto read = ParseAppendBody(body, "s", kCaller, kLimits);
    auto dom = ParseAppendBodyWithDom(body, "s", kCaller, kLimits);
    ASSERT_EQ(read.has_value(), dom.has_value());
    if (!read.has_value()) {
      EXPECT_EQ(read.error().ToString(), dom.error().ToString());
      continue;
    }
    EXPECT_EQ(read->streams[0].expected, dom->streams[0].expected);
    ASSERT_EQ(read->streams[0].events.size(), dom->streams[0].events.size());
    for (size_t i = 0; i < read->streams[0].events.size(); ++i) {
      auto a = DecodeEventRecord(read->streams[0].events[i].record);
      auto b = DecodeEventRecord(dom->streams[0].events[i].record);
      EXPECT_EQ(a->type, b->type);
      EXPECT_EQ(a->data, b->data);
      EXPECT_EQ(a->metadata, b->metadata);
    }
  }
}

TEST(RequestBodyTest, TransactionParsesStreamsAndCondition) {
  auto r = ParseTransactionBody(
      R"({"appends":[{"stream":"a","expectedRevision":"no_stream","events":[{"type":"T"}]},
                     {"stream":"b","events":[{"type":"U"}]}],
          "condition":{"failIfEventsMatch":{"types":["T"],"categories":["lesson"]},"after":7}})",
      kCaller, kLimits);
  ASSERT_TRUE(r.has_value()) << r.error().ToString();
  ASSERT_EQ(r->streams.size(), 2u);
  EXPECT_EQ(r->streams[1].stream, "b");
  ASSERT_TRUE(r->condition.has_value());
  EXPECT_EQ(r->condition->after, GlobalPosition(7));
  EXPECT_EQ(r->condition->fail_if_events_match.categories,
            std::vector<std::string>{"lesson"});
}

TEST(RequestBodyTest, TransactionRejectsRepeatedStreamsAndBadNames) {
  for (
      const char* body :
      {R"({"appends":[]})",
       R"({"appends":[{"stream":"a","events":[{"type":"T"}]},{"stream":"a","events":[{"type":"T"}]}]})",
       R"({"appends":[{"stream":"","events":[{"type":"T"}]}]})",
       R"({"appends":[{"stream":"a","events":[{"type":"T"}]}],"condition":{"after":1}})"}) {
    SCOPED_TRACE(body);
    auto r = ParseTransactionBody(body, kCaller, kLimits);
    ASSERT_FALSE(r.has_value());
    EXPECT_EQ(r.error().code(), Status::Code::kInvalidArgument);
  }
}

TEST(RequestBodyTest, ExpectedRevisionText) {
  EXPECT_EQ(*ParseExpectedRevisionText("no_stream"),
            storage::ExpectedRevision::NoStream());
  EXPECT_EQ(*ParseExpectedRevisionText("12"),
            storage::ExpectedRevision::Exact(12));
  EXPECT_FALSE(ParseExpectedRevisionText("-1").has_value());
  EXPECT_FALSE(ParseExpectedRevisionText("1.0").has_value());
  EXPECT_FALSE(ParseExpectedRevisionText("").has_value());
}

TEST(RequestBodyTest, MetadataBody) {
  auto m = ParseMetadataBody(R"({"maxCount":10,"maxAgeSeconds":null})");
  ASSERT_TRUE(m.has_value());
  EXPECT_EQ(m->max_count, 10u);
  EXPECT_FALSE(m->max_age_seconds.has_value());
  EXPECT_FALSE(ParseMetadataBody(R"({"maxCount":-1})").has_value());
  EXPECT_FALSE(ParseMetadataBody(R"([])").has_value());
}

}  // namespace
}  // namespace cairn::server
