#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cctype>
#include <cerrno>

namespace cairn::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::ip::tcp;
using Clock = std::chrono::steady_clock;

// Responses are read whole; NDJSON reads of a test's log stay far below.
constexpr uint64_t kMaxBodyBytes = uint64_t{1} << 30;

std::string Lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(c));
  return out;
}

template <typename Message>
void CopyHeaders(const Message& m, HttpResponse* out) {
  for (const auto& field : m) {
    std::string name = Lower(field.name_string());
    std::string value(field.value());
    auto [it, inserted] = out->headers.emplace(std::move(name), value);
    if (!inserted) it->second += ", " + value;
  }
}

int MillisLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

}  // namespace

int ConnectLoopback(uint16_t port) {
  const int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return -1;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  return fd;
}

std::string HttpResponse::Header(std::string_view name) const {
  auto it = headers.find(Lower(name));
  return it == headers.end() ? "" : it->second;
}

// Asio's synchronous calls have no time limit, so each call runs the
// asynchronous one on a private io_context, with beast::tcp_stream's
// per-operation expiry.
struct HttpClient::Impl {
  Impl(uint16_t p, std::chrono::seconds t) : port(p), timeout(t) {}

  template <typename Initiate>
  beast::error_code Run(Initiate initiate, size_t* bytes = nullptr) {
    beast::error_code result = net::error::would_block;
    size_t n = 0;
    stream.expires_after(timeout);
    initiate([&](beast::error_code ec, size_t transferred) {
      result = ec;
      n = transferred;
    });
    ioc.restart();
    ioc.run();
    if (bytes != nullptr) *bytes = n;
    return result;
  }

  beast::error_code Connect() {
    const int fd = ConnectLoopback(port);
    if (fd < 0)
      return beast::error_code(errno, boost::system::system_category());
    beast::error_code ec;
    stream.socket().assign(tcp::v4(), fd, ec);
    if (ec) {
      close(fd);
      return ec;
    }
    stream.socket().set_option(tcp::no_delay(true), ec);
    buffer.clear();
    connected = true;
    return {};
  }

  void Close() {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    stream.socket().close(ec);
    buffer.clear();
    connected = false;
  }

  const uint16_t port;
  const std::chrono::seconds timeout;
  net::io_context ioc;
  beast::tcp_stream stream{ioc};
  beast::flat_buffer buffer;
  bool connected = false;
};

HttpClient::HttpClient(uint16_t port, std::chrono::seconds timeout)
    : impl_(std::make_unique<Impl>(port, timeout)) {}

HttpClient::~HttpClient() { impl_->Close(); }

void HttpClient::Close() { impl_->Close(); }

HttpResponse HttpClient::Post(std::string_view target, std::string_view body,
                              const HttpHeaders& headers) {
  HttpHeaders h = headers;
  h.emplace("Content-Type", "application/json");
  return Request("POST", target, body, h);
}

HttpResponse HttpClient::Put(std::string_view target, std::string_view body,
                             const HttpHeaders& headers) {
  HttpHeaders h = headers;
  h.emplace("Content-Type", "application/json");
  return Request("PUT", target, body, h);
}

HttpResponse HttpClient::Request(std::string_view method,
                                 std::string_view target, std::string_view body,
                                 const HttpHeaders& headers) {
  http::request<http::string_body> req;
  req.version(11);
  req.method_string(method);
  req.target(target);
  req.set(http::field::host, "127.0.0.1");
  bool framed = false;  // the caller set Content-Length or Transfer-Encoding
  for (const auto& [name, value] : headers) {
    req.set(name, value);
    const std::string lower = Lower(name);
    framed |= lower == "content-length" || lower == "transfer-encoding";
  }
  req.body() = std::string(body);
  if (!framed && (!body.empty() || method == "POST" || method == "PUT")) {
    req.content_length(body.size());
  }

  HttpResponse out;
  for (int attempt = 0;; ++attempt) {
    const bool reused = impl_->connected;
    if (!impl_->connected) {
      if (auto ec = impl_->Connect()) {
        out.error = "connect: " + ec.message();
        return out;
      }
    }
    http::response_parser<http::string_body> parser;
    parser.body_limit(kMaxBodyBytes);
    beast::error_code ec = impl_->Run([&](auto handler) {
      http::async_write(impl_->stream, req, std::move(handler));
    });
    if (!ec) {
      ec = impl_->Run([&](auto handler) {
        http::async_read(impl_->stream, impl_->buffer, parser,
                         std::move(handler));
      });
    }
    if (!ec) {
      const auto& res = parser.get();
      out.status = static_cast<int>(res.result_int());
      CopyHeaders(res, &out);
      out.body = std::move(parser.get().body());
      if (!parser.get().keep_alive()) impl_->Close();
      return out;
    }
    impl_->Close();
    // A kept-alive connection the server had closed: nothing of the
    // request was processed, so it may go again, once.
    if (retry_ && reused && attempt == 0 && !parser.got_some()) continue;
    out.error = ec.message();
    return out;
  }
}

std::string SendRaw(uint16_t port, std::string_view bytes,
                    std::chrono::seconds timeout) {
  const auto deadline = Clock::now() + timeout;
  const int fd = ConnectLoopback(port);
  if (fd < 0) return "";
  std::string out;
  // Send, reading meanwhile: the server may answer (and stop reading)
  // before it has all of the bytes.
  size_t sent = 0;
  bool open = true;
  while (open && MillisLeft(deadline) > 0) {
    pollfd p{fd, POLLIN, 0};
    if (sent < bytes.size()) p.events |= POLLOUT;
    const int ready = poll(&p, 1, MillisLeft(deadline));
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    if (p.revents & (POLLIN | POLLHUP | POLLERR)) {
      char buf[16384];
      const ssize_t n = recv(fd, buf, sizeof buf, 0);
      if (n > 0) {
        out.append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EINTR) {
        open = false;
      }
      continue;
    }
    if (p.revents & POLLOUT) {
      const ssize_t n = send(fd, bytes.data() + sent, bytes.size() - sent,
                             MSG_NOSIGNAL | MSG_DONTWAIT);
      if (n > 0) {
        sent += static_cast<size_t>(n);
      } else if (n < 0 && errno != EAGAIN && errno != EINTR) {
        sent = bytes.size();  // the server stopped reading; keep reading
      }
    }
  }
  close(fd);
  return out;
}

HttpResponse ParseResponse(std::string_view raw) {
  HttpResponse out;
  http::response_parser<http::string_body> parser;
  parser.eager(true);
  parser.body_limit(kMaxBodyBytes);
  beast::error_code ec;
  size_t used = 0;
  while (!parser.is_done()) {
    const std::string_view rest = raw.substr(used);
    const size_t n = parser.put(net::buffer(rest.data(), rest.size()), ec);
    used += n;
    if (ec == http::error::need_more && n == 0) {
      // put_eof requires some bytes parsed: none at all is no response.
      if (!parser.got_some()) {
        ec = http::error::end_of_stream;
        break;
      }
      parser.put_eof(ec);  // a body that ends with the connection
      if (ec) break;
    } else if (ec && ec != http::error::need_more) {
      break;
    }
  }
  if (!parser.is_done()) {
    out.error = "no whole response: " + ec.message();
    return out;
  }
  out.status = static_cast<int>(parser.get().result_int());
  CopyHeaders(parser.get(), &out);
  out.body = std::move(parser.get().body());
  return out;
}

}  // namespace cairn::testing
