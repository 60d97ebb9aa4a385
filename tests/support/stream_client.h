#pragma once

// Clients for responses that do not end: a WebSocket client and an HTTP
// client for one chunked, followed response (NDJSON or SSE). Synchronous,
// every read bounded in time. Beast stays inside stream_client.cc.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "tests/support/http_client.h"

namespace cairn::testing {

class WsClient {
 public:
  // Connects to 127.0.0.1:port and upgrades `target`. Throws
  // std::runtime_error when the upgrade fails.
  explicit WsClient(uint16_t port, const HttpHeaders& headers = {},
                    std::string_view target = "/v1/ws");
  ~WsClient();
  WsClient(const WsClient&) = delete;
  WsClient& operator=(const WsClient&) = delete;

  // False when the socket failed (the server may close it mid-message).
  bool SendText(std::string_view text);
  bool SendBinary(std::string_view bytes);

  struct Message {
    std::string text;  // a text message
    // Otherwise the socket is done: closed (with the peer's close code, or
    // 0 without one) or failed / timed out (error set).
    bool closed = false;
    int close_code = 0;
    std::string error;
    bool ok() const { return !closed && error.empty(); }
  };
  // The next message; waits at most `timeout`. After a timeout the client
  // is unusable.
  Message Read(std::chrono::milliseconds timeout = std::chrono::seconds(30));

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// One HTTP request whose chunked response is read as it comes, de-chunked.
class FollowClient {
 public:
  // Sends GET `target` with `headers` (Connection: close) and reads the
  // status line and headers (at most `timeout`). status() is 0 when none
  // came.
  FollowClient(uint16_t port, std::string_view target,
               const HttpHeaders& headers,
               std::chrono::milliseconds timeout = std::chrono::seconds(30));
  ~FollowClient();
  FollowClient(const FollowClient&) = delete;
  FollowClient& operator=(const FollowClient&) = delete;

  int status() const { return status_; }
  const std::string& head() const { return head_; }  // status line, headers

  // Reads until the de-chunked body holds `needle` after `from` (then
  // returns the offset just past it), the response ends, or `timeout`
  // passes (then none). The whole body so far is body().
  std::optional<size_t> ReadUntil(
      std::string_view needle, size_t from = 0,
      std::chrono::milliseconds timeout = std::chrono::seconds(30));
  // True once the terminating chunk came.
  bool ended() const { return ended_; }
  const std::string& body() const { return body_; }

 private:
  // Reads more bytes (at most until `deadline`); false on EOF or timeout.
  bool Fill(std::chrono::steady_clock::time_point deadline);
  void Dechunk();

  int fd_ = -1;
  int status_ = 0;
  std::string head_;
  std::string raw_;   // bytes after the header, not yet de-chunked
  std::string body_;  // de-chunked
  bool ended_ = false;
};

}  // namespace cairn::testing
