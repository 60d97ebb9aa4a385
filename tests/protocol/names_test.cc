#include "protocol/names.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

namespace cairn {
namespace {

TEST(NamesTest, StreamIdRejectsEmpty) {
  EXPECT_TRUE(ValidateStreamId("").IsInvalidArgument());
}

TEST(NamesTest, StreamIdAcceptsOrdinaryNames) {
  for (const char* name :
       {"order-123", "a", "user_42", "Ünïcødé-stream", "emoji-\xF0\x9F\x98\x80",
        "with space", "$all-like", "slash/and:colon"}) {
    EXPECT_TRUE(ValidateStreamId(name).ok()) << name;
  }
}

TEST(NamesTest, StreamIdAccepts256Bytes) {
  EXPECT_TRUE(ValidateStreamId(std::string(256, 'x')).ok());
}

TEST(NamesTest, StreamIdAccepts256BytesOfMultibyteCharacters) {
  std::string name;
  for (int i = 0; i < 128; ++i) name += "\xC3\xA9";  // é
  ASSERT_EQ(name.size(), 256u);
  EXPECT_TRUE(ValidateStreamId(name).ok());
}

TEST(NamesTest, StreamIdRejects257Bytes) {
  EXPECT_TRUE(ValidateStreamId(std::string(257, 'x')).IsInvalidArgument());
}

TEST(NamesTest, StreamIdLimitCountsBytesNotCharacters) {
  std::string name;
  for (int i = 0; i < 128; ++i) name += "\xC3\xA9";
  name += "x";  // 129 characters, 257 bytes
  EXPECT_TRUE(ValidateStreamId(name).IsInvalidArgument());
}

TEST(NamesTest, StreamIdRejectsC0ControlCharacters) {
  for (char c = 0; c < 0x20; ++c) {
    const std::string name = std::string("order-") + c + "1";
    EXPECT_TRUE(ValidateStreamId(name).IsInvalidArgument())
        << "control 0x" << std::hex << static_cast<int>(c);
  }
}

TEST(NamesTest, StreamIdRejectsEmbeddedNul) {
  EXPECT_TRUE(
      ValidateStreamId(std::string("order\0-1", 8)).IsInvalidArgument());
}

TEST(NamesTest, StreamIdRejectsDelete) {
  EXPECT_TRUE(ValidateStreamId("order\x7f").IsInvalidArgument());
}

TEST(NamesTest, StreamIdRejectsC1ControlCharacters) {
  EXPECT_TRUE(ValidateStreamId("order\xC2\x85").IsInvalidArgument());  // NEL
  EXPECT_TRUE(ValidateStreamId("order\xC2\x80").IsInvalidArgument());  // PAD
  EXPECT_TRUE(ValidateStreamId("order\xC2\x9F").IsInvalidArgument());  // APC
}

TEST(NamesTest, StreamIdAcceptsCharactersJustPastC1) {
  EXPECT_TRUE(ValidateStreamId("order\xC2\xA0").ok());  // U+00A0
  EXPECT_TRUE(ValidateStreamId("order~").ok());         // U+007E
}

TEST(NamesTest, StreamIdRejectsInvalidUtf8) {
  const char* bad[] = {
      "\x80",                  // lone continuation byte
      "order-\xC3",            // truncated two-byte sequence
      "order-\xE2\x82",        // truncated three-byte sequence
      "\xC3\x28",              // bad continuation
      "\xC0\xAF",              // overlong '/'
      "\xC1\xBF",              // overlong U+007F
      "\xE0\x80\xAF",          // overlong three-byte '/'
      "\xE0\x9F\xBF",          // overlong U+07FF
      "\xF0\x80\x80\xAF",      // overlong four-byte '/'
      "\xF0\x8F\xBF\xBF",      // overlong U+FFFF
      "\xED\xA0\x80",          // surrogate U+D800
      "\xED\xBF\xBF",          // surrogate U+DFFF
      "\xF4\x90\x80\x80",      // U+110000
      "\xF5\x80\x80\x80",      // lead byte past U+10FFFF
      "\xF8\x88\x80\x80\x80",  // five-byte form
      "\xFE",
      "\xFF",
  };
  for (const char* name : bad) {
    EXPECT_TRUE(ValidateStreamId(name).IsInvalidArgument())
        << ::testing::PrintToString(std::string(name));
    EXPECT_FALSE(IsValidUtf8(name))
        << ::testing::PrintToString(std::string(name));
  }
}

TEST(NamesTest, IsValidUtf8AcceptsBoundaryCodePoints) {
  for (const char* text : {
           "",
           "\x7F",              // U+007F (valid UTF-8, though a control)
           "\xC2\x80",          // U+0080
           "\xDF\xBF",          // U+07FF
           "\xE0\xA0\x80",      // U+0800
           "\xED\x9F\xBF",      // U+D7FF, just below the surrogates
           "\xEE\x80\x80",      // U+E000, just above them
           "\xEF\xBF\xBF",      // U+FFFF
           "\xF0\x90\x80\x80",  // U+10000
           "\xF4\x8F\xBF\xBF",  // U+10FFFF
       }) {
    EXPECT_TRUE(IsValidUtf8(text))
        << ::testing::PrintToString(std::string(text));
  }
}

TEST(NamesTest, TenantFollowsStreamIdRules) {
  EXPECT_TRUE(ValidateTenant("acme").ok());
  EXPECT_TRUE(ValidateTenant(std::string(256, 't')).ok());
  EXPECT_TRUE(ValidateTenant("").IsInvalidArgument());
  EXPECT_TRUE(ValidateTenant(std::string(257, 't')).IsInvalidArgument());
  EXPECT_TRUE(ValidateTenant("ac\nme").IsInvalidArgument());
  EXPECT_TRUE(ValidateTenant("acme\xC2\x85").IsInvalidArgument());
  EXPECT_TRUE(ValidateTenant("acme\xED\xA0\x80").IsInvalidArgument());
}

TEST(NamesTest, EventTypeAcceptsPrintableAscii) {
  std::string all;
  for (char c = 0x20; c <= 0x7E; ++c) all += c;
  EXPECT_TRUE(ValidateEventType(all).ok());
  EXPECT_TRUE(ValidateEventType(std::string(256, 'T')).ok());
}

TEST(NamesTest, EventTypeRejectsEmptyAndTooLong) {
  EXPECT_TRUE(ValidateEventType("").IsInvalidArgument());
  EXPECT_TRUE(ValidateEventType(std::string(257, 'T')).IsInvalidArgument());
}

TEST(NamesTest, EventTypeRejectsControlsAndNonAscii) {
  EXPECT_TRUE(ValidateEventType("Order\tPlaced").IsInvalidArgument());
  EXPECT_TRUE(ValidateEventType("Order\x7f").IsInvalidArgument());
  EXPECT_TRUE(ValidateEventType("Bestellung\xC3\xA9").IsInvalidArgument());
  EXPECT_TRUE(
      ValidateEventType(std::string("Order\0Placed", 12)).IsInvalidArgument());
}

TEST(NamesTest, CategoryIsThePartBeforeTheFirstDash) {
  EXPECT_EQ(CategoryOf("order-123"), "order");
  EXPECT_EQ(CategoryOf("order-123-abc"), "order");
  EXPECT_EQ(CategoryOf("order"), "order");
  EXPECT_EQ(CategoryOf("order-"), "order");
  EXPECT_EQ(CategoryOf("-123"), "");
  EXPECT_EQ(CategoryOf(""), "");
  EXPECT_EQ(CategoryOf("order_123"), "order_123");
}

}  // namespace
}  // namespace cairn
