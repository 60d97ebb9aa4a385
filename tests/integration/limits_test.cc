// Per-tenant limits over real HTTP and WebSocket: a tenant past its append
// rate or its open subscriptions gets 429 with Retry-After, writes nothing,
// and holds no other tenant back.

#include <gtest/gtest.h>

#include <string>

#include "tests/integration/integration_test_util.h"

namespace cairn::testing {
namespace {

const HttpHeaders kAcme{{"X-Cairn-Tenant", "acme"}};
const HttpHeaders kGlobex{{"X-Cairn-Tenant", "globex"}};

// Retry-After as a number of seconds; -1 when absent or not a number.
int RetryAfter(const HttpResponse& r) {
  const std::string v = r.Header("retry-after");
  if (v.empty() || v.find_first_not_of("0123456789") != std::string::npos) {
    return -1;
  }
  return std::stoi(v);
}

// The next message about subscription `id`, past the others' (caught-up,
// heartbeats); null and a failure when none comes within 50 messages.
json::value NextFor(WsClient& ws, const std::string& id) {
  for (int i = 0; i < 50; ++i) {
    json::value m = NextMessage(ws);
    if (m.is_null()) break;
    if (m.as_object().contains("id") && Str(m, "id") == id) return m;
  }
  ADD_FAILURE() << "no message for " << id;
  return json::value();
}

// Five events at once, then one every ten seconds: a test never waits long
// enough for the bucket to refill.
class AppendRateTest : public CairndTest {
 protected:
  AppendRateTest()
      : CairndTest(
            {"--tenant-append-rate", "0.1", "--tenant-append-burst", "5"}) {}
};

TEST_F(AppendRateTest, PastTheRateAppendsAre429AndWriteNothing) {
  AppendOk("order-1", 5, "Placed", kAcme);

  const HttpResponse refused = Append("order-1", AppendBody(1), kAcme);
  ASSERT_EQ(refused.status, 429) << refused.body;
  EXPECT_EQ(refused.Header("content-type"), "application/problem+json");
  EXPECT_EQ(Int(Json(refused), "status"), 429);
  // One event at 0.1 per second: ten seconds (and the clock has moved a
  // little since, so perhaps a second less).
  EXPECT_GE(RetryAfter(refused), 9) << refused.Header("retry-after");
  EXPECT_LE(RetryAfter(refused), 10);

  const std::string tx_body =
      R"({"appends":[{"stream":"order-2","events":[{"type":"T","data":{}}]}]})";
  // Transaction() sends no tenant header: the default tenant, own budget.
  const HttpResponse tx = Transaction(tx_body);
  EXPECT_EQ(tx.status, 201) << tx.body;
  const HttpResponse acme_tx =
      client_->Post("/v1/transactions", tx_body, kAcme);
  EXPECT_EQ(acme_tx.status, 429) << acme_tx.body;
  EXPECT_GE(RetryAfter(acme_tx), 1);

  // Nothing of the refused appends was written.
  EXPECT_EQ(LogEvents(kAcme).size(), 5u);
  // Another tenant appends its own burst.
  AppendOk("order-1", 5, "Placed", kGlobex);
  EXPECT_EQ(LogEvents(kGlobex).size(), 5u);

  const HttpResponse metrics = client_->Get("/metrics");
  EXPECT_NE(metrics.body.find(
                R"(cairn_tenant_limit_refusals_total{limit="append_rate"} 2)"),
            std::string::npos)
      << metrics.body;
}

class SubscriptionCapTest : public CairndTest {
 protected:
  SubscriptionCapTest() : CairndTest({"--tenant-max-subscriptions", "2"}) {}
};

TEST_F(SubscriptionCapTest, PastTheCapSubscriptionsAre429UntilOneCloses) {
  WsClient ws(server_.port(), kAcme);
  for (const char* id : {"a", "b"}) {
    ASSERT_TRUE(ws.SendText(std::string(R"({"op":"subscribe","id":")") + id +
                            R"(","all":{},"from":"end"})"));
    const json::value m = NextFor(ws, id);
    ASSERT_EQ(Str(m, "op"), "subscribed") << m;
  }
  // A third on the same socket, and one over HTTP: both over the cap.
  ASSERT_TRUE(ws.SendText(
      R"({"op":"subscribe","id":"c","readModel":{"name":"dashboard","key":"u1"}})"));
  json::value m = NextFor(ws, "c");
  ASSERT_EQ(Str(m, "op"), "error") << m;
  EXPECT_EQ(Int(m, "status"), 429);
  {
    HttpHeaders h = kAcme;
    h.emplace("Accept", "application/x-ndjson");
    FollowClient follow(server_.port(), "/v1/events?follow=true", h);
    EXPECT_EQ(follow.status(), 429) << follow.head();
    EXPECT_NE(follow.head().find("Retry-After: 1"), std::string::npos)
        << follow.head();
  }
  // Another tenant has places of its own.
  {
    HttpHeaders h = kGlobex;
    h.emplace("Accept", "application/x-ndjson");
    FollowClient follow(server_.port(), "/v1/events?follow=true", h);
    EXPECT_EQ(follow.status(), 200) << follow.head();
  }

  // An unsubscribe gives its place back.
  ASSERT_TRUE(ws.SendText(R"({"op":"unsubscribe","id":"a"})"));
  m = NextFor(ws, "a");
  ASSERT_EQ(Str(m, "op"), "unsubscribed") << m;
  ASSERT_TRUE(ws.SendText(
      R"({"op":"subscribe","id":"c","readModel":{"name":"dashboard","key":"u1"}})"));
  m = NextFor(ws, "c");
  EXPECT_EQ(Str(m, "op"), "subscribed") << m;

  const HttpResponse metrics = client_->Get("/metrics");
  EXPECT_NE(
      metrics.body.find(
          R"(cairn_tenant_limit_refusals_total{limit="subscriptions"} 2)"),
      std::string::npos)
      << metrics.body;
}

}  // namespace
}  // namespace cairn::testing
