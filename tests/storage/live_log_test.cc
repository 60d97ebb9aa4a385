// The live log on a real store: what taps receive, overflow, and the
// handover from storage to the tap under racing appends (no gap, no
// duplicate).

#include "storage/live_log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "protocol/event_record.h"
#include "storage/event_store.h"
#include "tests/storage/event_store_fixture.h"
#include "tests/support/temp_dir.h"

namespace cairn::storage {
namespace {

using namespace fixture;

class LiveLogTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = EventStore::Open(Options{}, dir_.str());
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
  }
  EventStore& store() { return *store_; }

  testing::TempDir dir_;
  std::unique_ptr<EventStore> store_;
};

std::vector<uint64_t> PositionsOf(const std::vector<CommittedEventsPtr>& cs) {
  std::vector<uint64_t> out;
  for (const auto& c : cs) {
    for (const auto& e : c->events) out.push_back(e.position.value());
  }
  return out;
}

TEST_F(LiveLogTest, LogTapReceivesEveryCommitFromItsStart) {
  ASSERT_TRUE(Append(store(), "acme", "a", 2).status.ok());
  auto opened = store().Live().Open("acme", std::nullopt, 1000);
  EXPECT_EQ(opened.from, GlobalPosition(2));
  ASSERT_TRUE(Append(store(), "acme", "a", 1).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "b", 2).status.ok());
  ASSERT_TRUE(Append(store(), "globex", "a", 1).status.ok());  // other tenant

  const LiveTap::Taken taken = opened.tap->Take();
  EXPECT_FALSE(taken.overflowed);
  EXPECT_EQ(PositionsOf(taken.commits), Range(2, 5));
  // The records are the stored ones.
  auto view = DecodeEventRecord(taken.commits[1]->events[0].record);
  ASSERT_TRUE(view.has_value());
  EXPECT_EQ(view->stream, "b");
  EXPECT_EQ(taken.commits[1]->events[0].stream, "b");
  EXPECT_TRUE(opened.tap->Take().commits.empty());
  store().Live().Close("acme", opened.tap);
  EXPECT_EQ(store().Live().open_taps(), 0u);
}

TEST_F(LiveLogTest, StreamTapReceivesOnlyCommitsThatHoldItsStream) {
  auto opened = store().Live().Open("acme", std::string("b"), 1000);
  EXPECT_EQ(opened.from, GlobalPosition(0));
  ASSERT_TRUE(Append(store(), "acme", "a", 3).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "b", 1).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "ab", 1).status.ok());
  const LiveTap::Taken taken = opened.tap->Take();
  ASSERT_EQ(taken.commits.size(), 1u);
  EXPECT_EQ(PositionsOf(taken.commits), std::vector<uint64_t>{3});
  store().Live().Close("acme", opened.tap);
}

TEST_F(LiveLogTest, OnReadyWakesOnceWhenSomethingArrives) {
  auto opened = store().Live().Open("acme", std::nullopt, 1000);
  std::atomic<int> wakes{0};
  opened.tap->OnReady([&wakes] { ++wakes; });
  EXPECT_EQ(wakes.load(), 0);
  ASSERT_TRUE(Append(store(), "acme", "a", 1).status.ok());
  EXPECT_EQ(wakes.load(), 1);  // the callback ran before the write's answer
  ASSERT_TRUE(Append(store(), "acme", "a", 1).status.ok());
  EXPECT_EQ(wakes.load(), 1);                  // once per OnReady
  opened.tap->OnReady([&wakes] { ++wakes; });  // ready already: at once
  EXPECT_EQ(wakes.load(), 2);
  store().Live().Close("acme", opened.tap);
}

TEST_F(LiveLogTest, OverflowDropsTheQueueAndStopsTheTap) {
  auto opened = store().Live().Open("acme", std::nullopt, 5);
  ASSERT_TRUE(Append(store(), "acme", "a", 3).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "a", 3).status.ok());  // 6 > 5
  ASSERT_TRUE(Append(store(), "acme", "a", 1).status.ok());
  LiveTap::Taken taken = opened.tap->Take();
  EXPECT_TRUE(taken.overflowed);
  EXPECT_TRUE(taken.commits.empty());
  // A new tap starts where storage ends.
  store().Live().Close("acme", opened.tap);
  auto again = store().Live().Open("acme", std::nullopt, 5);
  EXPECT_EQ(again.from, GlobalPosition(7));
  store().Live().Close("acme", again.tap);
}

TEST_F(LiveLogTest, NothingIsBuiltWithoutTaps) {
  // A closed tap receives nothing (and the commit is not even built).
  auto opened = store().Live().Open("acme", std::nullopt, 1000);
  store().Live().Close("acme", opened.tap);
  store().Live().Close("acme", opened.tap);  // idempotent
  ASSERT_TRUE(Append(store(), "acme", "a", 1).status.ok());
  EXPECT_TRUE(opened.tap->Take().commits.empty());
}

// A subscriber as the server runs one: open a tap, read storage up to where
// the tap starts (in small pages), then take from the tap, skipping
// positions already delivered; on overflow, back to storage. Returns the
// positions delivered once `want` events of `stream` (or of the log) are in.
std::vector<uint64_t> Subscribe(EventStore& store,
                                std::optional<std::string> stream, size_t want,
                                size_t tap_bound) {
  std::vector<uint64_t> delivered;
  uint64_t next = 0;  // the next position to deliver
  const auto deliver = [&](uint64_t position, std::string_view s) {
    if (position < next) return;  // passed already
    next = position + 1;
    if (!stream || s == *stream) delivered.push_back(position);
  };
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (delivered.size() < want) {
    auto opened = store.Live().Open("acme", stream, tap_bound);
    // Catch-up: storage up to the tap's start.
    while (next < opened.from.value()) {
      LogReadOptions read;
      read.from = next;
      read.until = opened.from.value();
      read.limit = 37;
      auto page = store.ReadLog("acme", read);
      EXPECT_TRUE(page.has_value());
      if (!page.has_value()) return delivered;
      for (const auto& e : page->events) {
        deliver(e.position.value(), DecodeEventRecord(e.record)->stream);
      }
    }
    // Live.
    bool overflowed = false;
    while (!overflowed && delivered.size() < want) {
      std::mutex mu;
      std::condition_variable cv;
      bool ready = false;
      opened.tap->OnReady([&] {
        std::lock_guard lock(mu);
        ready = true;
        cv.notify_one();
      });
      {
        std::unique_lock lock(mu);
        if (!cv.wait_until(lock, deadline, [&] { return ready; })) {
          ADD_FAILURE() << "no live events within 60 s";
          store.Live().Close("acme", opened.tap);
          return delivered;
        }
      }
      LiveTap::Taken taken = opened.tap->Take();
      overflowed = taken.overflowed;
      for (const auto& c : taken.commits) {
        for (const auto& e : c->events) deliver(e.position.value(), e.stream);
      }
    }
    store.Live().Close("acme", opened.tap);
  }
  return delivered;
}

// 10,000 events appended while subscribers start at random moments; each
// receives every event exactly once, in order. Small tap bounds make some
// subscribers overflow and go back to storage mid-way.
TEST_F(LiveLogTest, HandoverUnderRacingAppendsHasNoGapAndNoDuplicate) {
  constexpr size_t kEvents = 10'000;
  std::atomic<size_t> appended{0};
  std::thread writer([&] {
    std::mt19937 rng(7);
    while (appended < kEvents) {
      const int n = std::min<int>(1 + static_cast<int>(rng() % 5),
                                  static_cast<int>(kEvents - appended));
      const std::string stream = "s" + std::to_string(rng() % 3);
      ASSERT_TRUE(Append(store(), "acme", stream, n).status.ok());
      appended += static_cast<size_t>(n);
    }
  });
  std::vector<std::vector<uint64_t>> got(6);
  std::vector<std::thread> subscribers;
  for (size_t i = 0; i < got.size(); ++i) {
    subscribers.emplace_back([&, i] {
      // Start somewhere in the first half of the appends.
      const size_t start_at = (i * kEvents) / (2 * got.size());
      while (appended < start_at) std::this_thread::yield();
      got[i] =
          Subscribe(store(), std::nullopt, kEvents, i % 2 == 0 ? 100'000 : 20);
    });
  }
  writer.join();
  for (auto& t : subscribers) t.join();
  for (size_t i = 0; i < got.size(); ++i) {
    EXPECT_EQ(got[i], Range(0, kEvents)) << "subscriber " << i;
  }
  EXPECT_EQ(store().Live().open_taps(), 0u);
}

TEST_F(LiveLogTest, StreamHandoverUnderRacingAppends) {
  constexpr int kRounds = 2'000;
  std::thread writer([&] {
    for (int i = 0; i < kRounds; ++i) {
      ASSERT_TRUE(
          Append(store(), "acme", i % 2 ? "odd" : "even", 1).status.ok());
    }
  });
  std::vector<uint64_t> odd = Subscribe(store(), "odd", kRounds / 2, 1000);
  writer.join();
  std::vector<uint64_t> expected;
  for (uint64_t p = 1; p < kRounds; p += 2) expected.push_back(p);
  EXPECT_EQ(odd, expected);
}

}  // namespace
}  // namespace cairn::storage
