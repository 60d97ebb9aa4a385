#pragma once

// The messages of `GET /v1/ws` (API.md, "Subscribing"): parsing what
// clients send and writing what the server sends. No sockets here; the
// session is server/ws_session.cc.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/event_record.h"
#include "server/subscription.h"

namespace cairn::server::ws {

// {"op":"auth","token":…} or, in dev mode, {"op":"auth","tenant":…}.
struct Auth {
  std::string tenant;  // dev mode
  std::string token;
};

// {"op":"subscribe","id":…,"stream"|"all"|"readModel":…,"from":…}. The
// spec's tenant is left empty: the connection's.
struct Subscribe {
  std::string id;
  SubscriptionSpec spec;
  // {"readModel": {"name", "key"}}: a read model's document instead of
  // events (then `spec` is unused).
  struct ReadModel {
    std::string name;
    std::string key;
  };
  std::optional<ReadModel> read_model;
};

struct Unsubscribe {
  std::string id;
};

// A message the server cannot take: answered with an error frame (with the
// subscription's id when the message had one).
struct Refused {
  std::optional<std::string> id;
  unsigned status = 400;
  std::string title;
};

using ClientMessage = std::variant<Auth, Subscribe, Unsubscribe, Refused>;

// Never throws; anything malformed is Refused with why.
ClientMessage ParseClientMessage(std::string_view text);

// Server frames, each one JSON object.
std::string AuthenticatedFrame();
std::string SubscribedFrame(std::string_view id);
std::string UnsubscribedFrame(std::string_view id);
std::string HeartbeatFrame();
// `revision` only for stream subscriptions (then possibly null).
std::string CaughtUpFrame(std::string_view id, std::optional<uint64_t> position,
                          bool stream, std::optional<uint64_t> revision);
std::string ErrorFrame(const std::optional<std::string>& id, unsigned status,
                       std::string_view title);
// {"op":"read-model","id","key","position","document"}; `document` is JSON
// text, or none for null.
std::string ReadModelFrame(std::string_view id, std::string_view key,
                           std::optional<uint64_t> position,
                           const std::optional<std::string>& document);
// {"op":"event","id":…,"event":{…}} appended to `out`.
void AppendEventFrame(std::string* out, std::string_view id,
                      GlobalPosition position, const EventView& event);

}  // namespace cairn::server::ws
