// Read models' storage on a real store: one family per projection, keys
// per tenant, checkpoints committed with the state, reopen and drop.

#include "storage/projection_store.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

#include "storage/event_store.h"
#include "tests/storage/event_store_fixture.h"
#include "tests/support/temp_dir.h"

namespace cairn::storage {
namespace {

using namespace fixture;

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
    ASSERT_TRUE(projections().Commit(**w, {7, 2}).ok());
    Open(d);  // a clean close and a new open
    EXPECT_EQ(Get("acme", "k"), "v");
    EXPECT_EQ(*projections().Checkpoint("dashboard", "acme"),
              (ProjectionCheckpoint{7, 2}));

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
