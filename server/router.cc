#include "server/router.h"

#include <boost/url/parse.hpp>

namespace cairn::server {
namespace urls = boost::urls;

std::optional<std::string_view> Route::Param(std::string_view key) const {
  for (const auto& [k, v] : query) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

std::string_view EndpointName(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kHealthz:
      return "healthz";
    case Endpoint::kReadyz:
      return "readyz";
    case Endpoint::kMetrics:
      return "metrics";
    case Endpoint::kStreamEvents:
      return "stream_events";
    case Endpoint::kStream:
      return "stream";
    case Endpoint::kStreamMetadata:
      return "stream_metadata";
    case Endpoint::kStreams:
      return "streams";
    case Endpoint::kLog:
      return "log";
    case Endpoint::kTransactions:
      return "transactions";
    case Endpoint::kReadModel:
      return "read_model";
    case Endpoint::kProjections:
      return "projections";
    case Endpoint::kRebuild:
      return "rebuild";
    case Endpoint::kOpenApi:
      return "openapi";
    case Endpoint::kBackups:
      return "backups";
  }
  return "unknown";
}

Route MatchRoute(std::string_view method, std::string_view target) {
  Route r;
  auto url = urls::parse_origin_form(target);
  if (!url) {
    r.outcome = Route::Outcome::kBadTarget;
    return r;
  }
  std::vector<std::string> seg;
  for (auto s : url->segments()) seg.emplace_back(s);
  for (auto p : url->params()) r.query.emplace_back(p.key, p.value);

  const auto is = [&](std::initializer_list<std::string_view> path) {
    if (seg.size() != path.size()) return false;
    size_t i = 0;
    for (std::string_view p : path) {
      if (p != "*" && seg[i] != p) return false;
      ++i;
    }
    return true;
  };
  // Each path with the methods it answers.
  const auto match = [&](Endpoint e,
                         std::initializer_list<std::string_view> methods) {
    r.endpoint = e;
    for (std::string_view m : methods) {
      if (m == method) {
        r.outcome = Route::Outcome::kOk;
        return;
      }
    }
    r.outcome = Route::Outcome::kMethodNotAllowed;
    for (std::string_view m : methods) {
      if (!r.allow.empty()) r.allow += ", ";
      r.allow += m;
    }
  };

  if (is({"healthz"})) {
    match(Endpoint::kHealthz, {"GET"});
  } else if (is({"metrics"})) {
    match(Endpoint::kMetrics, {"GET"});
  } else if (is({"readyz"})) {
    match(Endpoint::kReadyz, {"GET"});
  } else if (is({"v1", "streams"})) {
    match(Endpoint::kStreams, {"GET"});
  } else if (is({"v1", "streams", "*"})) {
    r.stream = seg[2];
    match(Endpoint::kStream, {"GET", "DELETE"});
  } else if (is({"v1", "streams", "*", "events"})) {
    r.stream = seg[2];
    match(Endpoint::kStreamEvents, {"GET", "POST"});
  } else if (is({"v1", "streams", "*", "metadata"})) {
    r.stream = seg[2];
    match(Endpoint::kStreamMetadata, {"PUT"});
  } else if (is({"v1", "events"})) {
    match(Endpoint::kLog, {"GET"});
  } else if (is({"v1", "openapi.json"})) {
    match(Endpoint::kOpenApi, {"GET"});
  } else if (is({"v1", "transactions"})) {
    match(Endpoint::kTransactions, {"POST"});
  } else if (is({"v1", "read-models", "*", "*"})) {
    r.projection = seg[2];
    r.key = seg[3];
    match(Endpoint::kReadModel, {"GET"});
  } else if (is({"v1", "projections"})) {
    match(Endpoint::kProjections, {"GET"});
  } else if (is({"v1", "projections", "*", "rebuild"})) {
    r.projection = seg[2];
    match(Endpoint::kRebuild, {"POST"});
  } else if (is({"v1", "admin", "backups"})) {
    match(Endpoint::kBackups, {"GET", "POST"});
  } else {
    r.outcome = Route::Outcome::kNotFound;
  }
  return r;
}

}  // namespace cairn::server
