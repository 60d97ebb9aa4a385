#include "storage/event_store.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <future>
#include <limits>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "protocol/event_record.h"
#include "protocol/uuid.h"
#include "tests/storage/event_store_fixture.h"

namespace cairn::storage {
namespace {

using fixture::Append;
using fixture::Delete;
using fixture::Ids;
using fixture::NewEvent;
using fixture::Positions;
using fixture::Range;
using fixture::Request;
using fixture::Reversed;
using fixture::Revisions;
using fixture::SetMetadata;
using fixture::StreamsOf;
using fixture::ToStream;
using fixture::ToStreamWithIds;

using EventStoreTest = fixture::EventStoreFixture;

// Reads a whole stream forward in one page.
std::vector<StoredEvent> ReadAll(EventStore& store, const std::string& tenant,
                                 const std::string& stream) {
  StreamReadOptions options;
  options.limit = 100'000;
  auto page = store.ReadStream(tenant, stream, options);
  EXPECT_TRUE(page.has_value()) << page.error().ToString();
  if (!page.has_value()) return {};
  EXPECT_FALSE(page->next.has_value());
  return std::move(page->events);
}

// Reads a tenant's whole log in one page.
std::vector<StoredEvent> ReadWholeLog(EventStore& store,
                                      const std::string& tenant) {
  LogReadOptions options;
  options.limit = 100'000;
  auto page = store.ReadLog(tenant, options);
  EXPECT_TRUE(page.has_value()) << page.error().ToString();
  if (!page.has_value()) return {};
  EXPECT_FALSE(page->next.has_value());
  return std::move(page->events);
}

AppendCondition Condition(EventFilter filter,
                          std::optional<uint64_t> after = std::nullopt) {
  AppendCondition c;
  c.fail_if_events_match = std::move(filter);
  if (after) c.after = GlobalPosition(*after);
  return c;
}

// ---------------------------------------------------------------------------
// Positions and revisions

TEST_F(EventStoreTest, FirstAppendGetsRevisionZeroAndPositionZero) {
  WriteOutcome out = Append(store(), "acme", "order-1", 1);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_FALSE(out.duplicate);
  ASSERT_EQ(out.streams.size(), 1u);
  EXPECT_EQ(out.streams[0].stream, "order-1");
  EXPECT_EQ(out.streams[0].first_revision, StreamRevision(0));
  EXPECT_EQ(out.streams[0].last_revision, StreamRevision(0));
  EXPECT_EQ(out.streams[0].first_position, GlobalPosition(0));
  EXPECT_EQ(out.streams[0].last_position, GlobalPosition(0));
  EXPECT_EQ(out.first_position, GlobalPosition(0));
  EXPECT_EQ(out.last_position, GlobalPosition(0));
}

TEST_F(EventStoreTest, AppendedRecordIsStoredWithRevisionAndCommitTime) {
  const ProposedEvent event = NewEvent("order-1", "OrderPlaced");
  StreamAppend sa;
  sa.stream = "order-1";
  sa.events.push_back(event);
  ASSERT_TRUE(Append(store(), Request("acme", {sa})).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "order-1", 1).status.ok());

  auto events = ReadAll(store(), "acme", "order-1");
  ASSERT_EQ(events.size(), 2u);
  auto first = DecodeEventRecord(events[0].record);
  ASSERT_TRUE(first.has_value());
  // The server's id, made at commit: a UUIDv7 (RFC 9562 5.7).
  EXPECT_EQ(first->id.hi >> 12 & 0xF, 7u);
  EXPECT_EQ(first->id.lo >> 62, 0x2u);
  EXPECT_EQ(first->stream, "order-1");
  EXPECT_EQ(first->type, "OrderPlaced");
  EXPECT_EQ(first->revision, StreamRevision(0));
  EXPECT_GT(first->time_us, 0);
  auto second = DecodeEventRecord(events[1].record);
  ASSERT_TRUE(second.has_value());
  EXPECT_EQ(second->revision, StreamRevision(1));
  EXPECT_GE(second->time_us, first->time_us);
}

TEST_F(EventStoreTest, PositionsAreGaplessAcrossStreamsOfATenant) {
  uint64_t expected_position = 0;
  for (int round = 0; round < 5; ++round) {
    for (const std::string stream : {"order-1", "order-2", "user-1"}) {
      WriteOutcome out = Append(store(), "acme", stream, 1 + round % 3);
      ASSERT_TRUE(out.status.ok()) << out.status.ToString();
      EXPECT_EQ(out.first_position.value(), expected_position);
      expected_position += 1 + round % 3;
      EXPECT_EQ(out.last_position.value(), expected_position - 1);
    }
  }
  EXPECT_EQ(Positions(ReadWholeLog(store(), "acme")),
            Range(0, expected_position));
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(expected_position));
}

TEST_F(EventStoreTest, MultiStreamAppendTakesConsecutivePositionsInOrder) {
  WriteOutcome out = Append(
      store(), Request("acme", {ToStream("a", ExpectedRevision::Any(), 2),
                                ToStream("b", ExpectedRevision::Any(), 3)}));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  ASSERT_EQ(out.streams.size(), 2u);
  EXPECT_EQ(out.streams[0].first_position, GlobalPosition(0));
  EXPECT_EQ(out.streams[0].last_position, GlobalPosition(1));
  EXPECT_EQ(out.streams[1].first_position, GlobalPosition(2));
  EXPECT_EQ(out.streams[1].last_position, GlobalPosition(4));
  EXPECT_EQ(out.streams[1].first_revision, StreamRevision(0));
  EXPECT_EQ(out.streams[1].last_revision, StreamRevision(2));
  EXPECT_EQ(out.first_position, GlobalPosition(0));
  EXPECT_EQ(out.last_position, GlobalPosition(4));
}

TEST_F(EventStoreTest, TenantsHaveIndependentPositions) {
  ASSERT_TRUE(Append(store(), "acme", "order-1", 3).status.ok());
  WriteOutcome out = Append(store(), "globex", "invoice-1", 2);
  ASSERT_TRUE(out.status.ok());
  EXPECT_EQ(out.first_position, GlobalPosition(0));
  EXPECT_EQ(out.last_position, GlobalPosition(1));
  out = Append(store(), "acme", "order-2", 1);
  ASSERT_TRUE(out.status.ok());
  EXPECT_EQ(out.first_position, GlobalPosition(3));

  EXPECT_EQ(Positions(ReadWholeLog(store(), "acme")), Range(0, 4));
  EXPECT_EQ(Positions(ReadWholeLog(store(), "globex")), Range(0, 2));
  EXPECT_EQ(StreamsOf(ReadWholeLog(store(), "globex")),
            (std::vector<std::string>{"invoice-1", "invoice-1"}));
}

TEST_F(EventStoreTest, SameStreamNameInTwoTenantsIsTwoStreams) {
  ASSERT_TRUE(Append(store(), "acme", "order-1", 3).status.ok());
  WriteOutcome out =
      Append(store(), "globex", "order-1", 1, ExpectedRevision::NoStream());
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.streams[0].first_revision, StreamRevision(0));
  EXPECT_EQ(out.first_position, GlobalPosition(0));

  EXPECT_EQ(ReadAll(store(), "acme", "order-1").size(), 3u);
  EXPECT_EQ(ReadAll(store(), "globex", "order-1").size(), 1u);
  auto info = store().GetStreamInfo("globex", "order-1");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->last_revision, StreamRevision(0));
}

TEST_F(EventStoreTest, UnknownTenantHasNothing) {
  EXPECT_EQ(store().LogEnd("nobody"), GlobalPosition(0));
  auto log = store().ReadLog("nobody", LogReadOptions{});
  ASSERT_TRUE(log.has_value());
  EXPECT_TRUE(log->events.empty());
  EXPECT_FALSE(log->next.has_value());
  EXPECT_TRUE(store()
                  .ReadStream("nobody", "order-1", StreamReadOptions{})
                  .error()
                  .IsNotFound());
  auto listing = store().ListStreams("nobody", "", "", 10);
  ASSERT_TRUE(listing.has_value());
  EXPECT_TRUE(listing->streams.empty());
}

// ---------------------------------------------------------------------------
// Expected revisions

TEST_F(EventStoreTest, ExpectedAnySucceedsOnNewAndExistingStreams) {
  EXPECT_TRUE(
      Append(store(), "acme", "s", 1, ExpectedRevision::Any()).status.ok());
  EXPECT_TRUE(
      Append(store(), "acme", "s", 1, ExpectedRevision::Any()).status.ok());
}

TEST_F(EventStoreTest, ExpectedNoStreamSucceedsOnNewStream) {
  WriteOutcome out =
      Append(store(), "acme", "s", 1, ExpectedRevision::NoStream());
  EXPECT_TRUE(out.status.ok()) << out.status.ToString();
}

TEST_F(EventStoreTest, ExpectedNoStreamFailsOnExistingStream) {
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  WriteOutcome out =
      Append(store(), "acme", "s", 1, ExpectedRevision::NoStream());
  EXPECT_TRUE(out.status.IsWrongExpectedVersion()) << out.status.ToString();
  ASSERT_EQ(out.conflicts.size(), 1u);
  EXPECT_EQ(out.conflicts[0].stream, "s");
  EXPECT_EQ(out.conflicts[0].expected, ExpectedRevision::NoStream());
  EXPECT_EQ(out.conflicts[0].actual_revision, 2u);
  EXPECT_FALSE(out.conflict_position.has_value());
}

TEST_F(EventStoreTest, ExpectedExistsSucceedsOnExistingStream) {
  ASSERT_TRUE(Append(store(), "acme", "s", 1).status.ok());
  WriteOutcome out =
      Append(store(), "acme", "s", 1, ExpectedRevision::Exists());
  EXPECT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.streams[0].first_revision, StreamRevision(1));
}

TEST_F(EventStoreTest, ExpectedExistsFailsOnNewStream) {
  WriteOutcome out =
      Append(store(), "acme", "s", 1, ExpectedRevision::Exists());
  EXPECT_TRUE(out.status.IsWrongExpectedVersion()) << out.status.ToString();
  ASSERT_EQ(out.conflicts.size(), 1u);
  EXPECT_EQ(out.conflicts[0].actual_revision, std::nullopt);
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(0));
}

TEST_F(EventStoreTest, ExpectedExactSucceedsAtLastRevision) {
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  WriteOutcome out =
      Append(store(), "acme", "s", 2, ExpectedRevision::Exact(2));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.streams[0].first_revision, StreamRevision(3));
  EXPECT_EQ(out.streams[0].last_revision, StreamRevision(4));
}

TEST_F(EventStoreTest, ExpectedExactFailsOnOtherRevision) {
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  for (uint64_t wrong : {0, 1, 3, 100}) {
    WriteOutcome out =
        Append(store(), "acme", "s", 1, ExpectedRevision::Exact(wrong));
    EXPECT_TRUE(out.status.IsWrongExpectedVersion()) << "exact " << wrong;
    ASSERT_EQ(out.conflicts.size(), 1u);
    EXPECT_EQ(out.conflicts[0].expected, ExpectedRevision::Exact(wrong));
    EXPECT_EQ(out.conflicts[0].actual_revision, 2u);
  }
  EXPECT_EQ(ReadAll(store(), "acme", "s").size(), 3u);
}

TEST_F(EventStoreTest, ExpectedExactFailsOnNewStream) {
  WriteOutcome out =
      Append(store(), "acme", "s", 1, ExpectedRevision::Exact(0));
  EXPECT_TRUE(out.status.IsWrongExpectedVersion());
  ASSERT_EQ(out.conflicts.size(), 1u);
  EXPECT_EQ(out.conflicts[0].actual_revision, std::nullopt);
}

TEST_F(EventStoreTest, FailedMultiStreamAppendWritesNothing) {
  ASSERT_TRUE(Append(store(), "acme", "existing", 2).status.ok());
  WriteOutcome out = Append(
      store(),
      Request("acme", {ToStream("fresh", ExpectedRevision::NoStream(), 2),
                       ToStream("existing", ExpectedRevision::NoStream(), 1)}));
  ASSERT_TRUE(out.status.IsWrongExpectedVersion()) << out.status.ToString();
  ASSERT_EQ(out.conflicts.size(), 1u);
  EXPECT_EQ(out.conflicts[0].stream, "existing");
  EXPECT_EQ(out.conflicts[0].actual_revision, 1u);
  EXPECT_TRUE(out.streams.empty());

  EXPECT_TRUE(store()
                  .ReadStream("acme", "fresh", StreamReadOptions{})
                  .error()
                  .IsNotFound());
  EXPECT_EQ(ReadAll(store(), "acme", "existing").size(), 2u);
  EXPECT_EQ(Positions(ReadWholeLog(store(), "acme")), Range(0, 2));
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(2));
  // The next append takes the next position: the failed one took none.
  WriteOutcome next = Append(store(), "acme", "fresh", 1);
  ASSERT_TRUE(next.status.ok());
  EXPECT_EQ(next.first_position, GlobalPosition(2));
}

TEST_F(EventStoreTest, ConflictsListEveryFailedStream) {
  ASSERT_TRUE(Append(store(), "acme", "a", 1).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "b", 2).status.ok());
  WriteOutcome out =
      Append(store(),
             Request("acme", {ToStream("a", ExpectedRevision::Exact(5), 1),
                              ToStream("c", ExpectedRevision::Any(), 1),
                              ToStream("b", ExpectedRevision::NoStream(), 1)}));
  ASSERT_TRUE(out.status.IsWrongExpectedVersion());
  ASSERT_EQ(out.conflicts.size(), 2u);
  EXPECT_EQ(out.conflicts[0].stream, "a");
  EXPECT_EQ(out.conflicts[0].actual_revision, 0u);
  EXPECT_EQ(out.conflicts[1].stream, "b");
  EXPECT_EQ(out.conflicts[1].actual_revision, 1u);
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(3));
}

// ---------------------------------------------------------------------------
// Idempotent retries

TEST_F(EventStoreTest, ExactRetryWithClientIdsIsADuplicate) {
  const std::vector<Uuid> ids = {Uuid::NewV7(), Uuid::NewV7()};
  ASSERT_TRUE(Append(store(), "acme", "warmup", 3).status.ok());
  WriteOutcome first = Append(
      store(), Request("acme", {ToStreamWithIds(
                                   "s", ExpectedRevision::NoStream(), ids)}));
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  ASSERT_TRUE(Append(store(), "acme", "other", 2).status.ok());

  // The same request again, built afresh as a client's retry would be.
  WriteOutcome retry = Append(
      store(), Request("acme", {ToStreamWithIds(
                                   "s", ExpectedRevision::NoStream(), ids)}));
  ASSERT_TRUE(retry.status.ok()) << retry.status.ToString();
  EXPECT_TRUE(retry.duplicate);
  ASSERT_EQ(retry.streams.size(), 1u);
  EXPECT_EQ(retry.streams[0].stream, "s");
  EXPECT_EQ(retry.streams[0].first_revision, StreamRevision(0));
  EXPECT_EQ(retry.streams[0].last_revision, StreamRevision(1));
  EXPECT_EQ(retry.streams[0].first_position, GlobalPosition(3));
  EXPECT_EQ(retry.streams[0].last_position, GlobalPosition(4));
  EXPECT_EQ(retry.first_position, first.first_position);
  EXPECT_EQ(retry.last_position, first.last_position);

  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(7));
  EXPECT_EQ(Ids(ReadAll(store(), "acme", "s")), ids);
}

TEST_F(EventStoreTest, ExactMultiStreamRetryIsADuplicate) {
  const std::vector<Uuid> a_ids = {Uuid::NewV7()};
  const std::vector<Uuid> b_ids = {Uuid::NewV7(), Uuid::NewV7()};
  const auto request = [&] {
    return Request("acme",
                   {ToStreamWithIds("a", ExpectedRevision::Any(), a_ids),
                    ToStreamWithIds("b", ExpectedRevision::Any(), b_ids)});
  };
  WriteOutcome first = Append(store(), request());
  ASSERT_TRUE(first.status.ok());
  WriteOutcome retry = Append(store(), request());
  ASSERT_TRUE(retry.status.ok()) << retry.status.ToString();
  EXPECT_TRUE(retry.duplicate);
  ASSERT_EQ(retry.streams.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ(retry.streams[i].stream, first.streams[i].stream);
    EXPECT_EQ(retry.streams[i].first_revision, first.streams[i].first_revision);
    EXPECT_EQ(retry.streams[i].last_revision, first.streams[i].last_revision);
    EXPECT_EQ(retry.streams[i].first_position, first.streams[i].first_position);
    EXPECT_EQ(retry.streams[i].last_position, first.streams[i].last_position);
  }
  EXPECT_EQ(retry.first_position, GlobalPosition(0));
  EXPECT_EQ(retry.last_position, GlobalPosition(2));
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(3));
}

TEST_F(EventStoreTest, RetryIsRecognisedBeforeTheExpectedRevision) {
  const std::vector<Uuid> ids = {Uuid::NewV7()};
  ASSERT_TRUE(
      Append(store(),
             Request("acme",
                     {ToStreamWithIds("s", ExpectedRevision::NoStream(), ids)}))
          .status.ok());
  // NoStream no longer holds, but this is the same write again.
  WriteOutcome retry = Append(
      store(), Request("acme", {ToStreamWithIds(
                                   "s", ExpectedRevision::NoStream(), ids)}));
  EXPECT_TRUE(retry.status.ok()) << retry.status.ToString();
  EXPECT_TRUE(retry.duplicate);
  EXPECT_TRUE(retry.conflicts.empty());
}

TEST_F(EventStoreTest, PartialIdOverlapIsAlreadyExists) {
  const Uuid a = Uuid::NewV7(), b = Uuid::NewV7(), c = Uuid::NewV7();
  ASSERT_TRUE(
      Append(store(),
             Request("acme",
                     {ToStreamWithIds("s", ExpectedRevision::Any(), {a, b})}))
          .status.ok());
  for (const std::vector<Uuid>& ids :
       std::vector<std::vector<Uuid>>{{b, c}, {c, a}, {a, b, c}, {b, a}}) {
    WriteOutcome out = Append(
        store(),
        Request("acme", {ToStreamWithIds("s", ExpectedRevision::Any(), ids)}));
    EXPECT_TRUE(out.status.IsAlreadyExists()) << out.status.ToString();
    EXPECT_FALSE(out.duplicate);
  }
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(2));
  EXPECT_EQ(Ids(ReadAll(store(), "acme", "s")), (std::vector<Uuid>{a, b}));
}

TEST_F(EventStoreTest, PartialOverlapAcrossStreamsIsAlreadyExists) {
  const Uuid a = Uuid::NewV7();
  ASSERT_TRUE(
      Append(store(), Request("acme", {ToStreamWithIds(
                                          "s1", ExpectedRevision::Any(), {a})}))
          .status.ok());
  // s1 is an exact retry, s2 is new: neither a retry nor new as a whole.
  WriteOutcome out = Append(
      store(),
      Request("acme", {ToStreamWithIds("s1", ExpectedRevision::Any(), {a}),
                       ToStreamWithIds("s2", ExpectedRevision::Any(),
                                       {Uuid::NewV7()})}));
  EXPECT_TRUE(out.status.IsAlreadyExists()) << out.status.ToString();
  EXPECT_TRUE(store()
                  .ReadStream("acme", "s2", StreamReadOptions{})
                  .error()
                  .IsNotFound());
}

TEST_F(EventStoreTest, SameIdInAnotherStreamIsAlreadyExists) {
  const Uuid id = Uuid::NewV7();
  ASSERT_TRUE(Append(store(),
                     Request("acme", {ToStreamWithIds(
                                         "s1", ExpectedRevision::Any(), {id})}))
                  .status.ok());
  WriteOutcome out = Append(
      store(),
      Request("acme", {ToStreamWithIds("s2", ExpectedRevision::Any(), {id})}));
  EXPECT_TRUE(out.status.IsAlreadyExists()) << out.status.ToString();
  EXPECT_TRUE(store()
                  .ReadStream("acme", "s2", StreamReadOptions{})
                  .error()
                  .IsNotFound());
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(1));
}

// The ids the server made for one append are stored as one run
// (storage/FORMAT.md, event_ids): a client that sends them back is found
// out as for ids of its own.
TEST_F(EventStoreTest, ServerMadeIdsOfAnAppendAreKnownAsARun) {
  WriteOutcome first = Append(store(), "acme", "s", 5);
  ASSERT_TRUE(first.status.ok()) << first.status.ToString();
  ASSERT_TRUE(Append(store(), "acme", "other", 1).status.ok());
  const std::vector<Uuid> ids = Ids(ReadAll(store(), "acme", "s"));
  ASSERT_EQ(ids.size(), 5u);
  for (size_t i = 1; i < ids.size(); ++i) {
    ASSERT_EQ(ids[i], ids[i - 1].NextInRun());  // a run, as the server makes
  }

  // All five, in order: a retry of the append.
  WriteOutcome retry = Append(
      store(),
      Request("acme", {ToStreamWithIds("s", ExpectedRevision::Any(), ids)}));
  ASSERT_TRUE(retry.status.ok()) << retry.status.ToString();
  EXPECT_TRUE(retry.duplicate);
  ASSERT_EQ(retry.streams.size(), 1u);
  EXPECT_EQ(retry.streams[0].first_revision, first.streams[0].first_revision);
  EXPECT_EQ(retry.streams[0].last_position, first.streams[0].last_position);

  // Part of the run, in order: a retry of that part, as for client ids.
  WriteOutcome part = Append(
      store(), Request("acme", {ToStreamWithIds("s", ExpectedRevision::Any(),
                                                {ids[2], ids[3]})}));
  ASSERT_TRUE(part.status.ok()) << part.status.ToString();
  EXPECT_TRUE(part.duplicate);
  EXPECT_EQ(part.streams[0].first_revision, StreamRevision(2));

  // One from the middle of the run in another stream, or among new ids, or
  // out of order: used already.
  for (const auto& [stream, reused] :
       std::vector<std::pair<std::string, std::vector<Uuid>>>{
           {"elsewhere", {ids[3]}},
           {"s", {Uuid::NewV7(), ids[4]}},
           {"s", {ids[3], ids[2]}}}) {
    WriteOutcome out = Append(
        store(),
        Request("acme",
                {ToStreamWithIds(stream, ExpectedRevision::Any(), reused)}));
    EXPECT_TRUE(out.status.IsAlreadyExists()) << out.status.ToString();
  }
  // Just past the run: a new id.
  ASSERT_TRUE(Append(store(), Request("acme", {ToStreamWithIds(
                                                  "s", ExpectedRevision::Any(),
                                                  {ids[4].NextInRun()})}))
                  .status.ok());
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(7));
}

// The first half of a run's ids is its key: when the id source gives one
// that is taken (only a wall clock set back between processes could), the
// sequencer draws another, and both appends' ids are still known.
TEST_F(EventStoreTest, AnIdRunWhoseKeyIsTakenDrawsAnother) {
  // Gives `taken` twice, then ids past it.
  static const Uuid taken = Uuid::NewV7();
  static int calls = 0;
  calls = 0;
  Options options;
  options.durability = Durability::kWal;
  options.new_run_id = [] {
    return Uuid{taken.hi + (calls++ < 2 ? 0 : 1), taken.lo};
  };
  store_.reset();
  OpenStore(options);
  ASSERT_TRUE(Append(store(), "acme", "a", 3).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "b", 3).status.ok());
  EXPECT_EQ(calls, 3);
  const std::vector<Uuid> a = Ids(ReadAll(store(), "acme", "a"));
  const std::vector<Uuid> b = Ids(ReadAll(store(), "acme", "b"));
  ASSERT_EQ(a.size(), 3u);
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(a[0], taken);
  EXPECT_EQ(b[0], (Uuid{taken.hi + 1, taken.lo}));
  for (const auto& [stream, ids] :
       std::vector<std::pair<std::string, std::vector<Uuid>>>{{"a", a},
                                                              {"b", b}}) {
    WriteOutcome retry = Append(
        store(), Request("acme", {ToStreamWithIds(
                                     stream, ExpectedRevision::Any(), ids)}));
    ASSERT_TRUE(retry.status.ok()) << stream << " " << retry.status.ToString();
    EXPECT_TRUE(retry.duplicate) << stream;
  }
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(6));
}

// The server gives the ids of the events at consecutive positions of one
// commit as one run, across appends and streams (storage/FORMAT.md,
// event_ids), and an event a client appends with its own id breaks it.
TEST_F(EventStoreTest, ServerMadeIdsOfACommitAreOneRunAcrossAppends) {
  // Queued together, so that they may share a group.
  std::vector<std::future<WriteOutcome>> outs;
  for (const std::string stream : {"x", "y", "x", "z"}) {
    auto promise = std::make_shared<std::promise<WriteOutcome>>();
    outs.push_back(promise->get_future());
    store().Append(Request("acme", {ToStream(stream, ExpectedRevision::Any(),
                                             stream == "y" ? 2 : 1)}),
                   [promise](WriteOutcome o) { promise->set_value(o); });
  }
  for (auto& f : outs) ASSERT_TRUE(f.get().status.ok());
  // Every event, in log order: within a run, each id is the one before's
  // next; the whole log is a few runs at most.
  LogReadOptions options;
  auto read = store().ReadLog("acme", options);
  ASSERT_TRUE(read.has_value()) << read.error().ToString();
  const std::vector<Uuid> ids = Ids(read->events);
  ASSERT_EQ(ids.size(), 5u);
  size_t runs = 1;
  for (size_t i = 1; i < ids.size(); ++i) {
    if (ids[i] != ids[i - 1].NextInRun()) ++runs;
  }
  EXPECT_LE(runs, outs.size());
  // Each id names its event for a retry.
  for (size_t i = 0; i < ids.size(); ++i) {
    WriteOutcome elsewhere = Append(
        store(),
        Request("acme",
                {ToStreamWithIds("other", ExpectedRevision::Any(), {ids[i]})}));
    EXPECT_TRUE(elsewhere.status.IsAlreadyExists())
        << i << " " << elsewhere.status.ToString();
  }
  // A client's id between server-made ones: the run stops before it and
  // starts anew after it.
  StreamAppend mixed = ToStream("m", ExpectedRevision::Any(), 3);
  const Uuid own = Uuid::NewV7();
  mixed.events[1] = fixture::ClientEvent("m", own);
  ASSERT_TRUE(Append(store(), Request("acme", {mixed})).status.ok());
  const std::vector<Uuid> m = Ids(ReadAll(store(), "acme", "m"));
  ASSERT_EQ(m.size(), 3u);
  EXPECT_EQ(m[1], own);
  EXPECT_NE(m[2].hi, m[0].hi);
  for (const Uuid& id : {m[0], m[2]}) {
    WriteOutcome retry = Append(
        store(),
        Request("acme", {ToStreamWithIds("m", ExpectedRevision::Any(), {id})}));
    EXPECT_TRUE(retry.duplicate) << retry.status.ToString();
  }
}

TEST_F(EventStoreTest, SameIdInAnotherTenantIsANewEvent) {
  const Uuid id = Uuid::NewV7();
  ASSERT_TRUE(
      Append(store(), Request("acme", {ToStreamWithIds(
                                          "s", ExpectedRevision::Any(), {id})}))
          .status.ok());
  WriteOutcome out = Append(
      store(),
      Request("globex", {ToStreamWithIds("s", ExpectedRevision::Any(), {id})}));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_FALSE(out.duplicate);
  EXPECT_EQ(store().LogEnd("globex"), GlobalPosition(1));
}

TEST_F(EventStoreTest, SameIdQueuedTwiceInOtherStreamsIsAlreadyExists) {
  // The second append is queued before the first is answered, so the two
  // may share a group; the second must see the first's id either way.
  const Uuid id = Uuid::NewV7();
  auto promise = std::make_shared<std::promise<WriteOutcome>>();
  auto first = promise->get_future();
  store().Append(
      Request("acme", {ToStreamWithIds("s1", ExpectedRevision::Any(), {id})}),
      [promise](WriteOutcome out) { promise->set_value(std::move(out)); });
  WriteOutcome second = Append(
      store(),
      Request("acme", {ToStreamWithIds("s2", ExpectedRevision::Any(), {id})}));
  ASSERT_EQ(first.wait_for(fixture::kWriteTimeout), std::future_status::ready);
  EXPECT_TRUE(first.get().status.ok());
  EXPECT_TRUE(second.status.IsAlreadyExists()) << second.status.ToString();
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(1));
}

TEST_F(EventStoreTest, ServerIdsAreNeverTreatedAsRetries) {
  ProposedEvent event = NewEvent("s");
  ASSERT_FALSE(event.client_id);
  StreamAppend sa;
  sa.stream = "s";
  sa.events.push_back(event);
  WriteOutcome first = Append(store(), Request("acme", {sa}));
  ASSERT_TRUE(first.status.ok());
  WriteOutcome second = Append(store(), Request("acme", {sa}));
  ASSERT_TRUE(second.status.ok()) << second.status.ToString();
  EXPECT_FALSE(second.duplicate);
  EXPECT_EQ(second.streams[0].first_revision, StreamRevision(1));
  EXPECT_EQ(second.first_position, GlobalPosition(1));
  EXPECT_EQ(ReadAll(store(), "acme", "s").size(), 2u);
}

// ---------------------------------------------------------------------------
// Append conditions

class EventStoreAppendConditionTest : public EventStoreTest {
 protected:
  // Positions: 0 order-1/OrderPlaced, 1 user-1/UserJoined,
  // 2 order-2/OrderPlaced, 3 user-1/UserLeft.
  void SetUp() override {
    EventStoreTest::SetUp();
    ASSERT_TRUE(
        Append(store(), "acme", "order-1", 1, {}, "OrderPlaced").status.ok());
    ASSERT_TRUE(
        Append(store(), "acme", "user-1", 1, {}, "UserJoined").status.ok());
    ASSERT_TRUE(
        Append(store(), "acme", "order-2", 1, {}, "OrderPlaced").status.ok());
    ASSERT_TRUE(
        Append(store(), "acme", "user-1", 1, {}, "UserLeft").status.ok());
  }

  WriteOutcome AppendWith(AppendCondition condition) {
    AppendRequest req =
        Request("acme", {ToStream("target", ExpectedRevision::Any(), 1)});
    req.condition = std::move(condition);
    return Append(store(), std::move(req));
  }
};

TEST_F(EventStoreAppendConditionTest, FailsOnFirstMatchingType) {
  WriteOutcome out = AppendWith(Condition({.types = {"OrderPlaced"}}));
  EXPECT_TRUE(out.status.IsWrongExpectedVersion()) << out.status.ToString();
  EXPECT_EQ(out.conflict_position, GlobalPosition(0));
  EXPECT_TRUE(out.conflicts.empty());
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(4));
  EXPECT_TRUE(store()
                  .ReadStream("acme", "target", StreamReadOptions{})
                  .error()
                  .IsNotFound());
}

TEST_F(EventStoreAppendConditionTest, FailsOnFirstMatchAfterThePosition) {
  WriteOutcome out = AppendWith(Condition({.types = {"OrderPlaced"}}, 0));
  EXPECT_TRUE(out.status.IsWrongExpectedVersion());
  EXPECT_EQ(out.conflict_position, GlobalPosition(2));
}

TEST_F(EventStoreAppendConditionTest, SucceedsWhenNoMatchAfterThePosition) {
  WriteOutcome out = AppendWith(Condition({.types = {"OrderPlaced"}}, 2));
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_FALSE(out.conflict_position.has_value());
  EXPECT_EQ(out.first_position, GlobalPosition(4));
}

TEST_F(EventStoreAppendConditionTest, SucceedsWhenNothingMatches) {
  WriteOutcome out = AppendWith(Condition({.types = {"NeverHappened"}}));
  EXPECT_TRUE(out.status.ok()) << out.status.ToString();
}

TEST_F(EventStoreAppendConditionTest, FailsOnFirstMatchingCategory) {
  WriteOutcome out = AppendWith(Condition({.categories = {"user"}}));
  EXPECT_TRUE(out.status.IsWrongExpectedVersion());
  EXPECT_EQ(out.conflict_position, GlobalPosition(1));
}

TEST_F(EventStoreAppendConditionTest, FailsOnFirstMatchingStream) {
  WriteOutcome out = AppendWith(Condition({.streams = {"order-2"}}));
  EXPECT_TRUE(out.status.IsWrongExpectedVersion());
  EXPECT_EQ(out.conflict_position, GlobalPosition(2));
}

TEST_F(EventStoreAppendConditionTest, EveryListOfTheFilterMustMatch) {
  WriteOutcome out = AppendWith(Condition(
      {.types = {"UserLeft", "OrderPlaced"}, .categories = {"user"}}));
  EXPECT_TRUE(out.status.IsWrongExpectedVersion());
  EXPECT_EQ(out.conflict_position, GlobalPosition(3));
}

TEST_F(EventStoreAppendConditionTest,
       EmptyFilterMatchesAnyEventAfterThePosition) {
  WriteOutcome out = AppendWith(Condition({}, 1));
  EXPECT_TRUE(out.status.IsWrongExpectedVersion());
  EXPECT_EQ(out.conflict_position, GlobalPosition(2));
  EXPECT_TRUE(AppendWith(Condition({}, 3)).status.ok());
}

// Regression: `after` + 1 wrapped to 0, so the largest position made the
// condition scan the whole log instead of matching nothing.
TEST_F(EventStoreAppendConditionTest, AfterTheLargestPositionMatchesNothing) {
  WriteOutcome out =
      AppendWith(Condition({}, std::numeric_limits<uint64_t>::max()));
  EXPECT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_FALSE(out.conflict_position.has_value());
}

TEST_F(EventStoreAppendConditionTest, AfterTheLogEndMatchesNothing) {
  EXPECT_TRUE(AppendWith(Condition({}, 1'000'000)).status.ok());
}

TEST_F(EventStoreAppendConditionTest, IgnoresOtherTenants) {
  ASSERT_TRUE(
      Append(store(), "globex", "user-9", 1, {}, "UserJoined").status.ok());
  AppendRequest req =
      Request("globex", {ToStream("target", ExpectedRevision::Any(), 1)});
  req.condition = Condition({.types = {"OrderPlaced"}});
  EXPECT_TRUE(Append(store(), std::move(req)).status.ok());
}

TEST_F(EventStoreAppendConditionTest, SeesAnAppendQueuedJustBeforeIt) {
  // The first append may commit alone or in the same group as the second:
  // the condition must see it either way.
  auto submitted = std::make_shared<std::promise<WriteOutcome>>();
  auto first = submitted->get_future();
  store().Append(
      Request("acme", {ToStream("order-3", ExpectedRevision::Any(), 1,
                                "OrderShipped")}),
      [submitted](WriteOutcome out) { submitted->set_value(std::move(out)); });
  WriteOutcome out = AppendWith(Condition({.types = {"OrderShipped"}}, 3));
  ASSERT_EQ(first.wait_for(fixture::kWriteTimeout), std::future_status::ready);
  WriteOutcome first_out = first.get();
  ASSERT_TRUE(first_out.status.ok());
  EXPECT_TRUE(out.status.IsWrongExpectedVersion()) << out.status.ToString();
  EXPECT_EQ(out.conflict_position, first_out.first_position);
}

// ---------------------------------------------------------------------------
// Deletion

TEST_F(EventStoreTest, SoftDeletedStreamReadsAsNotFound) {
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  WriteOutcome out = Delete(store(), "acme", "s");
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_TRUE(store()
                  .ReadStream("acme", "s", StreamReadOptions{})
                  .error()
                  .IsNotFound());
  auto info = store().GetStreamInfo("acme", "s");
  ASSERT_TRUE(info.has_value());
  EXPECT_TRUE(info->deleted);
}

TEST_F(EventStoreTest, SoftDeletedStreamIsNotListed) {
  ASSERT_TRUE(Append(store(), "acme", "a", 1).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "b", 1).status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "a").status.ok());
  auto listing = store().ListStreams("acme", "", "", 10);
  ASSERT_TRUE(listing.has_value());
  ASSERT_EQ(listing->streams.size(), 1u);
  EXPECT_EQ(listing->streams[0].stream, "b");
}

TEST_F(EventStoreTest, SoftDeleteKeepsEventsInTheLog) {
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "s").status.ok());
  EXPECT_EQ(Positions(ReadWholeLog(store(), "acme")), Range(0, 3));
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(3));
}

TEST_F(EventStoreTest, AppendAfterSoftDeleteContinuesRevisions) {
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "s").status.ok());
  // A soft-deleted stream has no visible revision: NoStream holds.
  WriteOutcome out =
      Append(store(), "acme", "s", 2, ExpectedRevision::NoStream());
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.streams[0].first_revision, StreamRevision(3));
  EXPECT_EQ(out.streams[0].last_revision, StreamRevision(4));
  EXPECT_EQ(out.first_position, GlobalPosition(3));

  auto events = ReadAll(store(), "acme", "s");
  EXPECT_EQ(Revisions(events), (std::vector<uint64_t>{3, 4}));
  EXPECT_EQ(Positions(events), (std::vector<uint64_t>{3, 4}));
  auto info = store().GetStreamInfo("acme", "s");
  ASSERT_TRUE(info.has_value());
  EXPECT_FALSE(info->deleted);
  EXPECT_EQ(info->last_revision, StreamRevision(4));
  auto listing = store().ListStreams("acme", "", "", 10);
  ASSERT_TRUE(listing.has_value());
  ASSERT_EQ(listing->streams.size(), 1u);
}

TEST_F(EventStoreTest, AppendAfterSoftDeleteReadsBackwardOnlyNewEvents) {
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "s").status.ok());
  ASSERT_TRUE(Append(store(), "acme", "s", 1).status.ok());
  StreamReadOptions options;
  options.direction = Direction::kBackward;
  auto page = store().ReadStream("acme", "s", options);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(Revisions(page->events), (std::vector<uint64_t>{3}));
  EXPECT_FALSE(page->next.has_value());
}

TEST_F(EventStoreTest, SoftDeletedStreamExpectsNoStreamNotExists) {
  ASSERT_TRUE(Append(store(), "acme", "s", 2).status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "s").status.ok());
  WriteOutcome out =
      Append(store(), "acme", "s", 1, ExpectedRevision::Exists());
  EXPECT_TRUE(out.status.IsWrongExpectedVersion());
  ASSERT_EQ(out.conflicts.size(), 1u);
  EXPECT_EQ(out.conflicts[0].actual_revision, std::nullopt);
}

TEST_F(EventStoreTest, DeleteOfMissingStreamIsNotFound) {
  EXPECT_TRUE(Delete(store(), "acme", "nothing").status.IsNotFound());
  EXPECT_TRUE(Delete(store(), "acme", "nothing", true).status.IsNotFound());
}

TEST_F(EventStoreTest, SecondSoftDeleteIsNotFound) {
  ASSERT_TRUE(Append(store(), "acme", "s", 1).status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "s").status.ok());
  EXPECT_TRUE(Delete(store(), "acme", "s").status.IsNotFound());
}

TEST_F(EventStoreTest, DeleteChecksTheExpectedRevision) {
  ASSERT_TRUE(Append(store(), "acme", "s", 2).status.ok());
  WriteOutcome out =
      Delete(store(), "acme", "s", false, ExpectedRevision::Exact(0));
  EXPECT_TRUE(out.status.IsWrongExpectedVersion()) << out.status.ToString();
  ASSERT_EQ(out.conflicts.size(), 1u);
  EXPECT_EQ(out.conflicts[0].actual_revision, 1u);
  EXPECT_EQ(ReadAll(store(), "acme", "s").size(), 2u);
  EXPECT_TRUE(Delete(store(), "acme", "s", false, ExpectedRevision::Exact(1))
                  .status.ok());
}

TEST_F(EventStoreTest, DeleteTakesNoPosition) {
  ASSERT_TRUE(Append(store(), "acme", "s", 2).status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "s").status.ok());
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(2));
  WriteOutcome out = Append(store(), "acme", "t", 1);
  ASSERT_TRUE(out.status.ok());
  EXPECT_EQ(out.first_position, GlobalPosition(2));
}

TEST_F(EventStoreTest, TombstonedStreamReadsAsStreamDeleted) {
  ASSERT_TRUE(Append(store(), "acme", "s", 2).status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "s", true).status.ok());
  EXPECT_TRUE(store()
                  .ReadStream("acme", "s", StreamReadOptions{})
                  .error()
                  .IsStreamDeleted());
  EXPECT_TRUE(store().GetStreamInfo("acme", "s").error().IsStreamDeleted());
  auto listing = store().ListStreams("acme", "", "", 10);
  ASSERT_TRUE(listing.has_value());
  EXPECT_TRUE(listing->streams.empty());
}

TEST_F(EventStoreTest, AppendToTombstonedStreamIsStreamDeleted) {
  ASSERT_TRUE(Append(store(), "acme", "s", 2).status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "s", true).status.ok());
  for (ExpectedRevision e :
       {ExpectedRevision::Any(), ExpectedRevision::NoStream(),
        ExpectedRevision::Exists(), ExpectedRevision::Exact(1)}) {
    WriteOutcome out = Append(store(), "acme", "s", 1, e);
    EXPECT_TRUE(out.status.IsStreamDeleted()) << out.status.ToString();
  }
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(2));
}

// Regression: a soft delete of a tombstoned stream answered NotFound (the
// head is also marked deleted), where every other operation, and
// docs/API.md, say StreamDeleted.
TEST_F(EventStoreTest, DeleteOfTombstonedStreamIsStreamDeleted) {
  ASSERT_TRUE(Append(store(), "acme", "s", 1).status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "s", true).status.ok());
  WriteOutcome soft = Delete(store(), "acme", "s");
  EXPECT_TRUE(soft.status.IsStreamDeleted()) << soft.status.ToString();
  WriteOutcome hard = Delete(store(), "acme", "s", true);
  EXPECT_TRUE(hard.status.IsStreamDeleted()) << hard.status.ToString();
}

TEST_F(EventStoreTest, SetMetadataOfTombstonedStreamIsStreamDeleted) {
  ASSERT_TRUE(Append(store(), "acme", "s", 1).status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "s", true).status.ok());
  EXPECT_TRUE(SetMetadata(store(), "acme", "s", {.max_count = 1})
                  .status.IsStreamDeleted());
}

TEST_F(EventStoreTest, SoftDeletedStreamCanBeTombstoned) {
  ASSERT_TRUE(Append(store(), "acme", "s", 1).status.ok());
  ASSERT_TRUE(Delete(store(), "acme", "s").status.ok());
  EXPECT_TRUE(Delete(store(), "acme", "s", true).status.ok());
  EXPECT_TRUE(Append(store(), "acme", "s", 1).status.IsStreamDeleted());
}

// ---------------------------------------------------------------------------
// Metadata

TEST_F(EventStoreTest, MaxCountHidesOlderEventsFromReadStream) {
  ASSERT_TRUE(Append(store(), "acme", "s", 5).status.ok());
  WriteOutcome out = SetMetadata(store(), "acme", "s", {.max_count = 2});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.metadata.max_count, 2u);

  EXPECT_EQ(Revisions(ReadAll(store(), "acme", "s")),
            (std::vector<uint64_t>{3, 4}));
  StreamReadOptions backward;
  backward.direction = Direction::kBackward;
  auto page = store().ReadStream("acme", "s", backward);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(Revisions(page->events), (std::vector<uint64_t>{4, 3}));
  EXPECT_FALSE(page->next.has_value());
  // Asking for an old revision starts at the oldest one kept.
  StreamReadOptions from_zero;
  from_zero.from = 0;
  page = store().ReadStream("acme", "s", from_zero);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(Revisions(page->events), (std::vector<uint64_t>{3, 4}));
}

TEST_F(EventStoreTest, MaxCountDoesNotHideEventsFromReadLog) {
  ASSERT_TRUE(Append(store(), "acme", "s", 5).status.ok());
  ASSERT_TRUE(SetMetadata(store(), "acme", "s", {.max_count = 2}).status.ok());
  EXPECT_EQ(Positions(ReadWholeLog(store(), "acme")), Range(0, 5));
}

TEST_F(EventStoreTest, MaxCountZeroHidesEverything) {
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  ASSERT_TRUE(SetMetadata(store(), "acme", "s", {.max_count = 0}).status.ok());
  auto page = store().ReadStream("acme", "s", StreamReadOptions{});
  ASSERT_TRUE(page.has_value());
  EXPECT_TRUE(page->events.empty());
  EXPECT_FALSE(page->next.has_value());
}

TEST_F(EventStoreTest, MaxCountAppliesToEventsAppendedLater) {
  ASSERT_TRUE(Append(store(), "acme", "s", 2).status.ok());
  ASSERT_TRUE(SetMetadata(store(), "acme", "s", {.max_count = 3}).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "s", 4).status.ok());
  EXPECT_EQ(Revisions(ReadAll(store(), "acme", "s")),
            (std::vector<uint64_t>{3, 4, 5}));
}

TEST_F(EventStoreTest, LargeMaxAgeHidesNothing) {
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  for (uint64_t age : {uint64_t{3600}, uint64_t{1} << 40,
                       std::numeric_limits<uint64_t>::max()}) {
    ASSERT_TRUE(SetMetadata(store(), "acme", "s", {.max_age_seconds = age})
                    .status.ok());
    EXPECT_EQ(ReadAll(store(), "acme", "s").size(), 3u) << "max age " << age;
  }
}

TEST_F(EventStoreTest, MetadataBeforeFirstEventIsAllowed) {
  WriteOutcome out = SetMetadata(store(), "acme", "s", {.max_count = 10});
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  auto info = store().GetStreamInfo("acme", "s");
  ASSERT_TRUE(info.has_value()) << info.error().ToString();
  EXPECT_EQ(info->metadata.max_count, 10u);
  EXPECT_FALSE(info->last_revision.has_value());
  EXPECT_FALSE(info->deleted);
  // No event yet: an empty stream, not listed, and NoStream still holds.
  auto page = store().ReadStream("acme", "s", StreamReadOptions{});
  ASSERT_TRUE(page.has_value());
  EXPECT_TRUE(page->events.empty());
  auto listing = store().ListStreams("acme", "", "", 10);
  ASSERT_TRUE(listing.has_value());
  EXPECT_TRUE(listing->streams.empty());
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(0));

  WriteOutcome append =
      Append(store(), "acme", "s", 1, ExpectedRevision::NoStream());
  ASSERT_TRUE(append.status.ok()) << append.status.ToString();
  EXPECT_EQ(append.streams[0].first_revision, StreamRevision(0));
  EXPECT_EQ(append.first_position, GlobalPosition(0));
  info = store().GetStreamInfo("acme", "s");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata.max_count, 10u);
}

TEST_F(EventStoreTest, SetMetadataReplacesTheWholeMetadata) {
  ASSERT_TRUE(Append(store(), "acme", "s", 1).status.ok());
  ASSERT_TRUE(SetMetadata(store(), "acme", "s", {.max_count = 2}).status.ok());
  WriteOutcome out = SetMetadata(store(), "acme", "s", {.max_age_seconds = 60});
  ASSERT_TRUE(out.status.ok());
  const StreamMetadata expected{.max_age_seconds = 60};
  EXPECT_EQ(out.metadata, expected);
  auto info = store().GetStreamInfo("acme", "s");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->metadata, expected);
}

TEST_F(EventStoreTest, SetMetadataTakesNoPosition) {
  ASSERT_TRUE(Append(store(), "acme", "s", 1).status.ok());
  ASSERT_TRUE(SetMetadata(store(), "acme", "s", {.max_count = 2}).status.ok());
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(1));
}

// ---------------------------------------------------------------------------
// Reading a stream

TEST_F(EventStoreTest, ReadStreamPagesForwardToTheEnd) {
  ASSERT_TRUE(Append(store(), "acme", "s", 10).status.ok());
  StreamReadOptions options;
  options.limit = 3;
  std::vector<std::vector<uint64_t>> pages;
  std::vector<std::optional<uint64_t>> nexts;
  for (int i = 0; i < 10; ++i) {
    auto page = store().ReadStream("acme", "s", options);
    ASSERT_TRUE(page.has_value());
    pages.push_back(Revisions(page->events));
    nexts.push_back(page->next);
    if (!page->next) break;
    options.from = *page->next;
  }
  EXPECT_EQ(pages, (std::vector<std::vector<uint64_t>>{
                       {0, 1, 2}, {3, 4, 5}, {6, 7, 8}, {9}}));
  EXPECT_EQ(nexts, (std::vector<std::optional<uint64_t>>{3, 6, 9, {}}));
}

TEST_F(EventStoreTest, ReadStreamHasNoNextWhenAPageEndsTheStream) {
  ASSERT_TRUE(Append(store(), "acme", "s", 6).status.ok());
  StreamReadOptions options;
  options.limit = 3;
  options.from = 3;
  auto page = store().ReadStream("acme", "s", options);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(Revisions(page->events), (std::vector<uint64_t>{3, 4, 5}));
  EXPECT_FALSE(page->next.has_value());
}

TEST_F(EventStoreTest, ReadStreamPagesBackwardToTheStart) {
  ASSERT_TRUE(Append(store(), "acme", "s", 10).status.ok());
  StreamReadOptions options;
  options.limit = 3;
  options.direction = Direction::kBackward;
  std::vector<std::vector<uint64_t>> pages;
  std::vector<std::optional<uint64_t>> nexts;
  for (int i = 0; i < 10; ++i) {
    auto page = store().ReadStream("acme", "s", options);
    ASSERT_TRUE(page.has_value());
    pages.push_back(Revisions(page->events));
    nexts.push_back(page->next);
    if (!page->next) break;
    options.from = *page->next;
  }
  EXPECT_EQ(pages, (std::vector<std::vector<uint64_t>>{
                       {9, 8, 7}, {6, 5, 4}, {3, 2, 1}, {0}}));
  EXPECT_EQ(nexts, (std::vector<std::optional<uint64_t>>{6, 3, 0, {}}));
}

TEST_F(EventStoreTest, ReadStreamPagesWithinMaxCount) {
  ASSERT_TRUE(Append(store(), "acme", "s", 10).status.ok());
  ASSERT_TRUE(SetMetadata(store(), "acme", "s", {.max_count = 5}).status.ok());
  StreamReadOptions options;
  options.limit = 2;
  options.direction = Direction::kBackward;
  std::vector<uint64_t> seen;
  for (int i = 0; i < 10; ++i) {
    auto page = store().ReadStream("acme", "s", options);
    ASSERT_TRUE(page.has_value());
    for (uint64_t r : Revisions(page->events)) seen.push_back(r);
    if (!page->next) break;
    options.from = *page->next;
  }
  EXPECT_EQ(seen, Reversed(Range(5, 10)));
}

// The stream index holds one run per append: pages must begin, end and
// turn inside runs, and within maxCount, in both directions.
TEST_F(EventStoreTest, ReadStreamPagesAcrossRunsOfEverySize) {
  std::vector<uint64_t> positions;  // of revision r
  // Runs from 8 events on are read by a scan of the log, shorter ones by
  // key (event_store.cc, FetchEvents).
  for (int size : {1, 4, 9, 2, 7, 1, 12, 1, 3, 8, 5}) {
    WriteOutcome out = Append(store(), "acme", "s", size);
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    for (int i = 0; i < size; ++i) {
      positions.push_back(out.streams[0].first_position.value() + i);
    }
    // Another stream between them: runs are not adjacent in the log.
    ASSERT_TRUE(Append(store(), "acme", "other", 2).status.ok());
  }
  const uint64_t n = positions.size();  // 53
  for (const std::optional<uint64_t> max_count :
       {std::optional<uint64_t>(), std::optional<uint64_t>(20)}) {
    if (max_count) {
      ASSERT_TRUE(SetMetadata(store(), "acme", "s", {.max_count = max_count})
                      .status.ok());
    }
    const uint64_t lo = max_count ? n - *max_count : 0;  // mid-run: 33
    for (const Direction direction :
         {Direction::kForward, Direction::kBackward}) {
      const bool forward = direction == Direction::kForward;
      for (uint64_t from = 0; from <= n; ++from) {
        for (uint64_t limit : {1, 2, 3, 5, 10, 100}) {
          StreamReadOptions options;
          options.direction = direction;
          options.from = from;
          options.limit = limit;
          auto page = store().ReadStream("acme", "s", options);
          ASSERT_TRUE(page.has_value()) << page.error().ToString();
          std::vector<uint64_t> want;
          if (forward) {
            for (uint64_t r = std::max(from, lo); r < n && want.size() < limit;
                 ++r) {
              want.push_back(r);
            }
          } else {
            for (uint64_t r = std::min(from, n - 1) + 1;
                 r > lo && want.size() < limit; --r) {
              want.push_back(r - 1);
            }
          }
          const std::string what =
              (forward ? "forward" : "backward") + std::string(" from ") +
              std::to_string(from) + " limit " + std::to_string(limit) +
              (max_count ? " maxCount 20" : "");
          ASSERT_EQ(Revisions(page->events), want) << what;
          std::vector<uint64_t> want_positions;
          for (uint64_t r : want) want_positions.push_back(positions[r]);
          EXPECT_EQ(Positions(page->events), want_positions) << what;
          std::optional<uint64_t> next;
          if (!want.empty() && forward && want.back() + 1 < n) {
            next = want.back() + 1;
          }
          if (!want.empty() && !forward && want.back() > lo) {
            next = want.back() - 1;
          }
          EXPECT_EQ(page->next, next) << what;
        }
      }
    }
  }
}

TEST_F(EventStoreTest, ReadStreamFromPastTheEndIsEmpty) {
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  StreamReadOptions options;
  options.from = 3;
  auto page = store().ReadStream("acme", "s", options);
  ASSERT_TRUE(page.has_value());
  EXPECT_TRUE(page->events.empty());
  EXPECT_FALSE(page->next.has_value());
}

TEST_F(EventStoreTest, ReadStreamBackwardFromPastTheEndStartsAtTheLast) {
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  StreamReadOptions options;
  options.from = 100;
  options.limit = 2;
  options.direction = Direction::kBackward;
  auto page = store().ReadStream("acme", "s", options);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(Revisions(page->events), (std::vector<uint64_t>{2, 1}));
  EXPECT_EQ(page->next, 0u);
}

TEST_F(EventStoreTest, ReadStreamReturnsTheEventsPositions) {
  ASSERT_TRUE(Append(store(), "acme", "a", 1).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "b", 1).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "a", 1).status.ok());
  EXPECT_EQ(Positions(ReadAll(store(), "acme", "a")),
            (std::vector<uint64_t>{0, 2}));
  EXPECT_EQ(Positions(ReadAll(store(), "acme", "b")),
            (std::vector<uint64_t>{1}));
}

TEST_F(EventStoreTest, ReadStreamOfUnknownStreamIsNotFound) {
  ASSERT_TRUE(Append(store(), "acme", "s", 1).status.ok());
  EXPECT_TRUE(store()
                  .ReadStream("acme", "other", StreamReadOptions{})
                  .error()
                  .IsNotFound());
  EXPECT_TRUE(store().GetStreamInfo("acme", "other").error().IsNotFound());
}

TEST_F(EventStoreTest, GetStreamInfoDescribesTheStream) {
  ASSERT_TRUE(Append(store(), "acme", "a", 2).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "b", 1).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "a", 1).status.ok());
  auto info = store().GetStreamInfo("acme", "a");
  ASSERT_TRUE(info.has_value());
  EXPECT_EQ(info->stream, "a");
  EXPECT_EQ(info->last_revision, StreamRevision(2));
  EXPECT_EQ(info->last_position, GlobalPosition(3));
  EXPECT_GT(info->created_us, 0);
  EXPECT_FALSE(info->deleted);
}

// ---------------------------------------------------------------------------
// Reading the log

TEST_F(EventStoreTest, ReadLogPagesToTheEnd) {
  ASSERT_TRUE(Append(store(), "acme", "a", 5).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "b", 5).status.ok());
  LogReadOptions options;
  options.limit = 4;
  std::vector<std::vector<uint64_t>> pages;
  std::vector<std::optional<uint64_t>> nexts;
  for (int i = 0; i < 10; ++i) {
    auto page = store().ReadLog("acme", options);
    ASSERT_TRUE(page.has_value());
    pages.push_back(Positions(page->events));
    nexts.push_back(page->next);
    if (!page->next) break;
    options.from = *page->next;
  }
  EXPECT_EQ(pages, (std::vector<std::vector<uint64_t>>{
                       {0, 1, 2, 3}, {4, 5, 6, 7}, {8, 9}}));
  EXPECT_EQ(nexts, (std::vector<std::optional<uint64_t>>{4, 8, {}}));
}

TEST_F(EventStoreTest, ReadLogHasNoNextWhenAPageEndsTheLog) {
  ASSERT_TRUE(Append(store(), "acme", "a", 8).status.ok());
  LogReadOptions options;
  options.limit = 4;
  options.from = 4;
  auto page = store().ReadLog("acme", options);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(Positions(page->events), Range(4, 8));
  EXPECT_FALSE(page->next.has_value());
}

TEST_F(EventStoreTest, ReadLogStopsBeforeUntil) {
  ASSERT_TRUE(Append(store(), "acme", "a", 10).status.ok());
  LogReadOptions options;
  options.from = 2;
  options.until = 5;
  auto page = store().ReadLog("acme", options);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(Positions(page->events), Range(2, 5));
  EXPECT_FALSE(page->next.has_value());
}

TEST_F(EventStoreTest, ReadLogFromTheEndIsEmpty) {
  ASSERT_TRUE(Append(store(), "acme", "a", 3).status.ok());
  LogReadOptions options;
  options.from = 3;
  auto page = store().ReadLog("acme", options);
  ASSERT_TRUE(page.has_value());
  EXPECT_TRUE(page->events.empty());
  EXPECT_FALSE(page->next.has_value());
}

TEST_F(EventStoreTest, ReadLogFiltersByType) {
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(Append(store(), "acme", "s", 1, {}, i % 2 ? "Odd" : "Even")
                    .status.ok());
  }
  LogReadOptions options;
  options.filter.types = {"Odd"};
  auto page = store().ReadLog("acme", options);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(Positions(page->events), (std::vector<uint64_t>{1, 3, 5}));
  EXPECT_FALSE(page->next.has_value());
}

TEST_F(EventStoreTest, ReadLogFiltersByCategory) {
  ASSERT_TRUE(Append(store(), "acme", "order-1", 1).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "user-1", 1).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "order-2", 1).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "orders", 1).status.ok());
  ASSERT_TRUE(Append(store(), "acme", "order", 1).status.ok());
  LogReadOptions options;
  options.filter.categories = {"order"};
  auto page = store().ReadLog("acme", options);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(StreamsOf(page->events),
            (std::vector<std::string>{"order-1", "order-2", "order"}));
}

TEST_F(EventStoreTest, ReadLogFiltersByTypeAndCategoryTogether) {
  ASSERT_TRUE(Append(store(), "acme", "order-1", 1, {}, "Placed").status.ok());
  ASSERT_TRUE(Append(store(), "acme", "user-1", 1, {}, "Placed").status.ok());
  ASSERT_TRUE(Append(store(), "acme", "order-2", 1, {}, "Shipped").status.ok());
  LogReadOptions options;
  options.filter.types = {"Placed"};
  options.filter.categories = {"order"};
  auto page = store().ReadLog("acme", options);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(Positions(page->events), (std::vector<uint64_t>{0}));
}

TEST_F(EventStoreTest, ReadLogMaxScanGivesNextOnAPartialPage) {
  // Even positions are "Hit", odd ones "Miss".
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(Append(store(), "acme", "s", 1, {}, i % 2 ? "Miss" : "Hit")
                    .status.ok());
  }
  LogReadOptions options;
  options.filter.types = {"Miss"};
  options.max_scan = 3;
  auto page = store().ReadLog("acme", options);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(Positions(page->events), (std::vector<uint64_t>{1}));
  EXPECT_EQ(page->next, 3u);

  // Following `next` finds every match exactly once and then ends.
  std::vector<uint64_t> all = Positions(page->events);
  for (int i = 0; i < 20 && page->next; ++i) {
    options.from = *page->next;
    page = store().ReadLog("acme", options);
    ASSERT_TRUE(page.has_value());
    for (uint64_t p : Positions(page->events)) all.push_back(p);
  }
  EXPECT_FALSE(page->next.has_value());
  EXPECT_EQ(all, (std::vector<uint64_t>{1, 3, 5, 7, 9}));
}

TEST_F(EventStoreTest, ReadLogMaxScanMayAnswerWithNoEventsAndANext) {
  ASSERT_TRUE(Append(store(), "acme", "s", 5, {}, "Miss").status.ok());
  ASSERT_TRUE(Append(store(), "acme", "s", 1, {}, "Hit").status.ok());
  LogReadOptions options;
  options.filter.types = {"Hit"};
  options.max_scan = 2;
  auto page = store().ReadLog("acme", options);
  ASSERT_TRUE(page.has_value());
  EXPECT_TRUE(page->events.empty());
  EXPECT_EQ(page->next, 2u);
}

TEST_F(EventStoreTest, ReadLogMaxScanDoesNotLimitAnUnfilteredRead) {
  ASSERT_TRUE(Append(store(), "acme", "s", 10).status.ok());
  LogReadOptions options;
  options.max_scan = 3;
  auto page = store().ReadLog("acme", options);
  ASSERT_TRUE(page.has_value());
  EXPECT_EQ(Positions(page->events), Range(0, 10));
  EXPECT_FALSE(page->next.has_value());
}

// What ScanLog visits, as ReadLog would have returned it.
struct Scanned {
  std::vector<StoredEvent> events;
  std::optional<uint64_t> next;
};

Scanned Scan(EventStore& store, const std::string& tenant,
             const LogReadOptions& options) {
  Scanned out;
  auto next = store.ScanLog(
      tenant, options, [&](GlobalPosition position, const EventView& e) {
        out.events.push_back({position, std::string(e.raw)});
      });
  EXPECT_TRUE(next.has_value()) << next.error().ToString();
  if (next.has_value()) out.next = *next;
  return out;
}

TEST_F(EventStoreTest, ScanLogVisitsWhatReadLogReturns) {
  for (int i = 0; i < 12; ++i) {
    ASSERT_TRUE(Append(store(), "acme", i % 3 ? "order-1" : "user-1", 1, {},
                       i % 2 ? "Odd" : "Even")
                    .status.ok());
  }
  std::vector<LogReadOptions> cases(5);
  cases[1].limit = 5;
  cases[2].from = 4;
  cases[2].until = 9;
  cases[3].filter.types = {"Odd"};
  cases[3].max_scan = 4;
  cases[4].filter.categories = {"user"};
  cases[4].limit = 2;
  for (size_t c = 0; c < cases.size(); ++c) {
    SCOPED_TRACE("case " + std::to_string(c));
    auto page = store().ReadLog("acme", cases[c]);
    ASSERT_TRUE(page.has_value());
    const Scanned scanned = Scan(store(), "acme", cases[c]);
    EXPECT_EQ(scanned.next, page->next);
    ASSERT_EQ(scanned.events.size(), page->events.size());
    for (size_t i = 0; i < page->events.size(); ++i) {
      EXPECT_EQ(scanned.events[i].position, page->events[i].position);
      EXPECT_EQ(scanned.events[i].record, page->events[i].record);
    }
  }
}

TEST_F(EventStoreTest, ScanLogVisitsDecodedEventsInPositionOrder) {
  ASSERT_TRUE(Append(store(), "acme", "a", 2, {}, "First").status.ok());
  ASSERT_TRUE(Append(store(), "acme", "b", 1, {}, "Second").status.ok());
  std::vector<uint64_t> positions;
  std::vector<std::string> described;
  auto next = store().ScanLog(
      "acme", LogReadOptions{},
      [&](GlobalPosition position, const EventView& e) {
        positions.push_back(position.value());
        described.push_back(std::string(e.stream) + "/" + std::string(e.type) +
                            "@" + std::to_string(e.revision.value()));
      });
  ASSERT_TRUE(next.has_value());
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(positions, Range(0, 3));
  EXPECT_EQ(described,
            (std::vector<std::string>{"a/First@0", "a/First@1", "b/Second@0"}));
}

TEST_F(EventStoreTest, ScanLogOfUnknownTenantVisitsNothing) {
  int visits = 0;
  auto next =
      store().ScanLog("nobody", LogReadOptions{},
                      [&](GlobalPosition, const EventView&) { ++visits; });
  ASSERT_TRUE(next.has_value());
  EXPECT_FALSE(next->has_value());
  EXPECT_EQ(visits, 0);
}

// ---------------------------------------------------------------------------
// Listing streams

class EventStoreListStreamsTest : public EventStoreTest {
 protected:
  void SetUp() override {
    EventStoreTest::SetUp();
    for (const std::string stream :
         {"user-1", "order-2", "order-10", "order-1", "orders", "a"}) {
      ASSERT_TRUE(Append(store(), "acme", stream, 1).status.ok());
    }
  }

  std::vector<std::string> Names(const StreamListing& listing) {
    std::vector<std::string> out;
    for (const auto& s : listing.streams) out.push_back(s.stream);
    return out;
  }
};

TEST_F(EventStoreListStreamsTest, ListsEveryStreamInByteOrder) {
  auto listing = store().ListStreams("acme", "", "", 100);
  ASSERT_TRUE(listing.has_value());
  EXPECT_EQ(Names(*listing),
            (std::vector<std::string>{"a", "order-1", "order-10", "order-2",
                                      "orders", "user-1"}));
  EXPECT_FALSE(listing->next.has_value());
}

TEST_F(EventStoreListStreamsTest, FiltersByPrefix) {
  auto listing = store().ListStreams("acme", "order-", "", 100);
  ASSERT_TRUE(listing.has_value());
  EXPECT_EQ(Names(*listing),
            (std::vector<std::string>{"order-1", "order-10", "order-2"}));
}

TEST_F(EventStoreListStreamsTest, StartsAfterTheCursor) {
  auto listing = store().ListStreams("acme", "", "order-1", 100);
  ASSERT_TRUE(listing.has_value());
  EXPECT_EQ(Names(*listing), (std::vector<std::string>{"order-10", "order-2",
                                                       "orders", "user-1"}));
}

TEST_F(EventStoreListStreamsTest, PagesWithLimitAndNext) {
  std::vector<std::vector<std::string>> pages;
  std::vector<std::optional<std::string>> nexts;
  std::string after;
  for (int i = 0; i < 10; ++i) {
    auto listing = store().ListStreams("acme", "order", after, 2);
    ASSERT_TRUE(listing.has_value());
    pages.push_back(Names(*listing));
    nexts.push_back(listing->next);
    if (!listing->next) break;
    after = *listing->next;
  }
  EXPECT_EQ(pages, (std::vector<std::vector<std::string>>{
                       {"order-1", "order-10"}, {"order-2", "orders"}}));
  EXPECT_EQ(nexts, (std::vector<std::optional<std::string>>{"order-10", {}}));
}

TEST_F(EventStoreListStreamsTest, DescribesEachStream) {
  ASSERT_TRUE(Append(store(), "acme", "a", 2).status.ok());
  auto listing = store().ListStreams("acme", "a", "", 1);
  ASSERT_TRUE(listing.has_value());
  ASSERT_EQ(listing->streams.size(), 1u);
  const StreamInfo& info = listing->streams[0];
  EXPECT_EQ(info.stream, "a");
  EXPECT_EQ(info.last_revision, StreamRevision(2));
  EXPECT_EQ(info.last_position, GlobalPosition(7));
  EXPECT_FALSE(info.deleted);
  EXPECT_FALSE(listing->next.has_value());
}

TEST_F(EventStoreListStreamsTest, ListsOnlyTheTenantsOwnStreams) {
  ASSERT_TRUE(Append(store(), "globex", "order-1", 1).status.ok());
  auto listing = store().ListStreams("globex", "", "", 100);
  ASSERT_TRUE(listing.has_value());
  EXPECT_EQ(Names(*listing), (std::vector<std::string>{"order-1"}));
}

// ---------------------------------------------------------------------------
// Log end, durability and closing

TEST_F(EventStoreTest, LogEndIsTheNextPosition) {
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(0));
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(3));
  ASSERT_TRUE(Append(store(), "acme", "s", 1, ExpectedRevision::NoStream())
                  .status.IsWrongExpectedVersion());
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(3));
  ASSERT_TRUE(Append(store(), "acme", "t", 2).status.ok());
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(5));
  EXPECT_EQ(store().LogEnd("globex"), GlobalPosition(0));
}

TEST_F(EventStoreTest, FsyncDurabilityAppendsAndReads) {
  store_.reset();
  OpenStore(Durability::kFsync);
  WriteOutcome out = Append(store(), "acme", "s", 3);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(out.last_position, GlobalPosition(2));
  EXPECT_EQ(Revisions(ReadAll(store(), "acme", "s")), Range(0, 3));
}

TEST_F(EventStoreTest, MemoryDurabilityAppendsAndReads) {
  store_.reset();
  OpenStore(Durability::kMemory);
  WriteOutcome out = Append(store(), "acme", "s", 3);
  ASSERT_TRUE(out.status.ok()) << out.status.ToString();
  EXPECT_EQ(Revisions(ReadAll(store(), "acme", "s")), Range(0, 3));
}

TEST_F(EventStoreTest, SecondOpenOfAnOpenDirectoryFails) {
  ASSERT_TRUE(Append(store(), "acme", "s", 1).status.ok());
  auto second = EventStore::Open(Options{}, dir_.str());
  EXPECT_FALSE(second.has_value());
  // The first store is unaffected.
  EXPECT_TRUE(Append(store(), "acme", "s", 1).status.ok());
  EXPECT_EQ(ReadAll(store(), "acme", "s").size(), 2u);
}

TEST_F(EventStoreTest, ReadOnlyStoreReadsButRefusesWrites) {
  ASSERT_TRUE(Append(store(), "acme", "s", 3).status.ok());
  store_.reset();
  Options options;
  options.read_only = true;
  OpenStore(options);
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(3));
  EXPECT_EQ(Revisions(ReadAll(store(), "acme", "s")), Range(0, 3));
  EXPECT_TRUE(Append(store(), "acme", "s", 1).status.IsUnavailable());
  EXPECT_TRUE(Delete(store(), "acme", "s").status.IsUnavailable());
  EXPECT_TRUE(SetMetadata(store(), "acme", "s", {.max_count = 1})
                  .status.IsUnavailable());
  EXPECT_EQ(store().LogEnd("acme"), GlobalPosition(3));
}

TEST_F(EventStoreTest, WritesAfterCloseAreUnavailable) {
  ASSERT_TRUE(Append(store(), "acme", "s", 1).status.ok());
  store().Close();
  store().Close();  // idempotent
  EXPECT_TRUE(Append(store(), "acme", "s", 1).status.IsUnavailable());
  EXPECT_TRUE(Delete(store(), "acme", "s").status.IsUnavailable());
  EXPECT_TRUE(SetMetadata(store(), "acme", "s", {.max_count = 1})
                  .status.IsUnavailable());
}

}  // namespace
}  // namespace cairn::storage
