#include "server/tenant_limits.h"

#include <gtest/gtest.h>

#include <chrono>
#include <string>
#include <vector>

namespace cairn::server {
namespace {

using std::chrono::milliseconds;
using std::chrono::seconds;

// A fixed start; time moves only when a test says so.
const TenantLimits::Clock::time_point kStart =
    TenantLimits::Clock::time_point() + std::chrono::hours(1);

TEST(TenantLimitsTest, NoCapsAdmitEverything) {
  TenantLimits limits({});
  for (int i = 0; i < 1000; ++i) {
    EXPECT_TRUE(limits.AdmitAppend("acme", 1'000'000, kStart).admitted);
  }
  std::vector<TenantLimits::SubscriptionSlot> slots;
  for (int i = 0; i < 1000; ++i) {
    slots.push_back(limits.OpenSubscription("acme"));
    EXPECT_TRUE(slots.back());
  }
  EXPECT_EQ(limits.OpenSubscriptions("acme"), 1000u);
  EXPECT_EQ(limits.append_refusals(), 0u);
}

TEST(TenantLimitsTest, TheBurstPassesThenTheRateHolds) {
  TenantLimits limits(
      {.append_events_per_second = 10, .append_burst_events = 20});
  EXPECT_TRUE(limits.AdmitAppend("acme", 15, kStart).admitted);
  EXPECT_TRUE(limits.AdmitAppend("acme", 5, kStart).admitted);
  // Empty: one more event needs a tenth of a second, rounded up to 1 s.
  TenantLimits::Admission refused = limits.AdmitAppend("acme", 1, kStart);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after, seconds(1));
  // 15 events need 1.5 s: Retry-After says 2.
  refused = limits.AdmitAppend("acme", 15, kStart);
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after, seconds(2));
  EXPECT_EQ(limits.append_refusals(), 2u);
  // A refusal charges nothing: half a second later five events pass.
  EXPECT_TRUE(
      limits.AdmitAppend("acme", 5, kStart + milliseconds(500)).admitted);
  EXPECT_FALSE(
      limits.AdmitAppend("acme", 1, kStart + milliseconds(500)).admitted);
  // Never more than the burst, however long the quiet.
  const auto later = kStart + std::chrono::hours(1);
  EXPECT_TRUE(limits.AdmitAppend("acme", 20, later).admitted);
  EXPECT_FALSE(limits.AdmitAppend("acme", 1, later).admitted);
}

TEST(TenantLimitsTest, ABatchLargerThanTheBurstPassesWhenFullAndLeavesDebt) {
  TenantLimits limits(
      {.append_events_per_second = 100, .append_burst_events = 100});
  EXPECT_TRUE(limits.AdmitAppend("acme", 150, kStart).admitted);
  // 50 events of debt, then 100 events to fill: 1.5 s until full again.
  const TenantLimits::Admission refused =
      limits.AdmitAppend("acme", 150, kStart + milliseconds(100));
  EXPECT_FALSE(refused.admitted);
  EXPECT_EQ(refused.retry_after, seconds(2));
  EXPECT_FALSE(
      limits.AdmitAppend("acme", 150, kStart + milliseconds(1400)).admitted);
  EXPECT_TRUE(
      limits.AdmitAppend("acme", 150, kStart + milliseconds(1500)).admitted);
}

TEST(TenantLimitsTest, TheBurstDefaultsToOneSecondOfTheRate) {
  TenantLimits limits({.append_events_per_second = 50});
  EXPECT_TRUE(limits.AdmitAppend("acme", 50, kStart).admitted);
  EXPECT_FALSE(limits.AdmitAppend("acme", 1, kStart).admitted);
}

TEST(TenantLimitsTest, TenantsHaveBudgetsOfTheirOwn) {
  TenantLimits limits(
      {.append_events_per_second = 10, .append_burst_events = 10});
  EXPECT_TRUE(limits.AdmitAppend("acme", 10, kStart).admitted);
  EXPECT_FALSE(limits.AdmitAppend("acme", 1, kStart).admitted);
  EXPECT_TRUE(limits.AdmitAppend("globex", 10, kStart).admitted);
  EXPECT_FALSE(limits.AdmitAppend("globex", 1, kStart).admitted);
}

TEST(TenantLimitsTest, PruningForgetsOnlyFullBuckets) {
  TenantLimits limits(
      {.append_events_per_second = 10, .append_burst_events = 10});
  EXPECT_TRUE(limits.AdmitAppend("acme", 10, kStart).admitted);
  // Thousands of other tenants later, within the same instant: acme's
  // bucket is empty, not full, so it must survive every sweep.
  for (int i = 0; i < 20'000; ++i) {
    limits.AdmitAppend("tenant-" + std::to_string(i), 1, kStart);
  }
  EXPECT_FALSE(limits.AdmitAppend("acme", 1, kStart).admitted);
  // An hour later every bucket is full: forgetting them changes nothing.
  const auto later = kStart + std::chrono::hours(1);
  for (int i = 0; i < 20'000; ++i) {
    EXPECT_TRUE(
        limits.AdmitAppend("other-" + std::to_string(i), 10, later).admitted);
  }
  EXPECT_TRUE(limits.AdmitAppend("acme", 10, later).admitted);
}

TEST(TenantLimitsTest, SubscriptionSlotsAreCappedAndGivenBack) {
  TenantLimits limits({.max_subscriptions = 2});
  TenantLimits::SubscriptionSlot a = limits.OpenSubscription("acme");
  TenantLimits::SubscriptionSlot b = limits.OpenSubscription("acme");
  ASSERT_TRUE(a);
  ASSERT_TRUE(b);
  EXPECT_FALSE(limits.OpenSubscription("acme"));
  EXPECT_EQ(limits.subscription_refusals(), 1u);
  // Another tenant is not held back.
  TenantLimits::SubscriptionSlot other = limits.OpenSubscription("globex");
  EXPECT_TRUE(other);

  // A copy shares the place: it is given back with the last copy.
  TenantLimits::SubscriptionSlot copy = a;
  a = {};
  EXPECT_EQ(limits.OpenSubscriptions("acme"), 2u);
  EXPECT_FALSE(limits.OpenSubscription("acme"));
  copy = {};
  EXPECT_EQ(limits.OpenSubscriptions("acme"), 1u);
  TenantLimits::SubscriptionSlot again = limits.OpenSubscription("acme");
  EXPECT_TRUE(again);
  EXPECT_EQ(limits.OpenSubscriptions("acme"), 2u);
  b = {};
  again = {};
  EXPECT_EQ(limits.OpenSubscriptions("acme"), 0u);
}

TEST(TenantLimitsTest, RefusalsSayWhatTheLimitIs) {
  TenantLimits limits({.append_events_per_second = 10,
                       .append_burst_events = 20,
                       .max_subscriptions = 3});
  const std::string append = limits.AppendRefusal({false, seconds(2)});
  EXPECT_NE(append.find("10 events per second"), std::string::npos) << append;
  EXPECT_NE(append.find("20"), std::string::npos) << append;
  EXPECT_NE(append.find("2 s"), std::string::npos) << append;
  EXPECT_NE(limits.SubscriptionRefusal().find("3 subscriptions"),
            std::string::npos);
}

}  // namespace
}  // namespace cairn::server
