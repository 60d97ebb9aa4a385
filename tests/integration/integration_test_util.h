#pragma once

// Helpers shared by the integration tests: JSON out of responses, request
// bodies, and a fixture with one running cairnd and one client.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "tests/support/cairnd_process.h"
#include "tests/support/http_client.h"
#include "tests/support/stream_client.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {

namespace json = boost::json;

// The body as JSON; a failed expectation and null when it is not JSON.
inline json::value Json(const HttpResponse& r) {
  boost::system::error_code ec;
  json::value v = json::parse(r.body, ec);
  EXPECT_FALSE(ec) << "not JSON (status " << r.status << ", " << r.error
                   << "): " << r.body.substr(0, 500);
  return v;
}

// Each line of an NDJSON body parsed; a failed expectation for a line that
// is not JSON or a body that does not end in a newline.
inline std::vector<json::value> NdjsonLines(const std::string& body) {
  std::vector<json::value> out;
  size_t at = 0;
  while (at < body.size()) {
    const size_t end = body.find('\n', at);
    if (end == std::string::npos) {
      ADD_FAILURE() << "NDJSON does not end in a newline: "
                    << body.substr(at, 200);
      break;
    }
    boost::system::error_code ec;
    out.push_back(json::parse(body.substr(at, end - at), ec));
    EXPECT_FALSE(ec) << "line " << out.size()
                     << " is not JSON: " << body.substr(at, end - at);
    at = end + 1;
  }
  return out;
}

inline int64_t Int(const json::value& v) { return v.to_number<int64_t>(); }
inline int64_t Int(const json::value& v, std::string_view key) {
  return v.at(key).to_number<int64_t>();
}
inline std::string Str(const json::value& v, std::string_view key) {
  return std::string(v.at(key).as_string());
}

// `n` events as a JSON array: {"type":TYPE,"data":{"n":i}}.
// The next WebSocket message that is not a heartbeat, parsed; a failure
// (and null) when the socket ends first.
inline json::value NextMessage(WsClient& ws, std::chrono::milliseconds timeout =
                                                 std::chrono::seconds(30)) {
  for (;;) {
    WsClient::Message m = ws.Read(timeout);
    if (!m.ok()) {
      ADD_FAILURE() << "socket done: closed=" << m.closed
                    << " code=" << m.close_code << " " << m.error;
      return json::value();
    }
    json::value v = json::parse(m.text);
    if (Str(v, "op") != "heartbeat") return v;
  }
}

inline std::string EventsJson(int n, const std::string& type = "T") {
  std::string out = "[";
  for (int i = 0; i < n; ++i) {
    if (i > 0) out += ",";
    out +=
        R"({"type":")" + type + R"(","data":{"n":)" + std::to_string(i) + "}}";
  }
  return out + "]";
}

// {"events":[…]} with `n` events, and an expectedRevision when given (as
// JSON text: "\"no_stream\"", "3").
inline std::string AppendBody(int n, const std::string& type = "T",
                              const std::string& expected = "") {
  std::string body = "{";
  if (!expected.empty()) body += R"("expectedRevision":)" + expected + ",";
  return body + R"("events":)" + EventsJson(n, type) + "}";
}

// One cairnd on a fresh data directory per test, and a client for it.
class CairndTest : public ::testing::Test {
 protected:
  explicit CairndTest(std::vector<std::string> flags = {})
      : server_(std::move(flags)) {}

  void SetUp() override {
    server_.Start();
    client_ = std::make_unique<HttpClient>(server_.port());
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "cairnd's log:\n" << server_.Log().substr(0, 20000);
    }
  }

  HttpResponse Append(const std::string& stream, const std::string& body,
                      const HttpHeaders& headers = {}) {
    return client_->Post("/v1/streams/" + stream + "/events", body, headers);
  }

  // Appends `n` events of `type` and expects 201.
  void AppendOk(const std::string& stream, int n, const std::string& type = "T",
                const HttpHeaders& headers = {}) {
    const HttpResponse r = Append(stream, AppendBody(n, type), headers);
    ASSERT_EQ(r.status, 201) << r.body;
  }

  HttpResponse Transaction(const std::string& body) {
    return client_->Post("/v1/transactions", body);
  }

  // Every event of the tenant's log (first 10,000).
  json::array LogEvents(const HttpHeaders& headers = {}) {
    const HttpResponse r = client_->Get("/v1/events?limit=10000", headers);
    EXPECT_EQ(r.status, 200) << r.body;
    json::value v = Json(r);
    if (!v.is_object() || !v.as_object().contains("events")) return {};
    return v.at("events").as_array();
  }

  json::array StreamEvents(const std::string& stream,
                           const std::string& query = "") {
    const HttpResponse r =
        client_->Get("/v1/streams/" + stream + "/events" + query);
    EXPECT_EQ(r.status, 200) << r.body;
    json::value v = Json(r);
    if (!v.is_object() || !v.as_object().contains("events")) return {};
    return v.at("events").as_array();
  }

  CairndProcess server_;
  std::unique_ptr<HttpClient> client_;
};

// One cairnd with JWT auth (no --dev) per test. `configure` writes the key
// files into the directory it is given (keys_) and returns the flags that
// name them.
class JwtCairndTest : public ::testing::Test {
 protected:
  using Configure =
      std::function<std::vector<std::string>(const std::filesystem::path&)>;
  explicit JwtCairndTest(const Configure& configure)
      : server_(configure(keys_.path())) {
    server_.set_dev(false);
  }

  void SetUp() override {
    server_.Start();
    client_ = std::make_unique<HttpClient>(server_.port());
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "cairnd's log:\n" << server_.Log().substr(0, 20000);
    }
  }

  TempDir keys_;  // before server_, which its files configure
  CairndProcess server_;
  std::unique_ptr<HttpClient> client_;
};

}  // namespace cairn::testing
