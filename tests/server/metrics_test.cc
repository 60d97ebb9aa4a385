#include "server/metrics.h"

#include <gtest/gtest.h>

#include <string>

namespace cairn::server {
namespace {

bool HasLine(const std::string& text, const std::string& line) {
  return ("\n" + text).find("\n" + line + "\n") != std::string::npos;
}

TEST(MetricsTest, RequestsAreCountedByRouteAndStatus) {
  Metrics metrics(nullptr, nullptr);
  metrics.ObserveRequest(Endpoint::kStreamEvents, 201, 0.002);
  metrics.ObserveRequest(Endpoint::kStreamEvents, 201, 0.003);
  metrics.ObserveRequest(Endpoint::kStreamEvents, 409, 0.001);
  metrics.ObserveRequest(std::nullopt, 404, 0.0001);
  const std::string text = metrics.Render();
  EXPECT_TRUE(HasLine(
      text,
      R"(cairn_http_requests_total{route="stream_events",status="201"} 2)"))
      << text;
  EXPECT_TRUE(HasLine(
      text,
      R"(cairn_http_requests_total{route="stream_events",status="409"} 1)"));
  EXPECT_TRUE(HasLine(
      text, R"(cairn_http_requests_total{route="unmatched",status="404"} 1)"));
  EXPECT_TRUE(HasLine(
      text,
      R"(cairn_http_request_duration_seconds_count{route="stream_events"} 3)"));
}

TEST(MetricsTest, StatusesOutOfRangeCountAs500) {
  Metrics metrics(nullptr, nullptr);
  metrics.ObserveRequest(Endpoint::kLog, 0, 0);
  metrics.ObserveRequest(Endpoint::kLog, 1000, 0);
  EXPECT_TRUE(
      HasLine(metrics.Render(),
              R"(cairn_http_requests_total{route="log",status="500"} 2)"));
}

TEST(MetricsTest, AppendOutcomesAreCounted) {
  Metrics metrics(nullptr, nullptr);
  storage::WriteOutcome ok;
  metrics.ObserveAppend(ok, 3, 300, 0.004);
  storage::WriteOutcome duplicate;
  duplicate.duplicate = true;
  metrics.ObserveAppend(duplicate, 3, 300, 0.001);
  storage::WriteOutcome conflict;
  conflict.status = Status::WrongExpectedVersion("stream at 2");
  metrics.ObserveAppend(conflict, 1, 100, 0.001);
  storage::WriteOutcome failed;
  failed.status = Status::IOError("disk");
  metrics.ObserveAppend(failed, 1, 100, 0.001);
  const std::string text = metrics.Render();
  EXPECT_TRUE(HasLine(text, "cairn_events_appended_total 3")) << text;
  EXPECT_TRUE(HasLine(text, "cairn_event_bytes_appended_total 300"));
  EXPECT_TRUE(HasLine(text, "cairn_append_duplicates_total 1"));
  EXPECT_TRUE(HasLine(text, "cairn_append_conflicts_total 1"));
  EXPECT_TRUE(HasLine(text, "cairn_append_duration_seconds_count 4"));
}

TEST(MetricsTest, BackupsAreCountedByOutcome) {
  Metrics metrics(nullptr, nullptr);
  metrics.ObserveBackup(true, 1.5, int64_t{1'700'000'000} * 1'000'000);
  metrics.ObserveBackup(false, 0.1, 0);
  metrics.ObserveBackup(false, 0.1, 0);
  const std::string text = metrics.Render();
  EXPECT_TRUE(HasLine(text, R"(cairn_backups_total{outcome="ok"} 1)")) << text;
  EXPECT_TRUE(HasLine(text, R"(cairn_backups_total{outcome="failed"} 2)"));
  EXPECT_TRUE(HasLine(text, "cairn_backup_last_duration_seconds 1.5"));
  EXPECT_TRUE(
      HasLine(text, "cairn_backup_last_success_timestamp_seconds 1700000000"));
}

TEST(MetricsTest, ConnectionsAreAGauge) {
  Metrics metrics(nullptr, nullptr);
  metrics.ConnectionOpened();
  metrics.ConnectionOpened();
  metrics.ConnectionClosed();
  EXPECT_TRUE(HasLine(metrics.Render(), "cairn_http_connections_active 1"));
}

}  // namespace
}  // namespace cairn::server
