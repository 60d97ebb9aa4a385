// Read models' storage on a real store: one family per projection, keys
// per tenant, checkpoints committed with the state, reopen and drop.

#include "storage/projection_store.h"

#include <gtest/gtest.h>
#include <rocksdb/db.h>

#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "storage/event_store.h"
#include "storage/internal/db.h"
#include "storage/internal/keys.h"
#include "tests/storage/event_store_fixture.h"
#include "tests/support/temp_dir.h"

namespace cairn::storage {
namespace {

using namespace fixture;

// One RocksDB instance of a closed store, every family open, beneath Cairn:
// to lay out what an older version wrote, or what a crash left.
class RawInstance {
 public:
  explicit RawInstance(const std::string& dir) {
    rocksdb::Options options;
    options.create_if_missing = true;
    std::vector<std::string> names;
    if (!rocksdb::DB::ListColumnFamilies(options, dir, &names).ok()) {
      names = {rocksdb::kDefaultColumnFamilyName};
    }
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& n : names) families.emplace_back(n, options);
    rocksdb::DB* raw = nullptr;
    auto s = rocksdb::DB::Open(options, dir, families, &handles_, &raw);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(raw);
  }
  ~RawInstance() {
    for (auto* h : handles_) db_->DestroyColumnFamilyHandle(h);
  }

  std::vector<std::string> Families() const {
    std::vector<std::string> names;
    for (auto* h : handles_) names.push_back(h->GetName());
    return names;
  }
  rocksdb::ColumnFamilyHandle* Family(const std::string& name,
                                      bool create = false) {
    for (auto* h : handles_) {
      if (h->GetName() == name) return h;
    }
    if (!create) return nullptr;
    rocksdb::ColumnFamilyHandle* h = nullptr;
    EXPECT_TRUE(db_->CreateColumnFamily({}, name, &h).ok());
    handles_.push_back(h);
    return h;
  }
  void Put(const std::string& family, const std::string& key,
           const std::string& value) {
    auto s = db_->Put({}, Family(family, /*create=*/true), key, value);
    ASSERT_TRUE(s.ok()) << s.ToString();
  }
  std::string Get(const std::string& family, const std::string& key) {
    std::string value;
    auto s = db_->Get({}, Family(family), key, &value);
    return s.ok() ? value : "<none>";
  }
  // The keys of a family that start with `prefix`.
  size_t Count(const std::string& family, const std::string& prefix) {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator({}, Family(family)));
    size_t n = 0;
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix);
         it->Next()) {
      ++n;
    }
    return n;
  }
  TenantId Tenant(const std::string& name) {
    const std::string v =
        Get(keys::kDirectoryFamily, keys::TenantNameKey(name));
    return TenantId(v.size() == 4 ? keys::GetBigEndian32(v.data()) : 0);
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// A key of a tenant's state in a projection's family.
std::string StateKey(TenantId tenant, std::string_view key) {
  std::string out;
  keys::PutBigEndian32(&out, tenant.value());
  out.append(key);
  return out;
}

class ProjectionStoreTest : public ::testing::Test {
 protected:
  void SetUp() override { Open(Durability::kFsync); }
  void Open(Durability durability) {
    store_.reset();
    Options options;
    options.durability = durability;
    auto store = EventStore::Open(options, dir_.str());
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
  }
  ProjectionStore& projections() { return store_->Projections(); }

  std::string Get(std::string_view tenant, std::string_view key,
                  std::string_view projection = "dashboard") {
    auto v = projections().Get(projection, tenant, key);
    EXPECT_TRUE(v.has_value()) << v.error().ToString();
    return v.has_value() && *v ? **v : "<none>";
  }

  // Keys under `prefix`, newest first, below `before`.
  std::vector<std::string> Scan(std::string_view tenant,
                                std::string_view prefix,
                                std::string_view before = "") {
    std::vector<std::string> keys;
    Status s = projections().ScanBackward(
        "dashboard", tenant, prefix, before,
        [&keys](std::string_view k, std::string_view) {
          keys.emplace_back(k);
          return true;
        });
    EXPECT_TRUE(s.ok()) << s.ToString();
    return keys;
  }

  std::string ReadModelsDir() const {
    return (std::filesystem::path(dir_.str()) / Db::kProjectionsDir).string();
  }

  testing::TempDir dir_;
  std::unique_ptr<EventStore> store_;
};

TEST_F(ProjectionStoreTest, WriteReadsItsOwnChangesAndCommitsWithCheckpoint) {
  ASSERT_TRUE(Append(*store_, "acme", "s", 3).status.ok());
  ASSERT_TRUE(projections().Open("dashboard").ok());
  auto checkpoint = projections().Checkpoint("dashboard", "acme");
  ASSERT_TRUE(checkpoint.has_value());
  EXPECT_EQ(*checkpoint, ProjectionCheckpoint{});

  auto write = projections().Begin("dashboard", "acme");
  ASSERT_TRUE(write.has_value()) << write.error().ToString();
  (*write)->Put("d/user-1", "one");
  (*write)->Put("d/user-2", "two");
  (*write)->Put("x", "other prefix");
  auto staged = (*write)->Get("d/user-1");
  ASSERT_TRUE(staged.has_value());
  EXPECT_EQ(**staged, "one");
  EXPECT_EQ(Get("acme", "d/user-1"), "<none>");  // not committed yet
  std::vector<std::string> seen;
  ASSERT_TRUE((*write)
                  ->ScanBackward("d/", "",
                                 [&seen](std::string_view k, std::string_view) {
                                   seen.emplace_back(k);
                                   return true;
                                 })
                  .ok());
  EXPECT_EQ(seen, (std::vector<std::string>{"d/user-2", "d/user-1"}));

  ASSERT_TRUE(projections().Commit(**write, {3, 1}).ok());
  EXPECT_EQ(Get("acme", "d/user-1"), "one");
  EXPECT_EQ(*projections().Checkpoint("dashboard", "acme"),
            (ProjectionCheckpoint{3, 1}));
  EXPECT_EQ(Scan("acme", "d/"),
            (std::vector<std::string>{"d/user-2", "d/user-1"}));
  EXPECT_EQ(Scan("acme", "d/", "d/user-2"),
            (std::vector<std::string>{"d/user-1"}));
}

TEST_F(ProjectionStoreTest, TenantsAndProjectionsAreSeparate) {
  ASSERT_TRUE(Append(*store_, "acme", "s", 1).status.ok());
  ASSERT_TRUE(Append(*store_, "globex", "s", 1).status.ok());
  ASSERT_TRUE(projections().Open("dashboard").ok());
  ASSERT_TRUE(projections().Open("progress-feed").ok());
  for (const char* tenant : {"acme", "globex"}) {
    auto w = projections().Begin("dashboard", tenant);
    ASSERT_TRUE(w.has_value());
    (*w)->Put("k", tenant);
    ASSERT_TRUE(projections().Commit(**w, {1, 1}).ok());
  }
  EXPECT_EQ(Get("acme", "k"), "acme");
  EXPECT_EQ(Get("globex", "k"), "globex");
  EXPECT_EQ(Get("acme", "k", "progress-feed"), "<none>");
  EXPECT_EQ(Scan("acme", ""), (std::vector<std::string>{"k"}));
  // A tenant without events has no state and cannot write.
  EXPECT_EQ(Get("initech", "k"), "<none>");
  EXPECT_FALSE(projections().Begin("dashboard", "initech").has_value());
  // An unknown projection is NotFound.
  auto unknown = projections().Get("nope", "acme", "k");
  ASSERT_FALSE(unknown.has_value());
  EXPECT_TRUE(unknown.error().IsNotFound());
}

TEST_F(ProjectionStoreTest, UncommittedWritesLeaveNothing) {
  ASSERT_TRUE(Append(*store_, "acme", "s", 1).status.ok());
  ASSERT_TRUE(projections().Open("dashboard").ok());
  {
    auto w = projections().Begin("dashboard", "acme");
    ASSERT_TRUE(w.has_value());
    (*w)->Put("k", "v");
  }
  EXPECT_EQ(Get("acme", "k"), "<none>");
  EXPECT_EQ(*projections().Checkpoint("dashboard", "acme"),
            ProjectionCheckpoint{});
}

TEST_F(ProjectionStoreTest, StateAndCheckpointSurviveReopenAndDropRemovesThem) {
  for (Durability d : {Durability::kFsync, Durability::kMemory}) {
    SCOPED_TRACE(static_cast<int>(d));
    Open(d);
    ASSERT_TRUE(Append(*store_, "acme", "s", 1).status.ok());
    ASSERT_TRUE(projections().Open("dashboard").ok());
    auto w = projections().Begin("dashboard", "acme");
    ASSERT_TRUE(w.has_value());
    (*w)->Put("k", "v");
    ASSERT_TRUE(projections().Commit(**w, {1, 2}).ok());
    Open(d);  // a clean close and a new open
    EXPECT_EQ(Get("acme", "k"), "v");
    EXPECT_EQ(*projections().Checkpoint("dashboard", "acme"),
              (ProjectionCheckpoint{1, 2}));

    ASSERT_TRUE(projections().Drop("dashboard").ok());
    EXPECT_FALSE(projections().Get("dashboard", "acme", "k").has_value());
    EXPECT_EQ(*projections().Checkpoint("dashboard", "acme"),
              ProjectionCheckpoint{});
    ASSERT_TRUE(projections().Open("dashboard").ok());
    EXPECT_EQ(Get("acme", "k"), "<none>");  // a fresh, empty family
  }
}

}  // namespace
}  // namespace cairn::storage

namespace cairn::storage {
namespace {

// Before the read models had an instance of their own, their families were
// the events' instance's and their checkpoints and aliases entries of its
// directory. The first open moves them, and the events' instance keeps
// nothing of them.
TEST_F(ProjectionStoreTest, AnOlderLayoutIsMovedIntoTheReadModelsInstance) {
  ASSERT_TRUE(Append(*store_, "acme", "s", 3).status.ok());
  store_.reset();
  {
    RawInstance events(dir_.str());
    const TenantId acme = events.Tenant("acme");
    events.Put("projection.dashboard", StateKey(acme, "user-1"), "doc");
    events.Put(keys::kDirectoryFamily,
               keys::ProjectionCheckpointKey("dashboard", acme),
               keys::EncodeProjectionCheckpoint(3, 2));
    events.Put("projection.progress-feed#1", StateKey(acme, "k"), "feed");
    events.Put(keys::kDirectoryFamily,
               keys::ProjectionAliasKey("progress-feed"), "progress-feed#1");
  }
  std::filesystem::remove_all(ReadModelsDir());  // as an older version left it
  for (int open = 0; open < 2; ++open) {         // moved once, then kept
    SCOPED_TRACE(open);
    Open(Durability::kFsync);
    EXPECT_EQ(Get("acme", "user-1"), "doc");
    EXPECT_EQ(*projections().Checkpoint("dashboard", "acme"),
              (ProjectionCheckpoint{3, 2}));
    EXPECT_EQ(Get("acme", "k", "progress-feed"), "feed");
    store_.reset();
    RawInstance events(dir_.str());
    for (const auto& name : events.Families()) {
      EXPECT_NE(name.rfind(keys::kProjectionFamilyPrefix, 0), 0u) << name;
    }
    EXPECT_EQ(events.Count(keys::kDirectoryFamily, "P"), 0u);
    EXPECT_EQ(events.Count(keys::kDirectoryFamily, "A"), 0u);
  }
}

// A move cut off after its commit point (the events' directory no longer
// names them) left families behind: they are dropped, and the read models
// already moved are left as they are.
TEST_F(ProjectionStoreTest, FamiliesLeftByAMoveAreDroppedAndNotCopiedAgain) {
  ASSERT_TRUE(Append(*store_, "acme", "s", 1).status.ok());
  ASSERT_TRUE(projections().Open("dashboard").ok());
  auto w = projections().Begin("dashboard", "acme");
  ASSERT_TRUE(w.has_value());
  (*w)->Put("user-1", "moved");
  ASSERT_TRUE(projections().Commit(**w, {1, 1}).ok());
  store_.reset();
  {
    RawInstance events(dir_.str());
    events.Put("projection.dashboard",
               StateKey(events.Tenant("acme"), "user-1"), "left behind");
  }
  Open(Durability::kFsync);
  EXPECT_EQ(Get("acme", "user-1"), "moved");
  EXPECT_EQ(*projections().Checkpoint("dashboard", "acme"),
            (ProjectionCheckpoint{1, 1}));
  store_.reset();
  RawInstance events(dir_.str());
  EXPECT_EQ(events.Family("projection.dashboard"), nullptr);
}

// Under --durability wal or memory a crash may take from the events more
// than from the read models: a tenant's state whose checkpoint is past its
// log end goes at the next open (it is rebuilt from the log), others stay.
TEST_F(ProjectionStoreTest, ReadModelsAheadOfTheLogAreDroppedAtOpen) {
  ASSERT_TRUE(Append(*store_, "acme", "s", 2).status.ok());
  ASSERT_TRUE(Append(*store_, "globex", "s", 2).status.ok());
  ASSERT_TRUE(projections().Open("dashboard").ok());
  for (const char* tenant : {"acme", "globex"}) {
    auto w = projections().Begin("dashboard", tenant);
    ASSERT_TRUE(w.has_value());
    (*w)->Put("user-1", tenant);
    ASSERT_TRUE(projections().Commit(**w, {2, 1}).ok());
  }
  store_.reset();
  TenantId acme;
  {
    RawInstance events(dir_.str());
    acme = events.Tenant("acme");
  }
  {
    RawInstance models(ReadModelsDir());
    models.Put(rocksdb::kDefaultColumnFamilyName,
               keys::ProjectionCheckpointKey("dashboard", acme),
               keys::EncodeProjectionCheckpoint(5, 1));  // the log ends at 2
  }
  Open(Durability::kFsync);
  EXPECT_EQ(*projections().Checkpoint("dashboard", "acme"),
            ProjectionCheckpoint{});
  EXPECT_EQ(Get("acme", "user-1"), "<none>");
  EXPECT_EQ(*projections().Checkpoint("dashboard", "globex"),
            (ProjectionCheckpoint{2, 1}));
  EXPECT_EQ(Get("globex", "user-1"), "globex");
}

}  // namespace
}  // namespace cairn::storage
