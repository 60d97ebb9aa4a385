#include "tools/cairnctl/server_client.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/url/parse.hpp>
#include <csignal>
#include <optional>

namespace cairn::cairnctl {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::ip::tcp;

// An NDJSON response with no byte for this long is given up: a followed
// one has a heartbeat at least every 15 s, and a read that ends sends its
// pages as it reads them.
constexpr auto kLineSilence = std::chrono::seconds(60);

// Replies larger than this are refused rather than held in memory: a page
// of the log at the largest limit stays far below it.
constexpr uint64_t kMaxReplyBytes = uint64_t{1} << 30;

std::string Unreachable(const ServerAddress& a, std::string_view stage,
                        const beast::error_code& ec) {
  return "cannot reach the server at " + a.host + ":" + a.port + " (" +
         std::string(stage) + ": " + ec.message() + ")";
}

http::request<http::string_body> MakeRequest(http::verb verb,
                                             const std::string& target,
                                             const ServerAddress& address,
                                             const std::string& token,
                                             const std::string& tenant) {
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, address.host + ":" + address.port);
  req.set(http::field::user_agent, "cairnctl");
  req.set(http::field::connection, "close");
  if (!token.empty()) req.set(http::field::authorization, "Bearer " + token);
  if (!tenant.empty()) req.set("X-Cairn-Tenant", tenant);
  return req;
}

// Resolves, connects and writes `req` on `stream`, then calls `then`; on a
// failure sets `failure` to what went wrong and stops.
void ConnectAndWrite(tcp::resolver& resolver, beast::tcp_stream& stream,
                     const ServerAddress& address,
                     http::request<http::string_body>& req,
                     std::optional<std::string>& failure,
                     std::function<void()> then) {
  resolver.async_resolve(
      address.host, address.port,
      [&, then](const beast::error_code& ec, tcp::resolver::results_type r) {
        if (ec) {
          failure = Unreachable(address, "resolve", ec);
          return;
        }
        stream.async_connect(
            r, [&, then](const beast::error_code& ec, const tcp::endpoint&) {
              if (ec) {
                failure = Unreachable(address, "connect", ec);
                return;
              }
              http::async_write(stream, req,
                                [&, then](const beast::error_code& ec, size_t) {
                                  if (ec) {
                                    failure = Unreachable(address, "send", ec);
                                    return;
                                  }
                                  then();
                                });
            });
      });
}

}  // namespace

ServerAddress ParseServerUrl(std::string_view url) {
  auto parsed = boost::urls::parse_absolute_uri(url);
  if (!parsed || parsed->scheme() != "http" || !parsed->has_authority() ||
      parsed->host().empty() || parsed->has_query() || parsed->has_fragment()) {
    throw CommandError(kExitUsage,
                       "--server " + std::string(url) +
                           ": not a URL of the form http://HOST[:PORT]");
  }
  ServerAddress a;
  a.host = parsed->host_type() == boost::urls::host_type::ipv6
               ? std::string(parsed->encoded_host_address())
               : std::string(parsed->host());
  a.port = parsed->has_port() ? std::string(parsed->port()) : "80";
  a.prefix = std::string(parsed->encoded_path());
  while (!a.prefix.empty() && a.prefix.back() == '/') a.prefix.pop_back();
  return a;
}

ServerClient::ServerClient(ServerAddress address, std::string token,
                           std::string tenant,
                           std::chrono::milliseconds timeout)
    : address_(std::move(address)),
      token_(std::move(token)),
      tenant_(std::move(tenant)),
      timeout_(timeout) {}

std::string ServerClient::Target(std::string_view target) const {
  return address_.prefix + std::string(target);
}

HttpReply ServerClient::Request(std::string_view method,
                                std::string_view target,
                                std::string_view json_body) {
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  auto req = MakeRequest(http::string_to_verb(method), Target(target), address_,
                         token_, tenant_);
  if (!json_body.empty() || method == "POST" || method == "PUT") {
    req.set(http::field::content_type, "application/json");
    req.body() = std::string(json_body);
    req.prepare_payload();
  }
  req.set(http::field::accept, "application/json");

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(kMaxReplyBytes);
  std::optional<std::string> failure;
  stream.expires_after(timeout_);
  ConnectAndWrite(resolver, stream, address_, req, failure, [&] {
    http::async_read(stream, buffer, parser,
                     [&](const beast::error_code& ec, size_t) {
                       if (ec) failure = Unreachable(address_, "read", ec);
                     });
  });
  ioc.run();
  if (failure) throw CommandError(kExitUnreachable, *failure);

  HttpReply reply;
  const auto& res = parser.get();
  reply.status = res.result_int();
  reply.content_type = std::string(res[http::field::content_type]);
  reply.body = res.body();
  return reply;
}

HttpReply ServerClient::ReadLines(
    std::string_view target,
    const std::function<bool(std::string_view line)>& on_line) {
  net::io_context ioc;
  tcp::resolver resolver(ioc);
  beast::tcp_stream stream(ioc);
  auto req =
      MakeRequest(http::verb::get, Target(target), address_, token_, tenant_);
  req.set(http::field::accept, "application/x-ndjson");

  // An interrupt ends the follow as the user meant it to: a success.
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  bool interrupted = false;
  signals.async_wait([&](const beast::error_code& ec, int) {
    if (ec) return;  // cancelled: the follow ended first
    interrupted = true;
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    stream.cancel();
  });

  HttpReply reply;
  beast::flat_buffer buffer;
  http::response_parser<http::empty_body> head;
  // Set once the header says 200: the body is read in chunks, line by line.
  std::optional<http::response_parser<http::string_body>> problem;
  std::string pending;    // a line not yet ended
  bool stopped = false;   // on_line said so
  bool finished = false;  // the response ended
  std::optional<std::string> failure;

  head.body_limit(boost::none);  // a followed response does not end
  auto on_chunk = [&](uint64_t, std::string_view data,
                      beast::error_code&) -> size_t {
    if (stopped) return data.size();
    pending.append(data);
    size_t start = 0;
    for (size_t nl; (nl = pending.find('\n', start)) != std::string::npos;
         start = nl + 1) {
      if (!on_line(std::string_view(pending).substr(start, nl - start))) {
        stopped = true;
        break;
      }
    }
    pending.erase(0, start);
    return data.size();
  };
  head.on_chunk_body(on_chunk);  // by reference: it outlives the parser

  std::function<void()> read_more = [&] {
    stream.expires_after(kLineSilence);
    http::async_read_some(
        stream, buffer, head, [&](const beast::error_code& ec, size_t) {
          if (interrupted || stopped) return;
          if (ec == http::error::end_of_stream || head.is_done()) {
            finished = true;
            return;
          }
          if (ec) {
            failure = Unreachable(address_, "read", ec);
            return;
          }
          read_more();
        });
  };

  stream.expires_after(timeout_);
  ConnectAndWrite(resolver, stream, address_, req, failure, [&] {
    http::async_read_header(
        stream, buffer, head, [&](const beast::error_code& ec, size_t) {
          if (interrupted) return;
          if (ec) {
            failure = Unreachable(address_, "read", ec);
            return;
          }
          reply.status = head.get().result_int();
          reply.content_type =
              std::string(head.get()[http::field::content_type]);
          if (reply.status == 200 && head.chunked()) {
            read_more();
            return;
          }
          // A problem (or a response that is not followed): its body whole.
          problem.emplace(std::move(head));
          problem->body_limit(kMaxReplyBytes);
          http::async_read(stream, buffer, *problem,
                           [&](const beast::error_code& ec, size_t) {
                             if (ec && !interrupted) {
                               failure = Unreachable(address_, "read", ec);
                             }
                             finished = true;
                           });
        });
  });
  // Everything above runs on this thread, a handler at a time; the signal
  // wait outlives the response, so the loop ends on the outcome, not when
  // the context runs out of work.
  while (!finished && !failure && !stopped && !interrupted &&
         ioc.run_one() > 0) {
  }
  signals.cancel();
  if (failure && !interrupted) throw CommandError(kExitUnreachable, *failure);
  if (problem) reply.body = problem->get().body();
  return reply;
}

}  // namespace cairn::cairnctl
