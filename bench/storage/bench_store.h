#pragma once

// A store on a fresh temp directory for one benchmark, and the helpers to
// append to it synchronously.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>

#include "protocol/event_record.h"
#include "storage/event_store.h"
#include "tests/support/temp_dir.h"

namespace cairn::bench {

class BenchStore {
 public:
  explicit BenchStore(storage::Durability durability) {
    storage::Options options;
    options.durability = durability;
    auto store = storage::EventStore::Open(options, dir_.str());
    if (!store.has_value()) std::abort();
    store_ = std::move(*store);
  }
  storage::EventStore& store() { return *store_; }

  // A request of `count` DOMAIN.md events to `stream` (server-made ids).
  static storage::AppendRequest Request(const std::string& stream,
                                        size_t count) {
    static const std::string kData =
        R"({"attemptId":"a-1","userId":"user-1","exerciseId":"ex-7","skillId":"skill-fractions","lessonId":"fractions-1","correct":true,"score":0.75,"durationMs":5300,"submittedAt":"2026-11-25T10:01:00Z"})";
    storage::AppendRequest req;
    req.tenant = "bench";
    storage::StreamAppend sa;
    sa.stream = stream;
    for (size_t i = 0; i < count; ++i) {
      const Uuid id = Uuid::NewV7();
      sa.events.push_back(
          {id, false,
           EncodeEventRecord(
               {id, stream, "AttemptSubmitted", kData, R"({"userId":"user-1"})",
                R"({"orgId":"bench","principal":"anonymous","traceId":"4bf92f3577b34da6a3ce929d0e0e4736"})"})});
    }
    req.streams.push_back(std::move(sa));
    return req;
  }

  // Appends and waits for the outcome; aborts on failure (a benchmark
  // must not measure errors).
  void AppendAndWait(storage::AppendRequest req) {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    bool ok = false;
    store_->Append(std::move(req), [&](storage::WriteOutcome out) {
      std::lock_guard lock(mu);
      ok = out.status.ok();
      done = true;
      cv.notify_one();
    });
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return done; });
    if (!ok) std::abort();
  }

 private:
  testing::TempDir dir_;
  std::unique_ptr<storage::EventStore> store_;
};

}  // namespace cairn::bench
