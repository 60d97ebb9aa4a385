#include "server/request_body.h"

#include <boost/json.hpp>
#include <charconv>
#include <unordered_set>

#include "protocol/event_record.h"
#include "protocol/names.h"
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
  if (ec) return Invalid("malformed JSON: " + ec.message());
  return v;
}

// The body, which must be a JSON object.
Result<json::value> ParseJsonObject(std::string_view body,
                                    json::monotonic_resource* arena) {
  auto parsed = ParseJson(body, arena);
  if (parsed.has_value() && !parsed->is_object()) {
    return Invalid("the body must be a JSON object");
  }
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

Result<storage::ExpectedRevision> ParseExpectedRevision(const json::value* v) {
  if (v == nullptr) return storage::ExpectedRevision::Any();
  if (v->is_string()) return ParseExpectedRevisionText(View(v->get_string()));
  if (v->is_uint64()) return storage::ExpectedRevision::Exact(v->get_uint64());
  if (v->is_int64() && v->get_int64() >= 0) {
    return storage::ExpectedRevision::Exact(
        static_cast<uint64_t>(v->get_int64()));
  }
  return Invalid(
      "expectedRevision must be \"any\", \"no_stream\", \"exists\" or a "
      "revision number (a whole number from 0)");
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

// The events of one stream append: validated and encoded.
Result<std::vector<storage::ProposedEvent>> ParseEvents(
    const json::value* events, std::string_view stream,
    std::string_view context, const BodyLimits& limits,
    std::unordered_set<Uuid, UuidHash>* seen_ids) {
  if (events == nullptr) return Invalid("events is missing");
  if (!events->is_array()) return Invalid("events must be an array");
  const json::array& list = events->get_array();
  if (list.empty()) return Invalid("events must not be empty");

  // Serialise data and metadata once; they are both measured and stored.
  struct Texts {
    std::string data;
    std::string metadata;
    bool finite = true;  // no number beyond a double's range in either
  };
  std::vector<Texts> texts(list.size());
  // 413 takes precedence over 400: measure every event before judging any.
  for (size_t i = 0; i < list.size(); ++i) {
    if (!list[i].is_object()) continue;
    const json::object& e = list[i].get_object();
    const json::value* data = e.if_contains("data");
    const json::value* metadata = e.if_contains("metadata");
    const json::value* type = e.if_contains("type");
    if (data != nullptr) {
      texts[i].finite = AppendCompactJson(&texts[i].data, *data);
    } else {
      texts[i].data = "null";
    }
    if (metadata != nullptr) {
      texts[i].finite =
          AppendCompactJson(&texts[i].metadata, *metadata) && texts[i].finite;
    } else {
      texts[i].metadata = "{}";
    }
    const size_t type_bytes =
        type != nullptr && type->is_string() ? type->get_string().size() : 0;
    const size_t bytes =
        type_bytes + texts[i].data.size() + texts[i].metadata.size();
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
    const std::string where = "events[" + std::to_string(i) + "]";
    if (!list[i].is_object()) return Invalid(where + " must be an object");
    const json::object& e = list[i].get_object();
    const json::value* type = e.if_contains("type");
    if (type == nullptr) return Invalid(where + ".type is missing");
    if (!type->is_string()) return Invalid(where + ".type must be a string");
    if (Status s = ValidateEventType(View(type->get_string())); !s.ok()) {
      return Invalid(where + ": " + s.message());
    }
    const json::value* metadata = e.if_contains("metadata");
    if (metadata != nullptr && !metadata->is_object()) {
      return Invalid(where + ".metadata must be an object");
    }
    // Refused rather than stored as something other than what was sent.
    if (!texts[i].finite) {
      return Invalid(where + " has a number beyond the range of a double");
    }
    storage::ProposedEvent ev;
    const json::value* id = e.if_contains("id");
    if (id != nullptr) {
      std::optional<Uuid> parsed;
      if (id->is_string()) parsed = Uuid::Parse(View(id->get_string()));
      if (!parsed) return Invalid(where + ".id must be a UUID");
      ev.id = *parsed;
      ev.client_id = true;
    } else {
      ev.id = Uuid::NewV7();
    }
    if (!seen_ids->insert(ev.id).second) {
      return Invalid(where + ".id appears twice in the request");
    }
    ev.record = EncodeEventRecord({ev.id, stream, View(type->get_string()),
                                   texts[i].data, texts[i].metadata, context});
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

Result<storage::StreamAppend> ParseStreamAppend(
    const json::object& o, std::string_view stream, std::string_view context,
    const BodyLimits& limits, std::unordered_set<Uuid, UuidHash>* seen_ids) {
  storage::StreamAppend sa;
  sa.stream = std::string(stream);
  auto expected = ParseExpectedRevision(o.if_contains("expectedRevision"));
  auto events =
      ParseEvents(o.if_contains("events"), stream, context, limits, seen_ids);
  // A too-large event outranks a bad expectation (413 before 400).
  if (!events.has_value() && events.error().code() == Status::Code::kTooLarge) {
    return events.error();
  }
  if (!expected.has_value()) return expected.error();
  if (!events.has_value()) return events.error();
  sa.expected = *expected;
  sa.events = std::move(*events);
  return sa;
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
  return Invalid(
      "expectedRevision must be \"any\", \"no_stream\", \"exists\" or a "
      "revision number (a whole number from 0)");
}

Result<storage::AppendRequest> ParseAppendBody(std::string_view body,
                                               std::string_view stream,
                                               const Caller& caller,
                                               const BodyLimits& limits) {
  json::monotonic_resource arena;
  auto parsed = ParseJsonObject(body, &arena);
  if (!parsed.has_value()) return parsed.error();
  std::unordered_set<Uuid, UuidHash> seen_ids;
  auto sa = ParseStreamAppend(parsed->get_object(), stream, ContextJson(caller),
                              limits, &seen_ids);
  if (!sa.has_value()) return sa.error();
  storage::AppendRequest req;
  req.tenant = caller.tenant;
  req.streams.push_back(std::move(*sa));
  return req;
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
    auto sa =
        ParseStreamAppend(a.get_object(), name, context, limits, &seen_ids);
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
