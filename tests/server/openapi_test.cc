// docs/openapi.json (server/openapi.h) against the routes the server really
// has (server/router.h): every path and method it describes is a route,
// every method a path answers is described, and every Endpoint is reached
// by some operation. /v1/ws is the one path it describes that is not a
// route (the WebSocket upgrade is taken before routing).

#include "server/openapi.h"

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <cctype>
#include <fstream>
#include <iterator>
#include <set>
#include <sstream>
#include <string>
#include <string_view>

#include "server/auth/authorizer.h"
#include "server/router.h"

namespace cairn::server {
namespace {

namespace json = boost::json;

constexpr std::string_view kWebSocketPath = "/v1/ws";
constexpr std::string_view kMethods[] = {"get",   "put",  "post",    "delete",
                                         "patch", "head", "options", "trace"};

json::object Document() {
  boost::system::error_code ec;
  json::value v = json::parse(OpenApiDocument(), ec);
  EXPECT_FALSE(ec) << "docs/openapi.json is not JSON: " << ec.message();
  return v.is_object() ? v.as_object() : json::object();
}

std::string Upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::toupper(c));
  return out;
}

// The path with each {param} replaced by a sample value.
std::string Sample(std::string_view path) {
  std::string out;
  while (!path.empty()) {
    const size_t open = path.find('{');
    out += path.substr(0, open);
    if (open == std::string_view::npos) break;
    const size_t close = path.find('}', open);
    out += "sample-" + std::string(path.substr(open + 1, close - open - 1));
    path.remove_prefix(close + 1);
  }
  return out;
}

// The methods (upper case) that a path item of the document describes.
std::set<std::string> MethodsOf(const json::object& item) {
  std::set<std::string> out;
  for (std::string_view m : kMethods) {
    if (item.contains(m)) out.insert(Upper(m));
  }
  return out;
}

// Every "$ref" under `v`, e.g. "#/components/schemas/Event".
void CollectRefs(const json::value& v, std::set<std::string>* out) {
  if (v.is_array()) {
    for (const json::value& e : v.as_array()) CollectRefs(e, out);
  } else if (v.is_object()) {
    for (const auto& [key, value] : v.as_object()) {
      if (key == "$ref" && value.is_string()) {
        out->insert(std::string(value.as_string()));
      } else {
        CollectRefs(value, out);
      }
    }
  }
}

TEST(OpenApiTest, IsOpenApi310WithPaths) {
  const json::object doc = Document();
  ASSERT_TRUE(doc.contains("openapi"));
  EXPECT_EQ(doc.at("openapi").as_string(), "3.1.0");
  ASSERT_TRUE(doc.contains("paths"));
  EXPECT_FALSE(doc.at("paths").as_object().empty());
}

TEST(OpenApiTest, EmbeddedDocumentIsTheFile) {
  std::ifstream in(CAIRN_OPENAPI_FILE, std::ios::binary);
  ASSERT_TRUE(in) << CAIRN_OPENAPI_FILE;
  const std::string file((std::istreambuf_iterator<char>(in)),
                         std::istreambuf_iterator<char>());
  EXPECT_EQ(OpenApiDocument(), file);
}

TEST(OpenApiTest, EveryPathAndMethodIsARoute) {
  const json::object doc = Document();
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    if (path == kWebSocketPath) continue;
    const std::string target = Sample(path);
    const std::set<std::string> methods = MethodsOf(item.as_object());
    EXPECT_FALSE(methods.empty()) << path;
    for (const std::string& method : methods) {
      const Route r = MatchRoute(method, target);
      EXPECT_EQ(r.outcome, Route::Outcome::kOk) << method << " " << target;
    }
    // And the path has no method the document leaves out: Allow lists
    // exactly the methods described.
    const Route other = MatchRoute("BREW", target);
    ASSERT_EQ(other.outcome, Route::Outcome::kMethodNotAllowed) << target;
    std::set<std::string> allowed;
    std::stringstream allow(other.allow);
    for (std::string m; std::getline(allow >> std::ws, m, ',');) {
      allowed.insert(m);
    }
    EXPECT_EQ(allowed, methods) << path << ": Allow: " << other.allow;
  }
}

TEST(OpenApiTest, PathParametersAreDecodedFromTheirSegments) {
  Route r = MatchRoute("GET", Sample("/v1/streams/{stream}/events"));
  EXPECT_EQ(r.stream, "sample-stream");
  r = MatchRoute("GET", Sample("/v1/read-models/{projection}/{key}"));
  EXPECT_EQ(r.projection, "sample-projection");
  EXPECT_EQ(r.key, "sample-key");
}

TEST(OpenApiTest, EveryEndpointIsDescribed) {
  const json::object doc = Document();
  std::set<Endpoint> described;
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    if (path == kWebSocketPath) continue;
    for (const std::string& method : MethodsOf(item.as_object())) {
      const Route r = MatchRoute(method, Sample(path));
      if (r.outcome == Route::Outcome::kOk) described.insert(r.endpoint);
    }
  }
  // Endpoint values run from 0 to kBackups, the last one.
  for (int i = 0; i <= static_cast<int>(Endpoint::kBackups); ++i) {
    const auto e = static_cast<Endpoint>(i);
    EXPECT_TRUE(described.contains(e))
        << "Endpoint " << EndpointName(e)
        << " has no path and method in docs/openapi.json";
  }
}

TEST(OpenApiTest, WebSocketIsDescribedButIsNoRoute) {
  const json::object doc = Document();
  const json::object& paths = doc.at("paths").as_object();
  ASSERT_TRUE(paths.contains(kWebSocketPath));
  EXPECT_EQ(MethodsOf(paths.at(kWebSocketPath).as_object()),
            std::set<std::string>{"GET"});
  EXPECT_EQ(MatchRoute("GET", kWebSocketPath).outcome,
            Route::Outcome::kNotFound);
}

// /healthz, /readyz and /metrics need no token; every /v1 operation needs
// the bearer scheme (auth::IsPublicPath) and says what 401 is.
TEST(OpenApiTest, SecurityFollowsThePublicPaths) {
  const json::object doc = Document();
  ASSERT_TRUE(doc.at("components").as_object().contains("securitySchemes"));
  const json::object& bearer =
      doc.at("components").at("securitySchemes").at("bearerAuth").as_object();
  EXPECT_EQ(bearer.at("type").as_string(), "http");
  EXPECT_EQ(bearer.at("scheme").as_string(), "bearer");
  EXPECT_EQ(bearer.at("bearerFormat").as_string(), "JWT");
  for (const auto& [path, item] : doc.at("paths").as_object()) {
    for (std::string_view m : kMethods) {
      if (!item.as_object().contains(m)) continue;
      const json::object& op = item.at(m).as_object();
      ASSERT_TRUE(op.contains("security")) << m << " " << path;
      const json::array& security = op.at("security").as_array();
      const std::string target = Sample(path);
      if (auth::IsPublicPath(target)) {
        EXPECT_TRUE(security.empty()) << m << " " << path;
      } else {
        ASSERT_FALSE(security.empty()) << m << " " << path;
        EXPECT_TRUE(security[0].as_object().contains("bearerAuth"))
            << m << " " << path;
        EXPECT_TRUE(op.at("responses").as_object().contains("401"))
            << m << " " << path;
      }
    }
  }
}

TEST(OpenApiTest, EveryReferenceResolves) {
  const json::value doc = Document();
  std::set<std::string> refs;
  CollectRefs(doc, &refs);
  EXPECT_FALSE(refs.empty());
  for (const std::string& ref : refs) {
    ASSERT_TRUE(ref.starts_with("#/")) << ref;
    boost::system::error_code ec;
    EXPECT_NE(doc.find_pointer(std::string_view(ref).substr(1), ec), nullptr)
        << ref << " does not resolve";
  }
}

}  // namespace
}  // namespace cairn::server
