// `$event-index` on a real store and runner: filtered log reads and append
// conditions through the index give exactly what a scan of the log gives,
// whether the index covers all of the log, part of it or none; and a read
// it covers scans nothing.

#include "projections/indexes/event_index.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "projections/runner.h"
#include "protocol/names.h"
#include "storage/event_store.h"
#include "storage/log_index.h"
#include "tests/storage/event_store_fixture.h"

namespace cairn::projections::indexes {
namespace {

using namespace std::chrono_literals;
using storage::EventFilter;
using storage::ExpectedRevision;
using storage::LogReadOptions;
using storage::fixture::Append;
using storage::fixture::NewEvent;
using storage::fixture::Request;
using storage::fixture::ToStream;

constexpr char kTenant[] = "acme";
const std::vector<std::string> kTypes = {"AttemptSubmitted", "LessonStarted",
                                         "LessonCompleted", "DailyGoalSet",
                                         "Other"};
const std::vector<std::string> kStreams = {"learner-u1", "learner-u2",
                                           "lesson-l1", "attempt-9", "solo"};

class EventIndexTest : public storage::fixture::EventStoreFixture {
 protected:
  void SetUp() override {
    EventStoreFixture::SetUp();
    store().UseLogIndex(NewEventIndexReader(&store().Projections()));
  }

  // `count` events of random types in random streams, a few per append.
  void AppendRandom(int count) {
    std::uniform_int_distribution<size_t> type(0, kTypes.size() - 1);
    std::uniform_int_distribution<size_t> stream(0, kStreams.size() - 1);
    std::uniform_int_distribution<int> run(1, 4);
    for (int done = 0; done < count;) {
      const int n = std::min(run(rng_), count - done);
      storage::StreamAppend sa;
      sa.stream = kStreams[stream(rng_)];
      for (int i = 0; i < n; ++i) {
        sa.events.push_back(NewEvent(sa.stream, kTypes[type(rng_)]));
      }
      ASSERT_TRUE(
          Append(store(), Request(kTenant, {std::move(sa)})).status.ok());
      done += n;
    }
  }

  // Runs the index until it has caught up with the log, then stops it.
  void IndexAll() {
    std::vector<std::unique_ptr<Projection>> set;
    set.push_back(std::make_unique<EventIndex>());
    Runner runner(&store(), std::move(set));
    ASSERT_TRUE(runner.Start().ok());
    ASSERT_TRUE(runner.WaitIdle(30s));
    runner.Stop();
  }

  // Every page of a filtered read, from `from` to the end, one position
  // list; and the same from an unfiltered scan checked event by event.
  std::vector<uint64_t> ReadAll(const EventFilter& filter, uint64_t from,
                                size_t limit) {
    std::vector<uint64_t> out;
    std::optional<uint64_t> next = from;
    for (int pages = 0; next && pages < 10'000; ++pages) {
      LogReadOptions options;
      options.from = *next;
      options.limit = limit;
      options.filter = filter;
      auto page = store().ReadLog(kTenant, options);
      EXPECT_TRUE(page.has_value()) << page.error().ToString();
      if (!page.has_value()) break;
      for (const auto& e : page->events) out.push_back(e.position.value());
      next = page->next;
    }
    return out;
  }
  std::vector<uint64_t> ScanAll(const EventFilter& filter, uint64_t from) {
    std::vector<uint64_t> out;
    LogReadOptions options;
    options.from = from;
    options.limit = SIZE_MAX;
    auto next = store().ScanLog(kTenant, options,
                                [&](GlobalPosition p, const EventView& e) {
                                  if (filter.Matches(e.stream, e.type))
                                    out.push_back(p.value());
                                });
    EXPECT_TRUE(next.has_value());
    return out;
  }

  // Filters of one or two types, one or two categories, and both.
  std::vector<EventFilter> Filters() {
    return {
        {{"AttemptSubmitted"}, {}, {}},
        {{"LessonCompleted", "DailyGoalSet"}, {}, {}},
        {{"NeverAppended"}, {}, {}},
        {{}, {"learner"}, {}},
        {{}, {"lesson", "solo"}, {}},
        {{"LessonStarted", "Other"}, {"learner", "attempt"}, {}},
        {{"AttemptSubmitted", "AttemptSubmitted"}, {}, {}},
    };
  }

  void ExpectReadsEqualScans() {
    for (const EventFilter& filter : Filters()) {
      const auto expected = ScanAll(filter, 0);
      for (size_t limit : {size_t{1}, size_t{7}, size_t{1000}}) {
        SCOPED_TRACE("limit " + std::to_string(limit));
        EXPECT_EQ(ReadAll(filter, 0, limit), expected);
      }
      for (uint64_t from : {333, 4095, 4096, 5000}) {
        EXPECT_EQ(ReadAll(filter, from, 50), ScanAll(filter, from));
      }
    }
  }

  std::mt19937 rng_{42};
};

TEST_F(EventIndexTest, FilteredReadsThroughTheIndexEqualAScan) {
  AppendRandom(9000);  // three blocks of the index
  IndexAll();
  ExpectReadsEqualScans();
}

TEST_F(EventIndexTest, LiveIndexEqualsARebuildByteForByte) {
  const auto dump = [this] {
    std::vector<std::pair<std::string, std::string>> out;
    EXPECT_TRUE(store()
                    .Projections()
                    .ScanForward(EventIndex::kName, kTenant, "", "",
                                 [&](std::string_view k, std::string_view v) {
                                   out.emplace_back(k, v);
                                   return true;
                                 })
                    .ok());
    return out;
  };
  // Live: applied a few events at a time, across block boundaries.
  for (int round = 0; round < 12; ++round) {
    AppendRandom(round % 2 ? 700 : 13);
    IndexAll();
  }
  const auto live = dump();
  ASSERT_FALSE(live.empty());
  ASSERT_TRUE(store().Projections().Drop(EventIndex::kName).ok());
  IndexAll();  // one pass from position 0
  EXPECT_EQ(dump(), live);
  ExpectReadsEqualScans();
}

TEST_F(EventIndexTest, ReadsPastTheIndexScanTheRest) {
  AppendRandom(4500);
  IndexAll();
  AppendRandom(4500);  // not indexed: the runner has stopped
  ExpectReadsEqualScans();
}

TEST_F(EventIndexTest, ReadsWithoutAnyIndexedEventScan) {
  AppendRandom(800);
  ExpectReadsEqualScans();
}

TEST_F(EventIndexTest, ACoveredReadScansNothing) {
  // A rare type after many others: a scan that may look at 100 events
  // finds nothing yet, the index finds it at once.
  ASSERT_TRUE(Append(store(), kTenant, "learner-u1", 5000).status.ok());
  ASSERT_TRUE(Append(store(), kTenant, "lesson-l1", 1, ExpectedRevision::Any(),
                     "LessonCompleted")
                  .status.ok());
  LogReadOptions options;
  options.filter.types = {"LessonCompleted"};
  options.max_scan = 100;
  auto before = store().ReadLog(kTenant, options);
  ASSERT_TRUE(before.has_value());
  EXPECT_TRUE(before->events.empty());
  EXPECT_EQ(before->next, 100u);

  IndexAll();
  auto after = store().ReadLog(kTenant, options);
  ASSERT_TRUE(after.has_value());
  ASSERT_EQ(after->events.size(), 1u);
  EXPECT_EQ(after->events[0].position.value(), 5000u);
  EXPECT_EQ(after->next, std::nullopt);

  options.filter = {{}, {"lesson"}, {}};
  auto by_category = store().ReadLog(kTenant, options);
  ASSERT_TRUE(by_category.has_value());
  ASSERT_EQ(by_category->events.size(), 1u);
  EXPECT_EQ(by_category->events[0].position.value(), 5000u);
}

// The first position after `after` that the filter matches, by a scan.
std::optional<uint64_t> FirstMatch(const std::vector<uint64_t>& matches,
                                   uint64_t after) {
  for (uint64_t p : matches) {
    if (p > after) return p;
  }
  return std::nullopt;
}

TEST_F(EventIndexTest, AppendConditionsThroughTheIndexEqualAScan) {
  AppendRandom(5000);
  IndexAll();
  AppendRandom(300);  // the tail past the index
  std::vector<EventFilter> filters = Filters();
  filters.push_back({{}, {}, {"lesson-l1"}});  // streams: no index, a scan
  filters.push_back({{"LessonCompleted"}, {"lesson"}, {"lesson-l1"}});
  for (const EventFilter& filter : filters) {
    const auto matches = ScanAll(filter, 0);
    for (uint64_t after : {uint64_t{0}, uint64_t{4095}, uint64_t{4999},
                           uint64_t{5100}, uint64_t{5299}}) {
      SCOPED_TRACE("after " + std::to_string(after));
      storage::AppendRequest req =
          Request(kTenant, {ToStream("probe", ExpectedRevision::Any(), 1)});
      req.condition = storage::AppendCondition{filter, GlobalPosition(after)};
      const auto out = Append(store(), std::move(req));
      const auto expected = FirstMatch(matches, after);
      if (expected) {
        EXPECT_TRUE(out.status.IsWrongExpectedVersion());
        EXPECT_EQ(out.conflict_position, GlobalPosition(*expected));
      } else {
        // It committed: the log moved on, and later checks see the probe
        // (its type "Happened" in category "probe" matches no filter here).
        EXPECT_TRUE(out.status.ok()) << out.status.ToString();
      }
    }
  }
}

}  // namespace
}  // namespace cairn::projections::indexes
