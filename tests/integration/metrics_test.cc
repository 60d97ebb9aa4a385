// GET /metrics over real HTTP: Prometheus text format, unauthenticated, the
// figures of what was done, and nothing of any tenant's data.

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>
#include <vector>

#include "tests/integration/integration_test_util.h"

namespace cairn::testing {
namespace {

// One sample line: name{labels} value.
struct Sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

// Every non-comment line of a text-format body, each checked to be
// `name{labels} value` (a failed expectation otherwise).
std::vector<Sample> ParseSamples(const std::string& body) {
  static const std::regex line_re(
      R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([^}]*)\})? ([^ ]+)( [0-9]+)?$)");
  static const std::regex label_re(R"re(([a-zA-Z_][a-zA-Z0-9_]*)="([^"]*)")re");
  std::vector<Sample> out;
  size_t at = 0;
  while (at < body.size()) {
    size_t end = body.find('\n', at);
    if (end == std::string::npos) end = body.size();
    const std::string line = body.substr(at, end - at);
    at = end + 1;
    if (line.empty() || line[0] == '#') continue;
    std::smatch m;
    if (!std::regex_match(line, m, line_re)) {
      ADD_FAILURE() << "not a sample line: " << line;
      continue;
    }
    Sample s;
    s.name = m[1];
    const std::string labels = m[3];
    for (auto it = std::sregex_iterator(labels.begin(), labels.end(), label_re);
         it != std::sregex_iterator(); ++it) {
      s.labels[(*it)[1]] = (*it)[2];
    }
    const std::string value = m[4];
    s.value = value == "+Inf" ? 1e308 : std::stod(value);
    out.push_back(std::move(s));
  }
  return out;
}

// The sum of every sample named `name` whose labels include `labels`.
double Sum(const std::vector<Sample>& samples, const std::string& name,
           const std::map<std::string, std::string>& labels = {}) {
  double sum = 0;
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) match = false;
    }
    if (match) sum += s.value;
  }
  return sum;
}

bool Has(const std::vector<Sample>& samples, const std::string& name,
         const std::map<std::string, std::string>& labels = {}) {
  for (const Sample& s : samples) {
    if (s.name != name) continue;
    bool match = true;
    for (const auto& [k, v] : labels) {
      auto it = s.labels.find(k);
      if (it == s.labels.end() || it->second != v) match = false;
    }
    if (match) return true;
  }
  return false;
}

using MetricsTest = CairndTest;

TEST_F(MetricsTest, CountsRequestsAppendsAndConflictsRevealingNoData) {
  const HttpHeaders tenant_a{{"X-Cairn-Tenant", "zebratenant"}};
  const HttpHeaders tenant_b{{"X-Cairn-Tenant", "okapitenant"}};
  AppendOk("quokkastream-1", 3, "PangolinHappened", tenant_a);
  AppendOk("wombatstream-2", 2, "NarwhalNoticed", tenant_b);
  // A wrong expected revision: 409.
  const HttpResponse conflict =
      Append("quokkastream-1",
             AppendBody(1, "PangolinHappened", "\"no_stream\""), tenant_a);
  ASSERT_EQ(conflict.status, 409) << conflict.body;

  // No Authorization, no tenant.
  const HttpResponse r = client_->Get("/metrics");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(r.Header("content-type").rfind("text/plain", 0), 0u)
      << r.Header("content-type");
  const std::vector<Sample> samples = ParseSamples(r.body);
  ASSERT_FALSE(samples.empty()) << r.body;

  EXPECT_GE(Sum(samples, "cairn_events_appended_total"), 5);
  EXPECT_GT(Sum(samples, "cairn_event_bytes_appended_total"), 0);
  EXPECT_GE(Sum(samples, "cairn_append_conflicts_total"), 1);
  EXPECT_EQ(Sum(samples, "cairn_append_duplicates_total"), 0);
  EXPECT_GE(Sum(samples, "cairn_http_requests_total",
                {{"route", "stream_events"}, {"status", "201"}}),
            2);
  EXPECT_GE(Sum(samples, "cairn_http_requests_total",
                {{"route", "stream_events"}, {"status", "409"}}),
            1);
  EXPECT_GE(Sum(samples, "cairn_http_request_duration_seconds_count",
                {{"route", "stream_events"}}),
            3);
  EXPECT_GE(Sum(samples, "cairn_append_duration_seconds_count"), 3);
  EXPECT_GE(Sum(samples, "cairn_http_connections_active"), 1);
  EXPECT_TRUE(Has(samples, "cairn_subscriptions_active"));
  EXPECT_TRUE(Has(samples, "cairn_subscription_slow_consumer_fallbacks_total"));
  EXPECT_TRUE(Has(samples, "cairn_projection_faulted"));
  EXPECT_TRUE(Has(samples, "cairn_projection_skipped_events_total"));
  EXPECT_TRUE(Has(samples, "cairn_projection_lag_events"));
  // Group commit: the two appends came one after the other, so each was a
  // group of one; the refused one wrote nothing and is no group.
  EXPECT_EQ(Sum(samples, "cairn_group_commit_requests_count"), 2);
  EXPECT_EQ(Sum(samples, "cairn_group_commit_requests_sum"), 2);
  EXPECT_EQ(Sum(samples, "cairn_group_commit_requests_bucket", {{"le", "1"}}),
            2);
  EXPECT_EQ(
      Sum(samples, "cairn_group_commit_requests_bucket", {{"le", "+Inf"}}), 2);
  // RocksDB: the appended events sit in the memtables, nothing stalls.
  EXPECT_GT(Sum(samples, "cairn_rocksdb_memtable_bytes"), 0);
  EXPECT_TRUE(Has(samples, "cairn_rocksdb_pending_compaction_bytes"));
  EXPECT_TRUE(Has(samples, "cairn_rocksdb_live_sst_bytes"));
  EXPECT_EQ(Sum(samples, "cairn_rocksdb_write_stopped"), 0);
  EXPECT_EQ(Sum(samples, "cairn_rocksdb_delayed_write_rate_bytes"), 0);
  EXPECT_EQ(Sum(samples, "cairn_tenant_limit_refusals_total"), 0);

  for (const char* secret :
       {"zebratenant", "okapitenant", "quokkastream", "wombatstream",
        "PangolinHappened", "NarwhalNoticed"}) {
    EXPECT_EQ(r.body.find(secret), std::string::npos) << secret;
  }

  // The scrape itself is counted from the next one on.
  const HttpResponse again = client_->Get("/metrics");
  ASSERT_EQ(again.status, 200);
  EXPECT_GE(Sum(ParseSamples(again.body), "cairn_http_requests_total",
                {{"route", "metrics"}, {"status", "200"}}),
            1);
}

TEST_F(MetricsTest, UnknownRoutesShareOneLabel) {
  EXPECT_EQ(client_->Get("/v1/secret-path-xyzzy").status, 404);
  const HttpResponse r = client_->Get("/metrics");
  ASSERT_EQ(r.status, 200);
  EXPECT_EQ(r.body.find("xyzzy"), std::string::npos);
  EXPECT_GE(Sum(ParseSamples(r.body), "cairn_http_requests_total",
                {{"route", "unmatched"}, {"status", "404"}}),
            1);
}

}  // namespace
}  // namespace cairn::testing
