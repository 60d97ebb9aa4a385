// Projection plugins through the C ABI: the example plugin loads from its
// shared library and runs under the runner on a real store; a library of
// another ABI version, or none at all, is refused with a clear message.

#include "projections/plugin.h"

#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "projections/read_models.h"
#include "projections/runner.h"
#include "storage/event_store.h"
#include "tests/storage/event_store_fixture.h"
#include "tests/support/temp_dir.h"

namespace cairn::projections {
namespace {

TEST(PluginTest, ExamplePluginCountsEventsByType) {
  auto plugin = LoadPlugin(CAIRN_EXAMPLE_PLUGIN);
  ASSERT_TRUE(plugin.has_value()) << plugin.error().ToString();
  EXPECT_EQ((*plugin)->name(), "count-by-type");
  EXPECT_EQ((*plugin)->version(), 1u);
  EXPECT_TRUE((*plugin)->types().empty());

  testing::TempDir dir;
  auto store = storage::EventStore::Open(storage::Options{}, dir.str());
  ASSERT_TRUE(store.has_value());
  std::vector<std::unique_ptr<Projection>> projections;
  projections.push_back(std::move(*plugin));
  Runner runner(store->get(), std::move(projections));
  ASSERT_TRUE(runner.Start().ok());
  using storage::fixture::Append;
  ASSERT_TRUE(Append(**store, "acme", "s", 3, storage::ExpectedRevision::Any(),
                     "AttemptSubmitted")
                  .status.ok());
  ASSERT_TRUE(Append(**store, "acme", "s", 2, storage::ExpectedRevision::Any(),
                     "LessonCompleted")
                  .status.ok());
  ASSERT_TRUE(runner.WaitIdle(std::chrono::seconds(10)));
  auto attempts =
      ReadDocument(**store, "count-by-type", "acme", "AttemptSubmitted");
  ASSERT_TRUE(attempts.has_value());
  EXPECT_EQ(attempts->document, "3");
  EXPECT_EQ(attempts->position, 4u);
  auto lessons =
      ReadDocument(**store, "count-by-type", "acme", "LessonCompleted");
  EXPECT_EQ(lessons->document, "2");
  runner.Stop();
}

TEST(PluginTest, AnotherAbiVersionIsRefused) {
  auto plugin = LoadPlugin(CAIRN_WRONG_ABI_PLUGIN);
  ASSERT_FALSE(plugin.has_value());
  EXPECT_NE(plugin.error().message().find("built for ABI version 99"),
            std::string::npos)
      << plugin.error().message();
  EXPECT_NE(plugin.error().message().find("takes version 1"),
            std::string::npos);
}

TEST(PluginTest, NotALibraryIsRefused) {
  auto missing = LoadPlugin("/nonexistent/plugin.so");
  ASSERT_FALSE(missing.has_value());
  EXPECT_NE(missing.error().message().find("cannot load"), std::string::npos);
}

}  // namespace
}  // namespace cairn::projections
