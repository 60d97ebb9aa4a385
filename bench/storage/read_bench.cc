// Reads without HTTP: a 100-event page of a stream, and 1,000-event pages
// of the tenant log (ScanLog, as the server's NDJSON and JSON pages use).

#include <benchmark/benchmark.h>

#include <memory>

#include "bench/storage/bench_store.h"

namespace cairn::bench {
namespace {

constexpr size_t kStreams = 100;
constexpr size_t kEventsPerStream = 1000;

// Filled once for all read benchmarks, and closed by main before exit (a
// static closed after RocksDB's own statics crashes at exit).
std::unique_ptr<BenchStore> g_filled;

BenchStore& FilledStore() {
  if (!g_filled) {
    g_filled = std::make_unique<BenchStore>(storage::Durability::kWal);
    for (size_t i = 0; i < kStreams; ++i) {
      g_filled->AppendAndWait(BenchStore::Request(
          "learner-user-" + std::to_string(i), kEventsPerStream));
    }
  }
  return *g_filled;
}

void BM_ReadStreamPage(benchmark::State& state) {
  auto& store = FilledStore().store();
  storage::StreamReadOptions options;
  options.limit = 100;
  size_t i = 0;
  for (auto _ : state) {
    options.from = (i * 100) % kEventsPerStream;
    auto page = store.ReadStream(
        "bench", "learner-user-" + std::to_string(i % kStreams), options);
    if (!page.has_value() || page->events.size() != 100) std::abort();
    benchmark::DoNotOptimize(page);
    ++i;
  }
  state.SetItemsProcessed(state.iterations() * 100);
}
BENCHMARK(BM_ReadStreamPage)->MinTime(0.5);

void BM_ScanLogPage(benchmark::State& state) {
  auto& store = FilledStore().store();
  storage::LogReadOptions options;
  options.limit = 1000;
  const uint64_t total = kStreams * kEventsPerStream;
  uint64_t from = 0;
  for (auto _ : state) {
    options.from = from;
    size_t bytes = 0;
    auto next = store.ScanLog("bench", options,
                              [&bytes](GlobalPosition, const EventView& e) {
                                bytes += e.data.size();
                              });
    if (!next.has_value()) std::abort();
    benchmark::DoNotOptimize(bytes);
    from = (from + 1000) % total;
  }
  state.SetItemsProcessed(state.iterations() * 1000);
}
BENCHMARK(BM_ScanLogPage)->MinTime(0.5);

}  // namespace

void CloseFilledStore() { g_filled.reset(); }

}  // namespace cairn::bench

int main(int argc, char** argv) {
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  cairn::bench::CloseFilledStore();
  return 0;
}
