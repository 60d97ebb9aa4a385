#include "server/json_writer.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>

namespace cairn::server {
namespace {

std::string Compact(std::string_view text) {
  std::string out;
  AppendCompactJson(&out, boost::json::parse(text));
  return out;
}

TEST(JsonWriterTest, EscapesQuotesBackslashesAndControls) {
  std::string out;
  AppendJsonString(&out, std::string_view("a\"b\\c\n\x01 é", 10));
  EXPECT_EQ(out, "\"a\\\"b\\\\c\\n\\u0001 é\"");
}

TEST(JsonWriterTest, CompactKeepsNumbersShortAndExact) {
  EXPECT_EQ(Compact("{ \"a\" : 0.75, \"b\": [1, -2, 18446744073709551615] }"),
            "{\"a\":0.75,\"b\":[1,-2,18446744073709551615]}");
  EXPECT_EQ(Compact("1e300"), "1e+300");
  EXPECT_EQ(Compact("[true,false,null,\"x\"]"), "[true,false,null,\"x\"]");
}

TEST(JsonWriterTest, CompactOutputParsesBackToTheSameValue) {
  const char* text =
      R"({"userId":"user-1","score":0.1,"nested":{"k":[1,2.5,{"z":"\u00e9\t"}]}})";
  const auto original = boost::json::parse(text);
  EXPECT_EQ(boost::json::parse(Compact(text)), original);
}

TEST(JsonWriterTest, TimestampIsRfc3339WithMicroseconds) {
  std::string out;
  AppendTimestamp(&out, 1'795'574'672'123'456);  // 2026-11-25T02:44:32.123456Z
  EXPECT_EQ(out, "\"2026-11-25T02:44:32.123456Z\"");
  out.clear();
  AppendTimestamp(&out, 0);
  EXPECT_EQ(out, "\"1970-01-01T00:00:00.000000Z\"");
  out.clear();
  AppendTimestamp(&out, 951'782'400'000'000);  // a leap day
  EXPECT_EQ(out, "\"2000-02-29T00:00:00.000000Z\"");
  out.clear();
  AppendTimestamp(&out, 946'684'799'010'203);  // each digit pair its own
  EXPECT_EQ(out, "\"1999-12-31T23:59:59.010203Z\"");
}

}  // namespace
}  // namespace cairn::server
