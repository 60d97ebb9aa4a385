// storage/inspect.h on real stores: the report of a healthy store, reading
// beside a writer, and what the check names in copies corrupted beneath the
// store with raw RocksDB writes.

#include "storage/inspect.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>
#include <rocksdb/metadata.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "protocol/event_record.h"
#include "protocol/uuid.h"
#include "storage/event_store.h"
#include "storage/internal/db.h"
#include "storage/internal/keys.h"
#include "storage/projection_store.h"
#include "tests/storage/event_store_fixture.h"
#include "tests/support/temp_dir.h"

namespace cairn::storage {
namespace {

using namespace fixture;

std::string BigEndian64(uint64_t v) {
  std::string s;
  keys::PutBigEndian64(&s, v);
  return s;
}

// Every event of a stream, deleted or not: through a read-only store, which
// honours deletion, so read before deleting.
std::vector<StoredEvent> ReadAll(EventStore& store, const std::string& tenant,
                                 const std::string& stream) {
  StreamReadOptions options;
  options.limit = 1000;
  auto page = store.ReadStream(tenant, stream, options);
  EXPECT_TRUE(page.has_value()) << page.error().ToString();
  return page.has_value() ? page->events : std::vector<StoredEvent>{};
}

InspectReport InspectOk(const std::string& dir, bool verify = true,
                        size_t max_problems = 100) {
  InspectOptions options;
  options.verify = verify;
  options.max_problems = max_problems;
  auto report = Inspect(dir, options);
  EXPECT_TRUE(report.has_value()) << report.error().ToString();
  return report.has_value() ? *report : InspectReport{};
}

std::string Joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += "\n  " + l;
  return out;
}

// Whether some problem contains every one of `parts`.
bool HasProblem(const InspectReport& report,
                const std::vector<std::string>& parts) {
  return std::any_of(report.problems.begin(), report.problems.end(),
                     [&parts](const std::string& p) {
                       return std::all_of(parts.begin(), parts.end(),
                                          [&p](const std::string& part) {
                                            return p.find(part) !=
                                                   std::string::npos;
                                          });
                     });
}

#define EXPECT_PROBLEM(report, ...)                             \
  EXPECT_TRUE(HasProblem(report, {__VA_ARGS__}))                \
      << "no problem with all of the expected parts; problems:" \
      << Joined((report).problems)

// The names of the files directly in `dir`.
std::set<std::string> Files(const std::filesystem::path& dir) {
  std::set<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    names.insert(e.path().filename().string());
  }
  return names;
}

// Where the store's events went, for the corruptions to aim at.
struct Layout {
  std::map<std::string, std::vector<StoredEvent>> acme;  // by stream
  uint64_t acme_end = 0;
  uint64_t globex_end = 0;
};

// A store with two tenants, several streams (one soft-deleted, one
// tombstoned, one revived after a delete, one with metadata only, two in a
// transaction), an idempotent retry, and projection checkpoints, one of a
// rebuilt projection.
Layout BuildStore(const std::string& dir) {
  Options options;
  options.durability = Durability::kWal;
  options.block_cache_bytes = size_t{8} << 20;
  auto opened = EventStore::Open(options, dir);
  EXPECT_TRUE(opened.has_value()) << opened.error().ToString();
  if (!opened.has_value()) return {};
  EventStore& store = **opened;

  const auto ok = [](const WriteOutcome& out) {
    EXPECT_TRUE(out.status.ok()) << out.status.ToString();
  };
  ok(Append(store, "acme", "order-1", 3));
  ok(Append(store, "acme", "order-2", 2));
  ok(Append(store, "globex", "s", 4));
  const std::vector<Uuid> ids = {Uuid::NewV7(), Uuid::NewV7()};
  ok(Append(store, Request("acme",
                           {ToStreamWithIds(
                               "cart-1", ExpectedRevision::NoStream(), ids)})));
  // A retry: recognised, nothing appended.
  WriteOutcome retry = Append(
      store, Request("acme", {ToStreamWithIds("cart-1", ExpectedRevision::Any(),
                                              ids)}));
  EXPECT_TRUE(retry.duplicate);
  ok(Append(store, "acme", "cart-2", 1));
  ok(Append(store, "acme", "cart-3", 2));
  ok(Append(store, Request("acme",
                           {ToStream("order-3", ExpectedRevision::Any(), 1),
                            ToStream("order-4", ExpectedRevision::Any(), 1)})));
  ok(SetMetadata(store, "acme", "meta-only", {.max_count = 5}));
  ok(SetMetadata(store, "acme", "order-1", {.max_age_seconds = 3600}));

  Layout layout;
  for (const char* s : {"order-1", "order-2", "cart-1", "cart-2", "cart-3",
                        "order-3", "order-4"}) {
    layout.acme[s] = ReadAll(store, "acme", s);
  }
  ok(Delete(store, "acme", "cart-1"));
  ok(Delete(store, "acme", "cart-2", /*tombstone=*/true));
  ok(Delete(store, "acme", "cart-3"));
  ok(Append(store, "acme", "cart-3", 1));  // revives it
  layout.acme["cart-3"].push_back(ReadAll(store, "acme", "cart-3").back());
  layout.acme_end = store.LogEnd("acme").value();
  layout.globex_end = store.LogEnd("globex").value();

  ProjectionStore& projections = store.Projections();
  const auto checkpoint = [&](std::string_view projection,
                              std::string_view tenant, uint64_t position,
                              ProjectionStore::Target target) {
    auto write = projections.Begin(projection, tenant, target);
    ASSERT_TRUE(write.has_value()) << write.error().ToString();
    (*write)->Put("s" + std::string(tenant), "{}");
    ASSERT_TRUE(projections.Commit(**write, {position, 2}).ok());
  };
  EXPECT_TRUE(projections.Open("dashboard").ok());
  checkpoint("dashboard", "acme", layout.acme_end,
             ProjectionStore::Target::kLive);
  checkpoint("dashboard", "globex", 2, ProjectionStore::Target::kLive);
  EXPECT_TRUE(projections.Open("progress-feed").ok());
  checkpoint("progress-feed", "acme", 1, ProjectionStore::Target::kLive);
  EXPECT_TRUE(projections.StartRebuild("progress-feed").ok());
  checkpoint("progress-feed", "acme", layout.acme_end,
             ProjectionStore::Target::kShadow);
  EXPECT_TRUE(projections.FinishRebuild("progress-feed").ok());
  store.Close();
  return layout;
}

// Raw access to a copy of the store, beneath Cairn, to corrupt it.
class RawStore {
 public:
  explicit RawStore(const std::string& dir) {
    auto db = Db::Open(Options{}, dir);
    EXPECT_TRUE(db.has_value()) << db.error().ToString();
    if (db.has_value()) db_ = std::move(*db);
  }

  TenantId Tenant(const std::string& name) {
    const std::string v = Get(db_->directory(), keys::TenantNameKey(name));
    return TenantId(v.size() == 4 ? keys::GetBigEndian32(v.data()) : 0);
  }
  StreamId Stream(const std::string& tenant, const std::string& name) {
    const std::string v =
        Get(db_->directory(), keys::StreamNameKey(Tenant(tenant), name));
    return StreamId(v.size() == 8 ? keys::GetBigEndian64(v.data()) : 0);
  }

  std::string Get(rocksdb::ColumnFamilyHandle* family, const std::string& key) {
    std::string value;
    auto s = db_->db()->Get(rocksdb::ReadOptions(), family, key, &value);
    EXPECT_TRUE(s.ok()) << s.ToString();
    return value;
  }
  void Put(rocksdb::ColumnFamilyHandle* family, const std::string& key,
           const std::string& value) {
    auto s = db_->db()->Put(rocksdb::WriteOptions(), family, key, value);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  // Into the read models' instance (its default family: checkpoints).
  void PutProjectionMeta(const std::string& key, const std::string& value) {
    auto s = db_->projection_db()->Put(rocksdb::WriteOptions(),
                                       db_->projection_meta(), key, value);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  void Delete(rocksdb::ColumnFamilyHandle* family, const std::string& key) {
    EXPECT_FALSE(Get(family, key).empty());  // there was something to delete
    auto s = db_->db()->Delete(rocksdb::WriteOptions(), family, key);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }

  Db& db() { return *db_; }

 private:
  std::unique_ptr<Db> db_;
};

class InspectTest : public ::testing::Test {
 protected:
  void SetUp() override { layout_ = BuildStore(dir_.str()); }

  // A fresh copy of the closed store, for one corruption.
  std::string Copy() {
    std::filesystem::copy(dir_.path(), copy_.path(),
                          std::filesystem::copy_options::recursive);
    return copy_.str();
  }

  uint64_t Position(const std::string& stream, size_t revision) const {
    return layout_.acme.at(stream).at(revision).position.value();
  }
  Uuid IdAt(const std::string& stream, size_t revision) const {
    return Ids({layout_.acme.at(stream).at(revision)}).front();
  }

  testing::TempDir dir_;
  testing::TempDir copy_;
  Layout layout_;
};

TEST_F(InspectTest, HealthyStoreReportsCountsAndVerifiesClean) {
  // acme: order-1 3, order-2 2, cart-1 2, cart-2 1, cart-3 2 + 1, order-3 1,
  // order-4 1; meta-only has none.
  ASSERT_EQ(layout_.acme_end, 13u);
  ASSERT_EQ(layout_.globex_end, 4u);

  InspectReport report = InspectOk(dir_.str());
  ASSERT_EQ(report.tenants.size(), 2u);
  EXPECT_EQ(report.tenants[0].tenant, "acme");
  EXPECT_EQ(report.tenants[0].streams, 8u);  // deleted ones included
  EXPECT_EQ(report.tenants[0].events, 13u);
  EXPECT_EQ(report.tenants[1].tenant, "globex");
  EXPECT_EQ(report.tenants[1].streams, 1u);
  EXPECT_EQ(report.tenants[1].events, 4u);

  std::map<std::string, FamilyReport> families;
  for (const auto& f : report.families) families[f.family] = f;
  for (const char* name :
       {"directory", "events", "streams", "heads", "event_ids",
        "projection.dashboard", "projection.progress-feed#1"}) {
    EXPECT_EQ(families.count(name), 1u) << name;
  }
  EXPECT_EQ(families.count("default"), 0u);
  EXPECT_EQ(families.count("projection.progress-feed"), 0u);  // dropped
  EXPECT_GT(families["events"].bytes, 0u);
  EXPECT_GT(families["events"].keys, 0u);

  ASSERT_EQ(report.checkpoints.size(), 3u);
  EXPECT_EQ(report.checkpoints[0].projection, "dashboard");
  EXPECT_EQ(report.checkpoints[0].tenant, "acme");
  EXPECT_EQ(report.checkpoints[0].position, 13u);
  EXPECT_EQ(report.checkpoints[0].version, 2u);
  EXPECT_EQ(report.checkpoints[1].projection, "dashboard");
  EXPECT_EQ(report.checkpoints[1].tenant, "globex");
  EXPECT_EQ(report.checkpoints[1].position, 2u);
  // The rebuilt projection under its own name, with the rebuild's checkpoint.
  EXPECT_EQ(report.checkpoints[2].projection, "progress-feed");
  EXPECT_EQ(report.checkpoints[2].tenant, "acme");
  EXPECT_EQ(report.checkpoints[2].position, 13u);

  EXPECT_TRUE(report.verified);
  EXPECT_EQ(report.records_verified, 17u);
  EXPECT_EQ(report.problems_found, 0u) << Joined(report.problems);
  EXPECT_TRUE(report.problems.empty());
}

TEST_F(InspectTest, WithoutVerifyReportsWithoutReadingRecords) {
  InspectReport report = InspectOk(dir_.str(), /*verify=*/false);
  ASSERT_EQ(report.tenants.size(), 2u);
  EXPECT_EQ(report.tenants[0].events, 13u);
  EXPECT_EQ(report.checkpoints.size(), 3u);
  EXPECT_FALSE(report.verified);
  EXPECT_EQ(report.records_verified, 0u);
  EXPECT_EQ(report.problems_found, 0u);
}

TEST_F(InspectTest, InspectsBesideAWritableStore) {
  Options options;
  options.durability = Durability::kWal;
  options.block_cache_bytes = size_t{8} << 20;
  auto writer = EventStore::Open(options, dir_.str());
  ASSERT_TRUE(writer.has_value()) << writer.error().ToString();
  ASSERT_TRUE(Append(**writer, "acme", "order-1", 2).status.ok());
  ASSERT_TRUE(Append(**writer, "initech", "new", 3).status.ok());

  InspectReport report = InspectOk(dir_.str());
  ASSERT_EQ(report.tenants.size(), 3u);
  EXPECT_EQ(report.tenants[0].events, 15u);  // acme, with the new two
  EXPECT_EQ(report.tenants[2].tenant, "initech");
  EXPECT_EQ(report.tenants[2].events, 3u);
  EXPECT_TRUE(report.verified);
  EXPECT_EQ(report.records_verified, 22u);
  EXPECT_EQ(report.problems_found, 0u) << Joined(report.problems);

  // A read-only store beside it reads what was committed.
  Options read_only;
  read_only.read_only = true;
  auto reader = EventStore::Open(read_only, dir_.str());
  ASSERT_TRUE(reader.has_value()) << reader.error().ToString();
  EXPECT_EQ((*reader)->LogEnd("initech"), GlobalPosition(3));
  EXPECT_EQ(Revisions(ReadAll(**reader, "acme", "order-1")), Range(0, 5));
  EXPECT_TRUE(Append(**reader, "acme", "order-1", 1).status.IsUnavailable());
  // The writer goes on.
  EXPECT_TRUE(Append(**writer, "acme", "order-1", 1).status.ok());
  EXPECT_EQ(InspectOk(dir_.str()).tenants[0].events, 16u);
}

// What kill -9 leaves after rebuilds: a MANIFEST that records dropped
// projection families and a WAL not yet flushed (a copy of the directory of
// a store still open). RocksDB 7.8's secondary catch-up crashed on such a
// directory; the open alone reads it.
TEST_F(InspectTest, InspectsWhatACrashLeavesAfterRebuilds) {
  Options options;
  options.block_cache_bytes = size_t{8} << 20;
  auto writer = EventStore::Open(options, dir_.str());
  ASSERT_TRUE(writer.has_value()) << writer.error().ToString();
  ProjectionStore& projections = (*writer)->Projections();
  for (int round = 0; round < 3; ++round) {
    ASSERT_TRUE(Append(**writer, "acme", "order-9", 50).status.ok());
    ASSERT_TRUE(projections.StartRebuild("dashboard").ok());
    auto write = projections.Begin("dashboard", "acme",
                                   ProjectionStore::Target::kShadow);
    ASSERT_TRUE(write.has_value()) << write.error().ToString();
    (*write)->Put("sacme", "{}");
    const uint64_t end = (*writer)->LogEnd("acme").value();
    ASSERT_TRUE(projections.Commit(**write, {end, 2}).ok());
    ASSERT_TRUE(projections.FinishRebuild("dashboard").ok());
  }
  ASSERT_TRUE(Append(**writer, "acme", "order-9", 5).status.ok());
  const std::string crashed = Copy();  // the writer is still open

  InspectReport report = InspectOk(crashed);
  EXPECT_TRUE(report.verified);
  EXPECT_EQ(report.problems_found, 0u) << Joined(report.problems);
  ASSERT_FALSE(report.tenants.empty());
  EXPECT_EQ(report.tenants[0].events, layout_.acme_end + 155);
}

TEST_F(InspectTest, VerifiesCleanWhileAWriterAppends) {
  Options options;
  options.durability = Durability::kWal;
  options.block_cache_bytes = size_t{8} << 20;
  auto writer = EventStore::Open(options, dir_.str());
  ASSERT_TRUE(writer.has_value()) << writer.error().ToString();
  std::atomic<bool> stop{false};
  std::atomic<int> appends{0};
  std::thread appender([&] {
    for (int i = 0; !stop.load(); ++i) {
      const std::string stream = "busy-" + std::to_string(i % 7);
      auto out = Append(**writer, i % 2 ? "acme" : "globex", stream, 3);
      if (!out.status.ok()) ADD_FAILURE() << out.status.ToString();
      ++appends;
    }
  });
  // The first check already runs beside appends.
  for (int i = 0; i < 5000 && appends.load() < 10; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  uint64_t last = 0;
  for (int round = 0; round < 3; ++round) {
    InspectReport report = InspectOk(dir_.str());
    EXPECT_TRUE(report.verified);
    EXPECT_EQ(report.problems_found, 0u) << Joined(report.problems);
    EXPECT_GE(report.records_verified, last);
    last = report.records_verified;
  }
  stop = true;
  appender.join();
}

TEST_F(InspectTest, OpensNothingThatIsNotAStoreAndCreatesNothing) {
  const std::filesystem::path absent = copy_.path() / "absent";
  auto report = Inspect(absent.string(), InspectOptions{});
  ASSERT_FALSE(report.has_value());
  EXPECT_TRUE(report.error().IsNotFound()) << report.error().ToString();
  EXPECT_NE(report.error().message().find(absent.string()), std::string::npos)
      << report.error().ToString();
  Options read_only;
  read_only.read_only = true;
  EXPECT_FALSE(EventStore::Open(read_only, absent.string()).has_value());
  EXPECT_FALSE(std::filesystem::exists(absent));

  // A directory without a store stays empty.
  report = Inspect(copy_.str(), InspectOptions{});
  ASSERT_FALSE(report.has_value());
  EXPECT_TRUE(report.error().IsNotFound()) << report.error().ToString();
  EXPECT_FALSE(EventStore::Open(read_only, copy_.str()).has_value());
  EXPECT_TRUE(std::filesystem::is_empty(copy_.path()));
}

TEST_F(InspectTest, LeavesTheStoreDirectoryAsItWas) {
  const std::set<std::string> before = Files(dir_.path());
  InspectOk(dir_.str());
  EXPECT_EQ(Files(dir_.path()), before);
}

TEST_F(InspectTest, NamesARecordThatFailsTheVerifier) {
  const std::string dir = Copy();
  const uint64_t p = Position("order-2", 1);
  {
    RawStore raw(dir);
    raw.Put(raw.db().events(),
            keys::EventKey(raw.Tenant("acme"), GlobalPosition(p)),
            "not a FlatBuffer, just garbage bytes");
  }
  InspectReport report = InspectOk(dir);
  EXPECT_TRUE(report.verified);
  EXPECT_EQ(report.problems_found, 1u) << Joined(report.problems);
  EXPECT_PROBLEM(report, "tenant acme: position " + std::to_string(p) +
                             ": record fails the FlatBuffers verifier");
}

TEST_F(InspectTest, NamesAHoleInTheLog) {
  const std::string dir = Copy();
  const uint64_t p = Position("order-1", 2);
  {
    RawStore raw(dir);
    raw.Delete(raw.db().events(),
               keys::EventKey(raw.Tenant("acme"), GlobalPosition(p)));
  }
  InspectReport report = InspectOk(dir);
  EXPECT_PROBLEM(report, "tenant acme: position " + std::to_string(p) +
                             " is missing (log end 13)");
  // What pointed at the event says so.
  EXPECT_PROBLEM(report, "tenant acme: stream order-1 revision 2",
                 "position " + std::to_string(p), "where there is no event");
  EXPECT_PROBLEM(report,
                 "tenant acme: event id " + IdAt("order-1", 2).ToString(),
                 "where there is no event");
}

TEST_F(InspectTest, NamesKeysPastTheLogEnd) {
  const std::string dir = Copy();
  {
    RawStore raw(dir);
    const std::string record =
        raw.Get(raw.db().events(),
                keys::EventKey(raw.Tenant("acme"), GlobalPosition(0)));
    for (uint64_t p : {13, 14, 20}) {
      raw.Put(raw.db().events(),
              keys::EventKey(raw.Tenant("acme"), GlobalPosition(p)), record);
    }
  }
  InspectReport report = InspectOk(dir);
  EXPECT_PROBLEM(report,
                 "tenant acme: positions 13-14 are at or past the log end 13");
  EXPECT_PROBLEM(report,
                 "tenant acme: position 20 is at or past the log end 13");
  // Past the end nothing is missing, and the records are still verified.
  EXPECT_EQ(report.problems_found, 2u) << Joined(report.problems);
  EXPECT_EQ(report.records_verified, 20u);
}

TEST_F(InspectTest, NamesADeletedStreamIndexEntry) {
  // order-1's three events were one append, so one run: cut revision 1
  // out of it.
  const std::string dir = Copy();
  {
    RawStore raw(dir);
    const TenantId acme = raw.Tenant("acme");
    const StreamId order1 = raw.Stream("acme", "order-1");
    raw.Put(raw.db().streams(),
            keys::StreamIndexKey(acme, order1, StreamRevision(0)),
            keys::EncodeIndexRun(Position("order-1", 0), 1));
    raw.Put(raw.db().streams(),
            keys::StreamIndexKey(acme, order1, StreamRevision(2)),
            keys::EncodeIndexRun(Position("order-1", 2), 1));
  }
  InspectReport report = InspectOk(dir);
  EXPECT_PROBLEM(
      report, "tenant acme: stream order-1 revision 1: no stream index entry");
  EXPECT_PROBLEM(report, "tenant acme: stream order-1 revision 1 (position " +
                             std::to_string(Position("order-1", 1)) +
                             "): no stream index entry");
}

TEST_F(InspectTest, NamesAStreamIndexEntryPointingElsewhere) {
  const std::string dir = Copy();
  const uint64_t elsewhere = Position("order-2", 0);
  {
    RawStore raw(dir);
    const TenantId acme = raw.Tenant("acme");
    const StreamId order1 = raw.Stream("acme", "order-1");
    raw.Put(raw.db().streams(),
            keys::StreamIndexKey(acme, order1, StreamRevision(0)),
            keys::EncodeIndexRun(Position("order-1", 0), 2));
    raw.Put(raw.db().streams(),
            keys::StreamIndexKey(acme, order1, StreamRevision(2)),
            keys::EncodeIndexRun(elsewhere, 1));
  }
  InspectReport report = InspectOk(dir);
  EXPECT_PROBLEM(
      report,
      "tenant acme: stream order-1 revision 2: index points at "
      "position " +
          std::to_string(elsewhere) +
          ", the event there is stream order-2 revision 0",
      "the event is at position " + std::to_string(Position("order-1", 2)));
  // The head's last position no longer agrees with the index either.
  EXPECT_PROBLEM(report,
                 "tenant acme: stream order-1: head says last position");
}

TEST_F(InspectTest, NamesAStrayStreamIndexEntry) {
  // An entry past the stream's events, with a head that agrees: only the
  // event it points at can tell.
  const std::string dir = Copy();
  const uint64_t target = Position("order-4", 0);  // after order-2's events
  {
    RawStore raw(dir);
    const TenantId acme = raw.Tenant("acme");
    const StreamId order2 = raw.Stream("acme", "order-2");
    raw.Put(raw.db().streams(),
            keys::StreamIndexKey(acme, order2, StreamRevision(2)),
            BigEndian64(target));
    auto head = keys::DecodeStreamHead(
        raw.Get(raw.db().heads(), keys::HeadKey(acme, order2)));
    ASSERT_TRUE(head.has_value());
    head->next_revision = 3;
    head->last_position = GlobalPosition(target);
    raw.Put(raw.db().heads(), keys::HeadKey(acme, order2),
            keys::EncodeStreamHead(*head));
  }
  InspectReport report = InspectOk(dir);
  EXPECT_EQ(report.problems_found, 1u) << Joined(report.problems);
  EXPECT_PROBLEM(report,
                 "tenant acme: stream order-2 revision 2: index points at "
                 "position " +
                     std::to_string(target) +
                     ", the event there is stream order-4 revision 0");
}

TEST_F(InspectTest, NamesARunReachingPastTheLogEnd) {
  // order-1's run of 3 (positions 0-2) made 20 long: it now covers other
  // streams' events (3-12) and positions past the log end (13-19).
  const std::string dir = Copy();
  ASSERT_EQ(Position("order-1", 0), 0u);
  {
    RawStore raw(dir);
    raw.Put(
        raw.db().streams(),
        keys::StreamIndexKey(raw.Tenant("acme"), raw.Stream("acme", "order-1"),
                             StreamRevision(0)),
        keys::EncodeIndexRun(0, 20));
  }
  InspectReport report = InspectOk(dir);
  EXPECT_PROBLEM(report,
                 "tenant acme: stream order-1 revision 13: index points at "
                 "position 13, at or past the log end 13 (and 6 more of its "
                 "run's revisions 0-19)");
  // A head may be behind its index (appends do not write it again):
  // only the run is wrong.
  EXPECT_FALSE(HasProblem(report, {"head says"}));
  // Each revision that points at another stream's event is named by it.
  EXPECT_PROBLEM(report,
                 "tenant acme: stream order-1 revision 3: index points at "
                 "position 3, the event there is stream order-2 revision 0");
  EXPECT_PROBLEM(report,
                 "tenant acme: stream order-1 revision 12: index points at "
                 "position 12, the event there is stream cart-3 revision 2");
}

TEST_F(InspectTest, NamesOverlappingAndMalformedRuns) {
  const std::string dir = Copy();
  {
    RawStore raw(dir);
    const TenantId acme = raw.Tenant("acme");
    // order-2's run of 2 (revisions 0-1) and one more for revision 1.
    raw.Put(raw.db().streams(),
            keys::StreamIndexKey(acme, raw.Stream("acme", "order-2"),
                                 StreamRevision(1)),
            keys::EncodeIndexRun(Position("order-2", 1), 1));
    // cart-3's first run, of no revision at all.
    raw.Put(raw.db().streams(),
            keys::StreamIndexKey(acme, raw.Stream("acme", "cart-3"),
                                 StreamRevision(0)),
            keys::EncodeIndexRun(Position("cart-3", 0), 0));
  }
  InspectReport report = InspectOk(dir);
  EXPECT_PROBLEM(report,
                 "tenant acme: stream order-2 revision 1: index entry overlaps "
                 "the one before, which reaches revision 1");
  EXPECT_PROBLEM(report,
                 "tenant acme: stream cart-3 revision 0: index entry of 12 "
                 "bytes is not a run");
}

TEST_F(InspectTest, AStoreOfFormatOneVerifiesCleanAndReadsTheSame) {
  // Before format 2 every revision had an entry of its own (8 bytes: its
  // position), and the directory had no format entry.
  const std::string dir = Copy();
  size_t runs = 0;
  {
    RawStore raw(dir);
    std::vector<std::pair<std::string, std::string>> entries;
    std::unique_ptr<rocksdb::Iterator> it(
        raw.db().db()->NewIterator(rocksdb::ReadOptions(), raw.db().streams()));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      entries.emplace_back(it->key().ToString(), it->value().ToString());
    }
    ASSERT_TRUE(it->status().ok());
    for (const auto& [key, value] : entries) {
      auto run = keys::DecodeIndexRun(key, value);
      ASSERT_TRUE(run.has_value());
      ++runs;
      const std::string prefix = key.substr(0, keys::kStreamIndexPrefixBytes);
      for (uint64_t r = run->first_revision; r < run->end_revision(); ++r) {
        std::string v1_key = prefix;
        keys::PutBigEndian64(&v1_key, r);
        raw.Put(raw.db().streams(), v1_key, BigEndian64(run->PositionOf(r)));
      }
    }
    raw.Delete(raw.db().directory(), keys::kFormatKey);
  }
  // Fewer runs than events: the copy's index did change.
  ASSERT_LT(runs, layout_.acme_end + layout_.globex_end);

  InspectReport report = InspectOk(dir);
  EXPECT_EQ(report.problems_found, 0u) << Joined(report.problems);
  EXPECT_EQ(report.records_verified, 17u);

  auto opened = EventStore::Open(Options{}, dir);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  for (const auto& [stream, events] : layout_.acme) {
    if (stream == "cart-1" || stream == "cart-2") continue;  // deleted
    const auto read = ReadAll(**opened, "acme", stream);
    if (stream == "cart-3") {  // deleted, then revived by one more event
      ASSERT_EQ(read.size(), 1u);
      EXPECT_EQ(read[0].position, events.back().position);
      continue;
    }
    ASSERT_EQ(read.size(), events.size()) << stream;
    for (size_t i = 0; i < read.size(); ++i) {
      EXPECT_EQ(read[i].position, events[i].position) << stream;
      EXPECT_EQ(read[i].record, events[i].record) << stream;
    }
  }
  // Opened for writing, the store is marked as of this format.
  (*opened)->Close();
  opened->reset();
  Options read_only;
  read_only.read_only = true;
  auto db = Db::Open(read_only, dir);
  ASSERT_TRUE(db.has_value()) << db.error().ToString();
  std::string format;
  ASSERT_TRUE((*db)
                  ->db()
                  ->Get(rocksdb::ReadOptions(), (*db)->directory(),
                        keys::kFormatKey, &format)
                  .ok());
  ASSERT_EQ(format.size(), 4u);
  EXPECT_EQ(keys::GetBigEndian32(format.data()), keys::kFormatVersion);
}

TEST_F(InspectTest, AStoreOfALaterFormatIsNotOpened) {
  const std::string dir = Copy();
  {
    RawStore raw(dir);
    std::string later;
    keys::PutBigEndian32(&later, keys::kFormatVersion + 1);
    raw.Put(raw.db().directory(), keys::kFormatKey, later);
  }
  const std::string expected =
      "format version " + std::to_string(keys::kFormatVersion + 1);
  auto opened = EventStore::Open(Options{}, dir);
  ASSERT_FALSE(opened.has_value());
  EXPECT_NE(opened.error().message().find(expected), std::string::npos)
      << opened.error().ToString();
  InspectOptions options;
  auto report = Inspect(dir, options);
  ASSERT_FALSE(report.has_value());
  EXPECT_NE(report.error().message().find(expected), std::string::npos)
      << report.error().ToString();
}

TEST_F(InspectTest, AStoreWithAMalformedFormatEntryIsNotOpened) {
  const std::string dir = Copy();
  {
    RawStore raw(dir);
    raw.Put(raw.db().directory(), keys::kFormatKey, std::string(3, '\0'));
  }
  auto opened = EventStore::Open(Options{}, dir);
  ASSERT_FALSE(opened.has_value());
  EXPECT_TRUE(opened.error().IsCorruption()) << opened.error().ToString();
  EXPECT_NE(opened.error().message().find("format entry"), std::string::npos)
      << opened.error().ToString();
}

TEST_F(InspectTest, AStreamReadOverAMissingEventIsCorruption) {
  // Long runs are read by a scan of the log, short ones by key: a hole in
  // either is an error, not a shorter page.
  const std::string dir = Copy();
  uint64_t long_run_first = 0;
  {
    auto opened = EventStore::Open(Options{}, dir);
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    WriteOutcome out = Append(**opened, "acme", "long", 20);
    ASSERT_TRUE(out.status.ok()) << out.status.ToString();
    long_run_first = out.streams[0].first_position.value();
    (*opened)->Close();
  }
  {
    RawStore raw(dir);
    const TenantId acme = raw.Tenant("acme");
    raw.Delete(raw.db().events(),
               keys::EventKey(acme, GlobalPosition(long_run_first + 10)));
    raw.Delete(raw.db().events(),
               keys::EventKey(acme, GlobalPosition(Position("order-1", 1))));
  }
  auto opened = EventStore::Open(Options{}, dir);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  for (const Direction direction :
       {Direction::kForward, Direction::kBackward}) {
    for (const char* stream : {"long", "order-1"}) {
      StreamReadOptions options;
      options.direction = direction;
      options.limit = 100;
      auto page = (*opened)->ReadStream("acme", stream, options);
      ASSERT_FALSE(page.has_value()) << stream;
      EXPECT_TRUE(page.error().IsCorruption()) << page.error().ToString();
    }
  }
  // Pages that stop short of the hole read as before.
  StreamReadOptions options;
  options.limit = 10;
  auto page = (*opened)->ReadStream("acme", "long", options);
  ASSERT_TRUE(page.has_value()) << page.error().ToString();
  EXPECT_EQ(page->events.size(), 10u);
}

TEST_F(InspectTest, ChecksTheEventIdRunsTheServerMade) {
  // order-1's three events had server-made ids: one run, keyed by their
  // first half. Made 20 long, it reaches other events and past the log end;
  // cart-3's run loses its count.
  const Uuid order1 = IdAt("order-1", 0);
  ASSERT_EQ(IdAt("order-1", 2), order1.NextInRun().NextInRun());
  const std::string dir = Copy();
  {
    RawStore raw(dir);
    const TenantId acme = raw.Tenant("acme");
    const std::string key = keys::EventIdRunKey(acme, order1.hi);
    auto run = keys::DecodeEventIdLogRun(raw.Get(raw.db().event_ids(), key));
    ASSERT_TRUE(run.has_value());
    ASSERT_EQ(run->count, 3u);
    run->count = 20;
    raw.Put(raw.db().event_ids(), key, keys::EncodeEventIdLogRun(*run));
    const Uuid cart3 = IdAt("cart-3", 0);
    const std::string cart3_key = keys::EventIdRunKey(acme, cart3.hi);
    std::string broken = raw.Get(raw.db().event_ids(), cart3_key);
    broken.resize(16);
    raw.Put(raw.db().event_ids(), cart3_key, broken);
  }
  InspectReport report = InspectOk(dir);
  Uuid past = order1;
  for (int i = 0; i < 13; ++i) past = past.NextInRun();
  EXPECT_PROBLEM(report, "tenant acme: event id " + past.ToString(),
                 "entry names position 13, at or past the log end 13 (and 6 "
                 "more ids of the run)");
  Uuid fourth = order1.NextInRun().NextInRun().NextInRun();
  EXPECT_PROBLEM(report,
                 "tenant acme: event id " + fourth.ToString() +
                     ": entry names position 3, the event there has id " +
                     IdAt("order-2", 0).ToString());
  EXPECT_PROBLEM(report, "tenant acme: event id run " +
                             IdAt("cart-3", 0).ToString().substr(0, 18) +
                             "-…: entry of 16 bytes is not a run");
}

// Format 2 kept the server's ids of one append as a run naming its stream
// and revisions (36 bytes): such a store verifies clean, its ids are known
// for retries, and its first writable open marks it format 3.
TEST_F(InspectTest, AStoreOfFormatTwoVerifiesCleanAndKnowsItsIds) {
  const Uuid order1 = IdAt("order-1", 0);
  const std::string dir = Copy();
  {
    RawStore raw(dir);
    const TenantId acme = raw.Tenant("acme");
    const std::string key = keys::EventIdRunKey(acme, order1.hi);
    raw.Put(raw.db().event_ids(), key,
            keys::EncodeEventIdRun(
                {order1.lo,
                 3,
                 {raw.Stream("acme", "order-1"), StreamRevision(0),
                  GlobalPosition(Position("order-1", 0))}}));
    std::string two;
    keys::PutBigEndian32(&two, 2);
    raw.Put(raw.db().directory(), keys::kFormatKey, two);
  }
  InspectReport report = InspectOk(dir);
  EXPECT_EQ(report.problems_found, 0u) << Joined(report.problems);

  auto opened = EventStore::Open(Options{}, dir);
  ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
  const std::vector<Uuid> ids = {order1, IdAt("order-1", 1),
                                 IdAt("order-1", 2)};
  WriteOutcome retry = Append(
      **opened, Request("acme", {ToStreamWithIds(
                                    "order-1", ExpectedRevision::Any(), ids)}));
  ASSERT_TRUE(retry.status.ok()) << retry.status.ToString();
  EXPECT_TRUE(retry.duplicate);
  WriteOutcome elsewhere = Append(
      **opened, Request("acme", {ToStreamWithIds("s", ExpectedRevision::Any(),
                                                 {ids[1]})}));
  EXPECT_TRUE(elsewhere.status.IsAlreadyExists())
      << elsewhere.status.ToString();
  (*opened)->Close();
  opened->reset();
  RawStore raw(dir);
  const std::string format = raw.Get(raw.db().directory(), keys::kFormatKey);
  ASSERT_EQ(format.size(), 4u);
  EXPECT_EQ(keys::GetBigEndian32(format.data()), 3u);
}

TEST_F(InspectTest, NamesAMismatchedEventIdEntry) {
  const std::string dir = Copy();
  const uint64_t p = Position("order-2", 1);
  const Uuid id = IdAt("order-2", 1);
  {
    RawStore raw(dir);
    const TenantId acme = raw.Tenant("acme");
    raw.Put(raw.db().event_ids(), keys::EventIdKey(acme, id),
            keys::EncodeEventIdEntry({raw.Stream("acme", "order-2"),
                                      StreamRevision(1), GlobalPosition(7)}));
  }
  InspectReport report = InspectOk(dir);
  EXPECT_EQ(report.problems_found, 1u) << Joined(report.problems);
  EXPECT_PROBLEM(report,
                 "tenant acme: position " + std::to_string(p) +
                     " (stream order-2 revision 1): the event_ids entry of its "
                     "id " +
                     id.ToString(),
                 "position 7");
}

TEST_F(InspectTest, NamesAStrayEventIdEntryAndAMissingOne) {
  const std::string dir = Copy();
  const Uuid stray = Uuid::NewV7();
  const Uuid lost = IdAt("cart-1", 0);
  {
    RawStore raw(dir);
    const TenantId acme = raw.Tenant("acme");
    raw.Put(raw.db().event_ids(), keys::EventIdKey(acme, stray),
            keys::EncodeEventIdEntry({raw.Stream("acme", "order-1"),
                                      StreamRevision(0),
                                      GlobalPosition(Position("order-1", 0))}));
    raw.Delete(raw.db().event_ids(), keys::EventIdKey(acme, lost));
  }
  InspectReport report = InspectOk(dir);
  EXPECT_EQ(report.problems_found, 2u) << Joined(report.problems);
  EXPECT_PROBLEM(report, "tenant acme: event id " + stray.ToString() +
                             ": entry names position " +
                             std::to_string(Position("order-1", 0)) +
                             ", the event there has id " +
                             IdAt("order-1", 0).ToString());
  EXPECT_PROBLEM(report, "tenant acme: position " +
                             std::to_string(Position("cart-1", 0)) +
                             " (stream cart-1 revision 0): event id " +
                             lost.ToString() + " has no event_ids entry");
}

TEST_F(InspectTest, NamesACheckpointAheadOfTheLog) {
  const std::string dir = Copy();
  {
    RawStore raw(dir);
    raw.PutProjectionMeta(
        keys::ProjectionCheckpointKey("dashboard", raw.Tenant("globex")),
        keys::EncodeProjectionCheckpoint(100, 2));
  }
  InspectReport report = InspectOk(dir);
  EXPECT_EQ(report.problems_found, 1u) << Joined(report.problems);
  EXPECT_PROBLEM(report,
                 "tenant globex: projection dashboard: checkpoint at position "
                 "100 is ahead of the log end 4");
}

TEST_F(InspectTest, NamesAHeadThatDisagreesWithTheIndex) {
  const std::string dir = Copy();
  {
    RawStore raw(dir);
    const TenantId acme = raw.Tenant("acme");
    const StreamId order2 = raw.Stream("acme", "order-2");
    auto head = keys::DecodeStreamHead(
        raw.Get(raw.db().heads(), keys::HeadKey(acme, order2)));
    ASSERT_TRUE(head.has_value());
    head->next_revision = 5;
    raw.Put(raw.db().heads(), keys::HeadKey(acme, order2),
            keys::EncodeStreamHead(*head));
    // And a stream loses its head altogether.
    raw.Delete(raw.db().heads(),
               keys::HeadKey(acme, raw.Stream("acme", "meta-only")));
  }
  InspectReport report = InspectOk(dir);
  EXPECT_EQ(report.problems_found, 2u) << Joined(report.problems);
  EXPECT_PROBLEM(report,
                 "tenant acme: stream order-2: head says next revision 5, the "
                 "index ends at revision 1");
  EXPECT_PROBLEM(report, "tenant acme: stream meta-only has no head");
}

// Appends write their index runs, not the head again (format 3): a head's
// tip is as of its last write, and readers, the sequencer after a restart,
// and inspect take the tip from the index.
TEST_F(InspectTest, AHeadBehindItsIndexGivesTheIndexsTip) {
  testing::TempDir dir;
  Options options;
  options.durability = Durability::kWal;
  const auto stored_head = [&] {
    RawStore raw(dir.str());
    auto head = keys::DecodeStreamHead(
        raw.Get(raw.db().heads(),
                keys::HeadKey(raw.Tenant("acme"), raw.Stream("acme", "s"))));
    EXPECT_TRUE(head.has_value());
    return head.value_or(keys::StreamHead{});
  };
  {
    auto opened = EventStore::Open(options, dir.str());
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    for (int i = 0; i < 3; ++i) {
      ASSERT_TRUE(Append(**opened, "acme", "s", 1).status.ok());
    }
  }
  EXPECT_EQ(stored_head().next_revision, 1u);  // as the first append wrote it
  InspectReport report = InspectOk(dir.str());
  EXPECT_EQ(report.problems_found, 0u) << Joined(report.problems);
  {
    auto opened = EventStore::Open(options, dir.str());
    ASSERT_TRUE(opened.has_value()) << opened.error().ToString();
    EventStore& store = **opened;
    EXPECT_EQ(ReadAll(store, "acme", "s").size(), 3u);
    auto info = store.GetStreamInfo("acme", "s");
    ASSERT_TRUE(info.has_value()) << info.error().ToString();
    EXPECT_EQ(info->last_revision, StreamRevision(2));
    EXPECT_EQ(info->last_position, GlobalPosition(2));
    auto listing = store.ListStreams("acme", "", "", 10);
    ASSERT_TRUE(listing.has_value()) << listing.error().ToString();
    ASSERT_EQ(listing->streams.size(), 1u);
    EXPECT_EQ(listing->streams[0].last_revision, StreamRevision(2));
    // The sequencer, new since the restart, knows revision 2 is the last.
    EXPECT_TRUE(Append(store, "acme", "s", 1, ExpectedRevision::Exact(1))
                    .status.IsWrongExpectedVersion());
    ASSERT_TRUE(
        Append(store, "acme", "s", 1, ExpectedRevision::Exact(2)).status.ok());
    // A delete writes the head, with the tip.
    ASSERT_TRUE(Delete(store, "acme", "s").status.ok());
  }
  keys::StreamHead deleted = stored_head();
  EXPECT_TRUE(deleted.deleted);
  EXPECT_EQ(deleted.next_revision, 4u);
  EXPECT_EQ(deleted.first_revision, 4u);
  report = InspectOk(dir.str());
  EXPECT_EQ(report.problems_found, 0u) << Joined(report.problems);

  // A deleted head behind its index would hide events appended after the
  // delete, which an append would have revived: a problem.
  deleted.next_revision = deleted.first_revision = 3;
  deleted.last_position = GlobalPosition(2);
  {
    RawStore raw(dir.str());
    raw.Put(raw.db().heads(),
            keys::HeadKey(raw.Tenant("acme"), raw.Stream("acme", "s")),
            keys::EncodeStreamHead(deleted));
  }
  report = InspectOk(dir.str());
  EXPECT_EQ(report.problems_found, 1u) << Joined(report.problems);
  EXPECT_PROBLEM(report,
                 "tenant acme: stream s: head says next revision 3, the index "
                 "ends at revision 3");
}

TEST_F(InspectTest, NamesEntriesOfAnUnknownTenant) {
  const std::string dir = Copy();
  {
    RawStore raw(dir);
    const std::string record =
        raw.Get(raw.db().events(),
                keys::EventKey(raw.Tenant("acme"), GlobalPosition(0)));
    raw.Put(raw.db().events(), keys::EventKey(TenantId(99), GlobalPosition(0)),
            record);
  }
  InspectReport report = InspectOk(dir);
  EXPECT_EQ(report.problems_found, 1u) << Joined(report.problems);
  EXPECT_PROBLEM(
      report,
      "events: entries of tenant id 99, which the directory does not "
      "name");
}

TEST_F(InspectTest, AFailingReadIsAProblemAndLeavesTheCheckUnfinished) {
  const std::string dir = Copy();
  std::string events_file;
  {
    RawStore raw(dir);
    std::vector<rocksdb::LiveFileMetaData> files;
    raw.db().db()->GetLiveFilesMetaData(&files);
    for (const auto& f : files) {
      if (f.column_family_name == keys::kEventsFamily) {
        events_file = f.db_path + "/" + f.name;
      }
    }
  }
  ASSERT_FALSE(events_file.empty()) << "the closed store flushed no events";
  {
    // The first data block starts the file: its checksum no longer holds.
    std::fstream file(events_file,
                      std::ios::in | std::ios::out | std::ios::binary);
    file.seekp(8);
    const std::string garbage(32, '\xab');
    file.write(garbage.data(), static_cast<std::streamsize>(garbage.size()));
    ASSERT_TRUE(file.good());
  }
  InspectReport report = InspectOk(dir);
  EXPECT_FALSE(report.verified);
  EXPECT_PROBLEM(report, "cannot read tenant acme's events", "Corruption");
  // What could be read is still reported.
  ASSERT_EQ(report.tenants.size(), 2u);
  EXPECT_EQ(report.tenants[0].events, 13u);
}

TEST_F(InspectTest, ListsAtMostMaxProblemsButCountsThemAll) {
  const std::string dir = Copy();
  {
    RawStore raw(dir);
    for (uint64_t p = 0; p < 10; ++p) {
      raw.Put(raw.db().events(),
              keys::EventKey(raw.Tenant("acme"), GlobalPosition(p)), "garbage");
    }
  }
  InspectReport report = InspectOk(dir, /*verify=*/true, /*max_problems=*/3);
  EXPECT_TRUE(report.verified);
  EXPECT_EQ(report.problems_found, 10u) << Joined(report.problems);
  ASSERT_EQ(report.problems.size(), 3u);
  EXPECT_EQ(report.problems[0],
            "tenant acme: position 0: record fails the FlatBuffers verifier");
  EXPECT_EQ(report.records_verified, 17u);
}

}  // namespace
}  // namespace cairn::storage
