#pragma once

// A small synchronous HTTP/1.1 client for integration tests, on one
// keep-alive connection to 127.0.0.1, and a raw-socket helper for bytes
// that are not HTTP at all. Boost.Beast stays inside http_client.cc (one
// translation unit compiles it), so this header is cheap to include.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

namespace cairn::testing {

struct HttpResponse {
  // 0 when no response came: the connection failed, was closed before a
  // whole response, or the time limit passed (`error` says which).
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // de-chunked
  std::string error;

  // The value of a header (any case of `name`), or "" when absent.
  std::string Header(std::string_view name) const;
};

using HttpHeaders = std::map<std::string, std::string>;

class HttpClient {
 public:
  // Connects lazily, on the first request.
  explicit HttpClient(uint16_t port,
                      std::chrono::seconds timeout = std::chrono::seconds(30));
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request on the kept-alive connection (connecting if there is
  // none) and reads the whole response. Content-Length is set for a
  // non-empty body and for POST and PUT. When a reused connection turns out
  // closed before any byte of the response came back (the server ended an
  // idle keep-alive connection), the request is sent once more on a new
  // one, unless retries are off.
  HttpResponse Request(std::string_view method, std::string_view target,
                       std::string_view body = "",
                       const HttpHeaders& headers = {});

  HttpResponse Get(std::string_view target, const HttpHeaders& headers = {}) {
    return Request("GET", target, "", headers);
  }
  // POST with Content-Type: application/json (unless `headers` set one).
  HttpResponse Post(std::string_view target, std::string_view body,
                    const HttpHeaders& headers = {});
  // PUT with Content-Type: application/json (unless `headers` set one).
  HttpResponse Put(std::string_view target, std::string_view body,
                   const HttpHeaders& headers = {});
  HttpResponse Delete(std::string_view target,
                      const HttpHeaders& headers = {}) {
    return Request("DELETE", target, "", headers);
  }

  // Off: a request is sent at most once (crash tests, where a resend could
  // append twice).
  void set_retry(bool retry) { retry_ = retry; }

  // Drops the connection; the next request opens a new one.
  void Close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
  bool retry_ = true;
};

// A TCP socket to 127.0.0.1:port, close-on-exec (the tests fork cairnd,
// which must not inherit client connections). -1 on failure.
int ConnectLoopback(uint16_t port);

// Sends `bytes` on a new connection to 127.0.0.1:port without closing the
// sending side (so a partial request stays partial), and returns everything
// that comes back until the server closes or `timeout` passes.
std::string SendRaw(uint16_t port, std::string_view bytes,
                    std::chrono::seconds timeout = std::chrono::seconds(10));

// The first HTTP/1.1 response in `raw` (as SendRaw returns it); status 0
// and an error when it does not parse.
HttpResponse ParseResponse(std::string_view raw);

}  // namespace cairn::testing
