#include "server/ws_protocol.h"

#include <boost/json.hpp>

#include "protocol/names.h"
#include "server/event_json.h"
#include "server/json_writer.h"

namespace cairn::server::ws {

namespace json = boost::json;

namespace {

constexpr size_t kMaxIdBytes = 128;

// The strings of a JSON array, or none when it is not one of strings.
std::optional<std::vector<std::string>> Strings(const json::value& v) {
  const json::array* a = v.if_array();
  if (a == nullptr) return std::nullopt;
  std::vector<std::string> out;
  for (const json::value& e : *a) {
    const json::string* s = e.if_string();
    if (s == nullptr || s->empty()) return std::nullopt;
    out.emplace_back(*s);
  }
  return out;
}

ClientMessage ParseSubscribe(const json::object& o, std::string id) {
  Subscribe sub;
  sub.id = std::move(id);
  const auto refuse = [&sub](unsigned status, std::string title) {
    return Refused{sub.id, status, std::move(title)};
  };
  const int kinds = static_cast<int>(o.contains("stream")) +
                    static_cast<int>(o.contains("all")) +
                    static_cast<int>(o.contains("readModel"));
  if (kinds != 1) {
    return refuse(400, "subscribe needs exactly one of stream, all, readModel");
  }
  if (const json::value* rm = o.if_contains("readModel")) {
    const json::object* m = rm->if_object();
    const json::value* name = m ? m->if_contains("name") : nullptr;
    const json::value* key = m ? m->if_contains("key") : nullptr;
    const auto text = [](const json::value* v) {
      return v != nullptr && v->is_string() && !v->get_string().empty() &&
             v->get_string().size() <= 256;
    };
    if (!text(name) || !text(key)) {
      return refuse(400, "readModel needs a name and a key (1 to 256 bytes)");
    }
    sub.read_model = Subscribe::ReadModel{std::string(name->get_string()),
                                          std::string(key->get_string())};
    return sub;
  }
  if (const json::value* stream = o.if_contains("stream")) {
    if (!stream->is_string()) return refuse(400, "stream must be a string");
    std::string name(stream->get_string());
    if (Status s = ValidateStreamId(name); !s.ok()) {
      return refuse(400, s.message());
    }
    sub.spec.stream = std::move(name);
  } else {
    const json::object* all = o.at("all").if_object();
    if (all == nullptr) return refuse(400, "all must be an object");
    for (const auto& [key, value] : *all) {
      auto list = Strings(value);
      if (!list) {
        return refuse(400, "all." + std::string(key) +
                               " must be an array of non-empty strings");
      }
      if (key == "types") {
        sub.spec.filter.types = std::move(*list);
      } else if (key == "categories") {
        sub.spec.filter.categories = std::move(*list);
      } else {
        return refuse(
            400, "all takes types and categories, not " + std::string(key));
      }
    }
  }
  if (const json::value* from = o.if_contains("from")) {
    if (from->is_string() && from->get_string() == "start") {
      sub.spec.from = SubscriptionSpec::From::kStart;
    } else if (from->is_string() && from->get_string() == "end") {
      sub.spec.from = SubscriptionSpec::From::kEnd;
    } else if (from->is_uint64() ||
               (from->is_int64() && from->get_int64() >= 0)) {
      sub.spec.from = sub.spec.stream ? SubscriptionSpec::From::kRevision
                                      : SubscriptionSpec::From::kPosition;
      sub.spec.at = from->is_uint64()
                        ? from->get_uint64()
                        : static_cast<uint64_t>(from->get_int64());
    } else {
      return refuse(400,
                    "from must be \"start\", \"end\" or a whole number from 0");
    }
  }
  return sub;
}

}  // namespace

ClientMessage ParseClientMessage(std::string_view text) {
  json::error_code ec;
  json::parse_options options;
  options.max_depth = 16;
  const json::value v = json::parse(text, ec, {}, options);
  if (ec) return Refused{std::nullopt, 400, "not JSON: " + ec.message()};
  const json::object* o = v.if_object();
  if (o == nullptr) return Refused{std::nullopt, 400, "not a JSON object"};
  const json::value* op = o->if_contains("op");
  if (op == nullptr || !op->is_string()) {
    return Refused{std::nullopt, 400, "op must be a string"};
  }
  const std::string_view name = op->get_string();
  if (name == "auth") {
    Auth auth;
    if (const json::value* t = o->if_contains("tenant")) {
      if (!t->is_string()) return Refused{std::nullopt, 400, "bad tenant"};
      auth.tenant = t->get_string();
    }
    if (const json::value* t = o->if_contains("token")) {
      if (!t->is_string()) return Refused{std::nullopt, 400, "bad token"};
      auth.token = t->get_string();
    }
    return auth;
  }
  if (name != "subscribe" && name != "unsubscribe") {
    return Refused{std::nullopt, 400, "unknown op " + std::string(name)};
  }
  const json::value* id = o->if_contains("id");
  if (id == nullptr || !id->is_string() || id->get_string().empty() ||
      id->get_string().size() > kMaxIdBytes) {
    return Refused{std::nullopt, 400, "id must be a string of 1 to 128 bytes"};
  }
  std::string sid(id->get_string());
  if (name == "unsubscribe") return Unsubscribe{std::move(sid)};
  return ParseSubscribe(*o, std::move(sid));
}

std::string AuthenticatedFrame() { return R"({"op":"authenticated"})"; }

std::string HeartbeatFrame() { return R"({"op":"heartbeat"})"; }

namespace {
std::string OpWithId(std::string_view op, std::string_view id) {
  std::string out = R"({"op":")";
  out.append(op);
  out.append(R"(","id":)");
  AppendJsonString(&out, id);
  return out;
}
}  // namespace

std::string SubscribedFrame(std::string_view id) {
  return OpWithId("subscribed", id) + "}";
}

std::string UnsubscribedFrame(std::string_view id) {
  return OpWithId("unsubscribed", id) + "}";
}

std::string CaughtUpFrame(std::string_view id, std::optional<uint64_t> position,
                          bool stream, std::optional<uint64_t> revision) {
  std::string out = OpWithId("caught-up", id);
  out.append(R"(,"position":)");
  AppendOptionalUint(&out, position);
  if (stream) {
    out.append(R"(,"revision":)");
    AppendOptionalUint(&out, revision);
  }
  out.push_back('}');
  return out;
}

std::string ErrorFrame(const std::optional<std::string>& id, unsigned status,
                       std::string_view title) {
  std::string out = R"({"op":"error")";
  if (id) {
    out.append(R"(,"id":)");
    AppendJsonString(&out, *id);
  }
  out.append(R"(,"status":)");
  AppendUint(&out, status);
  out.append(R"(,"title":)");
  AppendJsonString(&out, title);
  out.push_back('}');
  return out;
}

std::string ReadModelFrame(std::string_view id, std::string_view key,
                           std::optional<uint64_t> position,
                           const std::optional<std::string>& document) {
  std::string out = OpWithId("read-model", id);
  out.append(R"(,"key":)");
  AppendJsonString(&out, key);
  out.append(R"(,"position":)");
  AppendOptionalUint(&out, position);
  out.append(R"(,"document":)");
  out.append(document ? *document : "null");
  out.push_back('}');
  return out;
}

void AppendEventFrame(std::string* out, std::string_view id,
                      GlobalPosition position, const EventView& event) {
  out->append(R"({"op":"event","id":)");
  AppendJsonString(out, id);
  out->append(R"(,"event":)");
  AppendEventJson(out, position, event);
  out->push_back('}');
}

}  // namespace cairn::server::ws
