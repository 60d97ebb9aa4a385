// The built-in `dashboard` and `progress-feed` projections against the
// rules of shared/DOMAIN.md, applied to an in-memory State (the runner that
// keeps them in RocksDB comes next).

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "projections/learning/dashboard.h"
#include "projections/learning/learner_events.h"
#include "projections/learning/progress_feed.h"

namespace cairn::projections::learning {
namespace {

namespace json = boost::json;

class MapState final : public State {
 public:
  std::optional<std::string> Get(std::string_view key) override {
    auto it = map.find(std::string(key));
    if (it == map.end()) return std::nullopt;
    return it->second;
  }
  void Put(std::string_view key, std::string_view value) override {
    map[std::string(key)] = std::string(value);
  }
  void Delete(std::string_view key) override { map.erase(std::string(key)); }
  void ScanBackward(
      std::string_view prefix, std::string_view before,
      const std::function<bool(std::string_view, std::string_view)>& visit)
      override {
    auto it = before.empty() ? map.end() : map.lower_bound(std::string(before));
    while (it != map.begin()) {
      --it;
      if (it->first.compare(0, prefix.size(), prefix) != 0) {
        if (it->first < prefix) break;
        continue;
      }
      if (!visit(it->first, it->second)) break;
    }
  }
  std::map<std::string, std::string> map;
};

// Applies events one after another, positions from 0.
class Learner {
 public:
  void Attempt(std::string_view at, bool correct,
               std::string_view skill = "skill-fractions") {
    Apply(
        "AttemptSubmitted",
        R"({"attemptId":"a","userId":"user-1","exerciseId":"ex","skillId":")" +
            std::string(skill) + R"(","lessonId":"l","correct":)" +
            (correct ? "true" : "false") +
            R"(,"score":1,"durationMs":100,"submittedAt":")" + std::string(at) +
            "\"}");
  }
  void Completed(std::string_view lesson, double score, std::string_view at) {
    std::string data = R"({"userId":"user-1","lessonId":")" +
                       std::string(lesson) + R"(","score":)";
    AppendJsonNumber(&data, score);
    data += R"(,"completedAt":")" + std::string(at) + "\"}";
    Apply("LessonCompleted", data);
  }
  void Goal(int n) {
    Apply("DailyGoalSet",
          R"({"userId":"user-1","attemptsPerDay":)" + std::to_string(n) + "}");
  }
  Applied Apply(std::string_view type, const std::string& data) {
    Event e;
    e.position = GlobalPosition(next_++);
    e.stream = "learner-user-1";
    e.type = type;
    e.data = data;
    e.metadata = "{}";
    auto d = dashboard.Apply(e, dashboard_state);
    auto f = feed.Apply(e, feed_state);
    EXPECT_TRUE(d.has_value() && f.has_value());
    EXPECT_EQ(*d, *f);
    return *d;
  }
  json::value Document() {
    auto doc = Dashboard::Document(dashboard_state, "user-1");
    EXPECT_TRUE(doc.has_value());
    return doc ? json::parse(*doc) : json::value();
  }
  json::value Page(std::optional<std::string_view> before = std::nullopt,
                   size_t limit = 100) {
    auto page = ProgressFeed::Page(feed_state, "user-1", before, limit);
    EXPECT_TRUE(page.has_value());
    return page ? json::parse(*page) : json::value();
  }

  Dashboard dashboard;
  ProgressFeed feed;
  MapState dashboard_state;
  MapState feed_state;

 private:
  uint64_t next_ = 0;
};

std::vector<std::string> Kinds(const json::value& page) {
  std::vector<std::string> out;
  for (const auto& item : page.at("items").as_array()) {
    out.emplace_back(item.at("kind").as_string());
  }
  return out;
}

TEST(LearnerEventsTest, Rfc3339) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), 0);
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:01.5Z"), 1'500'000);
  EXPECT_EQ(ParseRfc3339("1970-01-01T02:00:00+02:00"), 0);
  EXPECT_EQ(ParseRfc3339("2026-11-25T10:00:00Z"),
            ParseRfc3339("2026-11-25T05:00:00-05:00"));
  for (const char* bad : {"", "2026-11-25", "2026-13-01T00:00:00Z",
                          "2026-11-25T10:00:00", "2026-11-25T10:00:00Zjunk",
                          "2026-11-25T10:00:00.Z", "2026-11-25 10:00:00Z"}) {
    EXPECT_FALSE(ParseRfc3339(bad).has_value()) << bad;
  }
  EXPECT_EQ(DayText(DayOf(*ParseRfc3339("2026-11-25T23:59:59Z"))),
            "2026-11-25");
  // A local time after midnight elsewhere is still the UTC day before.
  EXPECT_EQ(DayText(DayOf(*ParseRfc3339("2026-11-26T01:00:00+02:00"))),
            "2026-11-25");
  EXPECT_EQ(DayText(DayOf(*ParseRfc3339("1969-12-31T23:00:00Z"))),
            "1969-12-31");
}

TEST(DashboardTest, FiguresStreaksGoalAndSkills) {
  Learner l;
  l.Attempt("2026-11-20T09:00:00Z", true);
  l.Attempt("2026-11-21T09:00:00Z", false);
  l.Attempt("2026-11-22T09:00:00Z", true, "skill-decimals");
  // A gap on the 23rd, then two days.
  l.Attempt("2026-11-24T09:00:00Z", true);
  l.Attempt("2026-11-25T08:00:00Z", true);
  l.Completed("fractions-1", 0.9, "2026-11-25T10:00:00Z");
  json::value d = l.Document();
  EXPECT_EQ(d.at("userId"), "user-1");
  EXPECT_EQ(d.at("attempts"), 5);
  EXPECT_EQ(d.at("correct"), 4);
  EXPECT_EQ(d.at("accuracy").to_number<double>(), 0.8);
  EXPECT_EQ(d.at("lessonsCompleted"), 1);
  EXPECT_EQ(d.at("currentStreakDays"), 2);
  EXPECT_EQ(d.at("longestStreakDays"), 3);
  EXPECT_EQ(d.at("lastActivityAt"), "2026-11-25T10:00:00Z");
  EXPECT_TRUE(d.at("dailyGoal").is_null());
  const json::object& skills = d.at("skills").as_object();
  ASSERT_EQ(skills.size(), 2u);
  EXPECT_EQ(skills.at("skill-fractions").at("attempts"), 4);
  EXPECT_EQ(skills.at("skill-fractions").at("correct"), 3);
  EXPECT_EQ(skills.at("skill-fractions").at("accuracy").to_number<double>(),
            0.75);
  EXPECT_EQ(skills.at("skill-fractions").at("lastAttemptAt"),
            "2026-11-25T08:00:00Z");
  EXPECT_EQ(skills.at("skill-decimals").at("attempts"), 1);

  l.Goal(2);
  d = l.Document();
  EXPECT_EQ(d.at("dailyGoal").at("attemptsPerDay"), 2);
  EXPECT_EQ(d.at("dailyGoal").at("day"), "2026-11-25");
  EXPECT_EQ(d.at("dailyGoal").at("attemptsThatDay"), 1);
  EXPECT_EQ(d.at("dailyGoal").at("met"), false);
  l.Attempt("2026-11-25T11:00:00Z", false);
  d = l.Document();
  EXPECT_EQ(d.at("dailyGoal").at("attemptsThatDay"), 2);
  EXPECT_EQ(d.at("dailyGoal").at("met"), true);
  // An attempt submitted late, for the 23rd, fills the gap.
  l.Attempt("2026-11-23T09:00:00Z", true);
  d = l.Document();
  EXPECT_EQ(d.at("currentStreakDays"), 6);
  EXPECT_EQ(d.at("longestStreakDays"), 6);
  EXPECT_EQ(d.at("lastActivityAt"), "2026-11-25T11:00:00Z");  // not older
}

TEST(DashboardTest, BadEventsAreSkippedAndOthersIgnored) {
  Learner l;
  EXPECT_EQ(l.Apply("AttemptSubmitted", R"({"userId":"user-1"})"),
            Applied::kSkipped);
  EXPECT_EQ(l.Apply("AttemptSubmitted",
                    R"({"userId":"user-1","skillId":"s","correct":"yes",)"
                    R"("submittedAt":"2026-11-25T10:00:00Z"})"),
            Applied::kSkipped);
  EXPECT_EQ(l.Apply("AttemptSubmitted",
                    R"({"userId":"user-1","skillId":"s","correct":true,)"
                    R"("submittedAt":"yesterday"})"),
            Applied::kSkipped);
  EXPECT_EQ(
      l.Apply("DailyGoalSet", R"({"userId":"user-1","attemptsPerDay":0})"),
      Applied::kSkipped);
  EXPECT_EQ(l.Apply("LessonCompleted", "not json"), Applied::kSkipped);
  EXPECT_EQ(l.Apply("LessonStarted", R"({"userId":"user-1"})"),
            Applied::kIgnored);
  EXPECT_TRUE(l.dashboard_state.map.empty());
  EXPECT_TRUE(l.feed_state.map.empty());
}

TEST(ProgressFeedTest, ItemsNewestFirstWithCursors) {
  Learner l;
  l.Goal(3);                                                // position 0
  l.Attempt("2026-11-23T09:00:00Z", true);                  // 1: first correct
  l.Attempt("2026-11-24T09:00:00Z", false);                 // 2
  l.Attempt("2026-11-25T09:00:00Z", true);                  // 3: 3-day streak
  l.Attempt("2026-11-25T09:10:00Z", true, "skill-b");       // 4: first in b
  l.Attempt("2026-11-25T09:20:00Z", false);                 // 5: goal met (3)
  l.Attempt("2026-11-25T09:30:00Z", false);                 // 6: nothing new
  l.Completed("fractions-1", 0.9, "2026-11-25T10:00:00Z");  // 7
  const json::value page = l.Page();
  EXPECT_EQ(Kinds(page),
            (std::vector<std::string>{"lesson-completed", "daily-goal-met",
                                      "first-correct-in-skill", "streak",
                                      "first-correct-in-skill"}));
  const json::array& items = page.at("items").as_array();
  EXPECT_EQ(items[0].at("cursor"), "7.0");
  EXPECT_EQ(items[0].at("title"), "Completed lesson fractions-1");
  EXPECT_EQ(items[0].at("score").to_number<double>(), 0.9);
  EXPECT_EQ(items[1].at("cursor"), "5.0");
  EXPECT_EQ(items[1].at("day"), "2026-11-25");
  EXPECT_EQ(items[3].at("days"), 3);
  EXPECT_EQ(items[3].at("time"), "2026-11-25T09:00:00Z");
  EXPECT_TRUE(page.at("next").is_null());
}

TEST(ProgressFeedTest, SeveralItemsFromOneEventAndPaging) {
  Learner l;
  for (int i = 0; i < 10; ++i) l.Attempt("2026-11-25T09:00:00Z", true);
  // The 10th correct answer: a milestone, after the first-correct item of
  // the first attempt.
  json::value all = l.Page();
  EXPECT_EQ(Kinds(all), (std::vector<std::string>{"correct-milestone",
                                                  "first-correct-in-skill"}));
  EXPECT_EQ(all.at("items").as_array()[0].at("cursor"), "9.0");
  l.Attempt("2026-11-24T09:00:00Z", true);  // 10: a 2-day streak, nothing
  l.Attempt("2026-11-23T09:00:00Z", true);  // 11: 3-day streak
  EXPECT_EQ(Kinds(l.Page()),
            (std::vector<std::string>{"streak", "correct-milestone",
                                      "first-correct-in-skill"}));
  // Pages of one.
  json::value first = l.Page(std::nullopt, 1);
  EXPECT_EQ(first.at("items").as_array().size(), 1u);
  EXPECT_EQ(first.at("next"), "11.0");
  json::value second = l.Page("11.0", 1);
  EXPECT_EQ(Kinds(second), (std::vector<std::string>{"correct-milestone"}));
  EXPECT_EQ(second.at("next"), "9.0");
  json::value third = l.Page("9.0", 1);
  EXPECT_EQ(Kinds(third), (std::vector<std::string>{"first-correct-in-skill"}));
  EXPECT_TRUE(third.at("next").is_null());
  EXPECT_FALSE(ProgressFeed::Page(l.feed_state, "user-1", "x", 1).has_value());
  EXPECT_FALSE(ProgressFeed::Page(l.feed_state, "user-1", "9.", 1).has_value());
}

// The same events, applied again from the start, give the same state byte
// for byte (what a rebuild relies on).
TEST(LearningProjectionsTest, Deterministic) {
  std::mt19937 rng(42);
  std::vector<std::pair<std::string, std::string>> events;
  for (int i = 0; i < 2000; ++i) {
    const std::string user = "user-" + std::to_string(rng() % 5);
    const std::string at = "2026-11-" + std::to_string(10 + rng() % 15) + "T0" +
                           std::to_string(rng() % 10) + ":00:00Z";
    switch (rng() % 4) {
      case 0:
      case 1:
        events.emplace_back("AttemptSubmitted",
                            R"({"userId":")" + user + R"(","skillId":"skill-)" +
                                std::to_string(rng() % 3) + R"(","correct":)" +
                                (rng() % 2 ? "true" : "false") +
                                R"(,"submittedAt":")" + at + "\"}");
        break;
      case 2:
        events.emplace_back(
            "LessonCompleted",
            R"({"userId":")" + user +
                R"(","lessonId":"l","score":0.5,"completedAt":")" + at + "\"}");
        break;
      default:
        events.emplace_back("DailyGoalSet",
                            R"({"userId":")" + user + R"(","attemptsPerDay":)" +
                                std::to_string(1 + rng() % 5) + "}");
    }
  }
  const auto run = [&events](Projection& p) {
    MapState state;
    for (size_t i = 0; i < events.size(); ++i) {
      Event e;
      e.position = GlobalPosition(i);
      e.type = events[i].first;
      e.data = events[i].second;
      EXPECT_TRUE(p.Apply(e, state).has_value());
    }
    return state.map;
  };
  Dashboard d1, d2;
  ProgressFeed f1, f2;
  const auto dashboards = run(d1);
  EXPECT_EQ(dashboards, run(d2));
  EXPECT_EQ(dashboards.size(), 5u);  // the state of each of 5 users
  const auto feeds = run(f1);
  EXPECT_EQ(feeds, run(f2));
  EXPECT_GT(feeds.size(), 5u);
}

// One projection instance serves every tenant, in batches of any size, some
// aborted and applied again (as the runner does): it keeps learners decoded
// from one batch to the next (LearnerCache), and that must never show in
// the bytes. Each tenant's state must equal the state of its events
// applied one at a time, alone.
TEST(LearningProjectionsTest, BatchesTenantsAndAbortsLeaveNoTrace) {
  std::mt19937 rng(7);
  struct Tenant {
    std::vector<std::pair<std::string, std::string>> events;
    MapState state;
    size_t applied = 0;
  };
  std::vector<Tenant> tenants(2);
  for (int i = 0; i < 600; ++i) {
    Tenant& t = tenants[rng() % 2];
    const std::string user = "user-" + std::to_string(rng() % 3);
    const std::string at =
        "2026-11-" + std::to_string(10 + rng() % 5) + "T09:00:00Z";
    t.events.emplace_back("AttemptSubmitted",
                          R"({"userId":")" + user + R"(","skillId":"skill-)" +
                              std::to_string(rng() % 3) + R"(","correct":)" +
                              (rng() % 2 ? "true" : "false") +
                              R"(,"submittedAt":")" + at + "\"}");
    if (rng() % 5 == 0) {
      t.events.emplace_back("DailyGoalSet",
                            R"({"userId":")" + user + R"(","attemptsPerDay":)" +
                                std::to_string(1 + rng() % 3) + "}");
    }
  }
  const auto apply = [](Projection& p, const auto& event, uint64_t position,
                        State& state) {
    Event e;
    e.position = GlobalPosition(position);
    e.type = event.first;
    e.data = event.second;
    EXPECT_TRUE(p.Apply(e, state).has_value());
  };
  for (const bool feed : {false, true}) {
    std::unique_ptr<Projection> shared, alone;
    if (feed) {
      shared = std::make_unique<ProgressFeed>();
    } else {
      shared = std::make_unique<Dashboard>();
    }
    for (Tenant& t : tenants) {
      t.state.map.clear();
      t.applied = 0;
    }
    for (int round = 0; tenants[0].applied < tenants[0].events.size() ||
                        tenants[1].applied < tenants[1].events.size();
         ++round) {
      Tenant& t = tenants[round % 2];
      const size_t n =
          std::min<size_t>(1 + rng() % 7, t.events.size() - t.applied);
      const bool abort = rng() % 4 == 0;
      shared->BeginBatch();
      if (abort) {
        // Applied to a scratch copy, then forgotten: nothing committed.
        MapState scratch = t.state;
        for (size_t i = 0; i < n; ++i) {
          apply(*shared, t.events[t.applied + i], t.applied + i, scratch);
        }
        shared->AbortBatch();
        continue;
      }
      for (size_t i = 0; i < n; ++i) {
        apply(*shared, t.events[t.applied + i], t.applied + i, t.state);
      }
      ASSERT_TRUE(shared->EndBatch(t.state).ok());
      t.applied += n;
    }
    for (Tenant& t : tenants) {
      if (feed) {
        alone = std::make_unique<ProgressFeed>();
      } else {
        alone = std::make_unique<Dashboard>();
      }
      MapState expected;
      for (size_t i = 0; i < t.events.size(); ++i) {
        apply(*alone, t.events[i], i, expected);
      }
      EXPECT_EQ(t.state.map, expected.map)
          << (feed ? "progress-feed" : "dashboard");
      EXPECT_FALSE(expected.map.empty());
    }
  }
}

}  // namespace
}  // namespace cairn::projections::learning
