#pragma once

// cairnctl's HTTP/1.1 client for one cairnd: a request at a time, each on a
// new connection, every wait bounded; and NDJSON responses read line by
// line as they come, followed ones until the user interrupts. Beast stays
// inside server_client.cc, the one translation unit that compiles it.

#include <chrono>
#include <functional>
#include <string>
#include <string_view>

#include "tools/cairnctl/command_error.h"

namespace cairn::cairnctl {

// Where cairnd listens: http://HOST[:PORT][/PREFIX] (port 80 when absent).
// TLS is not spoken: put cairnctl next to the server, or behind the proxy
// that terminates TLS for it.
struct ServerAddress {
  std::string host;
  std::string port;
  std::string prefix;  // prepended to every target, "" or "/x" (no '/' last)
};

// Throws CommandError (usage) when `url` is not of that form.
ServerAddress ParseServerUrl(std::string_view url);

struct HttpReply {
  int status = 0;
  std::string content_type;
  std::string body;
};

class ServerClient {
 public:
  // `token` goes in Authorization: Bearer, `tenant` in X-Cairn-Tenant
  // (dev mode), each only when not empty.
  ServerClient(ServerAddress address, std::string token, std::string tenant,
               std::chrono::milliseconds timeout);

  // One request with a JSON body (none when empty). Throws CommandError
  // (unreachable) when no whole response comes within the timeout.
  HttpReply Request(std::string_view method, std::string_view target,
                    std::string_view json_body = "");

  // GET `target` as NDJSON and hands each line to `on_line` as it arrives,
  // until the response ends, `on_line` returns false, or SIGINT/SIGTERM
  // (which end it normally). The reply holds the status, and the body when
  // the status is not 200 (a problem). Waits for lines without a bound of
  // its own (a followed read does not end), but a connection silent for a
  // minute is given up (CommandError, unreachable): a followed read sends
  // a heartbeat line at least every 15 s.
  HttpReply ReadLines(
      std::string_view target,
      const std::function<bool(std::string_view line)>& on_line);

 private:
  std::string Target(std::string_view target) const;

  ServerAddress address_;
  std::string token_;
  std::string tenant_;
  std::chrono::milliseconds timeout_;
};

}  // namespace cairn::cairnctl
