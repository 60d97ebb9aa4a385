// Request bodies (server/request_body.h): the input as the body of an
// append, of a transaction and of a metadata update, and as the text of an
// expectedRevision query parameter.
//
// Each is parsed under two event size limits, and an append body both in
// one pass and through a DOM, which must agree. The small one must agree with
// the large one wherever no event is too large for it, and everything a
// parse accepts must hold up: records decode to what the body said, data
// and metadata are compact JSON, ids are unique.

#include <algorithm>
#include <boost/json.hpp>
#include <cfloat>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>

#include "protocol/event_record.h"
#include "protocol/names.h"
#include "server/json_writer.h"
#include "server/request_body.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

namespace json = boost::json;
using cairn::DecodeEventRecord;
using cairn::EventView;
using cairn::Result;
using cairn::Status;
using cairn::Uuid;
using cairn::server::BodyLimits;
using cairn::server::Caller;
using cairn::storage::AppendRequest;
using cairn::storage::ExpectedRevision;

constexpr std::string_view kStream = "learner-user-1";
const Caller kCaller{"org-1", "user-1", "4bf92f3577b34da6a3ce929d0e0e4736"};
constexpr std::string_view kContext =
    R"({"orgId":"org-1","principal":"user-1","traceId":"4bf92f3577b34da6a3ce929d0e0e4736"})";
// Small enough that seed bodies cross it.
constexpr BodyLimits kSmall{64};
constexpr BodyLimits kLarge{};

// JSON as the parsers read it: nested up to their bound.
json::value Parse(std::string_view text, boost::system::error_code& ec) {
  json::parse_options options;
  options.max_depth = cairn::server::kMaxJsonDepth;
  return json::parse(text, ec, {}, options);
}

// The same JSON, numbers compared by value whatever their kind, doubles to
// within 2 ulp (see CheckCompactJson).
bool SameJson(const json::value& a, const json::value& b) {
  if (a.is_number() && b.is_number()) {
    const double x = a.to_number<double>();
    const double y = b.to_number<double>();
    return x == y || std::fabs(x - y) <=
                         2 * DBL_EPSILON * std::max(std::fabs(x), std::fabs(y));
  }
  if (a.kind() != b.kind()) return false;
  if (a.is_array()) {
    const json::array& x = a.get_array();
    const json::array& y = b.get_array();
    if (x.size() != y.size()) return false;
    for (size_t i = 0; i < x.size(); ++i) {
      if (!SameJson(x[i], y[i])) return false;
    }
    return true;
  }
  if (a.is_object()) {
    const json::object& x = a.get_object();
    const json::object& y = b.get_object();
    if (x.size() != y.size()) return false;
    for (auto i = x.begin(), k = y.begin(); i != x.end(); ++i, ++k) {
      if (i->key() != k->key() || !SameJson(i->value(), k->value())) {
        return false;
      }
    }
    return true;
  }
  return a == b;
}

// `text` parses as JSON and is already in the compact form Cairn stores,
// but for numbers, which must only mean the same: Boost.JSON 1.81 reads
// some doubles 1 ulp off (18446744.370795514), so writing what it read
// and reading that again may move by an ulp; and a double -0.0 is written
// -0 (JavaScript reads -0), which it reads back as the integer 0.
void CheckCompactJson(std::string_view text, bool must_be_object) {
  boost::system::error_code ec;
  const json::value v = Parse(text, ec);
  FUZZ_CHECK(!ec);
  FUZZ_CHECK(!must_be_object || v.is_object());
  std::string again;
  cairn::server::AppendCompactJson(&again, v);
  if (again == text) return;
  const json::value w = Parse(again, ec);
  FUZZ_CHECK(!ec && SameJson(v, w));
}

// What ParseExpectedRevisionText must accept, written independently: the
// three words, or decimal digits whose value fits 64 bits.
bool ExpectedOracle(std::string_view text, ExpectedRevision* out) {
  if (text == "any" || text == "no_stream" || text == "exists") {
    *out = text == "any"         ? ExpectedRevision::Any()
           : text == "no_stream" ? ExpectedRevision::NoStream()
                                 : ExpectedRevision::Exists();
    return true;
  }
  if (text.empty()) return false;
  uint64_t n = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return false;
    const uint64_t digit = static_cast<uint64_t>(c - '0');
    if (n > (UINT64_MAX - digit) / 10) return false;
    n = n * 10 + digit;
  }
  *out = ExpectedRevision::Exact(n);
  return true;
}

// Everything an accepted request holds is valid.
void CheckAccepted(const AppendRequest& req, const BodyLimits& limits) {
  FUZZ_CHECK(req.tenant == kCaller.tenant);
  FUZZ_CHECK(!req.streams.empty());
  std::set<std::string> names;
  std::set<Uuid> ids;
  for (const auto& sa : req.streams) {
    FUZZ_CHECK(cairn::ValidateStreamId(sa.stream).ok());
    FUZZ_CHECK(names.insert(sa.stream).second);
    FUZZ_CHECK(!sa.events.empty());
    for (const auto& ev : sa.events) {
      // The client's ids are distinct; the sequencer gives the others.
      FUZZ_CHECK(ev.client_id ? ids.insert(ev.id).second : ev.id == Uuid{});
      // A heap copy: DecodeEventRecord wants 8-byte aligned bytes.
      const std::string record = ev.record;
      Result<EventView> view = DecodeEventRecord(record);
      FUZZ_CHECK(view.has_value());
      FUZZ_CHECK(view->format_version == cairn::kEventRecordFormatVersion);
      FUZZ_CHECK(view->id == ev.id);
      FUZZ_CHECK(view->revision.value() == 0 && view->time_us == 0);
      FUZZ_CHECK(view->stream == sa.stream);
      FUZZ_CHECK(cairn::ValidateEventType(view->type).ok());
      FUZZ_CHECK(view->type.size() + view->data.size() +
                     view->metadata.size() <=
                 limits.max_event_bytes);
      CheckCompactJson(view->data, false);
      CheckCompactJson(view->metadata, true);
      FUZZ_CHECK(view->context == kContext);
    }
  }
}

// The same body under both limits: the small limit may only turn a result
// into TooLarge; where it does not, both say the same.
void CheckLimits(const Result<AppendRequest>& small,
                 const Result<AppendRequest>& large) {
  for (const auto* r : {&small, &large}) {
    if (!r->has_value()) {
      FUZZ_CHECK(r->error().IsInvalidArgument() ||
                 r->error().code() == Status::Code::kTooLarge);
      FUZZ_CHECK(!r->error().message().empty());
    }
  }
  if (small.has_value()) CheckAccepted(*small, kSmall);
  if (large.has_value()) CheckAccepted(*large, kLarge);
  if (!small.has_value() && small.error().code() == Status::Code::kTooLarge) {
    return;
  }
  FUZZ_CHECK(large.has_value() == small.has_value());
  if (!small.has_value()) {
    FUZZ_CHECK(large.error().code() == small.error().code());
    FUZZ_CHECK(large.error().message() == small.error().message());
    return;
  }
  FUZZ_CHECK(large->streams.size() == small->streams.size());
  for (size_t i = 0; i < small->streams.size(); ++i) {
    const auto& s = small->streams[i];
    const auto& l = large->streams[i];
    FUZZ_CHECK(s.stream == l.stream && s.expected == l.expected);
    FUZZ_CHECK(s.events.size() == l.events.size());
    for (size_t k = 0; k < s.events.size(); ++k) {
      FUZZ_CHECK(s.events[k].client_id == l.events[k].client_id);
      // The server's own ids differ between two parses, and so the records.
      if (s.events[k].client_id) {
        FUZZ_CHECK(s.events[k].record == l.events[k].record);
      }
    }
  }
  FUZZ_CHECK(small->condition.has_value() == large->condition.has_value());
}

// The one-pass reader and the DOM judge every body alike: the same error,
// or the same request (the server's own ids, and so their records, differ
// between two parses; everything else in those records does not).
void CheckSamePaths(std::string_view body, const BodyLimits& limits) {
  const Result<AppendRequest> read =
      cairn::server::ParseAppendBody(body, kStream, kCaller, limits);
  const Result<AppendRequest> dom =
      cairn::server::ParseAppendBodyWithDom(body, kStream, kCaller, limits);
  FUZZ_CHECK(read.has_value() == dom.has_value());
  if (!read.has_value()) {
    FUZZ_CHECK(read.error().code() == dom.error().code());
    FUZZ_CHECK(read.error().message() == dom.error().message());
    return;
  }
  FUZZ_CHECK(read->streams.size() == 1 && dom->streams.size() == 1);
  const auto& r = read->streams[0];
  const auto& d = dom->streams[0];
  FUZZ_CHECK(r.expected == d.expected);
  FUZZ_CHECK(r.events.size() == d.events.size());
  for (size_t i = 0; i < r.events.size(); ++i) {
    FUZZ_CHECK(r.events[i].client_id == d.events[i].client_id);
    if (r.events[i].client_id) {
      FUZZ_CHECK(r.events[i].record == d.events[i].record);
      continue;
    }
    const std::string a = r.events[i].record;
    const std::string b = d.events[i].record;
    const Result<EventView> x = DecodeEventRecord(a);
    const Result<EventView> y = DecodeEventRecord(b);
    FUZZ_CHECK(x.has_value() && y.has_value());
    FUZZ_CHECK(x->type == y->type && x->data == y->data &&
               x->metadata == y->metadata && x->context == y->context);
  }
}

void CheckMetadata(std::string_view body) {
  Result<cairn::storage::StreamMetadata> m =
      cairn::server::ParseMetadataBody(body);
  if (!m.has_value()) {
    FUZZ_CHECK(m.error().IsInvalidArgument());
    return;
  }
  // Accepted: a JSON object whose counts are what it says.
  boost::system::error_code ec;
  const json::value v = Parse(body, ec);
  FUZZ_CHECK(!ec && v.is_object());
  const auto count = [&](std::string_view key) -> std::optional<uint64_t> {
    const json::value* c = v.get_object().if_contains(key);
    if (c == nullptr || c->is_null()) return std::nullopt;
    FUZZ_CHECK(c->is_uint64() || (c->is_int64() && c->get_int64() >= 0));
    return c->to_number<uint64_t>();
  };
  FUZZ_CHECK(m->max_count == count("maxCount"));
  FUZZ_CHECK(m->max_age_seconds == count("maxAgeSeconds"));
}

void CheckExpectedText(std::string_view text) {
  Result<ExpectedRevision> parsed =
      cairn::server::ParseExpectedRevisionText(text);
  ExpectedRevision want;
  const bool valid = ExpectedOracle(text, &want);
  FUZZ_CHECK(parsed.has_value() == valid);
  if (valid) {
    FUZZ_CHECK(*parsed == want);
  } else {
    FUZZ_CHECK(parsed.error().IsInvalidArgument());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view body(reinterpret_cast<const char*>(data), size);
  CheckLimits(cairn::server::ParseAppendBody(body, kStream, kCaller, kSmall),
              cairn::server::ParseAppendBody(body, kStream, kCaller, kLarge));
  CheckSamePaths(body, kSmall);
  CheckSamePaths(body, kLarge);
  CheckLimits(cairn::server::ParseTransactionBody(body, kCaller, kSmall),
              cairn::server::ParseTransactionBody(body, kCaller, kLarge));
  CheckMetadata(body);
  CheckExpectedText(body);
  return 0;
}
