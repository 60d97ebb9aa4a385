#include "protocol/event_record.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <limits>
#include <random>
#include <string>

namespace cairn {
namespace {

// The stream name is 7 bytes: with its NUL it fills its 4-byte-aligned slot,
// so the record ends with meaningful bytes and every truncation cuts one.
NewEventRecord SampleEvent() {
  NewEventRecord e;
  e.id = Uuid{0x0190a1b2c3d47e5full, 0x8a6b7c8d9e0f1a2bull};
  e.stream = "order-1";
  e.type = "OrderPlaced";
  e.data = R"({"total":42})";
  e.metadata = R"({"source":"test"})";
  e.context = R"({"trace":"abc"})";
  return e;
}

TEST(EventRecordTest, EncodeThenDecodeRoundTrips) {
  const NewEventRecord in = SampleEvent();
  const std::string record = EncodeEventRecord(in);
  auto out = DecodeEventRecord(record);
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(out->format_version, kEventRecordFormatVersion);
  EXPECT_EQ(out->id, in.id);
  EXPECT_EQ(out->revision, StreamRevision(0));
  EXPECT_EQ(out->time_us, 0);
  EXPECT_EQ(out->stream, in.stream);
  EXPECT_EQ(out->type, in.type);
  EXPECT_EQ(out->data, in.data);
  EXPECT_EQ(out->metadata, in.metadata);
  EXPECT_EQ(out->context, in.context);
}

TEST(EventRecordTest, DecodedViewsPointIntoTheRecord) {
  const std::string record = EncodeEventRecord(SampleEvent());
  auto out = DecodeEventRecord(record);
  ASSERT_TRUE(out.has_value());
  const char* begin = record.data();
  const char* end = record.data() + record.size();
  EXPECT_GE(out->data.data(), begin);
  EXPECT_LE(out->data.data() + out->data.size(), end);
}

TEST(EventRecordTest, DecodedRawIsTheWholeRecord) {
  const std::string record = EncodeEventRecord(SampleEvent());
  auto out = DecodeEventRecord(record);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->raw.data(), record.data());
  EXPECT_EQ(out->raw.size(), record.size());
}

TEST(EventRecordTest, PatchSetsIdRevisionAndTimeInPlace) {
  const NewEventRecord in = SampleEvent();
  std::string record = EncodeEventRecord(in);
  const size_t size = record.size();
  const Uuid id{0x0123456789abcdefULL, 0xfedcba9876543210ULL};
  ASSERT_NE(id, in.id);
  PatchEventRecord(&record, id, StreamRevision(42), 1'700'000'000'123'456);
  EXPECT_EQ(record.size(), size);
  auto out = DecodeEventRecord(record);
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(out->revision, StreamRevision(42));
  EXPECT_EQ(out->time_us, 1'700'000'000'123'456);
  EXPECT_EQ(out->id, id);
  EXPECT_EQ(out->stream, in.stream);
  EXPECT_EQ(out->type, in.type);
  EXPECT_EQ(out->data, in.data);
  EXPECT_EQ(out->metadata, in.metadata);
  EXPECT_EQ(out->context, in.context);
}

TEST(EventRecordTest, PatchHoldsExtremeValues) {
  std::string record = EncodeEventRecord(SampleEvent());
  PatchEventRecord(&record, Uuid{UINT64_MAX, UINT64_MAX},
                   StreamRevision(std::numeric_limits<uint64_t>::max()),
                   std::numeric_limits<int64_t>::min());
  auto out = DecodeEventRecord(record);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->revision.value(), std::numeric_limits<uint64_t>::max());
  EXPECT_EQ(out->time_us, std::numeric_limits<int64_t>::min());
  EXPECT_EQ(out->id, (Uuid{UINT64_MAX, UINT64_MAX}));
}

TEST(EventRecordTest, PatchCanBeRepeated) {
  std::string record = EncodeEventRecord(SampleEvent());
  PatchEventRecord(&record, Uuid{1, 2}, StreamRevision(7), 100);
  PatchEventRecord(&record, Uuid{3, 4}, StreamRevision(8), 200);
  auto out = DecodeEventRecord(record);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->id, (Uuid{3, 4}));
  EXPECT_EQ(out->revision, StreamRevision(8));
  EXPECT_EQ(out->time_us, 200);
}

TEST(EventRecordTest, EmptyJsonTextsRoundTripAsEmpty) {
  NewEventRecord in = SampleEvent();
  in.data = "";
  in.metadata = "";
  in.context = "";
  const std::string record = EncodeEventRecord(in);
  auto out = DecodeEventRecord(record);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->data, "");
  EXPECT_EQ(out->metadata, "");
  EXPECT_EQ(out->context, "");
}

TEST(EventRecordTest, LargeDataRoundTrips) {
  NewEventRecord in = SampleEvent();
  const std::string data = "\"" + std::string(1 << 20, 'x') + "\"";
  in.data = data;
  const std::string record = EncodeEventRecord(in);
  auto out = DecodeEventRecord(record);
  ASSERT_TRUE(out.has_value());
  EXPECT_EQ(out->data, data);
}

TEST(EventRecordTest, DecodeRejectsEmptyBytes) {
  const std::string empty;
  auto out = DecodeEventRecord(empty);
  ASSERT_FALSE(out.has_value());
  EXPECT_TRUE(out.error().IsCorruption());
}

TEST(EventRecordTest, DecodeRejectsEveryTruncation) {
  const std::string record = EncodeEventRecord(SampleEvent());
  for (size_t n = 0; n < record.size(); ++n) {
    const std::string prefix = record.substr(0, n);  // a fresh aligned copy
    auto out = DecodeEventRecord(prefix);
    ASSERT_FALSE(out.has_value())
        << "truncated to " << n << " of " << record.size() << " bytes";
    EXPECT_TRUE(out.error().IsCorruption()) << out.error().ToString();
  }
}

TEST(EventRecordTest, DecodeRejectsRandomBytes) {
  std::mt19937_64 rng(20240601);
  for (int i = 0; i < 2000; ++i) {
    std::string bytes(rng() % 300, '\0');
    for (char& c : bytes) c = static_cast<char>(rng());
    auto out = DecodeEventRecord(bytes);
    ASSERT_FALSE(out.has_value()) << "random buffer " << i << " decoded";
    EXPECT_TRUE(out.error().IsCorruption());
  }
}

TEST(EventRecordTest, DecodeRejectsAnOutOfRangeRootOffset) {
  std::string record = EncodeEventRecord(SampleEvent());
  // The first four bytes are the little-endian offset of the root table.
  record[0] = '\xF0';
  record[1] = '\xFF';
  record[2] = '\xFF';
  record[3] = '\x7F';
  auto out = DecodeEventRecord(record);
  ASSERT_FALSE(out.has_value());
  EXPECT_TRUE(out.error().IsCorruption());
}

TEST(EventRecordTest, DecodeRejectsAStringLengthPastTheEnd) {
  const NewEventRecord in = SampleEvent();
  std::string record = EncodeEventRecord(in);
  // The stream string is last: its u32 length sits just before its bytes.
  const size_t at = record.rfind(std::string(in.stream));
  ASSERT_NE(at, std::string::npos);
  ASSERT_GE(at, 4u);
  record[at - 4] = '\xFF';
  record[at - 3] = '\xFF';
  auto out = DecodeEventRecord(record);
  ASSERT_FALSE(out.has_value());
  EXPECT_TRUE(out.error().IsCorruption());
}

}  // namespace
}  // namespace cairn
