#pragma once

// Helpers for tests of storage/event_store.h: build events, run a write and
// wait for its callback, and take pages apart.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "protocol/event_record.h"
#include "protocol/uuid.h"
#include "storage/event_store.h"
#include "tests/support/temp_dir.h"

namespace cairn::storage::fixture {

// How long a test waits for one write before it gives up and fails.
inline constexpr std::chrono::seconds kWriteTimeout{30};

// An event as the server builds it: without an id, which the sequencer
// gives it at commit.
inline ProposedEvent NewEvent(std::string_view stream,
                              std::string_view type = "Happened") {
  ProposedEvent e;
  e.client_id = false;
  e.record = EncodeEventRecord({e.id, stream, type, "{}", "{}", "{}"});
  return e;
}

// An event whose id the client chose, so that a retry is recognised.
inline ProposedEvent ClientEvent(std::string_view stream, const Uuid& id,
                                 std::string_view type = "Happened") {
  ProposedEvent e;
  e.id = id;
  e.client_id = true;
  e.record = EncodeEventRecord({id, stream, type, "{}", "{}", "{}"});
  return e;
}

inline StreamAppend ToStream(const std::string& stream,
                             ExpectedRevision expected, int count,
                             std::string_view type = "Happened") {
  StreamAppend sa;
  sa.stream = stream;
  sa.expected = expected;
  for (int i = 0; i < count; ++i) {
    sa.events.push_back(NewEvent(stream, type));
  }
  return sa;
}

inline StreamAppend ToStreamWithIds(const std::string& stream,
                                    ExpectedRevision expected,
                                    const std::vector<Uuid>& ids) {
  StreamAppend sa;
  sa.stream = stream;
  sa.expected = expected;
  for (const Uuid& id : ids) sa.events.push_back(ClientEvent(stream, id));
  return sa;
}

inline AppendRequest Request(const std::string& tenant,
                             std::vector<StreamAppend> streams) {
  AppendRequest req;
  req.tenant = tenant;
  req.streams = std::move(streams);
  return req;
}

// Calls submit with a callback and waits (bounded) for the outcome.
inline WriteOutcome Await(const std::function<void(WriteCallback)>& submit) {
  auto promise = std::make_shared<std::promise<WriteOutcome>>();
  auto future = promise->get_future();
  submit([promise](WriteOutcome out) { promise->set_value(std::move(out)); });
  if (future.wait_for(kWriteTimeout) != std::future_status::ready) {
    ADD_FAILURE() << "a write was not answered within " << kWriteTimeout.count()
                  << " s";
    WriteOutcome out;
    out.status = Status::Internal("test timed out waiting for the write");
    return out;
  }
  return future.get();
}

inline WriteOutcome Append(EventStore& store, AppendRequest req) {
  return Await([&](WriteCallback done) {
    store.Append(std::move(req), std::move(done));
  });
}

// Appends `count` events with server ids to one stream.
inline WriteOutcome Append(EventStore& store, const std::string& tenant,
                           const std::string& stream, int count,
                           ExpectedRevision expected = ExpectedRevision::Any(),
                           std::string_view type = "Happened") {
  return Append(store,
                Request(tenant, {ToStream(stream, expected, count, type)}));
}

inline WriteOutcome Delete(
    EventStore& store, const std::string& tenant, const std::string& stream,
    bool tombstone = false,
    ExpectedRevision expected = ExpectedRevision::Any()) {
  DeleteRequest req{tenant, stream, expected, tombstone};
  return Await([&](WriteCallback done) {
    store.Delete(std::move(req), std::move(done));
  });
}

inline WriteOutcome SetMetadata(EventStore& store, const std::string& tenant,
                                const std::string& stream,
                                StreamMetadata metadata) {
  MetadataRequest req{tenant, stream, metadata};
  return Await([&](WriteCallback done) {
    store.SetMetadata(std::move(req), std::move(done));
  });
}

inline std::vector<uint64_t> Positions(const std::vector<StoredEvent>& events) {
  std::vector<uint64_t> out;
  for (const auto& e : events) out.push_back(e.position.value());
  return out;
}

// The revisions recorded in the events; ~0 for a record that fails to
// decode (which the test then reports as a mismatch).
inline std::vector<uint64_t> Revisions(const std::vector<StoredEvent>& events) {
  std::vector<uint64_t> out;
  for (const auto& e : events) {
    auto v = DecodeEventRecord(e.record);
    EXPECT_TRUE(v.has_value());
    out.push_back(v.has_value() ? v->revision.value() : ~uint64_t{0});
  }
  return out;
}

inline std::vector<Uuid> Ids(const std::vector<StoredEvent>& events) {
  std::vector<Uuid> out;
  for (const auto& e : events) {
    auto v = DecodeEventRecord(e.record);
    EXPECT_TRUE(v.has_value());
    out.push_back(v.has_value() ? v->id : Uuid{});
  }
  return out;
}

inline std::vector<std::string> StreamsOf(
    const std::vector<StoredEvent>& events) {
  std::vector<std::string> out;
  for (const auto& e : events) {
    auto v = DecodeEventRecord(e.record);
    EXPECT_TRUE(v.has_value());
    out.emplace_back(v.has_value() ? v->stream : "<corrupt>");
  }
  return out;
}

// [begin, end)
inline std::vector<uint64_t> Range(uint64_t begin, uint64_t end) {
  std::vector<uint64_t> out;
  for (uint64_t i = begin; i < end; ++i) out.push_back(i);
  return out;
}

inline std::vector<uint64_t> Reversed(std::vector<uint64_t> v) {
  return {v.rbegin(), v.rend()};
}

// A fresh store in a fresh directory for every test.
class EventStoreFixture : public ::testing::Test {
 protected:
  void SetUp() override { OpenStore(Durability::kWal); }

  void OpenStore(Durability durability) {
    Options options;
    options.durability = durability;
    OpenStore(options);
  }

  void OpenStore(Options options) {
    options.block_cache_bytes = size_t{8} << 20;
    auto store = EventStore::Open(options, dir_.str());
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
  }

  EventStore& store() { return *store_; }

  cairn::testing::TempDir dir_;
  std::unique_ptr<EventStore> store_;  // closed before dir_ is removed
};

}  // namespace cairn::storage::fixture
