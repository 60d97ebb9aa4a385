#include "storage/internal/keys.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace cairn::storage::keys {
namespace {

constexpr uint64_t kMax64 = std::numeric_limits<uint64_t>::max();

// Values around every byte boundary, plus random ones.
std::vector<uint64_t> Interesting64() {
  std::vector<uint64_t> v = {0, 1, 2, 127, 128, 255, 256, 257, 65535, 65536};
  for (int shift = 8; shift < 64; shift += 8) {
    const uint64_t p = uint64_t{1} << shift;
    v.insert(v.end(), {p - 1, p, p + 1});
  }
  v.insert(v.end(), {kMax64 - 1, kMax64, uint64_t{1} << 63});
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200; ++i) v.push_back(rng() >> (rng() % 64));
  return v;
}

// Sorts the keys as RocksDB's bytewise comparator would and checks that
// this is the numeric order of the values they were made from.
void ExpectByteOrderIsNumericOrder(
    const std::vector<uint64_t>& values,
    const std::function<std::string(uint64_t)>& key) {
  std::vector<uint64_t> by_number = values;
  std::sort(by_number.begin(), by_number.end());
  std::vector<uint64_t> by_bytes = values;
  std::sort(by_bytes.begin(), by_bytes.end(), [&](uint64_t a, uint64_t b) {
    return key(a) < key(b);  // std::string compares as unsigned bytes
  });
  EXPECT_EQ(by_bytes, by_number);
}

TEST(KeysTest, BigEndian64WritesMostSignificantByteFirst) {
  std::string s;
  PutBigEndian64(&s, 0x0102030405060708ull);
  EXPECT_EQ(s, std::string("\x01\x02\x03\x04\x05\x06\x07\x08", 8));
  EXPECT_EQ(GetBigEndian64(s.data()), 0x0102030405060708ull);
}

TEST(KeysTest, BigEndian32WritesMostSignificantByteFirst) {
  std::string s;
  PutBigEndian32(&s, 0x01020304u);
  EXPECT_EQ(s, std::string("\x01\x02\x03\x04", 4));
  EXPECT_EQ(GetBigEndian32(s.data()), 0x01020304u);
}

TEST(KeysTest, BigEndianAppendsAndRoundTrips) {
  for (uint64_t v : Interesting64()) {
    std::string s = "p";
    PutBigEndian64(&s, v);
    PutBigEndian32(&s, static_cast<uint32_t>(v));
    ASSERT_EQ(s.size(), 13u);
    EXPECT_EQ(GetBigEndian64(s.data() + 1), v);
    EXPECT_EQ(GetBigEndian32(s.data() + 9), static_cast<uint32_t>(v));
  }
}

TEST(KeysTest, EventKeyByteOrderIsPositionOrder) {
  ExpectByteOrderIsNumericOrder(Interesting64(), [](uint64_t p) {
    return EventKey(TenantId(3), GlobalPosition(p));
  });
}

TEST(KeysTest, EventKeyTenantSortsBeforePosition) {
  EXPECT_LT(EventKey(TenantId(1), GlobalPosition(kMax64)),
            EventKey(TenantId(2), GlobalPosition(0)));
  EXPECT_LT(EventKey(TenantId(255), GlobalPosition(kMax64)),
            EventKey(TenantId(256), GlobalPosition(0)));
}

TEST(KeysTest, EventKeyHasFixedSizeAndDecodesPosition) {
  for (uint64_t p : Interesting64()) {
    const std::string k = EventKey(TenantId(0xFFFFFFFF), GlobalPosition(p));
    ASSERT_EQ(k.size(), kEventKeyBytes);
    EXPECT_EQ(EventKeyPosition(k), GlobalPosition(p));
    EXPECT_EQ(GetBigEndian32(k.data()), 0xFFFFFFFFu);
  }
}

TEST(KeysTest, StreamIndexKeyByteOrderIsRevisionOrder) {
  ExpectByteOrderIsNumericOrder(Interesting64(), [](uint64_t r) {
    return StreamIndexKey(TenantId(1), StreamId(9), StreamRevision(r));
  });
}

TEST(KeysTest, StreamIndexKeyGroupsByTenantThenStream) {
  EXPECT_LT(StreamIndexKey(TenantId(1), StreamId(1), StreamRevision(kMax64)),
            StreamIndexKey(TenantId(1), StreamId(2), StreamRevision(0)));
  EXPECT_LT(StreamIndexKey(TenantId(1), StreamId(kMax64), StreamRevision(5)),
            StreamIndexKey(TenantId(2), StreamId(0), StreamRevision(0)));
}

TEST(KeysTest, StreamIndexKeyHasFixedSizeAndSharesItsPrefix) {
  const std::string a =
      StreamIndexKey(TenantId(4), StreamId(77), StreamRevision(0));
  const std::string b =
      StreamIndexKey(TenantId(4), StreamId(77), StreamRevision(kMax64));
  ASSERT_EQ(a.size(), kStreamIndexKeyBytes);
  ASSERT_EQ(b.size(), kStreamIndexKeyBytes);
  EXPECT_EQ(a.substr(0, kStreamIndexPrefixBytes),
            b.substr(0, kStreamIndexPrefixBytes));
  EXPECT_EQ(a.substr(0, kStreamIndexPrefixBytes),
            HeadKey(TenantId(4), StreamId(77)));
  EXPECT_EQ(StreamIndexKeyRevision(a), StreamRevision(0));
  EXPECT_EQ(StreamIndexKeyRevision(b), StreamRevision(kMax64));
}

TEST(KeysTest, IndexRunRoundTripsAndCoversItsRevisions) {
  const std::string key =
      StreamIndexKey(TenantId(4), StreamId(77), StreamRevision(10));
  const std::string value = EncodeIndexRun(1000, 5);
  ASSERT_EQ(value.size(), kIndexRunBytes);
  EXPECT_EQ(GetBigEndian64(value.data()), 1000u);
  EXPECT_EQ(GetBigEndian32(value.data() + 8), 5u);
  const auto run = DecodeIndexRun(key, value);
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->first_revision, 10u);
  EXPECT_EQ(run->end_revision(), 15u);
  EXPECT_FALSE(run->Contains(9));
  EXPECT_TRUE(run->Contains(10));
  EXPECT_TRUE(run->Contains(14));
  EXPECT_FALSE(run->Contains(15));
  EXPECT_EQ(run->PositionOf(10), 1000u);
  EXPECT_EQ(run->PositionOf(14), 1004u);
}

TEST(KeysTest, AnIndexEntryOfFormatOneIsARunOfOne) {
  std::string value;
  PutBigEndian64(&value, 42);
  const auto run = DecodeIndexRun(
      StreamIndexKey(TenantId(1), StreamId(2), StreamRevision(3)), value);
  ASSERT_TRUE(run.has_value());
  EXPECT_EQ(run->first_revision, 3u);
  EXPECT_EQ(run->position, 42u);
  EXPECT_EQ(run->count, 1u);
}

TEST(KeysTest, MalformedIndexRunsDoNotDecode) {
  const std::string key =
      StreamIndexKey(TenantId(1), StreamId(2), StreamRevision(3));
  EXPECT_FALSE(DecodeIndexRun(key, EncodeIndexRun(42, 0)));  // no revision
  EXPECT_FALSE(DecodeIndexRun(key, std::string(11, 'x')));
  EXPECT_FALSE(DecodeIndexRun(key, std::string(13, 'x')));
  EXPECT_FALSE(DecodeIndexRun(key, ""));
  EXPECT_FALSE(DecodeIndexRun(key.substr(1), EncodeIndexRun(42, 1)));
  // Revisions or positions past 2^64.
  EXPECT_FALSE(DecodeIndexRun(
      StreamIndexKey(TenantId(1), StreamId(2), StreamRevision(kMax64)),
      EncodeIndexRun(42, 2)));
  EXPECT_FALSE(DecodeIndexRun(key, EncodeIndexRun(kMax64 - 1, 2)));
  EXPECT_TRUE(DecodeIndexRun(key, EncodeIndexRun(kMax64 - 2, 2)));
}

TEST(KeysTest, EventIdRunRoundTripsAndCoversItsIds) {
  const EventIdRun run{
      1000, 4,
      EventIdEntry{StreamId(7), StreamRevision(20), GlobalPosition(300)}};
  const std::string value = EncodeEventIdRun(run);
  ASSERT_EQ(value.size(), kEventIdRunBytes);
  const auto decoded = DecodeEventIdRun(value);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->first_lo, 1000u);
  EXPECT_EQ(decoded->count, 4u);
  EXPECT_FALSE(decoded->Contains(999));
  EXPECT_TRUE(decoded->Contains(1000));
  EXPECT_TRUE(decoded->Contains(1003));
  EXPECT_FALSE(decoded->Contains(1004));
  const EventIdEntry third = decoded->EntryOf(1002);
  EXPECT_EQ(third.stream, StreamId(7));
  EXPECT_EQ(third.revision, StreamRevision(22));
  EXPECT_EQ(third.position, GlobalPosition(302));
  EXPECT_EQ(EventIdRunKey(TenantId(3), 0x0102030405060708ull).size(),
            kEventIdRunKeyBytes);
  EXPECT_EQ(EventIdRunKey(TenantId(3), 0x0102030405060708ull),
            EventIdKey(TenantId(3), Uuid{0x0102030405060708ull, 0})
                .substr(0, kEventIdRunKeyBytes));
}

TEST(KeysTest, MalformedEventIdRunsDoNotDecode) {
  const EventIdEntry at{StreamId(7), StreamRevision(20), GlobalPosition(300)};
  EXPECT_FALSE(DecodeEventIdRun(EncodeEventIdRun({1000, 1, at})));  // one id
  EXPECT_FALSE(DecodeEventIdRun(EncodeEventIdRun({1000, 0, at})));
  EXPECT_FALSE(DecodeEventIdRun(EncodeEventIdRun({kMax64 - 1, 2, at})));
  EXPECT_FALSE(DecodeEventIdRun(EncodeEventIdRun(
      {1000, 2, {StreamId(7), StreamRevision(kMax64), GlobalPosition(0)}})));
  EXPECT_FALSE(DecodeEventIdRun(EncodeEventIdRun(
      {1000, 2, {StreamId(7), StreamRevision(0), GlobalPosition(kMax64)}})));
  EXPECT_FALSE(DecodeEventIdRun(std::string(35, 'x')));
  EXPECT_FALSE(DecodeEventIdRun(EncodeEventIdEntry(at)));  // 24 bytes
  EXPECT_TRUE(DecodeEventIdRun(EncodeEventIdRun({kMax64 - 2, 2, at})));
}

TEST(KeysTest, EventIdLogRunRoundTripsAndPlacesItsIds) {
  const EventIdLogRun run{1000, 4, GlobalPosition(300)};
  const std::string value = EncodeEventIdLogRun(run);
  ASSERT_EQ(value.size(), kEventIdLogRunBytes);
  // Told apart from format 2's runs and from one id's entry by its size.
  EXPECT_FALSE(DecodeEventIdRun(value));
  const auto decoded = DecodeEventIdLogRun(value);
  ASSERT_TRUE(decoded.has_value());
  EXPECT_EQ(decoded->first_lo, 1000u);
  EXPECT_EQ(decoded->count, 4u);
  EXPECT_FALSE(decoded->Contains(999));
  EXPECT_TRUE(decoded->Contains(1003));
  EXPECT_FALSE(decoded->Contains(1004));
  EXPECT_EQ(decoded->PositionOf(1002), GlobalPosition(302));
  // A run of one id is a run.
  EXPECT_TRUE(DecodeEventIdLogRun(EncodeEventIdLogRun({5, 1, {}})));
}

TEST(KeysTest, MalformedEventIdLogRunsDoNotDecode) {
  EXPECT_FALSE(DecodeEventIdLogRun(EncodeEventIdLogRun({1000, 0, {}})));
  EXPECT_FALSE(DecodeEventIdLogRun(EncodeEventIdLogRun({kMax64 - 1, 2, {}})));
  EXPECT_FALSE(DecodeEventIdLogRun(
      EncodeEventIdLogRun({1000, 2, GlobalPosition(kMax64 - 1)})));
  EXPECT_TRUE(DecodeEventIdLogRun(
      EncodeEventIdLogRun({kMax64 - 2, 2, GlobalPosition(kMax64 - 2)})));
  EXPECT_FALSE(DecodeEventIdLogRun(std::string(19, 'x')));
  EXPECT_FALSE(DecodeEventIdLogRun(std::string(36, 'x')));
}

TEST(KeysTest, DirectoryKeysHaveTheirDocumentedLayout) {
  EXPECT_EQ(TenantNameKey("acme"), "Tacme");
  EXPECT_EQ(LogEndKey(TenantId(0x01020304)), std::string("L\x01\x02\x03\x04"));
  const std::string s = StreamNameKey(TenantId(0x01020304), "order-1");
  EXPECT_EQ(s, std::string("S\x01\x02\x03\x04order-1"));
  EXPECT_EQ(s.size(), kStreamNameKeyPrefixBytes + 7);
  EXPECT_EQ(StreamNameKey(TenantId(1), "").size(), kStreamNameKeyPrefixBytes);
}

TEST(KeysTest, StreamNameKeysOfATenantShareAPrefix) {
  const std::string prefix = StreamNameKey(TenantId(1), "order-");
  EXPECT_TRUE(StreamNameKey(TenantId(1), "order-1").starts_with(prefix));
  EXPECT_FALSE(StreamNameKey(TenantId(2), "order-1").starts_with(prefix));
  EXPECT_LT(StreamNameKey(TenantId(1), "zzz"), StreamNameKey(TenantId(2), ""));
}

TEST(KeysTest, HeadAndEventIdKeysHaveFixedSizes) {
  EXPECT_EQ(HeadKey(TenantId(1), StreamId(2)).size(), 12u);
  EXPECT_EQ(EventIdKey(TenantId(1), Uuid{3, 4}).size(), 20u);
}

TEST(KeysTest, EventIdKeyByteOrderIsUuidOrder) {
  std::vector<Uuid> ids = {{0, 1}, {1, 0}, {kMax64, 0}, {0, kMax64}};
  for (int i = 0; i < 100; ++i) ids.push_back(Uuid::NewV7());
  std::vector<Uuid> by_value = ids;
  std::sort(by_value.begin(), by_value.end());
  std::vector<Uuid> by_bytes = ids;
  std::sort(by_bytes.begin(), by_bytes.end(), [](const Uuid& a, const Uuid& b) {
    return EventIdKey(TenantId(1), a) < EventIdKey(TenantId(1), b);
  });
  EXPECT_EQ(by_bytes, by_value);
}

TEST(KeysTest, EventIdEntryRoundTrips) {
  const EventIdEntry e{StreamId(kMax64), StreamRevision(12345),
                       GlobalPosition(1ull << 40)};
  const std::string v = EncodeEventIdEntry(e);
  EXPECT_EQ(v.size(), 24u);
  auto d = DecodeEventIdEntry(v);
  ASSERT_TRUE(d.has_value());
  EXPECT_EQ(d->stream, e.stream);
  EXPECT_EQ(d->revision, e.revision);
  EXPECT_EQ(d->position, e.position);
}

TEST(KeysTest, EventIdEntryDecodeRejectsWrongSizes) {
  const std::string v =
      EncodeEventIdEntry({StreamId(1), StreamRevision(2), GlobalPosition(3)});
  EXPECT_FALSE(DecodeEventIdEntry("").has_value());
  EXPECT_FALSE(DecodeEventIdEntry(v.substr(0, 23)).has_value());
  EXPECT_FALSE(DecodeEventIdEntry(v + '\0').has_value());
}

StreamHead FullHead() {
  StreamHead h;
  h.first_revision = 3;
  h.next_revision = 10;
  h.last_position = GlobalPosition(1ull << 33);
  h.created_us = 1'700'000'000'000'000;
  h.deleted = true;
  h.tombstoned = true;
  h.metadata.max_count = 100;
  h.metadata.max_age_seconds = 3600;
  return h;
}

void ExpectSameHead(const StreamHead& a, const StreamHead& b) {
  EXPECT_EQ(a.first_revision, b.first_revision);
  EXPECT_EQ(a.next_revision, b.next_revision);
  EXPECT_EQ(a.last_position, b.last_position);
  EXPECT_EQ(a.created_us, b.created_us);
  EXPECT_EQ(a.deleted, b.deleted);
  EXPECT_EQ(a.tombstoned, b.tombstoned);
  EXPECT_EQ(a.metadata, b.metadata);
}

TEST(KeysTest, StreamHeadRoundTripsEveryField) {
  const StreamHead h = FullHead();
  const std::string v = EncodeStreamHead(h);
  EXPECT_EQ(v.size(), 50u);  // storage/FORMAT.md
  auto d = DecodeStreamHead(v);
  ASSERT_TRUE(d.has_value());
  ExpectSameHead(*d, h);
}

TEST(KeysTest, StreamHeadRoundTripsDefaults) {
  const StreamHead h;
  auto d = DecodeStreamHead(EncodeStreamHead(h));
  ASSERT_TRUE(d.has_value());
  ExpectSameHead(*d, h);
  EXPECT_FALSE(d->metadata.max_count.has_value());
  EXPECT_FALSE(d->metadata.max_age_seconds.has_value());
}

TEST(KeysTest, StreamHeadRoundTripsEachFlagAlone) {
  for (int mask = 0; mask < 16; ++mask) {
    StreamHead h;
    h.next_revision = 1;
    h.deleted = mask & 1;
    h.tombstoned = mask & 2;
    if (mask & 4) h.metadata.max_count = 5;
    if (mask & 8) h.metadata.max_age_seconds = 60;
    auto d = DecodeStreamHead(EncodeStreamHead(h));
    ASSERT_TRUE(d.has_value()) << "mask " << mask;
    ExpectSameHead(*d, h);
  }
}

TEST(KeysTest, StreamHeadKeepsZeroMetadataDistinctFromAbsent) {
  StreamHead h;
  h.metadata.max_count = 0;
  h.metadata.max_age_seconds = 0;
  auto d = DecodeStreamHead(EncodeStreamHead(h));
  ASSERT_TRUE(d.has_value());
  ASSERT_TRUE(d->metadata.max_count.has_value());
  EXPECT_EQ(*d->metadata.max_count, 0u);
  ASSERT_TRUE(d->metadata.max_age_seconds.has_value());
  EXPECT_EQ(*d->metadata.max_age_seconds, 0u);
}

TEST(KeysTest, StreamHeadRoundTripsExtremeValues) {
  StreamHead h;
  h.first_revision = kMax64;
  h.next_revision = kMax64;
  h.last_position = GlobalPosition(kMax64);
  h.created_us = std::numeric_limits<int64_t>::min();
  h.metadata.max_count = kMax64;
  h.metadata.max_age_seconds = kMax64;
  auto d = DecodeStreamHead(EncodeStreamHead(h));
  ASSERT_TRUE(d.has_value());
  ExpectSameHead(*d, h);
}

TEST(KeysTest, StreamHeadDecodeRejectsWrongSizes) {
  const std::string v = EncodeStreamHead(FullHead());
  EXPECT_FALSE(DecodeStreamHead("").has_value());
  EXPECT_FALSE(DecodeStreamHead(v.substr(0, 1)).has_value());
  EXPECT_FALSE(DecodeStreamHead(v.substr(0, v.size() - 1)).has_value());
  EXPECT_FALSE(DecodeStreamHead(v + '\0').has_value());
}

TEST(KeysTest, StreamHeadDecodeRejectsUnknownVersion) {
  std::string v = EncodeStreamHead(FullHead());
  v[0] = 2;
  EXPECT_FALSE(DecodeStreamHead(v).has_value());
  v[0] = 0;
  EXPECT_FALSE(DecodeStreamHead(v).has_value());
}

TEST(KeysTest, StreamHeadDecodeRejectsFirstRevisionPastNext) {
  StreamHead h;
  h.first_revision = 5;
  h.next_revision = 4;
  EXPECT_FALSE(DecodeStreamHead(EncodeStreamHead(h)).has_value());
}

TEST(KeysTest, VisibleLastRevisionHidesDeletedAndEmptyStreams) {
  StreamHead h;
  EXPECT_FALSE(h.has_events());
  EXPECT_EQ(h.visible_last_revision(), std::nullopt);
  h.next_revision = 3;
  EXPECT_TRUE(h.has_events());
  EXPECT_EQ(h.visible_last_revision(), 2u);
  h.deleted = true;
  EXPECT_EQ(h.visible_last_revision(), std::nullopt);
  // After a soft delete, first_revision catches up with next_revision.
  h.deleted = false;
  h.first_revision = 3;
  EXPECT_EQ(h.visible_last_revision(), std::nullopt);
  h.next_revision = 4;
  EXPECT_EQ(h.visible_last_revision(), 3u);
}

}  // namespace
}  // namespace cairn::storage::keys
