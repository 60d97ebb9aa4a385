#include "protocol/uuid.h"

#include <gtest/gtest.h>

#include <chrono>
#include <cstdint>
#include <set>
#include <string>
#include <thread>
#include <vector>

namespace cairn {
namespace {

uint64_t NowMillis() {
  return static_cast<uint64_t>(
      std::chrono::duration_cast<std::chrono::milliseconds>(
          std::chrono::system_clock::now().time_since_epoch())
          .count());
}

TEST(UuidTest, ParseReadsBothHalvesBigEndian) {
  auto u = Uuid::Parse("01234567-89ab-cdef-0123-456789abcdef");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->hi, 0x0123456789abcdefull);
  EXPECT_EQ(u->lo, 0x0123456789abcdefull);
}

TEST(UuidTest, ParseThenFormatRoundTrips) {
  const std::string text = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
  auto u = Uuid::Parse(text);
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->ToString(), text);
}

TEST(UuidTest, FormatThenParseRoundTrips) {
  const Uuid values[] = {
      {0, 0},
      {~uint64_t{0}, ~uint64_t{0}},
      {0x0123456789abcdefull, 0xfedcba9876543210ull},
      Uuid::NewV7(),
  };
  for (const Uuid& v : values) {
    const std::string text = v.ToString();
    ASSERT_EQ(text.size(), 36u);
    auto parsed = Uuid::Parse(text);
    ASSERT_TRUE(parsed.has_value()) << text;
    EXPECT_EQ(*parsed, v) << text;
  }
}

TEST(UuidTest, ParseAcceptsUpperCaseAndFormatsLowerCase) {
  auto u = Uuid::Parse("0190A1B2-C3D4-7E5F-8A6B-7C8D9E0F1A2B");
  ASSERT_TRUE(u.has_value());
  EXPECT_EQ(u->ToString(), "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b");
}

TEST(UuidTest, FormatToWritesExactly36Characters) {
  std::string buffer(40, '#');
  const Uuid u{0x0123456789abcdefull, 0xfedcba9876543210ull};
  u.FormatTo(buffer.data());
  EXPECT_EQ(buffer, "01234567-89ab-cdef-fedc-ba9876543210####");
}

TEST(UuidTest, ParseRejectsNonCanonicalForms) {
  const char* bad[] = {
      "",
      "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2",    // 35 characters
      "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2bc",  // 37 characters
      "0190a1b2c3d47e5f8a6b7c8d9e0f1a2b",       // no dashes
      "{0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b}",
      "urn:uuid:0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b",
      "0190a1b2c-3d4-7e5f-8a6b-7c8d9e0f1a2b",  // dash moved
      "0190a1b2-c3d4-7e5f-8a6b7-c8d9e0f1a2b",  // dash moved
      "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2g",  // not hex
      "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2 ",  // trailing space
      " 190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b",  // leading space
      "0190a1b2_c3d4_7e5f_8a6b_7c8d9e0f1a2b",  // wrong separator
      "+190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b",  // sign
      "0x90a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b",  // hex prefix
      "------------------------------------",
  };
  for (const char* text : bad) {
    EXPECT_FALSE(Uuid::Parse(text).has_value()) << '"' << text << '"';
  }
}

TEST(UuidTest, ParseRejectsEmbeddedNul) {
  std::string text = "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b";
  text[5] = '\0';
  EXPECT_FALSE(Uuid::Parse(text).has_value());
}

TEST(UuidTest, NewV7HasVersionSevenAndRfcVariant) {
  for (int i = 0; i < 1000; ++i) {
    const Uuid u = Uuid::NewV7();
    EXPECT_EQ((u.hi >> 12) & 0xF, 0x7u);
    EXPECT_EQ(u.lo >> 62, 0x2u);
    const std::string text = u.ToString();
    EXPECT_EQ(text[14], '7') << text;
    EXPECT_NE(std::string("89ab").find(text[19]), std::string::npos) << text;
  }
}

TEST(UuidTest, NextInRunCountsUpWithinTheRandomBits) {
  for (int i = 0; i < 1000; ++i) {
    const Uuid u = Uuid::NewV7();
    // rand_b's top bit is clear: 2^61 ids of a run stay within rand_b.
    EXPECT_EQ((u.lo >> 61) & 1, 0u);
    const Uuid next = u.NextInRun();
    EXPECT_EQ(next.hi, u.hi);
    EXPECT_EQ(next.lo, u.lo + 1);
    EXPECT_GT(next, u);
    EXPECT_EQ(next.lo >> 62, 0x2u);  // still the RFC variant
  }
  const Uuid last_room{Uuid::NewV7().hi,
                       (uint64_t{0x2} << 62) | ((uint64_t{1} << 61) - 1)};
  EXPECT_EQ(last_room.NextInRun().lo >> 62, 0x2u);
}

TEST(UuidTest, NewV7PrefixIsCurrentUnixMillis) {
  const uint64_t before = NowMillis();
  const Uuid u = Uuid::NewV7();
  const uint64_t after = NowMillis();
  const uint64_t ms = u.hi >> 16;
  EXPECT_GE(ms, before);
  EXPECT_LE(ms, after);
}

TEST(UuidTest, NewV7MillisPrefixNeverDecreasesWithinAThread) {
  uint64_t previous = 0;
  for (int i = 0; i < 10'000; ++i) {
    const uint64_t ms = Uuid::NewV7().hi >> 16;
    EXPECT_GE(ms, previous);
    previous = ms;
  }
}

TEST(UuidTest, NewV7IsUnique) {
  std::set<Uuid> seen;
  for (int i = 0; i < 10'000; ++i) {
    EXPECT_TRUE(seen.insert(Uuid::NewV7()).second);
  }
}

TEST(UuidTest, ValueOrderIsTextOrder) {
  std::vector<Uuid> values = {
      {0, 1},
      {1, 0},
      {0x8000000000000000ull, 0},
      {0, 0x8000000000000000ull},
      {0x0190a1b2c3d47e5full, 0x8a6b7c8d9e0f1a2bull},
      {~uint64_t{0}, ~uint64_t{0}},
  };
  for (const Uuid& a : values) {
    for (const Uuid& b : values) {
      EXPECT_EQ(a < b, a.ToString() < b.ToString())
          << a.ToString() << " vs " << b.ToString();
    }
  }
}

}  // namespace
}  // namespace cairn

namespace cairn {
namespace {

// Ids made by this process only grow, from every thread, even at more than
// 4,096 a millisecond: the event id index takes them in order.
TEST(UuidTest, NewV7IsStrictlyIncreasingAcrossThreads) {
  constexpr int kThreads = 4;
  constexpr int kPerThread = 20'000;
  std::vector<std::vector<Uuid>> made(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&made, t] {
      made[t].reserve(kPerThread);
      for (int i = 0; i < kPerThread; ++i) made[t].push_back(Uuid::NewV7());
    });
  }
  for (auto& t : threads) t.join();
  std::set<Uuid> all;
  for (const auto& ids : made) {
    for (size_t i = 0; i < ids.size(); ++i) {
      if (i > 0) {
        ASSERT_LT(ids[i - 1], ids[i]);
      }
      ASSERT_EQ((ids[i].hi >> 12) & 0xF, 0x7u) << "version";
      ASSERT_EQ(ids[i].lo >> 62, 0x2u) << "variant";
      all.insert(ids[i]);
    }
  }
  EXPECT_EQ(all.size(), static_cast<size_t>(kThreads * kPerThread));
}

}  // namespace
}  // namespace cairn
