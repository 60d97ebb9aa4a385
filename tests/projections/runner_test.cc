// The projection runner on a real store: the built-in projections kept up
// to date by appends, live equal to a rebuild byte for byte, a projection
// that throws is faulted alone, waits for a position, version bumps.

#include "projections/runner.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "projections/learning/dashboard.h"
#include "projections/learning/progress_feed.h"
#include "projections/store_state.h"
#include "storage/event_store.h"
#include "storage/projection_store.h"
#include "tests/storage/event_store_fixture.h"
#include "tests/support/temp_dir.h"

namespace cairn::projections {
namespace {

using namespace std::chrono_literals;
using storage::fixture::Append;

storage::AppendRequest DomainEvent(const std::string& tenant,
                                   const std::string& user,
                                   const std::string& type,
                                   const std::string& data) {
  storage::ProposedEvent e;
  e.id = Uuid::NewV7();
  const std::string stream = "learner-" + user;
  e.record = EncodeEventRecord({e.id, stream, type, data, "{}", "{}"});
  storage::StreamAppend sa;
  sa.stream = stream;
  sa.events.push_back(std::move(e));
  storage::AppendRequest req;
  req.tenant = tenant;
  req.streams.push_back(std::move(sa));
  return req;
}

std::string Attempt(const std::string& user, bool correct,
                    const std::string& at) {
  return R"({"userId":")" + user +
         R"(","skillId":"skill-fractions","correct":)" +
         (correct ? "true" : "false") + R"(,"submittedAt":")" + at + "\"}";
}

// Throws on events of type "Boom"; counts the others.
class Fragile final : public Projection {
 public:
  std::string_view name() const override { return "fragile"; }
  uint32_t version() const override { return 1; }
  std::vector<std::string> types() const override { return {}; }
  Result<Applied> Apply(const Event& e, State& state) override {
    if (e.type == "Boom") throw std::runtime_error("boom");
    const auto n = state.Get("n");
    state.Put("n", std::to_string(n ? std::stoi(*n) + 1 : 1));
    return Applied::kApplied;
  }
};

// Adds `step` to the counter "n" at every event: changing the step before
// a rebuild makes the rebuilt state differ from the live one.
class Counter final : public Projection {
 public:
  explicit Counter(std::shared_ptr<std::atomic<int>> step)
      : step_(std::move(step)) {}
  std::string_view name() const override { return "counter"; }
  uint32_t version() const override { return 1; }
  std::vector<std::string> types() const override { return {}; }
  Result<Applied> Apply(const Event&, State& state) override {
    const auto n = state.Get("n");
    state.Put("n", std::to_string((n ? std::stoi(*n) : 0) + step_->load()));
    return Applied::kApplied;
  }

 private:
  std::shared_ptr<std::atomic<int>> step_;
};

// Writes its version with every event, so a rebuild shows.
class Versioned final : public Projection {
 public:
  explicit Versioned(uint32_t v) : v_(v) {}
  std::string_view name() const override { return "versioned"; }
  uint32_t version() const override { return v_; }
  std::vector<std::string> types() const override { return {}; }
  Result<Applied> Apply(const Event& e, State& state) override {
    state.Put("e" + std::to_string(e.position.value()), std::to_string(v_));
    return Applied::kApplied;
  }

 private:
  uint32_t v_;
};

class RunnerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = storage::EventStore::Open(storage::Options{}, dir_.str());
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
  }
  void TearDown() override {
    runner_.reset();
    store_.reset();
  }
  void StartRunner(std::vector<std::unique_ptr<Projection>> projections,
                   RunnerOptions options = {}) {
    runner_.reset();
    runner_ =
        std::make_unique<Runner>(store_.get(), std::move(projections), options);
    ASSERT_TRUE(runner_->Start().ok());
  }
  std::optional<std::string> CounterValue(std::string_view tenant) {
    CommittedState state(store_->Projections(), "counter", tenant);
    return state.Get("n");
  }
  static std::vector<std::unique_ptr<Projection>> BuiltIn() {
    std::vector<std::unique_ptr<Projection>> p;
    p.push_back(std::make_unique<learning::Dashboard>());
    p.push_back(std::make_unique<learning::ProgressFeed>());
    return p;
  }
  void AppendOk(storage::AppendRequest req) {
    ASSERT_TRUE(Append(*store_, std::move(req)).status.ok());
  }
  // The built-in projections with a gathering pause only a wait ends, at
  // acme's position 1: position 0 applied by the pass an idle runner starts
  // at once, position 1 committed during the pause that follows it.
  void StartRunnerInAPause() {
    RunnerOptions options;
    options.gather = std::chrono::hours(1);
    StartRunner(BuiltIn(), options);
    AppendOk(DomainEvent("acme", "u1", "AttemptSubmitted",
                         Attempt("u1", true, "2026-11-25T09:00:00Z")));
    // A prompt wait, answered in that pass and gone before the pause
    // (WaitIdle would end the pause it finds).
    std::promise<bool> first;
    runner_->WhenApplied("dashboard", "acme", 0,
                         [&first](bool ok) { first.set_value(ok); });
    ASSERT_EQ(first.get_future().wait_for(10s), std::future_status::ready);
    AppendOk(DomainEvent("acme", "u1", "AttemptSubmitted",
                         Attempt("u1", true, "2026-11-25T10:00:00Z")));
  }
  // Everything a projection holds for a tenant.
  std::map<std::string, std::string> Dump(std::string_view projection,
                                          std::string_view tenant) {
    std::map<std::string, std::string> out;
    CommittedState state(store_->Projections(), projection, tenant);
    state.ScanBackward("", "", [&out](std::string_view k, std::string_view v) {
      out.emplace(k, v);
      return true;
    });
    return out;
  }

  testing::TempDir dir_;
  std::unique_ptr<storage::EventStore> store_;
  std::unique_ptr<Runner> runner_;
};

TEST_F(RunnerTest, KeepsTheDashboardUpToDate) {
  AppendOk(DomainEvent("acme", "u1", "AttemptSubmitted",
                       Attempt("u1", true, "2026-11-24T09:00:00Z")));
  StartRunner(BuiltIn());  // catches up what is there
  AppendOk(DomainEvent("acme", "u1", "AttemptSubmitted",
                       Attempt("u1", false, "2026-11-25T09:00:00Z")));
  AppendOk(DomainEvent("acme", "u1", "LessonStarted", R"({"userId":"u1"})"));
  ASSERT_TRUE(runner_->WaitIdle(10s));
  CommittedState state(store_->Projections(), "dashboard", "acme");
  auto doc = learning::Dashboard::Document(state, "u1");
  ASSERT_TRUE(doc.has_value());
  EXPECT_NE(doc->find(R"("attempts":2,"correct":1,"accuracy":0.5)"),
            std::string::npos)
      << *doc;
  EXPECT_NE(doc->find(R"("currentStreakDays":2)"), std::string::npos) << *doc;
  auto cp = store_->Projections().Checkpoint("dashboard", "acme");
  EXPECT_EQ(cp->next_position, 3u);  // the LessonStarted too
  // Another tenant sees nothing of it.
  CommittedState other(store_->Projections(), "dashboard", "globex");
  EXPECT_FALSE(learning::Dashboard::Document(other, "u1").has_value());
}

TEST_F(RunnerTest, LiveEqualsARebuildByteForByte) {
  StartRunner(BuiltIn());
  std::mt19937 rng(3);
  for (int i = 0; i < 600; ++i) {
    const std::string tenant = i % 3 ? "acme" : "globex";
    const std::string user = "u" + std::to_string(rng() % 4);
    const std::string at =
        "2026-11-" + std::to_string(10 + rng() % 12) + "T09:00:00Z";
    switch (rng() % 4) {
      case 0:
        AppendOk(
            DomainEvent(tenant, user, "LessonCompleted",
                        R"({"userId":")" + user +
                            R"(","lessonId":"l","score":0.75,"completedAt":")" +
                            at + "\"}"));
        break;
      case 1:
        AppendOk(
            DomainEvent(tenant, user, "DailyGoalSet",
                        R"({"userId":")" + user + R"(","attemptsPerDay":2})"));
        break;
      default:
        AppendOk(DomainEvent(tenant, user, "AttemptSubmitted",
                             Attempt(user, rng() % 3 != 0, at)));
    }
  }
  ASSERT_TRUE(runner_->WaitIdle(30s));
  std::map<std::string, std::map<std::string, std::string>> live;
  for (const char* p : {"dashboard", "progress-feed"}) {
    for (const char* t : {"acme", "globex"})
      live[std::string(p) + t] = Dump(p, t);
  }
  EXPECT_EQ(live["dashboardacme"].size(), 4u);  // u0..u3
  EXPECT_GT(live["progress-feedglobex"].size(), 4u);

  runner_.reset();
  ASSERT_TRUE(store_->Projections().Drop("dashboard").ok());
  ASSERT_TRUE(store_->Projections().Drop("progress-feed").ok());
  StartRunner(BuiltIn());  // from position 0
  ASSERT_TRUE(runner_->WaitIdle(30s));
  for (const char* p : {"dashboard", "progress-feed"}) {
    for (const char* t : {"acme", "globex"}) {
      EXPECT_EQ(Dump(p, t), live[std::string(p) + t]) << p << " " << t;
    }
  }
}

TEST_F(RunnerTest, AProjectionThatThrowsIsFaultedAloneAtItsEvent) {
  std::vector<std::unique_ptr<Projection>> p = BuiltIn();
  p.push_back(std::make_unique<Fragile>());
  StartRunner(std::move(p));
  AppendOk(DomainEvent("acme", "u1", "AttemptSubmitted",
                       Attempt("u1", true, "2026-11-25T09:00:00Z")));
  AppendOk(DomainEvent("acme", "u1", "Boom", "{}"));
  AppendOk(DomainEvent("acme", "u1", "AttemptSubmitted",
                       Attempt("u1", true, "2026-11-25T10:00:00Z")));
  ASSERT_TRUE(runner_->WaitIdle(10s));
  for (const ProjectionStatus& s : runner_->Statuses()) {
    if (s.name == "fragile") {
      EXPECT_TRUE(s.faulted);
      EXPECT_EQ(s.fault_at, GlobalPosition(1));
      EXPECT_EQ(s.error, "boom");
    } else {
      EXPECT_FALSE(s.faulted) << s.name << ": " << s.error;
    }
  }
  // It kept nothing of the failed batch: its checkpoint is at most the
  // event it failed on (the first event may have been its own batch). The
  // others went past it.
  EXPECT_LE(store_->Projections().Checkpoint("fragile", "acme")->next_position,
            1u);
  EXPECT_EQ(
      store_->Projections().Checkpoint("dashboard", "acme")->next_position, 3u);
  // Waiting on a faulted projection answers false at once.
  std::promise<bool> answer;
  runner_->WhenApplied("fragile", "acme", 2,
                       [&answer](bool ok) { answer.set_value(ok); });
  EXPECT_FALSE(answer.get_future().get());
}

TEST_F(RunnerTest, AFaultOnOneTenantsEventLeavesTheOtherTenantsRunning) {
  std::vector<std::unique_ptr<Projection>> p;
  p.push_back(std::make_unique<Fragile>());
  StartRunner(std::move(p));
  AppendOk(DomainEvent("acme", "u1", "Tick", "{}"));
  AppendOk(DomainEvent("globex", "u1", "Tick", "{}"));
  AppendOk(DomainEvent("globex", "u1", "Boom", "{}"));
  AppendOk(DomainEvent("acme", "u1", "Tick", "{}"));
  ASSERT_TRUE(runner_->WaitIdle(10s));

  // globex is faulted at its own event; acme never hears of it.
  const ProjectionStatus globex = runner_->Statuses("globex").at(0);
  EXPECT_TRUE(globex.faulted);
  EXPECT_EQ(globex.fault_at, GlobalPosition(1));
  EXPECT_EQ(globex.error, "boom");
  const ProjectionStatus acme = runner_->Statuses("acme").at(0);
  EXPECT_FALSE(acme.faulted);
  EXPECT_TRUE(acme.error.empty());
  EXPECT_FALSE(acme.fault_at.has_value());
  // The sum over tenants, for monitoring, shows the fault.
  EXPECT_TRUE(runner_->Statuses().at(0).faulted);

  // acme goes on: its events are applied and its waits answered.
  AppendOk(DomainEvent("acme", "u1", "Tick", "{}"));
  std::promise<bool> applied;
  runner_->WhenApplied("fragile", "acme", 2,
                       [&applied](bool ok) { applied.set_value(ok); });
  EXPECT_TRUE(applied.get_future().get());
  EXPECT_EQ(Dump("fragile", "acme").at("n"), "3");
  std::promise<bool> refused;
  runner_->WhenApplied("fragile", "globex", 1,
                       [&refused](bool ok) { refused.set_value(ok); });
  EXPECT_FALSE(refused.get_future().get());
}

TEST_F(RunnerTest, ATenantsRebuildTouchesNoOtherTenant) {
  StartRunner(BuiltIn());
  for (int i = 0; i < 20; ++i) {
    for (const char* tenant : {"acme", "globex"}) {
      AppendOk(DomainEvent(
          tenant, "u" + std::to_string(i % 3), "AttemptSubmitted",
          Attempt("u" + std::to_string(i % 3), i % 2,
                  "2026-11-2" + std::to_string(i % 5) + "T09:00:00Z")));
    }
  }
  ASSERT_TRUE(runner_->WaitIdle(10s));
  const auto acme = Dump("dashboard", "acme");
  const auto globex = Dump("dashboard", "globex");
  ASSERT_EQ(acme.size(), 3u);

  // globex's state is damaged behind the runner's back; its rebuild
  // restores it, and acme's damage (made the same way) stays: only the
  // tenant asked for is rebuilt.
  for (const char* tenant : {"acme", "globex"}) {
    auto write = store_->Projections().Begin("dashboard", tenant);
    ASSERT_TRUE(write.has_value());
    (*write)->Put(acme.begin()->first, "damaged");
    auto cp = store_->Projections().Checkpoint("dashboard", tenant);
    ASSERT_TRUE(store_->Projections().Commit(**write, *cp).ok());
  }
  ASSERT_TRUE(runner_->Rebuild("dashboard", "globex").ok());
  EXPECT_TRUE(runner_->Rebuild("nope", "globex").IsNotFound());
  ASSERT_TRUE(runner_->WaitIdle(10s));
  EXPECT_EQ(Dump("dashboard", "globex"), globex);
  EXPECT_EQ(Dump("dashboard", "acme").at(acme.begin()->first), "damaged");
  EXPECT_EQ(
      store_->Projections().Checkpoint("dashboard", "globex")->next_position,
      20u);  // its own 20 events
  for (const char* tenant : {"acme", "globex"}) {
    for (const ProjectionStatus& s : runner_->Statuses(tenant)) {
      EXPECT_FALSE(s.rebuilding) << tenant << " " << s.name;
      EXPECT_FALSE(s.faulted) << tenant << " " << s.name << ": " << s.error;
    }
  }
  // Both go on live after it.
  AppendOk(DomainEvent("globex", "u9", "AttemptSubmitted",
                       Attempt("u9", true, "2026-11-25T09:00:00Z")));
  AppendOk(DomainEvent("acme", "u9", "AttemptSubmitted",
                       Attempt("u9", true, "2026-11-25T09:00:00Z")));
  ASSERT_TRUE(runner_->WaitIdle(10s));
  EXPECT_EQ(Dump("dashboard", "globex").size(), 4u);
  EXPECT_EQ(Dump("dashboard", "acme").size(), 4u);
}

TEST_F(RunnerTest, WhenAppliedAnswersOnceThePositionIsApplied) {
  StartRunner(BuiltIn());
  AppendOk(DomainEvent("acme", "u1", "AttemptSubmitted",
                       Attempt("u1", true, "2026-11-25T09:00:00Z")));
  ASSERT_TRUE(runner_->WaitIdle(10s));
  // Applied already: at once.
  std::promise<bool> now;
  runner_->WhenApplied("dashboard", "acme", 0,
                       [&now](bool ok) { now.set_value(ok); });
  EXPECT_TRUE(now.get_future().get());
  // Not yet: answered when the append is applied.
  std::promise<bool> later;
  auto later_future = later.get_future();
  runner_->WhenApplied("dashboard", "acme", 1,
                       [&later](bool ok) { later.set_value(ok); });
  EXPECT_EQ(later_future.wait_for(50ms), std::future_status::timeout);
  AppendOk(DomainEvent("acme", "u1", "AttemptSubmitted",
                       Attempt("u1", true, "2026-11-25T10:00:00Z")));
  ASSERT_EQ(later_future.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(later_future.get());
  // A runner that stops answers false to whoever still waits.
  std::promise<bool> never;
  auto never_future = never.get_future();
  runner_->WhenApplied("dashboard", "acme", 100,
                       [&never](bool ok) { never.set_value(ok); });
  runner_->Stop();
  EXPECT_FALSE(never_future.get());
}

TEST_F(RunnerTest, RebuildIntoAShadowSwapsInTheSameState) {
  std::vector<std::unique_ptr<Projection>> p = BuiltIn();
  p.push_back(std::make_unique<Fragile>());
  StartRunner(std::move(p));
  for (int i = 0; i < 50; ++i) {
    AppendOk(DomainEvent(
        "acme", "u" + std::to_string(i % 3), "AttemptSubmitted",
        Attempt("u" + std::to_string(i % 3), i % 2,
                "2026-11-2" + std::to_string(i % 5) + "T09:00:00Z")));
  }
  AppendOk(DomainEvent("acme", "u1", "Boom", "{}"));
  ASSERT_TRUE(runner_->WaitIdle(10s));
  const auto before = Dump("dashboard", "acme");
  const auto feed_before = Dump("progress-feed", "acme");
  ASSERT_EQ(before.size(), 3u);

  ASSERT_TRUE(runner_->Rebuild("dashboard").ok());
  ASSERT_TRUE(runner_->Rebuild("fragile").ok());
  EXPECT_TRUE(runner_->Rebuild("nope").IsNotFound());
  ASSERT_TRUE(runner_->WaitIdle(10s));
  EXPECT_EQ(Dump("dashboard", "acme"), before);
  EXPECT_EQ(Dump("progress-feed", "acme"), feed_before);
  EXPECT_EQ(
      store_->Projections().Checkpoint("dashboard", "acme")->next_position,
      51u);
  for (const ProjectionStatus& s : runner_->Statuses()) {
    EXPECT_FALSE(s.rebuilding) << s.name;
    // The rebuilt fragile projection meets its bad event again.
    EXPECT_EQ(s.faulted, s.name == "fragile") << s.name;
  }
  // It goes on live after the swap, and survives a restart.
  AppendOk(DomainEvent("acme", "u9", "AttemptSubmitted",
                       Attempt("u9", true, "2026-11-25T09:00:00Z")));
  ASSERT_TRUE(runner_->WaitIdle(10s));
  EXPECT_EQ(Dump("dashboard", "acme").size(), 4u);
  StartRunner(BuiltIn());
  AppendOk(DomainEvent("acme", "u9", "AttemptSubmitted",
                       Attempt("u9", true, "2026-11-25T10:00:00Z")));
  ASSERT_TRUE(runner_->WaitIdle(10s));
  CommittedState state(store_->Projections(), "dashboard", "acme");
  auto doc = learning::Dashboard::Document(state, "u9");
  ASSERT_TRUE(doc.has_value());
  EXPECT_NE(doc->find(R"("attempts":2)"), std::string::npos) << *doc;
}

TEST_F(RunnerTest, ANewVersionRebuildsFromPositionZero) {
  std::vector<std::unique_ptr<Projection>> v1;
  v1.push_back(std::make_unique<Versioned>(1));
  StartRunner(std::move(v1));
  AppendOk(DomainEvent("acme", "u1", "X", "{}"));
  AppendOk(DomainEvent("acme", "u1", "X", "{}"));
  ASSERT_TRUE(runner_->WaitIdle(10s));
  EXPECT_EQ(Dump("versioned", "acme"),
            (std::map<std::string, std::string>{{"e0", "1"}, {"e1", "1"}}));
  std::vector<std::unique_ptr<Projection>> v2;
  v2.push_back(std::make_unique<Versioned>(2));
  StartRunner(std::move(v2));
  ASSERT_TRUE(runner_->WaitIdle(10s));
  EXPECT_EQ(Dump("versioned", "acme"),
            (std::map<std::string, std::string>{{"e0", "2"}, {"e1", "2"}}));
  EXPECT_EQ(store_->Projections().Checkpoint("versioned", "acme")->version, 2u);
}

TEST_F(RunnerTest, UnderAStreamOfCommitsPassesGatherUntilSomeoneWaits) {
  // The second commit waits in the pause...
  StartRunnerInAPause();
  std::this_thread::sleep_for(200ms);  // time it would have taken
  EXPECT_EQ(
      store_->Projections().Checkpoint("dashboard", "acme")->next_position, 1u);
  // ...until a reader waits for it.
  std::promise<bool> second;
  auto second_future = second.get_future();
  runner_->WhenApplied("dashboard", "acme", 1,
                       [&second](bool ok) { second.set_value(ok); });
  ASSERT_EQ(second_future.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(second_future.get());
  // WaitIdle ends it too, and Stop does not wait for it.
  AppendOk(DomainEvent("acme", "u1", "AttemptSubmitted",
                       Attempt("u1", true, "2026-11-25T11:00:00Z")));
  ASSERT_TRUE(runner_->WaitIdle(10s));
  EXPECT_EQ(
      store_->Projections().Checkpoint("dashboard", "acme")->next_position, 3u);
  const auto stop_began = std::chrono::steady_clock::now();
  runner_->Stop();
  EXPECT_LT(std::chrono::steady_clock::now() - stop_began, 10s);
}

// The pause after a round grows with the round, within [gather, 10 x
// gather]: under load the passes take at most a fifth of the projector's
// time, and no pause is longer than ten gathers.
TEST(PauseAfterRoundTest, IsFourRoundsWithinOneAndTenGathers) {
  const std::chrono::microseconds gather = 100ms;
  EXPECT_EQ(Runner::PauseAfterRound(gather, 0ms), 100ms);
  EXPECT_EQ(Runner::PauseAfterRound(gather, 10ms), 100ms);
  EXPECT_EQ(Runner::PauseAfterRound(gather, 40ms), 160ms);
  EXPECT_EQ(Runner::PauseAfterRound(gather, 200ms), 800ms);
  EXPECT_EQ(Runner::PauseAfterRound(gather, 5s), 1s);
  // With the pause off, it stays off.
  EXPECT_EQ(Runner::PauseAfterRound(0ms, 5s), 0ms);
}

// A read-model subscription waits for its next version with kNextPass: it
// rides the next pass rather than end the pause, or one open dashboard
// would make the projector pass after every commit.
TEST_F(RunnerTest, AWaitForTheNextPassDoesNotEndTheGathering) {
  StartRunnerInAPause();
  std::promise<bool> next_pass;
  auto next_pass_future = next_pass.get_future();
  runner_->WhenApplied(
      "dashboard", "acme", 1,
      [&next_pass](bool ok) { next_pass.set_value(ok); },
      Runner::Urgency::kNextPass);
  // Time the pass would have taken, had the wait ended the pause.
  EXPECT_EQ(next_pass_future.wait_for(200ms), std::future_status::timeout);
  EXPECT_EQ(
      store_->Projections().Checkpoint("dashboard", "acme")->next_position, 1u);
  // A prompt wait ends it, and the same pass answers both.
  std::promise<bool> prompt;
  auto prompt_future = prompt.get_future();
  runner_->WhenApplied("dashboard", "acme", 1,
                       [&prompt](bool ok) { prompt.set_value(ok); });
  ASSERT_EQ(prompt_future.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(prompt_future.get());
  ASSERT_EQ(next_pass_future.wait_for(10s), std::future_status::ready);
  EXPECT_TRUE(next_pass_future.get());
}

// The runner keeps what it committed in memory between live batches
// (CommittedCache): a swap of rebuilt state must not leave it serving the
// old values.
TEST_F(RunnerTest, AfterARebuildLiveBatchesReadTheRebuiltState) {
  auto step = std::make_shared<std::atomic<int>>(1);
  std::vector<std::unique_ptr<Projection>> p;
  p.push_back(std::make_unique<Counter>(step));
  StartRunner(std::move(p));
  for (int i = 0; i < 3; ++i) {
    AppendOk(DomainEvent("acme", "u1", "X", "{}"));
    AppendOk(DomainEvent("globex", "u1", "X", "{}"));
    ASSERT_TRUE(runner_->WaitIdle(10s));  // a batch each, the cache warm
  }
  EXPECT_EQ(CounterValue("acme"), "3");
  EXPECT_EQ(CounterValue("globex"), "3");

  // The whole projection: every tenant's state is replaced.
  step->store(10);
  ASSERT_TRUE(runner_->Rebuild("counter").ok());
  ASSERT_TRUE(runner_->WaitIdle(10s));
  EXPECT_EQ(CounterValue("acme"), "30");
  AppendOk(DomainEvent("acme", "u1", "X", "{}"));
  ASSERT_TRUE(runner_->WaitIdle(10s));
  EXPECT_EQ(CounterValue("acme"), "40");  // 13 with a stale cache

  // One tenant's: that tenant's state is replaced, the other's cache stays
  // right.
  step->store(100);
  ASSERT_TRUE(runner_->Rebuild("counter", "globex").ok());
  ASSERT_TRUE(runner_->WaitIdle(10s));
  EXPECT_EQ(CounterValue("globex"), "300");
  AppendOk(DomainEvent("globex", "u1", "X", "{}"));
  AppendOk(DomainEvent("acme", "u1", "X", "{}"));
  ASSERT_TRUE(runner_->WaitIdle(10s));
  EXPECT_EQ(CounterValue("globex"), "400");
  EXPECT_EQ(CounterValue("acme"), "140");
}

}  // namespace
}  // namespace cairn::projections
