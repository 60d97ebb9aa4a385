#include <boost/json.hpp>

#include "tools/cairnctl/source.h"

namespace cairn::cairnctl {
namespace {

namespace json = boost::json;

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += ',';
    out += PercentEncode(item);
  }
  return out;
}

class Server final : public Source {
 public:
  explicit Server(ServerClient* client) : client_(client) {}

  std::string ListStreams(const StreamListQuery& q) override {
    std::string target = "/v1/streams?limit=" + std::to_string(q.limit);
    if (!q.prefix.empty()) target += "&prefix=" + PercentEncode(q.prefix);
    if (!q.after.empty()) target += "&after=" + PercentEncode(q.after);
    return Get(target);
  }

  std::string StreamInfo(std::string_view stream) override {
    return Get("/v1/streams/" + PercentEncode(stream));
  }

  std::string ReadStream(std::string_view stream,
                         const StreamReadQuery& q) override {
    std::string target = "/v1/streams/" + PercentEncode(stream) +
                         "/events?limit=" + std::to_string(q.limit);
    if (q.from) target += "&from=" + std::to_string(*q.from);
    if (q.backward) target += "&direction=backward";
    return Get(target);
  }

  void ReadLogLines(const LogQuery& q, const LineVisitor& visit) override {
    std::string target = "/v1/events?from=" + std::to_string(q.from);
    if (q.follow) target += "&follow=true";
    if (!q.types.empty()) target += "&types=" + Join(q.types);
    if (!q.categories.empty()) target += "&category=" + Join(q.categories);
    const HttpReply reply =
        client_->ReadLines(target, [&](std::string_view line) {
          if (line != R"({"op":"heartbeat"})") visit(line);
          return true;
        });
    if (reply.status != 200) BodyOrThrow(reply);
  }

  // The log end is not an API figure of its own. "Some event at or after
  // p" holds for every p below it and none from it on (holes or not), so it
  // is found by one-event reads, doubling then bisecting: about
  // 2·log2(end) small requests.
  uint64_t LogEnd() override {
    uint64_t below = 0;  // the end is at least this
    uint64_t above = 1;  // and, once the doubling stops, less than this
    while (AnyFrom(above - 1)) {
      below = above;
      above *= 2;
    }
    while (above - below > 1) {
      const uint64_t mid = below + (above - below) / 2;
      if (AnyFrom(mid - 1)) {
        below = mid;
      } else {
        above = mid;
      }
    }
    return below;
  }

  std::string Projections() override { return Get("/v1/projections"); }

 private:
  std::string Get(const std::string& target) {
    return BodyOrThrow(client_->Request("GET", target));
  }

  bool AnyFrom(uint64_t position) {
    const json::value page =
        json::parse(Get("/v1/events?limit=1&from=" + std::to_string(position)));
    return !page.at("events").as_array().empty();
  }

  ServerClient* client_;
};

}  // namespace

std::unique_ptr<Source> ServerSource(ServerClient* client) {
  return std::make_unique<Server>(client);
}

std::string BodyOrThrow(const HttpReply& reply) {
  if (reply.status >= 200 && reply.status < 300) return reply.body;
  std::string what = "the server answered " + std::to_string(reply.status);
  boost::system::error_code ec;
  const json::value problem = json::parse(reply.body, ec);
  if (!ec && problem.is_object()) {
    const json::object& o = problem.as_object();
    for (const char* field : {"title", "detail"}) {
      if (const json::value* v = o.if_contains(field); v && v->is_string()) {
        what += ": ";
        what += v->as_string();
      }
    }
  }
  throw CommandError(kExitFailed, what);
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 0xf];
    }
  }
  return out;
}

}  // namespace cairn::cairnctl
