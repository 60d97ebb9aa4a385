#include "server/request_body.h"

#include <boost/json.hpp>
#include <charconv>
#include <unordered_set>

#include "protocol/event_record.h"
#include "protocol/names.h"
#include "server/append_body_reader.h"
#include "server/json_writer.h"

namespace cairn::server {
namespace json = boost::json;
namespace {

struct UuidHash {
  size_t operator()(const Uuid& u) const noexcept { return u.hi ^ (u.lo * 31); }
};

Status Invalid(std::string msg) {
  return Status::InvalidArgument(std::move(msg));
}

// Parses with a fresh arena per request (a reused monotonic_resource breaks
// after release(); see shared/STACK.md) and a depth bound.
Result<json::value> ParseJson(std::string_view body,
                              json::monotonic_resource* arena) {
  json::parse_options opts;
  opts.max_depth = kMaxJsonDepth;
  boost::system::error_code ec;
  json::value v = json::parse(body, ec, json::storage_ptr(arena), opts);
  if (ec) return MalformedJson(ec.message());
  return v;
}

// The body, which must be a JSON object.
Result<json::value> ParseJsonObject(std::string_view body,
                                    json::monotonic_resource* arena) {
  auto parsed = ParseJson(body, arena);
  if (parsed.has_value() && !parsed->is_object()) return BodyNotAnObject();
  return parsed;
}

// A whole number from 0, absent or null.
Status ParseOptionalCount(const json::object& o, std::string_view key,
                          std::optional<uint64_t>* out) {
  const json::value* v = o.if_contains(key);
  if (v == nullptr || v->is_null()) return Status::Ok();
  if (v->is_uint64()) {
    *out = v->get_uint64();
  } else if (v->is_int64() && v->get_int64() >= 0) {
    *out = static_cast<uint64_t>(v->get_int64());
  } else {
    return Invalid(std::string(key) +
                   " must be a whole number from 0, or null");
  }
  return Status::Ok();
}

std::string_view View(const json::string& s) { return {s.data(), s.size()}; }

JsonKind KindOf(const json::value* v) {
  if (v == nullptr) return JsonKind::kAbsent;
  switch (v->kind()) {
    case json::kind::null:
      return JsonKind::kNull;
    case json::kind::bool_:
      return JsonKind::kBool;
    case json::kind::int64:
    case json::kind::uint64:
    case json::kind::double_:
      return JsonKind::kNumber;
    case json::kind::string:
      return JsonKind::kString;
    case json::kind::array:
      return JsonKind::kArray;
    case json::kind::object:
      return JsonKind::kObject;
  }
  return JsonKind::kNull;
}

Result<storage::ExpectedRevision> ParseExpectedRevision(const json::value* v) {
  if (v == nullptr) return storage::ExpectedRevision::Any();
  if (v->is_string()) return ParseExpectedRevisionText(View(v->get_string()));
  if (v->is_uint64()) return storage::ExpectedRevision::Exact(v->get_uint64());
  if (v->is_int64() && v->get_int64() >= 0) {
    return storage::ExpectedRevision::Exact(
        static_cast<uint64_t>(v->get_int64()));
  }
  return RevisionNotUnderstood();
}

Result<std::vector<std::string>> ParseStringList(const json::object& o,
                                                 std::string_view key) {
  std::vector<std::string> out;
  const json::value* v = o.if_contains(key);
  if (v == nullptr) return out;
  if (!v->is_array())
    return Invalid(std::string(key) + " must be an array of strings");
  for (const auto& e : v->get_array()) {
    if (!e.is_string())
      return Invalid(std::string(key) + " must be an array of strings");
    out.emplace_back(View(e.get_string()));
  }
  return out;
}

// A string member's kind, and its text when it is a string.
void StringField(const json::object& o, std::string_view key, JsonKind* kind,
                 std::string* text) {
  const json::value* v = o.if_contains(key);
  *kind = KindOf(v);
  if (*kind == JsonKind::kString) text->assign(View(v->get_string()));
}

// The fields of one element of "events", from the DOM.
EventFields EventFromDom(const json::value& v) {
  EventFields f;
  f.kind = KindOf(&v);
  if (!v.is_object()) return f;
  const json::object& e = v.get_object();
  StringField(e, "type", &f.type_kind, &f.type);
  StringField(e, "id", &f.id_kind, &f.id);
  if (const json::value* data = e.if_contains("data")) {
    f.data.clear();
    f.finite = AppendCompactJson(&f.data, *data);
  }
  if (const json::value* metadata = e.if_contains("metadata")) {
    f.metadata_kind = KindOf(metadata);
    f.metadata.clear();
    f.finite = AppendCompactJson(&f.metadata, *metadata) && f.finite;
  }
  return f;
}

// One stream's part of a request, from the DOM.
StreamAppendFields StreamAppendFromDom(const json::object& o) {
  StreamAppendFields f;
  f.expected = ParseExpectedRevision(o.if_contains("expectedRevision"));
  const json::value* events = o.if_contains("events");
  f.events_kind = KindOf(events);
  if (f.events_kind == JsonKind::kArray) {
    for (const auto& e : events->get_array()) {
      f.events.push_back(EventFromDom(e));
    }
  }
  return f;
}

// The rules for the events of one stream append, whichever path read
// them: validated and encoded.
Result<std::vector<storage::ProposedEvent>> BuildEvents(
    const StreamAppendFields& fields, std::string_view stream,
    std::string_view context, const BodyLimits& limits,
    std::unordered_set<Uuid, UuidHash>* seen_ids) {
  if (fields.events_kind == JsonKind::kAbsent) {
    return Invalid("events is missing");
  }
  if (fields.events_kind != JsonKind::kArray) {
    return Invalid("events must be an array");
  }
  const std::vector<EventFields>& list = fields.events;
  if (list.empty()) return Invalid("events must not be empty");

  // 413 takes precedence over 400: measure every event before judging any.
  for (size_t i = 0; i < list.size(); ++i) {
    const EventFields& e = list[i];
    if (e.kind != JsonKind::kObject) continue;
    const size_t bytes = e.type.size() + e.data.size() + e.metadata.size();
    if (bytes > limits.max_event_bytes) {
      return Status::TooLarge("event " + std::to_string(i) + " is " +
                              std::to_string(bytes) +
                              " bytes (type, data and metadata); the limit "
                              "is " +
                              std::to_string(limits.max_event_bytes));
    }
  }

  std::vector<storage::ProposedEvent> out;
  out.reserve(list.size());
  for (size_t i = 0; i < list.size(); ++i) {
    const EventFields& e = list[i];
    const auto where = [i] { return "events[" + std::to_string(i) + "]"; };
    if (e.kind != JsonKind::kObject) {
      return Invalid(where() + " must be an object");
    }
    if (e.type_kind == JsonKind::kAbsent) {
      return Invalid(where() + ".type is missing");
    }
    if (e.type_kind != JsonKind::kString) {
      return Invalid(where() + ".type must be a string");
    }
    if (Status s = ValidateEventType(e.type); !s.ok()) {
      return Invalid(where() + ": " + s.message());
    }
    if (e.metadata_kind != JsonKind::kAbsent &&
        e.metadata_kind != JsonKind::kObject) {
      return Invalid(where() + ".metadata must be an object");
    }
    // Refused rather than stored as something other than what was sent.
    if (!e.finite) {
      return Invalid(where() + " has a number beyond the range of a double");
    }
    storage::ProposedEvent ev;
    if (e.id_kind != JsonKind::kAbsent) {
      std::optional<Uuid> parsed;
      if (e.id_kind == JsonKind::kString) parsed = Uuid::Parse(e.id);
      if (!parsed) return Invalid(where() + ".id must be a UUID");
      ev.id = *parsed;
      ev.client_id = true;
    }  // else the sequencer gives it one at commit
    // An id the server makes is new: only the client's can repeat.
    if (ev.client_id && !seen_ids->insert(ev.id).second) {
      return Invalid(where() + ".id appears twice in the request");
    }
    ev.record =
        EncodeEventRecord({ev.id, stream, e.type, e.data, e.metadata, context});
    out.push_back(std::move(ev));
  }
  return out;
}

std::string ContextJson(const Caller& caller) {
  std::string c = "{\"orgId\":";
  AppendJsonString(&c, caller.tenant);
  c.append(",\"principal\":");
  AppendJsonString(&c, caller.principal);
  c.append(",\"traceId\":");
  AppendJsonString(&c, caller.trace_id);
  c.push_back('}');
  return c;
}

Result<storage::StreamAppend> BuildStreamAppend(
    const StreamAppendFields& fields, std::string_view stream,
    std::string_view context, const BodyLimits& limits,
    std::unordered_set<Uuid, UuidHash>* seen_ids) {
  storage::StreamAppend sa;
  sa.stream = std::string(stream);
  auto events = BuildEvents(fields, stream, context, limits, seen_ids);
  // A too-large event outranks a bad expectation (413 before 400).
  if (!events.has_value() && events.error().code() == Status::Code::kTooLarge) {
    return events.error();
  }
  if (!fields.expected.has_value()) return fields.expected.error();
  if (!events.has_value()) return events.error();
  sa.expected = *fields.expected;
  sa.events = std::move(*events);
  return sa;
}

Result<storage::AppendRequest> AppendRequestOf(const StreamAppendFields& fields,
                                               std::string_view stream,
                                               const Caller& caller,
                                               const BodyLimits& limits) {
  std::unordered_set<Uuid, UuidHash> seen_ids;
  auto sa =
      BuildStreamAppend(fields, stream, ContextJson(caller), limits, &seen_ids);
  if (!sa.has_value()) return sa.error();
  storage::AppendRequest req;
  req.tenant = caller.tenant;
  req.streams.push_back(std::move(*sa));
  return req;
}

}  // namespace

Result<storage::ExpectedRevision> ParseExpectedRevisionText(
    std::string_view text) {
  if (text == "any") return storage::ExpectedRevision::Any();
  if (text == "no_stream") return storage::ExpectedRevision::NoStream();
  if (text == "exists") return storage::ExpectedRevision::Exists();
  uint64_t n = 0;
  const auto [end, ec] =
      std::from_chars(text.data(), text.data() + text.size(), n);
  if (ec == std::errc() && end == text.data() + text.size() && !text.empty()) {
    return storage::ExpectedRevision::Exact(n);
  }
  return RevisionNotUnderstood();
}

Result<storage::AppendRequest> ParseAppendBody(std::string_view body,
                                               std::string_view stream,
                                               const Caller& caller,
                                               const BodyLimits& limits) {
  std::optional<Result<StreamAppendFields>> read = ReadAppendBody(body);
  if (!read) return ParseAppendBodyWithDom(body, stream, caller, limits);
  if (!read->has_value()) return read->error();
  return AppendRequestOf(**read, stream, caller, limits);
}

Result<storage::AppendRequest> ParseAppendBodyWithDom(
    std::string_view body, std::string_view stream, const Caller& caller,
    const BodyLimits& limits) {
  json::monotonic_resource arena;
  auto parsed = ParseJsonObject(body, &arena);
  if (!parsed.has_value()) return parsed.error();
  return AppendRequestOf(StreamAppendFromDom(parsed->get_object()), stream,
                         caller, limits);
}

Result<storage::AppendRequest> ParseTransactionBody(std::string_view body,
                                                    const Caller& caller,
                                                    const BodyLimits& limits) {
  json::monotonic_resource arena;
  auto parsed = ParseJsonObject(body, &arena);
  if (!parsed.has_value()) return parsed.error();
  const json::object& root = parsed->get_object();
  const json::value* appends = root.if_contains("appends");
  if (appends == nullptr) return Invalid("appends is missing");
  if (!appends->is_array()) return Invalid("appends must be an array");
  if (appends->get_array().empty()) return Invalid("appends must not be empty");

  storage::AppendRequest req;
  req.tenant = caller.tenant;
  const std::string context = ContextJson(caller);
  std::unordered_set<Uuid, UuidHash> seen_ids;
  std::unordered_set<std::string> seen_streams;
  Status first_invalid = Status::Ok();
  for (size_t i = 0; i < appends->get_array().size(); ++i) {
    const json::value& a = appends->get_array()[i];
    const std::string where = "appends[" + std::to_string(i) + "]";
    if (!a.is_object()) return Invalid(where + " must be an object");
    const json::value* stream = a.get_object().if_contains("stream");
    if (stream == nullptr || !stream->is_string()) {
      return Invalid(where + ".stream must be a string");
    }
    const std::string_view name = View(stream->get_string());
    if (Status s = ValidateStreamId(name); !s.ok()) {
      return Invalid(where + ".stream: " + s.message());
    }
    if (!seen_streams.insert(std::string(name)).second) {
      return Invalid(where + ".stream appears twice in the transaction");
    }
    auto sa = BuildStreamAppend(StreamAppendFromDom(a.get_object()), name,
                                context, limits, &seen_ids);
    if (!sa.has_value()) {
      if (sa.error().code() == Status::Code::kTooLarge) return sa.error();
      if (first_invalid.ok())
        first_invalid = Invalid(where + ": " + sa.error().message());
      continue;
    }
    req.streams.push_back(std::move(*sa));
  }
  if (!first_invalid.ok()) return first_invalid;

  if (const json::value* c = root.if_contains("condition")) {
    if (!c->is_object()) return Invalid("condition must be an object");
    const json::object& co = c->get_object();
    const json::value* match = co.if_contains("failIfEventsMatch");
    if (match == nullptr || !match->is_object()) {
      return Invalid("condition.failIfEventsMatch must be an object");
    }
    storage::AppendCondition cond;
    auto types = ParseStringList(match->get_object(), "types");
    auto categories = ParseStringList(match->get_object(), "categories");
    auto streams = ParseStringList(match->get_object(), "streams");
    if (!types.has_value()) return types.error();
    if (!categories.has_value()) return categories.error();
    if (!streams.has_value()) return streams.error();
    cond.fail_if_events_match = {std::move(*types), std::move(*categories),
                                 std::move(*streams)};
    if (const json::value* after = co.if_contains("after");
        after != nullptr && !after->is_null()) {
      if (after->is_uint64()) {
        cond.after = GlobalPosition(after->get_uint64());
      } else if (after->is_int64() && after->get_int64() >= 0) {
        cond.after = GlobalPosition(static_cast<uint64_t>(after->get_int64()));
      } else {
        return Invalid(
            "condition.after must be a position (a whole number from 0)");
      }
    }
    req.condition = std::move(cond);
  }
  return req;
}

Result<storage::StreamMetadata> ParseMetadataBody(std::string_view body) {
  json::monotonic_resource arena;
  auto parsed = ParseJsonObject(body, &arena);
  if (!parsed.has_value()) return parsed.error();
  storage::StreamMetadata m;
  const json::object& o = parsed->get_object();
  if (Status s = ParseOptionalCount(o, "maxCount", &m.max_count); !s.ok()) {
    return s;
  }
  if (Status s = ParseOptionalCount(o, "maxAgeSeconds", &m.max_age_seconds);
      !s.ok()) {
    return s;
  }
  return m;
}

}  // namespace cairn::server
