// Read models over HTTP on the real cairnd: read-your-writes with
// minPosition, ETags, the progress feed's paging, projection statuses, and
// kill -9 while the projections run.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <optional>
#include <sstream>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "tests/integration/integration_test_util.h"
#include "tests/support/stream_client.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {
namespace {

// DOMAIN.md events for one learner, as an append body.
std::string LearnerEvents(const std::string& user, int first, int n) {
  std::string events;
  for (int i = first; i < first + n; ++i) {
    if (!events.empty()) events += ',';
    const std::string day = std::to_string(10 + (i / 7) % 18);
    if (i % 9 == 8) {
      events += R"({"type":"LessonCompleted","data":{"userId":")" + user +
                R"(","lessonId":"lesson-)" + std::to_string(i) +
                R"(","score":0.5,"completedAt":"2026-11-)" + day +
                R"(T12:00:00Z"}})";
    } else {
      events += R"({"type":"AttemptSubmitted","data":{"attemptId":"a)" +
                std::to_string(i) + R"(","userId":")" + user +
                R"(","exerciseId":"e","skillId":"skill-)" +
                std::to_string(i % 3) + R"(","lessonId":"l","correct":)" +
                (i % 4 ? "true" : "false") +
                R"(,"score":1,"durationMs":100,"submittedAt":"2026-11-)" + day +
                R"(T09:00:00Z"}})";
    }
  }
  return R"({"events":[)" + events + "]}";
}

using ReadModelTest = CairndTest;

TEST_F(ReadModelTest, ReadYourWritesWithMinPosition) {
  for (int round = 0; round < 20; ++round) {
    const HttpResponse append =
        Append("learner-user-1", LearnerEvents("user-1", round * 5, 5));
    ASSERT_EQ(append.status, 201) << append.body;
    const int64_t position = Int(Json(append), "lastPosition");
    const HttpResponse r =
        client_->Get("/v1/read-models/dashboard/user-1?minPosition=" +
                     std::to_string(position));
    ASSERT_EQ(r.status, 200) << r.body;
    const json::value v = Json(r);
    EXPECT_GE(Int(v, "position"), position);
    // Every attempt appended so far is counted.
    int attempts = 0;
    for (int i = 0; i < (round + 1) * 5; ++i) attempts += i % 9 != 8;
    EXPECT_EQ(Int(v.at("document"), "attempts"), attempts);
  }
}

TEST_F(ReadModelTest, EtagsStatusesAndErrors) {
  ASSERT_EQ(Append("learner-user-1", LearnerEvents("user-1", 0, 10)).status,
            201);
  const HttpResponse first =
      client_->Get("/v1/read-models/dashboard/user-1?minPosition=9");
  ASSERT_EQ(first.status, 200);
  const std::string tag = first.Header("etag");
  ASSERT_FALSE(tag.empty());
  EXPECT_EQ(
      client_->Get("/v1/read-models/dashboard/user-1", {{"If-None-Match", tag}})
          .status,
      304);
  // On the wire: a 304 has neither a body nor a Content-Length.
  const std::string raw =
      SendRaw(server_.port(),
              "GET /v1/read-models/dashboard/user-1 HTTP/1.1\r\nHost: x\r\n"
              "X-Cairn-Tenant: default\r\nIf-None-Match: " +
                  tag + "\r\nConnection: close\r\n\r\n");
  ASSERT_TRUE(raw.starts_with("HTTP/1.1 304 Not Modified\r\n")) << raw;
  EXPECT_TRUE(raw.ends_with("\r\n\r\n")) << raw;
  EXPECT_EQ(raw.find("Content-Length"), std::string::npos) << raw;
  ASSERT_EQ(Append("learner-user-1", LearnerEvents("user-1", 10, 1)).status,
            201);
  const HttpResponse changed =
      client_->Get("/v1/read-models/dashboard/user-1?minPosition=10",
                   {{"If-None-Match", tag}});
  EXPECT_EQ(changed.status, 200);
  EXPECT_NE(changed.Header("etag"), tag);

  EXPECT_EQ(client_->Get("/v1/read-models/nope/user-1").status, 404);
  EXPECT_EQ(client_->Get("/v1/read-models/dashboard/nobody").status, 404);
  EXPECT_EQ(
      client_->Get("/v1/read-models/dashboard/user-1?minPosition=x").status,
      400);
  const HttpResponse late = client_->Get(
      "/v1/read-models/dashboard/user-1?minPosition=1000&timeout=100");
  EXPECT_EQ(late.status, 503);
  EXPECT_EQ(late.Header("retry-after"), "1");
  EXPECT_EQ(Int(Json(late), "checkpoint"), 10);

  // The runner applies in order: `$event-index`, `dashboard`, then
  // `progress-feed`, so once the last has applied position 10 all have.
  ASSERT_EQ(client_->Get("/v1/read-models/progress-feed/user-1?minPosition=10")
                .status,
            200);
  const json::value list = Json(client_->Get("/v1/projections"));
  const json::array& ps = list.at("projections").as_array();
  ASSERT_EQ(ps.size(), 3u);
  EXPECT_EQ(Str(ps[0], "name"), "$event-index");
  for (const json::value& p : ps) {
    EXPECT_EQ(Str(p, "status"), "running");
    EXPECT_EQ(Int(p, "checkpoint"), 10);
    EXPECT_EQ(Int(p, "lag"), 0);
  }
  // Another tenant: nothing applied, nothing to see.
  const json::value other =
      Json(client_->Get("/v1/projections", {{"X-Cairn-Tenant", "globex"}}));
  EXPECT_TRUE(other.at("projections").as_array()[0].at("checkpoint").is_null());
  EXPECT_EQ(client_
                ->Get("/v1/read-models/dashboard/user-1",
                      {{"X-Cairn-Tenant", "globex"}})
                .status,
            404);
}

TEST_F(ReadModelTest, RebuildOverHttpServesTheSameDocuments) {
  ASSERT_EQ(Append("learner-user-1", LearnerEvents("user-1", 0, 30)).status,
            201);
  const std::string target = "/v1/read-models/dashboard/user-1?minPosition=29";
  const HttpResponse before = client_->Get(target);
  ASSERT_EQ(before.status, 200);
  const HttpResponse rebuild =
      client_->Request("POST", "/v1/projections/dashboard/rebuild");
  ASSERT_EQ(rebuild.status, 202) << rebuild.body;
  EXPECT_EQ(Str(Json(rebuild), "status"), "rebuilding");
  // Served throughout; once the rebuild has caught up with the next
  // append, the same figures plus that append.
  ASSERT_EQ(Append("learner-user-1", LearnerEvents("user-1", 30, 1)).status,
            201);
  const HttpResponse after =
      client_->Get("/v1/read-models/dashboard/user-1?minPosition=30");
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(Int(Json(after).at("document"), "attempts"),
            Int(Json(before).at("document"), "attempts") + 1);
  EXPECT_EQ(client_->Request("POST", "/v1/projections/nope/rebuild").status,
            404);
  EXPECT_EQ(client_->Get("/v1/projections/dashboard/rebuild").status, 405);
}

TEST_F(ReadModelTest, ProgressFeedPages) {
  // 40 events: 4 lessons completed, milestones at every 10th correct.
  ASSERT_EQ(Append("learner-user-1", LearnerEvents("user-1", 0, 40)).status,
            201);
  std::vector<std::string> cursors;
  std::string before;
  for (int page = 0; page < 50; ++page) {
    const HttpResponse r = client_->Get(
        "/v1/read-models/progress-feed/user-1?minPosition=39&limit=3" +
        (before.empty() ? "" : "&before=" + before));
    ASSERT_EQ(r.status, 200) << r.body;
    const json::value doc = Json(r).at("document");
    for (const json::value& item : doc.at("items").as_array()) {
      cursors.push_back(Str(item, "cursor"));
    }
    if (doc.at("next").is_null()) break;
    before = Str(doc, "next");
  }
  ASSERT_GE(cursors.size(), 6u);
  // Newest first, each item once: (position, index) strictly decreasing.
  const auto order = [](const std::string& cursor) {
    const size_t dot = cursor.find('.');
    return std::pair(std::stoll(cursor.substr(0, dot)),
                     std::stoll(cursor.substr(dot + 1)));
  };
  for (size_t i = 1; i < cursors.size(); ++i) {
    EXPECT_GT(order(cursors[i - 1]), order(cursors[i]));
  }
  EXPECT_EQ(
      client_->Get("/v1/read-models/progress-feed/user-1?before=bad").status,
      400);
}

// {"readModel": …} on a socket: the current document (null before the
// learner's first event), then each new version as events are applied.
TEST_F(ReadModelTest, WebSocketReadModelSubscriptionGetsEachVersion) {
  WsClient ws(server_.port(), {{"X-Cairn-Tenant", "default"}});
  ws.SendText(
      R"({"op":"subscribe","id":"d","readModel":{"name":"dashboard","key":"user-1"}})");
  const auto next = [&ws]() {
    for (;;) {
      WsClient::Message m = ws.Read(std::chrono::seconds(30));
      if (!m.ok()) {
        ADD_FAILURE() << m.error;
        return json::value();
      }
      json::value v = json::parse(m.text);
      if (Str(v, "op") != "heartbeat") return v;
    }
  };
  EXPECT_EQ(Str(next(), "op"), "subscribed");
  json::value first = next();
  EXPECT_EQ(Str(first, "op"), "read-model");
  EXPECT_EQ(Str(first, "key"), "user-1");
  EXPECT_TRUE(first.at("document").is_null());
  for (int n = 1; n <= 3; ++n) {
    ASSERT_EQ(
        Append("learner-user-1", LearnerEvents("user-1", n - 1, 1)).status,
        201);
    json::value v = next();
    ASSERT_EQ(Str(v, "op"), "read-model") << json::serialize(v);
    EXPECT_EQ(Int(v, "position"), n - 1);
    EXPECT_EQ(Int(v.at("document"), "attempts"), n);
  }
  // Events of another learner change nothing here: no frame for them.
  ASSERT_EQ(Append("learner-user-2", LearnerEvents("user-2", 0, 1)).status,
            201);
  ASSERT_EQ(Append("learner-user-1", LearnerEvents("user-1", 3, 1)).status,
            201);
  json::value v = next();
  EXPECT_EQ(Int(v, "position"), 4);
  EXPECT_EQ(Int(v.at("document"), "attempts"), 4);
}

TEST_F(ReadModelTest, FilteredReadsGoThroughTheEventIndex) {
  // A rare type after more events than a filtered page may scan: without
  // the index, the first page would be empty with a `next`.
  for (int i = 0; i < 101; ++i) AppendOk("tick", 1000, "Tick");
  const HttpResponse rare = Append("lesson-1", AppendBody(1, "Rare"));
  ASSERT_EQ(rare.status, 201);
  const int64_t position = Int(Json(rare), "lastPosition");
  // `$event-index` runs before the others: once `progress-feed` has
  // applied the rare event, the index holds it.
  ASSERT_EQ(client_
                ->Get("/v1/read-models/progress-feed/nobody?minPosition=" +
                      std::to_string(position))
                .status,
            200);
  for (const char* query : {"types=Rare", "category=lesson"}) {
    SCOPED_TRACE(query);
    const json::value page =
        Json(client_->Get(std::string("/v1/events?") + query));
    ASSERT_EQ(page.at("events").as_array().size(), 1u);
    EXPECT_EQ(Int(page.at("events").as_array()[0], "position"), position);
    EXPECT_TRUE(page.at("next").is_null());
  }
  EXPECT_EQ(client_->Get("/v1/read-models/$event-index/x").status, 404);
}

// The projector's thread runs at --projection-nice (19 unless told): its
// passes yield the CPU to appends (docs/BENCHMARKS.md, "Issue 7, fifth
// session").
std::optional<int> ProjectorNice(pid_t pid) {
  std::error_code ec;
  for (const auto& task : std::filesystem::directory_iterator(
           "/proc/" + std::to_string(pid) + "/task", ec)) {
    std::ifstream comm(task.path() / "comm");
    std::string name;
    std::getline(comm, name);
    if (name != "cairn-projector") continue;
    std::ifstream stat_file(task.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(stat_file)), {});
    // After "(comm) ", fields 3 on: nice is field 19.
    std::istringstream fields(stat.substr(stat.rfind(") ") + 2));
    std::string field;
    for (int i = 3; i <= 19 && fields >> field; ++i) {
    }
    return std::stoi(field);
  }
  return std::nullopt;
}

TEST(ProjectorPriorityTest, TheProjectorRunsAtItsNiceValue) {
  for (const std::optional<unsigned> flag :
       {std::optional<unsigned>(), std::optional<unsigned>(0),
        std::optional<unsigned>(7)}) {
    SCOPED_TRACE(flag ? std::to_string(*flag) : "cairnd's default");
    CairndProcess server;
    server.set_projection_nice(flag);
    server.Start();
    const int expected = flag ? static_cast<int>(*flag) : 19;
    std::optional<int> nice;
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(10);
    // The thread sets it as it starts, which the "listening" line may
    // overtake.
    while ((nice = ProjectorNice(server.pid())) != expected &&
           std::chrono::steady_clock::now() < deadline) {
      std::this_thread::yield();
    }
    EXPECT_EQ(nice, expected);
  }
}

TEST(ReadModelPluginTest, CairndLoadsAPluginAndRefusesAnotherAbi) {
  CairndProcess server(
      std::vector<std::string>{"--projection-plugin", CAIRN_EXAMPLE_PLUGIN});
  server.Start();
  HttpClient c(server.port());
  ASSERT_EQ(c.Post("/v1/streams/s/events", AppendBody(3, "Tick")).status, 201);
  const HttpResponse r =
      c.Get("/v1/read-models/count-by-type/Tick?minPosition=2");
  ASSERT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(Int(Json(r), "document"), 3);
  const json::value list = Json(c.Get("/v1/projections"));
  // The built-in three and the plugin.
  EXPECT_EQ(list.at("projections").as_array().size(), 4u);

  CairndProcess refused(
      std::vector<std::string>{"--projection-plugin", CAIRN_WRONG_ABI_PLUGIN});
  EXPECT_THROW(refused.Start(std::chrono::seconds(10)), std::runtime_error);
  EXPECT_NE(refused.Log().find("built for ABI version 99"), std::string::npos)
      << refused.Log();
}

// kill -9 while the projections run: after a restart they converge to what
// a fresh server makes of the same events (a rebuild from position 0).
TEST(ReadModelCrashTest, KillNineThenConvergesToTheRebuild) {
  TempDir dir;
  CairndProcess crashed(dir.path());
  CairndProcess fresh;
  fresh.Start();
  crashed.Start();
  const std::vector<std::string> users = {"user-1", "user-2", "user-3"};
  const auto append_round = [&](CairndProcess& server, int round) {
    HttpClient c(server.port());
    for (const std::string& user : users) {
      const HttpResponse r = c.Post("/v1/streams/learner-" + user + "/events",
                                    LearnerEvents(user, round * 20, 20));
      ASSERT_EQ(r.status, 201) << r.body;
    }
  };
  for (int round = 0; round < 30; ++round) {
    append_round(crashed, round);
    append_round(fresh, round);
    if (round == 12 || round == 25) {
      crashed.Kill9();  // the projections lag behind the appends
      crashed.Start();
    }
  }
  const int64_t last = 30 * 20 * static_cast<int64_t>(users.size()) - 1;
  HttpClient a(crashed.port());
  HttpClient b(fresh.port());
  for (const std::string& user : users) {
    for (const char* model : {"dashboard", "progress-feed"}) {
      const std::string target =
          std::string("/v1/read-models/") + model + "/" + user +
          "?limit=100&minPosition=" + std::to_string(last);
      const HttpResponse from_crashed = a.Get(target);
      const HttpResponse from_fresh = b.Get(target);
      ASSERT_EQ(from_crashed.status, 200) << from_crashed.body;
      ASSERT_EQ(from_fresh.status, 200) << from_fresh.body;
      EXPECT_EQ(from_crashed.body, from_fresh.body) << model << " " << user;
    }
  }
}

}  // namespace
}  // namespace cairn::testing
