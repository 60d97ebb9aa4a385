// The storage append path without HTTP: what the sequencer, the write batch
// and the WAL sync cost. Threads > 1 wait for their own appends, so they
// exercise group commit.

#include <benchmark/benchmark.h>

#include <memory>
#include <mutex>

#include "bench/storage/bench_store.h"

namespace cairn::bench {
namespace {

// One store per benchmark run, shared by its threads.
std::unique_ptr<BenchStore> g_store;
std::mutex g_mu;

// Google Benchmark starts every thread's loop behind a barrier, so the
// store thread 0 makes is there for all of them.
void BM_Append(benchmark::State& state, storage::Durability durability) {
  const size_t batch = static_cast<size_t>(state.range(0));
  if (state.thread_index() == 0) {
    std::lock_guard lock(g_mu);
    g_store = std::make_unique<BenchStore>(durability);
  }
  // Requests are built outside the timed region.
  const std::string stream =
      "learner-user-" + std::to_string(state.thread_index());
  for (auto _ : state) {
    state.PauseTiming();
    auto req = BenchStore::Request(stream, batch);
    state.ResumeTiming();
    g_store->AppendAndWait(std::move(req));
  }
  // The loop ends behind a barrier too: no thread appends any more. Close
  // the store now, not at exit after RocksDB's own statics are gone.
  if (state.thread_index() == 0) {
    std::lock_guard lock(g_mu);
    g_store.reset();
  }
  state.SetItemsProcessed(state.iterations() * static_cast<int64_t>(batch));
  state.counters["events/s"] = benchmark::Counter(
      static_cast<double>(state.iterations() * static_cast<int64_t>(batch)),
      benchmark::Counter::kIsRate);
}

BENCHMARK_CAPTURE(BM_Append, fsync, storage::Durability::kFsync)
    ->Arg(1)
    ->Arg(10)
    ->Arg(100)
    ->Arg(1000)
    ->Threads(1)
    ->Threads(8)
    ->UseRealTime()
    ->MinTime(0.5);
BENCHMARK_CAPTURE(BM_Append, wal, storage::Durability::kWal)
    ->Arg(1)
    ->Arg(100)
    ->Arg(1000)
    ->Threads(1)
    ->Threads(8)
    ->UseRealTime()
    ->MinTime(0.5);

}  // namespace
}  // namespace cairn::bench
