// The projection runner applying a backlog: a store holding 1,000,000
// DOMAIN.md events (1,000 learners, attempts over 30 days, a lesson
// completed every 10th event), then `dashboard` and `progress-feed` (and,
// in BM_BacklogBuiltIn, every built-in projection: `$event-index` too)
// from position 0 until they have caught up. Each iteration drops their
// state first, so each applies the whole backlog.
//
//   build/bench/cairn_projections_bench --benchmark_filter=Backlog

#include <benchmark/benchmark.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "bench/storage/bench_store.h"
#include "projections/built_in.h"
#include "projections/learning/dashboard.h"
#include "projections/learning/progress_feed.h"
#include "projections/runner.h"
#include "storage/projection_store.h"

namespace cairn::bench {
namespace {

constexpr int kEvents = 1'000'000;
constexpr int kBatch = 1000;

storage::ProposedEvent DomainEvent(int i) {
  const std::string user = "user-" + std::to_string(i % 1000);
  const std::string day = std::to_string(10 + (i / 1000) % 18);
  std::string type, data;
  if (i % 10 == 9) {
    type = "LessonCompleted";
    data = R"({"userId":")" + user + R"(","lessonId":"lesson-)" +
           std::to_string(i % 40) + R"(","score":0.8,"completedAt":"2026-11-)" +
           day + R"(T12:00:00Z"})";
  } else {
    type = "AttemptSubmitted";
    data = R"({"attemptId":"a)" + std::to_string(i) + R"(","userId":")" + user +
           R"(","exerciseId":"ex-7","skillId":"skill-)" +
           std::to_string(i % 7) + R"(","lessonId":"fractions-1","correct":)" +
           (i % 3 ? "true" : "false") +
           R"(,"score":1,"durationMs":5300,"submittedAt":"2026-11-)" + day +
           R"(T09:00:00Z"})";
  }
  const Uuid id = Uuid::NewV7();
  return {id, false,
          EncodeEventRecord({id, "learner-" + user, type, data, "{}", "{}"})};
}

BenchStore& Backlog() {
  static BenchStore* store = [] {
    auto* s = new BenchStore(storage::Durability::kWal);
    for (int i = 0; i < kEvents; i += kBatch) {
      storage::AppendRequest req;
      req.tenant = "bench";
      storage::StreamAppend sa;
      sa.stream = "learners";  // one stream: the projections key by userId
      for (int j = i; j < i + kBatch; ++j) sa.events.push_back(DomainEvent(j));
      req.streams.push_back(std::move(sa));
      s->AppendAndWait(std::move(req));
    }
    return s;
  }();
  return *store;
}

// Applies the whole backlog with the projections `make` returns, once per
// iteration (their state dropped first), `state.range(0)` events per batch.
template <typename Make>
void RunBacklog(benchmark::State& state, Make make) {
  const projections::RunnerOptions options{static_cast<size_t>(state.range(0))};
  storage::EventStore& store = Backlog().store();
  for (auto _ : state) {
    state.PauseTiming();
    std::vector<std::unique_ptr<projections::Projection>> set = make();
    for (const auto& p : set) {
      if (!store.Projections().Drop(p->name()).ok()) std::abort();
    }
    projections::Runner runner(&store, std::move(set), options);
    state.ResumeTiming();
    if (!runner.Start().ok()) std::abort();
    if (!runner.WaitIdle(std::chrono::minutes(10))) std::abort();
    state.PauseTiming();
    runner.Stop();
    state.ResumeTiming();
  }
  state.counters["events/s"] = benchmark::Counter(
      static_cast<double>(kEvents) * static_cast<double>(state.iterations()),
      benchmark::Counter::kIsRate);
}

// `dashboard` + `progress-feed`.
void BM_Backlog(benchmark::State& state) {
  RunBacklog(state, [] {
    std::vector<std::unique_ptr<projections::Projection>> set;
    set.push_back(std::make_unique<projections::learning::Dashboard>());
    set.push_back(std::make_unique<projections::learning::ProgressFeed>());
    return set;
  });
}
// Batches of the runner's old size and of its default, side by side.
void BacklogRuns(benchmark::internal::Benchmark* b) {
  b->ArgName("batch")
      ->Arg(10'000)
      ->Arg(100'000)
      ->Iterations(2)
      ->UseRealTime()
      ->Unit(benchmark::kSecond);
}
BENCHMARK(BM_Backlog)->Apply(BacklogRuns);

// What cairnd runs: `$event-index` too.
void BM_BacklogBuiltIn(benchmark::State& state) {
  RunBacklog(state, [] { return projections::BuiltInProjections(); });
}
BENCHMARK(BM_BacklogBuiltIn)->Apply(BacklogRuns);

}  // namespace
}  // namespace cairn::bench

BENCHMARK_MAIN();
