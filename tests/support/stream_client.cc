#include "tests/support/stream_client.h"

#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <stdexcept>

namespace cairn::testing {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using net::ip::tcp;
using Clock = std::chrono::steady_clock;

// Throws when it cannot connect.
int Connect(uint16_t port) {
  const int fd = ConnectLoopback(port);
  if (fd < 0) throw std::runtime_error("cannot connect to cairnd");
  return fd;
}

}  // namespace

struct WsClient::Impl {
  net::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  beast::flat_buffer buffer;
};

WsClient::WsClient(uint16_t port, const HttpHeaders& headers,
                   std::string_view target)
    : impl_(std::make_unique<Impl>()) {
  impl_->ws.next_layer().assign(tcp::v4(), Connect(port));
  impl_->ws.set_option(websocket::stream_base::decorator(
      [headers](websocket::request_type& req) {
        for (const auto& [k, v] : headers) req.set(k, v);
      }));
  websocket::response_type res;
  beast::error_code ec;
  impl_->ws.handshake(res, "127.0.0.1", std::string(target), ec);
  if (ec) {
    throw std::runtime_error("WebSocket upgrade failed: " + ec.message() +
                             " (HTTP " + std::to_string(res.result_int()) +
                             ")");
  }
}

WsClient::~WsClient() = default;

bool WsClient::SendText(std::string_view text) {
  beast::error_code ec;
  impl_->ws.text(true);
  impl_->ws.write(net::buffer(text), ec);
  return !ec;
}

bool WsClient::SendBinary(std::string_view bytes) {
  beast::error_code ec;
  impl_->ws.binary(true);
  impl_->ws.write(net::buffer(bytes), ec);
  return !ec;
}

WsClient::Message WsClient::Read(std::chrono::milliseconds timeout) {
  Message m;
  bool done = false;
  beast::error_code result;
  impl_->buffer.clear();
  impl_->ws.async_read(impl_->buffer, [&](const beast::error_code& ec, size_t) {
    result = ec;
    done = true;
  });
  impl_->ioc.restart();
  impl_->ioc.run_for(timeout);
  if (!done) {
    // Cancel and let the read finish; the stream is unusable afterwards.
    beast::error_code ignored;
    impl_->ws.next_layer().cancel(ignored);
    impl_->ioc.restart();
    impl_->ioc.run();
    m.error = "no message within " + std::to_string(timeout.count()) + " ms";
    return m;
  }
  if (result == websocket::error::closed) {
    m.closed = true;
    m.close_code = impl_->ws.reason().code;
    return m;
  }
  if (result) {
    m.error = result.message();
    return m;
  }
  m.text = beast::buffers_to_string(impl_->buffer.data());
  return m;
}

FollowClient::FollowClient(uint16_t port, std::string_view target,
                           const HttpHeaders& headers,
                           std::chrono::milliseconds timeout)
    : fd_(Connect(port)) {
  std::string request = "GET " + std::string(target) +
                        " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n";
  for (const auto& [k, v] : headers) request += k + ": " + v + "\r\n";
  request += "\r\n";
  if (send(fd_, request.data(), request.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(request.size())) {
    return;
  }
  const auto deadline = Clock::now() + timeout;
  while (raw_.find("\r\n\r\n") == std::string::npos) {
    if (!Fill(deadline)) return;
  }
  const size_t end = raw_.find("\r\n\r\n");
  head_ = raw_.substr(0, end);
  raw_.erase(0, end + 4);
  if (head_.size() > 12) status_ = std::stoi(head_.substr(9, 3));
  Dechunk();
}

FollowClient::~FollowClient() {
  if (fd_ >= 0) close(fd_);
}

bool FollowClient::Fill(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  if (left.count() <= 0) return false;
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
  char buf[64 * 1024];
  const ssize_t n = recv(fd_, buf, sizeof buf, 0);
  if (n <= 0) return false;
  raw_.append(buf, static_cast<size_t>(n));
  return true;
}

void FollowClient::Dechunk() {
  for (;;) {
    const size_t eol = raw_.find("\r\n");
    if (eol == std::string::npos) return;
    const size_t size = std::stoul(raw_.substr(0, eol), nullptr, 16);
    if (size == 0) {
      ended_ = true;
      return;
    }
    if (raw_.size() < eol + 2 + size + 2) return;
    body_.append(raw_, eol + 2, size);
    raw_.erase(0, eol + 2 + size + 2);
  }
}

std::optional<size_t> FollowClient::ReadUntil(
    std::string_view needle, size_t from, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    const size_t at = body_.find(needle, from);
    if (at != std::string::npos) return at + needle.size();
    if (ended_ || !Fill(deadline)) return std::nullopt;
    Dechunk();
  }
}

}  // namespace cairn::testing
