// Reading append bodies: the one-pass reader (ParseAppendBody) beside the
// DOM path it replaced (ParseAppendBodyWithDom), on the bodies of
// bench/compare: DOMAIN.md's AttemptSubmitted events, one per request or
// 1,000 in a batch. Both validate and encode every event's record.
//
//   build/bench/cairn_server_bench --benchmark_filter=AppendBody

#include <benchmark/benchmark.h>

#include <string>

#include "server/request_body.h"

namespace cairn::server {
namespace {

const Caller kCaller{"org-1", "user-1", "4bf92f3577b34da6a3ce929d0e0e4736"};

// {"events":[...]} of `n` AttemptSubmitted events of one learner.
std::string AppendBody(int n) {
  std::string body = R"({"expectedRevision":"any","events":[)";
  for (int i = 0; i < n; ++i) {
    if (i > 0) body.push_back(',');
    const std::string r = std::to_string(i);
    body += R"({"type":"AttemptSubmitted","data":{"attemptId":"a-7-)" + r +
            R"(","userId":"user-7","exerciseId":"ex-)" +
            std::to_string(i % 40) + R"(","skillId":"skill-fractions-)" +
            std::to_string(i % 7) + R"(","lessonId":"lesson-)" +
            std::to_string(i / 10 % 40) + R"(","correct":true,"score":0.)" +
            std::to_string(75 + i % 25) + R"(,"durationMs":)" +
            std::to_string(2000 + i * 7919 % 9000) +
            R"(,"submittedAt":"2026-11-25T10:1)" + std::to_string(i % 10) +
            R"(:00Z"},"metadata":{"userId":"user-7"}})";
  }
  body += "]}";
  return body;
}

template <auto Parse>
void BM_AppendBody(benchmark::State& state) {
  const int events = static_cast<int>(state.range(0));
  const std::string body = AppendBody(events);
  for (auto _ : state) {
    auto request = Parse(body, "learner-user-7", kCaller, BodyLimits{});
    if (!request.has_value()) {
      state.SkipWithError(request.error().ToString().c_str());
      break;
    }
    benchmark::DoNotOptimize(request);
  }
  state.SetItemsProcessed(state.iterations() * events);
  state.SetBytesProcessed(state.iterations() *
                          static_cast<int64_t>(body.size()));
}

BENCHMARK(BM_AppendBody<ParseAppendBody>)
    ->Name("AppendBody/one_pass")
    ->Arg(1)
    ->Arg(1000);
BENCHMARK(BM_AppendBody<ParseAppendBodyWithDom>)
    ->Name("AppendBody/dom")
    ->Arg(1)
    ->Arg(1000);

}  // namespace
}  // namespace cairn::server

BENCHMARK_MAIN();
