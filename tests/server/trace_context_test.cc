#include "server/trace_context.h"

#include <gtest/gtest.h>

namespace cairn::server {
namespace {

constexpr char kValid[] =
    "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

TEST(TraceContextTest, ContinuesAValidTraceWithANewSpan) {
  TraceContext t = TraceContext::FromHeader(kValid);
  EXPECT_EQ(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
  EXPECT_NE(t.span_id, "00f067aa0ba902b7");
  EXPECT_EQ(t.span_id.size(), 16u);
  EXPECT_TRUE(t.sampled);
  EXPECT_EQ(t.ToHeader().substr(0, 36), "00-4bf92f3577b34da6a3ce929d0e0e4736-");
}

TEST(TraceContextTest, StartsANewTraceOnInvalidHeaders) {
  for (const char* bad :
       {"", "garbage",
        "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
        "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01"}) {
    SCOPED_TRACE(bad);
    TraceContext t = TraceContext::FromHeader(bad);
    EXPECT_EQ(t.trace_id.size(), 32u);
    EXPECT_NE(t.trace_id, "4bf92f3577b34da6a3ce929d0e0e4736");
    EXPECT_NE(t.trace_id.find_first_not_of('0'), std::string::npos);
  }
}

}  // namespace
}  // namespace cairn::server
