#include "storage/internal/crc32c.h"

#include <gtest/gtest.h>

#include <random>
#include <string>

namespace cairn::storage {
namespace {

using rocksdb::crc32c::Crc32cCombine;
using rocksdb::crc32c::Extend;

// CRC-32C a bit at a time, straight from its definition.
uint32_t Reference(const std::string& s) {
  uint32_t reg = 0xFFFFFFFF;
  for (unsigned char byte : s) {
    reg ^= byte;
    for (int bit = 0; bit < 8; ++bit) {
      reg = (reg >> 1) ^ ((reg & 1) ? 0x82F63B78 : 0);
    }
  }
  return reg ^ 0xFFFFFFFF;
}

std::string RandomBytes(std::mt19937& rng, size_t n) {
  std::string s(n, '\0');
  for (char& c : s) c = static_cast<char>(rng());
  return s;
}

TEST(Crc32cTest, GivesTheKnownValues) {
  EXPECT_TRUE(Crc32cChecks());
  EXPECT_EQ(Extend(0, "123456789", 9), 0xE3069283u);
  std::string ascending, descending;
  for (int i = 0; i < 32; ++i) {
    ascending.push_back(static_cast<char>(i));
    descending.push_back(static_cast<char>(31 - i));
  }
  EXPECT_EQ(Extend(0, std::string(32, '\0').data(), 32), 0x8A9136AAu);
  EXPECT_EQ(Extend(0, std::string(32, '\xff').data(), 32), 0x62A8AB43u);
  EXPECT_EQ(Extend(0, ascending.data(), 32), 0x46DD794Eu);
  EXPECT_EQ(Extend(0, descending.data(), 32), 0x113FDB5Cu);
  EXPECT_EQ(Extend(0, "", 0), 0u);
}

TEST(Crc32cTest, MatchesTheDefinitionAtEveryLengthAndAlignment) {
  std::mt19937 rng(7);
  const std::string bytes = RandomBytes(rng, 300);
  for (size_t offset = 0; offset < 8; ++offset) {
    for (size_t n = 0; n + offset <= bytes.size(); n += 1 + n / 16) {
      const std::string piece = bytes.substr(offset, n);
      ASSERT_EQ(Extend(0, bytes.data() + offset, n), Reference(piece))
          << "offset " << offset << ", " << n << " bytes";
      ASSERT_EQ(Crc32cByTable(bytes.data() + offset, n), Reference(piece));
    }
  }
}

TEST(Crc32cTest, ExtendAndCombineAgreeWithTheWhole) {
  std::mt19937 rng(11);
  for (int round = 0; round < 200; ++round) {
    const std::string whole = RandomBytes(rng, rng() % 5000);
    const size_t cut = whole.empty() ? 0 : rng() % (whole.size() + 1);
    const uint32_t a = Extend(0, whole.data(), cut);
    const uint32_t b = Extend(0, whole.data() + cut, whole.size() - cut);
    const uint32_t expected = Reference(whole);
    ASSERT_EQ(Extend(a, whole.data() + cut, whole.size() - cut), expected);
    ASSERT_EQ(Crc32cCombine(a, b, whole.size() - cut), expected)
        << whole.size() << " bytes cut at " << cut;
  }
}

TEST(Crc32cTest, RocksDbLinksThisOneAndNotItsOwn) {
  // RocksDB's own says "Supported on x86" or "Not supported on x86" alone.
  EXPECT_NE(rocksdb::crc32c::IsFastCrc32Supported().find("Cairn"),
            std::string::npos);
}

}  // namespace
}  // namespace cairn::storage
