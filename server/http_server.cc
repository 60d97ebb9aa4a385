#include "server/http_server.h"

#include <pthread.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <charconv>
#include <chrono>
#include <latch>
#include <list>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "server/api.h"
#include "server/async_store.h"
#include "server/event_json.h"
#include "server/http_errors.h"
#include "server/json_writer.h"
#include "server/log.h"
#include "server/metrics.h"
#include "server/stop_registry.h"
#include "server/subscription.h"
#include "server/ws_session.h"

namespace cairn::server {
namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using net::awaitable;
using net::ip::tcp;
constexpr auto kUseTuple = net::experimental::as_tuple(net::use_awaitable);

namespace {

constexpr size_t kHeaderLimit = 16 * 1024;
// The room a body is read into, at most, per read. Beast reads a body as
// much as the buffer has free, but at least 512 bytes and at most 64 KiB:
// with a buffer sized for headers, a 1,000-event body (about 260 KB) took
// 514 recvmsg and 289 resets of the connection's timer, and now 5 and 3;
// the I/O threads' CPU per event halved (docs/BENCHMARKS.md).
constexpr size_t kBodyReadBytes = 64 * 1024;
// How long the acceptor rests after a failed accept (EMFILE, ENOBUFS).
constexpr auto kAcceptRetryPause = std::chrono::milliseconds(100);

// One client connection. Its coroutine owns it through a shared_ptr; the
// server keeps weak ones to close idle connections at shutdown.
struct Connection {
  explicit Connection(tcp::socket socket) : stream(std::move(socket)) {}
  beast::tcp_stream stream;
  bool idle = true;  // waiting for a request; touched only on its loop
  // The socket moved on to a WebSocket session, which now owns the
  // connection's place among those shutdown waits for.
  bool upgraded = false;
};

class HttpServerImpl final : public HttpServer {
 public:
  HttpServerImpl(const Config& config, storage::EventStore* store,
                 projections::Runner* projections, auth::JwtVerifier* verifier)
      : config_(config),
        verifier_(verifier),
        loops_(MakeLoops(IoThreads(config))),
        readers_(config.reader_threads),
        limits_(TenantLimitsOf(config)),
        metrics_(store, projections, &limits_),
        api_(store, projections, readers_.get_executor(), config, verifier,
             &limits_, &metrics_),
        acceptor_(*loops_.front()) {}

  ~HttpServerImpl() override { readers_.join(); }

  Status Bind(const ListenAddress& address) {
    beast::error_code ec;
    auto ip = net::ip::make_address(
        address.host == "localhost" ? "127.0.0.1" : address.host, ec);
    if (ec) return Status::InvalidArgument("bad listen host: " + address.host);
    tcp::endpoint endpoint(ip, address.port);
    acceptor_.open(endpoint.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(endpoint, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      return Status::IOError("cannot listen on " + config_.listen + ": " +
                             ec.message());
    }
    return Status::Ok();
  }

  std::string BoundAddress() const override {
    beast::error_code ec;
    auto ep = acceptor_.local_endpoint(ec);
    return ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void Run() override {
    // Each naming task waits for all the others, so that every one runs on
    // a thread of its own (otherwise one thread may run two, and another
    // keeps the process's name in top and perf).
    auto named = std::make_shared<std::latch>(config_.reader_threads);
    for (unsigned i = 0; i < config_.reader_threads; ++i) {
      net::post(readers_, [named] {
        pthread_setname_np(pthread_self(), "cairn-reader");
        named->arrive_and_wait();
      });
    }
    net::io_context& first = *loops_.front();
    net::co_spawn(first, Accept(), net::detached);
    net::signal_set signals(first, SIGINT, SIGTERM);
    signals.async_wait([this](const beast::error_code& ec, int sig) {
      if (!ec) BeginShutdown(sig);
    });
    net::signal_set hangup(first, SIGHUP);
    WaitHangup(hangup);
    // Each loop runs until Finish stops it, connections or none.
    std::vector<net::executor_work_guard<net::io_context::executor_type>> busy;
    for (auto& loop : loops_) busy.push_back(net::make_work_guard(*loop));
    std::vector<std::thread> threads;
    for (size_t i = 1; i < loops_.size(); ++i) {
      threads.emplace_back([this, i] { RunIo(*loops_[i]); });
    }
    RunIo(first);
    for (auto& t : threads) t.join();
  }

 private:
  static unsigned IoThreads(const Config& c) {
    return c.io_threads > 0 ? c.io_threads
                            : std::max(1u, std::thread::hardware_concurrency());
  }

  // One event loop per I/O thread, each run by that thread alone: a
  // connection lives on one loop, so its handlers never race, with no
  // strand and no hand-off of ready sockets between threads. One
  // io_context shared by two threads cost the I/O threads a tenth more CPU
  // per append at 64 clients and a quarter more at 8, in strand dispatch,
  // the scheduler's mutex and its wake-ups (docs/BENCHMARKS.md).
  static std::vector<std::unique_ptr<net::io_context>> MakeLoops(unsigned n) {
    std::vector<std::unique_ptr<net::io_context>> loops;
    for (unsigned i = 0; i < n; ++i) {
      loops.push_back(std::make_unique<net::io_context>(1));
    }
    return loops;
  }

  // The loop for the next connection: each in turn.
  net::io_context& NextLoop() { return *loops_[next_loop_++ % loops_.size()]; }

  // SIGHUP: the key files are read again; on failure the old keys stay.
  void WaitHangup(net::signal_set& hangup) {
    hangup.async_wait([this, &hangup](const beast::error_code& ec, int) {
      if (ec) return;
      if (verifier_ == nullptr) {
        log::Info("SIGHUP: no JWT keys to reload (dev mode)");
      } else if (Status s = verifier_->Reload(); s.ok()) {
        log::Info("SIGHUP: JWT keys reloaded");
      } else {
        log::Error("SIGHUP: cannot reload the JWT keys; the old ones stay",
                   {{"error", s.ToString()}});
      }
      WaitHangup(hangup);
    });
  }

  static void RunIo(net::io_context& loop) {
    pthread_setname_np(pthread_self(), "cairn-io");
    // A handler must not throw; if one does, the server cannot vouch for
    // its state: log and exit non-zero rather than limp on.
    try {
      loop.run();
    } catch (const std::exception& e) {
      log::Error("unexpected exception on an I/O thread",
                 {{"error", e.what()}});
      std::_Exit(70);
    }
  }

  awaitable<void> Accept() {
    for (;;) {
      auto [ec, socket] =
          co_await acceptor_.async_accept(NextLoop(), kUseTuple);
      if (ec) {
        if (ec == net::error::operation_aborted || !acceptor_.is_open()) {
          co_return;
        }
        // Out of file descriptors (or buffers), every accept fails at once
        // until a connection closes: pause instead of spinning on the
        // error and flooding the log.
        log::Warn("accept failed", {{"error", ec.message()}});
        net::steady_timer pause(acceptor_.get_executor(), kAcceptRetryPause);
        auto [wait_ec] = co_await pause.async_wait(kUseTuple);
        (void)wait_ec;  // cancelled only when the server stops
        continue;
      }
      socket.set_option(tcp::no_delay(true), ec);
      auto conn = std::make_shared<Connection>(std::move(socket));
      if (!Track(conn)) {
        net::co_spawn(conn->stream.get_executor(), Refuse(conn), net::detached);
        continue;
      }
      net::co_spawn(conn->stream.get_executor(), Serve(conn),
                    [this, conn](std::exception_ptr e) {
                      // An upgraded connection ends with its WebSocket.
                      if (e || !conn->upgraded) Finished(conn, e);
                    });
    }
  }

  void Finished(const std::shared_ptr<Connection>& conn, std::exception_ptr e) {
    if (e) {
      try {
        std::rethrow_exception(e);
      } catch (const std::exception& ex) {
        log::Error("connection failed", {{"error", ex.what()}});
      }
    }
    Untrack(conn.get());
  }

  // One connection: requests in order (pipelining is sequential), until
  // the client closes, an error, or shutdown.
  awaitable<void> Serve(std::shared_ptr<Connection> conn) {
    beast::tcp_stream& stream = conn->stream;
    beast::flat_buffer buffer;
    bool unread_body = false;  // a body may still be arriving
    for (;;) {
      if (api_.shutting_down() && buffer.size() == 0) break;
      conn->idle = true;
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      parser.body_limit(config_.max_body_bytes);
      stream.expires_after(std::chrono::seconds(config_.idle_timeout_seconds));
      auto [ec, n] =
          co_await http::async_read_header(stream, buffer, parser, kUseTuple);
      conn->idle = false;
      const auto started = std::chrono::steady_clock::now();
      // Beast refuses a Content-Length over the limit as soon as the
      // header is in, with the header parsed: route it anyway, so that
      // 404/405 come before 413 (API.md), and Prepare answers 413.
      if (ec && ec != http::error::body_limit) {
        log::Debug("connection ends", {{"reason", ec.message()}});
        if (IsBadRequest(ec)) {
          const unsigned status = ec == http::error::header_limit ? 431 : 400;
          const TraceContext trace = TraceContext::FromHeader("");
          co_await Write(
              stream,
              Traced(Problem(status, "malformed request: " + ec.message(),
                             trace.trace_id),
                     trace),
              11, false);
        }
        break;
      }
      auto& req = parser.get();
      if (IsWebSocketUpgrade(req) && !api_.shutting_down() &&
          req.target().substr(0, req.target().find('?')) == "/v1/ws") {
        // The connection becomes a WebSocket for the rest of its life. It
        // runs as a coroutine of its own, so that this one's frame (the
        // HTTP parser and buffers, ~4 KB) is freed rather than held by
        // every idle socket.
        conn->upgraded = true;
        const auto loop = stream.get_executor();  // before the move
        net::co_spawn(
            loop,
            RunWebSocket(
                std::move(stream), parser.release(),
                {api_.store(), api_.projections(), readers_.get_executor(),
                 &config_, &stops_, verifier_, &limits_}),
            [this, conn](std::exception_ptr e) { Finished(conn, e); });
        co_return;
      }
      RequestHead head = HeadOf(parser);
      PreparedRequest prepared = api_.Prepare(head);
      bool keep_alive = req.keep_alive() && !api_.shutting_down();
      HttpResponse response;

      if (api_.shutting_down()) {
        response = Problem(503, "shutting down", prepared.trace.trace_id);
        keep_alive = false;
      } else if (prepared.early) {
        response = std::move(*prepared.early);
        // The body was not read: the connection cannot be reused.
        if (head.has_body) {
          keep_alive = false;
          unread_body = true;
        }
      } else {
        if (!parser.is_done()) {
          if (req[http::field::expect] == "100-continue") {
            http::response<http::empty_body> cont{http::status::continue_,
                                                  req.version()};
            auto [wec, wn] =
                co_await http::async_write(stream, cont, kUseTuple);
            if (wec) break;
          }
          if (const auto length = parser.content_length()) {
            buffer.reserve(buffer.size() +
                           std::min<uint64_t>(*length, kBodyReadBytes));
          }
          stream.expires_after(
              std::chrono::seconds(config_.idle_timeout_seconds));
          auto [bec, bn] =
              co_await http::async_read(stream, buffer, parser, kUseTuple);
          if (bec == http::error::body_limit) {
            unread_body = true;
            co_await Write(
                stream,
                Traced(Problem(413,
                               "the body is larger than " +
                                   std::to_string(config_.max_body_bytes) +
                                   " bytes",
                               prepared.trace.trace_id),
                       prepared.trace),
                req.version(), false);
            break;
          }
          if (bec) {
            if (IsBadRequest(bec)) {
              co_await Write(
                  stream,
                  Traced(Problem(400, "malformed body: " + bec.message(),
                                 prepared.trace.trace_id),
                         prepared.trace),
                  req.version(), false);
            }
            break;
          }
        }
        response = co_await api_.Handle(prepared, head, std::move(req.body()));
      }
      response.headers.emplace_back("traceparent", prepared.trace.ToHeader());
      metrics_.ObserveRequest(
          prepared.route.outcome == Route::Outcome::kOk ||
                  prepared.route.outcome == Route::Outcome::kMethodNotAllowed
              ? std::optional<Endpoint>(prepared.route.endpoint)
              : std::nullopt,
          response.status,
          std::chrono::duration<double>(std::chrono::steady_clock::now() -
                                        started)
              .count());
      if (log::Enabled(log::Level::kDebug)) {
        log::Debug("request", {{"method", head.method},
                               {"target", head.target},
                               {"status", response.status},
                               {"trace_id", prepared.trace.trace_id}});
      }
      bool ok = false;
      if (response.subscription) {
        ok = co_await WriteSubscription(stream, std::move(response),
                                        req.version(), keep_alive);
      } else if (response.stream) {
        ok = co_await WriteStream(stream, std::move(response), req.version(),
                                  keep_alive);
      } else {
        ok = co_await Write(stream, std::move(response), req.version(),
                            keep_alive);
      }
      if (!ok || !keep_alive) break;
    }
    co_await LingeringClose(stream, unread_body);
  }

  // Every response carries its trace (API.md, Tracing).
  static HttpResponse Traced(HttpResponse r, const TraceContext& trace) {
    r.headers.emplace_back("traceparent", trace.ToHeader());
    return r;
  }

  // Closes after our last response. If the client may still be sending a
  // body we did not read, closing at once would reset the connection and
  // could destroy that response in flight (RFC 9112 9.6): stop sending,
  // then discard what arrives, bounded in bytes and time.
  static awaitable<void> LingeringClose(beast::tcp_stream& stream,
                                        bool unread_body) {
    beast::error_code ec;
    stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    if (unread_body && !ec) {
      constexpr size_t kMaxDiscard = size_t{64} << 20;
      std::array<char, 16 * 1024> scratch;
      size_t discarded = 0;
      stream.expires_after(std::chrono::seconds(2));
      while (discarded < kMaxDiscard) {
        auto [rec, n] =
            co_await stream.async_read_some(net::buffer(scratch), kUseTuple);
        if (rec) break;
        discarded += n;
      }
    }
    stream.close();
  }

  static bool IsBadRequest(const beast::error_code& ec) {
    return ec.category() ==
               http::make_error_code(http::error::bad_method).category() &&
           ec != http::error::end_of_stream &&
           ec != http::error::partial_message;
  }

  static RequestHead HeadOf(
      const http::request_parser<http::string_body>& parser) {
    const auto& req = parser.get();
    RequestHead h;
    const auto sv = [](beast::string_view s) {
      return std::string_view(s.data(), s.size());
    };
    h.method = sv(req.method_string());
    h.target = sv(req.target());
    h.content_type = sv(req[http::field::content_type]);
    h.accept = sv(req[http::field::accept]);
    h.tenant = sv(req["X-Cairn-Tenant"]);
    h.authorization = sv(req[http::field::authorization]);
    h.traceparent = sv(req["traceparent"]);
    h.last_event_id = sv(req["Last-Event-ID"]);
    h.if_none_match = sv(req[http::field::if_none_match]);
    // The announced length (payload_size() would be the body read so far).
    if (parser.is_header_done()) {
      if (auto len = parser.content_length()) h.content_length = *len;
    } else {
      // A header refused for body_limit has every field parsed, but is not
      // marked done, and content_length() asserts that it is: the field
      // then holds the length Beast validated (and found over the limit).
      const beast::string_view field = req[http::field::content_length];
      uint64_t len = 0;
      const auto [end, ec] =
          std::from_chars(field.data(), field.data() + field.size(), len);
      if (ec == std::errc() && end == field.data() + field.size()) {
        h.content_length = len;
      }
    }
    h.has_body =
        parser.chunked() || (h.content_length && *h.content_length > 0);
    return h;
  }

  // A whole response: its head (ResponseHead), then head and body in one
  // gathered write.
  awaitable<bool> Write(beast::tcp_stream& stream, HttpResponse r,
                        unsigned version, bool keep_alive) {
    if (IsBodiless(r.status)) r.body.clear();
    const std::string head =
        ResponseHead(r, version, keep_alive, r.body.size());
    const std::array<net::const_buffer, 2> buffers = {net::buffer(head),
                                                      net::buffer(r.body)};
    stream.expires_after(std::chrono::seconds(config_.idle_timeout_seconds));
    auto [ec, n] = co_await net::async_write(stream, buffers, kUseTuple);
    co_return !ec;
  }

  static bool IsBodiless(unsigned status) {
    return status < 200 || status == 204 || status == 304;
  }

  // The status line and header fields of every response, whose body is
  // `body_bytes` long, or chunked when none: a field named twice in
  // r.headers keeps its last value; 1xx, 204 and 304 have no
  // Content-Length (and no body); HTTP/1.0 says keep-alive, HTTP/1.1 says
  // close. Beast's serializer allocates every field and walks them through
  // nested buffer views: writing the head by hand took about a sixth off
  // the I/O threads' CPU per append at 64 clients (docs/BENCHMARKS.md).
  static std::string ResponseHead(const HttpResponse& r, unsigned version,
                                  bool keep_alive,
                                  std::optional<size_t> body_bytes) {
    std::string head;
    head.reserve(192);
    head.append(version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
    AppendUint(&head, r.status);
    head.push_back(' ');
    const beast::string_view reason =
        http::obsolete_reason(static_cast<http::status>(r.status));
    head.append(reason.data(), reason.size());
    head.append("\r\nServer: cairn\r\n");
    const auto field = [&head](std::string_view name, std::string_view value) {
      head.append(name);
      head.append(": ");
      head.append(value);
      head.append("\r\n");
    };
    if (!r.content_type.empty()) field("Content-Type", r.content_type);
    for (size_t i = 0; i < r.headers.size(); ++i) {
      const auto& [name, value] = r.headers[i];
      const bool replaced =
          std::any_of(r.headers.begin() + static_cast<ptrdiff_t>(i) + 1,
                      r.headers.end(), [&name](const auto& later) {
                        return beast::iequals(later.first, name);
                      });
      if (!replaced) field(name, value);
    }
    if (version == 10 && keep_alive) field("Connection", "keep-alive");
    if (version != 10 && !keep_alive) field("Connection", "close");
    if (!body_bytes) {
      field("Transfer-Encoding", "chunked");
    } else if (!IsBodiless(r.status)) {
      head.append("Content-Length: ");
      AppendUint(&head, *body_bytes);
      head.append("\r\n");
    }
    head.append("\r\n");
    return head;
  }

  // The status line and headers of a chunked response.
  awaitable<bool> WriteChunkedHeader(beast::tcp_stream& stream,
                                     const HttpResponse& r, unsigned version,
                                     bool keep_alive) {
    const std::string head =
        ResponseHead(r, version, keep_alive, /*body_bytes=*/std::nullopt);
    stream.expires_after(std::chrono::seconds(config_.idle_timeout_seconds));
    auto [ec, n] =
        co_await net::async_write(stream, net::buffer(head), kUseTuple);
    co_return !ec;
  }

  // A chunked body from a ChunkSource. Chunks are read on the reader pool
  // while the ones before them are written, so reading and sending
  // overlap; an independent source's chunks are read two at a time, on two
  // reader threads, since reading and rendering costs more than sending.
  // An error after the header ends the response without its last chunk:
  // the client sees a truncated body rather than a wrong one.
  awaitable<bool> WriteStream(beast::tcp_stream& stream, HttpResponse r,
                              unsigned version, bool keep_alive) {
    using net::experimental::awaitable_operators::operator&&;
    using Chunk = Result<std::optional<std::string>>;
    const bool started =
        co_await WriteChunkedHeader(stream, r, version, keep_alive);
    if (!started) co_return false;
    std::shared_ptr<ChunkSource> source = std::move(r.stream);
    const size_t at_once = source->Independent() ? 2 : 1;
    const auto read = [this, source](size_t index) {
      return RunOn(readers_.get_executor(),
                   [source, index] { return source->Read(index); });
    };
    // Chunks [first, first + at_once).
    const auto read_batch =
        [&read, at_once](size_t first) -> awaitable<std::vector<Chunk>> {
      std::vector<Chunk> chunks;
      if (at_once == 1) {
        chunks.push_back(co_await read(first));
      } else {
        auto [a, b] = co_await (read(first) && read(first + 1));
        chunks.push_back(std::move(a));
        chunks.push_back(std::move(b));
      }
      co_return chunks;
    };
    const auto write_all = [this,
                            &stream](const std::vector<std::string>& chunks)
        -> awaitable<boost::system::error_code> {
      for (const std::string& chunk : chunks) {
        stream.expires_after(
            std::chrono::seconds(config_.idle_timeout_seconds));
        auto [ec, n] = co_await net::async_write(
            stream, http::make_chunk(net::buffer(chunk)), kUseTuple);
        if (ec) co_return ec;
      }
      co_return boost::system::error_code();
    };

    size_t next = 0;
    std::vector<Chunk> batch = co_await read_batch(next);
    next += at_once;
    for (;;) {
      std::vector<std::string> ready;
      bool ended = false;
      for (Chunk& chunk : batch) {
        if (!chunk.has_value()) {
          log::Error("streamed read failed",
                     {{"error", chunk.error().ToString()}});
          co_return false;
        }
        if (!chunk->has_value()) {
          ended = true;
          break;
        }
        if (!(*chunk)->empty()) ready.push_back(std::move(**chunk));
      }
      if (ended) {
        if (co_await write_all(ready)) co_return false;
        break;
      }
      // Both finish; the operator flattens their results.
      auto [wec, following] = co_await (write_all(ready) && read_batch(next));
      if (wec) co_return false;
      next += at_once;
      batch = std::move(following);
    }
    auto [lec, ln] =
        co_await net::async_write(stream, http::make_chunk_last(), kUseTuple);
    co_return !lec;
  }

  // A subscription as a chunked body (follow=true, SSE): each send is one
  // chunk. A client that stops reading blocks the send; after the idle
  // timeout the connection is closed, and the client resumes from the last
  // position it has (SSE: Last-Event-ID).
  class ChunkSink final : public SubscriptionSink {
   public:
    ChunkSink(beast::tcp_stream& stream, SubscriptionBody::Format format,
              std::chrono::seconds timeout)
        : stream_(stream), format_(format), timeout_(timeout) {}

    void Format(std::string* out, GlobalPosition position,
                const EventView& event) const override {
      if (format_ == SubscriptionBody::Format::kSse) {
        out->append("id: ");
        AppendUint(out, position.value());
        out->append("\ndata: ");
        AppendEventJson(out, position, event);
        out->append("\n\n");
      } else {
        AppendEventJson(out, position, event);
        out->push_back('\n');
      }
    }
    awaitable<bool> Send(std::string& framed) override {
      stream_.expires_after(timeout_);
      auto [ec, n] = co_await net::async_write(
          stream_, http::make_chunk(net::buffer(framed)), kUseTuple);
      co_return !ec;
    }
    awaitable<bool> CaughtUp(std::optional<uint64_t>,
                             std::optional<uint64_t>) override {
      co_return true;  // HTTP streams have no such line
    }
    awaitable<bool> Heartbeat() override {
      std::string beat = format_ == SubscriptionBody::Format::kSse
                             ? ": heartbeat\n\n"
                             : "{\"op\":\"heartbeat\"}\n";
      co_return co_await Send(beat);
    }

   private:
    beast::tcp_stream& stream_;
    const SubscriptionBody::Format format_;
    const std::chrono::seconds timeout_;
  };

  awaitable<bool> WriteSubscription(beast::tcp_stream& stream, HttpResponse r,
                                    unsigned version, bool keep_alive) {
    const bool started =
        co_await WriteChunkedHeader(stream, r, version, keep_alive);
    if (!started) co_return false;

    ChunkSink sink(stream, r.subscription->format,
                   std::chrono::seconds(config_.idle_timeout_seconds));
    auto control = std::make_shared<SubscriptionControl>(
        co_await net::this_coro::executor);
    Status s;
    {
      StopRegistration registration(stops_, control);
      s = co_await RunSubscription(
          api_.store(), readers_.get_executor(), *r.subscription->spec,
          SubscriptionLimitsOf(config_), sink, control);
    }
    if (!s.ok()) {
      // The status line is sent: end without the last chunk, so the client
      // sees a broken body rather than a complete one.
      log::Warn("subscription failed", {{"error", s.ToString()}});
      co_return false;
    }
    auto [lec, ln] =
        co_await net::async_write(stream, http::make_chunk_last(), kUseTuple);
    co_return !lec && !control->stopped();
  }

  // False when --max-connections are open already.
  bool Track(const std::shared_ptr<Connection>& c) {
    std::lock_guard lock(mu_);
    if (connections_.size() >= config_.max_connections) return false;
    connections_.push_back(c);
    metrics_.ConnectionOpened();
    return true;
  }

  // A connection over the limit: told so, then closed.
  awaitable<void> Refuse(std::shared_ptr<Connection> conn) {
    const TraceContext trace = TraceContext::FromHeader("");
    HttpResponse r =
        Traced(Problem(503, "the server has too many connections; retry later",
                       trace.trace_id),
               trace);
    r.headers.emplace_back("Retry-After", "1");
    co_await Write(conn->stream, std::move(r), 11, false);
    co_await LingeringClose(conn->stream, false);
  }

  void Untrack(Connection* c) {
    metrics_.ConnectionClosed();
    std::lock_guard lock(mu_);
    connections_.remove_if([c](const std::weak_ptr<Connection>& w) {
      auto p = w.lock();
      return !p || p.get() == c;
    });
    if (connections_.empty() && api_.shutting_down()) Finish();
  }

  void BeginShutdown(int signal) {
    log::Info("shutting down", {{"signal", signal}});
    api_.SetShuttingDown();
    beast::error_code ec;
    acceptor_.close(ec);
    std::vector<std::shared_ptr<Connection>> open;
    {
      std::lock_guard lock(mu_);
      for (auto& w : connections_) {
        if (auto c = w.lock()) open.push_back(std::move(c));
      }
      if (open.empty()) {
        Finish();
        return;
      }
    }
    // Subscriptions end their responses; idle connections close now; busy
    // ones finish their request first.
    stops_.StopAll();
    for (auto& c : open) {
      net::post(c->stream.get_executor(), [c] {
        if (c->idle) c->stream.socket().cancel();
      });
    }
    grace_timer_.expires_after(
        std::chrono::seconds(config_.shutdown_grace_seconds));
    grace_timer_.async_wait([this](const beast::error_code& e) {
      if (e) return;
      log::Warn("shutdown grace period over; closing remaining connections");
      Finish();
    });
  }

  void Finish() {
    // Called from any thread; the timer is left alone (not thread-safe) and
    // its pending wait is destroyed with the stopped io_context.
    if (finished_.exchange(true)) return;
    for (auto& loop : loops_) loop->stop();
  }

  const Config config_;
  auth::JwtVerifier* const verifier_;
  // Before the acceptor and timer registered with them: destroyed after.
  std::vector<std::unique_ptr<net::io_context>> loops_;
  size_t next_loop_ = 0;  // touched only by Accept, on the first loop
  net::thread_pool readers_;
  TenantLimits limits_;
  Metrics metrics_;
  Api api_;
  tcp::acceptor acceptor_;
  net::steady_timer grace_timer_{*loops_.front()};
  std::atomic<bool> finished_{false};
  std::mutex mu_;
  std::list<std::weak_ptr<Connection>> connections_;  // guarded by mu_
  StopRegistry stops_;  // subscriptions and WebSockets
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Create(
    const Config& config, storage::EventStore* store,
    projections::Runner* projections, auth::JwtVerifier* verifier) {
  ListenAddress address;
  if (!ParseListenAddress(config.listen, &address)) {
    return Status::InvalidArgument("--listen must be HOST:PORT, not " +
                                   config.listen);
  }
  auto server =
      std::make_unique<HttpServerImpl>(config, store, projections, verifier);
  if (Status s = server->Bind(address); !s.ok()) return s;
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace cairn::server
