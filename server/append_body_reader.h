#pragma once

// The fields of an append body as sent, before Cairn's rules judge them,
// and the streaming reader that gets them without building a JSON DOM.
//
// An append body is read on the request's I/O thread, and every append,
// single or a batch of thousands, is one; so its events' data and metadata
// are written as compact JSON straight from the parser's events (Boost.JSON's
// basic_parser, the DOM parser's own tokenizer) instead of a DOM that is
// built, walked and freed. request_body.cc fills the same fields from a DOM
// for transactions and whatever this reader leaves to it, and applies the
// rules to both, so the two paths cannot judge a body differently.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"
#include "storage/event_store.h"

namespace cairn::server {

// What the rules need of a JSON value's kind.
enum class JsonKind : uint8_t {
  kAbsent,  // the member is not there
  kNull,
  kBool,
  kNumber,
  kString,
  kArray,
  kObject,
};

// One element of "events" as sent.
struct EventFields {
  JsonKind kind = JsonKind::kObject;  // of the element; the rest is for objects
  JsonKind type_kind = JsonKind::kAbsent;
  std::string type;  // unescaped, when a string
  JsonKind id_kind = JsonKind::kAbsent;
  std::string id;  // unescaped, when a string
  JsonKind metadata_kind = JsonKind::kAbsent;
  // Compact JSON, as stored: "null" and "{}" when absent.
  std::string data = "null";
  std::string metadata = "{}";
  // False when data or metadata held a number beyond a double's range.
  bool finite = true;
};

// One stream's part of a request as sent: the append body, or one element
// of a transaction's "appends".
struct StreamAppendFields {
  // Already judged: it needs nothing of the rest of the body.
  Result<storage::ExpectedRevision> expected = storage::ExpectedRevision::Any();
  JsonKind events_kind = JsonKind::kAbsent;
  std::vector<EventFields> events;  // when events_kind is kArray
};

inline constexpr size_t kMaxReaderObjectMembers = 32;

// The body of POST /v1/streams/{stream}/events, read in one pass.
// InvalidArgument for what is not JSON or not an object, with the DOM
// parser's messages. nullopt where this reader does not decide: an object
// inside data or metadata with a repeated member name (the DOM keeps the
// last value, in the first one's place) or with more than
// kMaxReaderObjectMembers members (beyond which finding repeats takes a
// hash set); the caller then parses the body with the DOM.
std::optional<Result<StreamAppendFields>> ReadAppendBody(std::string_view body);

// The errors both paths give (InvalidArgument): for a body that is not
// JSON (with the parser's reason) or not an object, and for an
// expectedRevision that is none of the four things it may be.
Status MalformedJson(std::string_view reason);
Status BodyNotAnObject();
Status RevisionNotUnderstood();

}  // namespace cairn::server
