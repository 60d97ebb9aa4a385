#include "server/ws_session.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <boost/asio/experimental/channel.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <variant>

#include "projections/read_models.h"
#include "protocol/names.h"
#include "server/async_store.h"
#include "server/auth/authorizer.h"
#include "server/http_errors.h"
#include "server/log.h"
#include "server/projection_wait.h"
#include "server/stop_registry.h"
#include "server/subscription.h"
#include "server/ws_protocol.h"

namespace cairn::server {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using net::awaitable;

namespace {

constexpr auto kUseTuple = net::experimental::as_tuple(net::use_awaitable);
// The WebSocket handshake (after the upgrade request) and the close.
constexpr std::chrono::seconds kHandshakeTimeout{30};
// Without an auth header or message within this, the socket closes 4401.
constexpr std::chrono::seconds kAuthTimeout{5};
// Batches of frames queued for the socket per connection (a batch is one
// catch-up page or one live round, up to about a thousand events); a full
// queue makes the subscriptions wait (and their taps overflow into storage
// reads).
constexpr size_t kOutboundBatches = 16;

constexpr websocket::close_code kUnauthenticated =
    static_cast<websocket::close_code>(4401);
// A token for another tenant than the auth message names.
constexpr websocket::close_code kForbidden =
    static_cast<websocket::close_code>(4403);

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// What the writer sends next: a frame, or the close that ends the socket.
// What the writer sends next: frames (one message per line: event JSON
// holds no raw newline), or the close that ends the socket. One queue
// entry per batch, not per frame: a hand-over between coroutines costs
// more than the write (catch-up 210,000 -> see docs/BENCHMARKS.md).
struct Outbound {
  std::string frames;
  std::optional<websocket::close_reason> close;
};

class WsSession : public std::enable_shared_from_this<WsSession> {
 public:
  WsSession(beast::tcp_stream stream, WebSocketContext context)
      : ws_(std::move(stream)),
        context_(context),
        out_(ws_.get_executor(), kOutboundBatches),
        stop_(std::make_shared<SubscriptionControl>(ws_.get_executor())) {}

  awaitable<void> Run(UpgradeRequest request) {
    auto self = shared_from_this();
    // The upgrade must finish within kHandshakeTimeout; an idle socket is
    // pinged, and closed when nothing comes back within the idle timeout.
    websocket::stream_base::timeout timeouts{};
    timeouts.handshake_timeout = kHandshakeTimeout;
    timeouts.idle_timeout =
        std::chrono::seconds(context_.config->idle_timeout_seconds);
    timeouts.keep_alive_pings = true;
    ws_.set_option(timeouts);
    ws_.set_option(
        websocket::stream_base::decorator([](websocket::response_type& res) {
          res.set(http::field::server, "cairn");
        }));
    ws_.read_message_max(context_.config->ws_max_message_bytes);
    beast::get_lowest_layer(ws_).expires_never();  // the websocket times out
    auto [aec] = co_await ws_.async_accept(request, kUseTuple);
    if (aec) co_return;

    // Dev mode takes the tenant from the upgrade's header, when it has one;
    // otherwise a bearer token in the upgrade's Authorization header. Else
    // the first message must authenticate.
    const auto sv = [](beast::string_view s) {
      return std::string_view(s.data(), s.size());
    };
    const std::string_view tenant = sv(request["X-Cairn-Tenant"]);
    const std::string_view authorization =
        sv(request[http::field::authorization]);
    std::optional<Status> refused;  // a bad token in the header
    if (context_.config->dev) {
      if (!tenant.empty() && ValidateTenant(tenant).ok()) {
        principal_ = auth::Authenticate("", tenant, true, nullptr, 0).value();
      }
    } else if (!authorization.empty()) {
      auto principal = auth::Authenticate(authorization, tenant, false,
                                          context_.verifier, NowSeconds());
      if (principal.has_value()) {
        principal_ = std::move(*principal);
      } else {
        refused = principal.error();
      }
    }
    // This frame lives as long as the socket: do not keep the request's
    // headers with it.
    request = {};
    StopRegistration registration(*context_.stops, stop_);
    net::co_spawn(ws_.get_executor(), Writer(self), net::detached);
    stop_->OnStop([weak = weak_from_this()] {
      if (auto self = weak.lock()) {
        net::co_spawn(self->ws_.get_executor(), GoAway(self), net::detached);
      }
    });
    if (refused) {
      co_await Refuse(*refused);
    } else if (!principal_) {
      net::co_spawn(ws_.get_executor(), AuthDeadline(self), net::detached);
    }
    co_await ReadLoop();
    // The client closed, or the socket failed: stop everything.
    stop_->OnStop(nullptr);
    stop_->Stop();
    StopSubscriptions();
    out_.close();
  }

 private:
  awaitable<void> ReadLoop() {
    beast::flat_buffer buffer;
    for (;;) {
      auto [ec, n] = co_await ws_.async_read(buffer, kUseTuple);
      if (ec) co_return;
      if (!ws_.got_text()) {
        buffer.consume(buffer.size());
        co_await SendFrame(ws::ErrorFrame(std::nullopt, 400,
                                          "binary frames are not supported"));
        continue;
      }
      const auto data = buffer.cdata();
      const std::string_view text(static_cast<const char*>(data.data()),
                                  data.size());
      ws::ClientMessage message = ws::ParseClientMessage(text);
      buffer.consume(buffer.size());
      co_await std::visit([this](auto& m) { return Handle(m); }, message);
    }
  }

  awaitable<void> Handle(ws::Auth& auth) {
    if (principal_) {
      co_await SendFrame(
          ws::ErrorFrame(std::nullopt, 400, "already authenticated"));
      co_return;
    }
    if (!context_.config->dev) {
      // A token that does not verify ends the socket (4401; 4403 for a
      // `tenant` other than the token's).
      auto principal = auth::AuthenticateToken(auth.token, auth.tenant,
                                               context_.verifier, NowSeconds());
      if (!principal.has_value()) {
        co_await Refuse(principal.error());
        co_return;
      }
      principal_ = std::move(*principal);
      co_await SendFrame(ws::AuthenticatedFrame());
      co_return;
    }
    const std::string tenant = auth.tenant.empty() ? "default" : auth.tenant;
    if (Status s = ValidateTenant(tenant); !s.ok()) {
      co_await SendFrame(
          ws::ErrorFrame(std::nullopt, 400, "tenant: " + s.message()));
      co_return;
    }
    principal_ = auth::Authenticate("", tenant, true, nullptr, 0).value();
    co_await SendFrame(ws::AuthenticatedFrame());
  }

  // Closes the socket for failed authentication.
  awaitable<void> Refuse(const Status& why) {
    const bool denied = why.IsPermissionDenied();
    co_await Close(websocket::close_reason(
        denied ? kForbidden : kUnauthenticated, why.message().substr(0, 120)));
  }

  awaitable<void> Handle(ws::Subscribe& sub) {
    if (!principal_) {
      co_await SendFrame(ws::ErrorFrame(sub.id, 401, "authenticate first"));
      co_return;
    }
    if (Status s =
            sub.read_model
                ? auth::RequireReadModel(*principal_, sub.read_model->key)
                : auth::RequireScope(*principal_, auth::Scope::kEventsRead);
        !s.ok()) {
      co_await SendFrame(ws::ErrorFrame(sub.id, 403, s.message()));
      co_return;
    }
    if (subscriptions_.contains(sub.id)) {
      co_await SendFrame(ws::ErrorFrame(sub.id, 400, "this id is subscribed"));
      co_return;
    }
    if (subscriptions_.size() >= context_.config->ws_max_subscriptions) {
      co_await SendFrame(ws::ErrorFrame(
          sub.id, 429,
          "too many subscriptions on this socket (at most " +
              std::to_string(context_.config->ws_max_subscriptions) + ")"));
      co_return;
    }
    if (sub.read_model &&
        (context_.projections == nullptr ||
         context_.projections->Find(sub.read_model->name) == nullptr)) {
      co_await SendFrame(ws::ErrorFrame(
          sub.id, 404, "no read model named " + sub.read_model->name));
      co_return;
    }
    TenantLimits::SubscriptionSlot slot =
        context_.limits->OpenSubscription(principal_->tenant);
    if (!slot) {
      co_await SendFrame(
          ws::ErrorFrame(sub.id, 429, context_.limits->SubscriptionRefusal()));
      co_return;
    }
    sub.spec.tenant = principal_->tenant;
    auto control = std::make_shared<SubscriptionControl>(ws_.get_executor());
    subscriptions_[sub.id] = {control, std::move(slot)};
    co_await SendFrame(ws::SubscribedFrame(sub.id));
    if (sub.read_model) {
      net::co_spawn(ws_.get_executor(),
                    RunReadModel(shared_from_this(), std::move(sub), control),
                    net::detached);
    } else {
      net::co_spawn(ws_.get_executor(),
                    RunOne(shared_from_this(), std::move(sub), control),
                    net::detached);
    }
  }

  awaitable<void> Handle(ws::Unsubscribe& unsub) {
    auto it = subscriptions_.find(unsub.id);
    if (it == subscriptions_.end()) {
      co_await SendFrame(ws::ErrorFrame(unsub.id, 404, "no such subscription"));
      co_return;
    }
    it->second.control->Stop();
    subscriptions_.erase(it);
    co_await SendFrame(ws::UnsubscribedFrame(unsub.id));
  }

  awaitable<void> Handle(ws::Refused& refused) {
    co_await SendFrame(
        ws::ErrorFrame(refused.id, refused.status, refused.title));
  }

  // The subscription's frames go through the connection's queue.
  class Sink final : public SubscriptionSink {
   public:
    Sink(WsSession& session, std::string id, bool stream)
        : session_(session), id_(std::move(id)), stream_(stream) {}
    void Format(std::string* out, GlobalPosition position,
                const EventView& event) const override {
      ws::AppendEventFrame(out, id_, position, event);
      out->push_back('\n');  // event JSON holds no raw newline
    }
    awaitable<bool> Send(std::string& framed) override {
      framed.pop_back();  // the writer splits on newlines: no empty frame
      co_return co_await session_.Send(framed);
    }
    awaitable<bool> CaughtUp(std::optional<uint64_t> position,
                             std::optional<uint64_t> revision) override {
      co_return co_await session_.SendFrame(
          ws::CaughtUpFrame(id_, position, stream_, revision));
    }
    awaitable<bool> Heartbeat() override {
      co_return co_await session_.SendFrame(ws::HeartbeatFrame());
    }

   private:
    WsSession& session_;
    const std::string id_;
    const bool stream_;
  };

  static awaitable<void> RunOne(std::shared_ptr<WsSession> self,
                                ws::Subscribe sub,
                                std::shared_ptr<SubscriptionControl> control) {
    Sink sink(*self, sub.id, sub.spec.stream.has_value());
    const Status s = co_await RunSubscription(
        self->context_.store, self->context_.readers, std::move(sub.spec),
        SubscriptionLimitsOf(*self->context_.config), sink, control);
    if (control->stopped()) co_return;  // unsubscribed, or closing
    self->Forget(sub.id, control);
    if (!s.ok()) {
      // A slow consumer is 429 (API.md), not the 503 of Busy elsewhere.
      const unsigned status =
          s.code() == Status::Code::kBusy ? 429 : HttpStatusOf(s);
      co_await self->SendFrame(ws::ErrorFrame(sub.id, status, s.message()));
    }
  }

  // A read model's document, then each new version: after every commit of
  // the projection for this tenant (the runner answers a wait for the next
  // position), the document is read again and sent if it changed.
  static awaitable<void> RunReadModel(
      std::shared_ptr<WsSession> self, ws::Subscribe sub,
      std::shared_ptr<SubscriptionControl> control) {
    const std::string name = sub.read_model->name;
    const std::string key = sub.read_model->key;
    const std::string tenant = sub.spec.tenant;
    projections::Runner& runner = *self->context_.projections;
    std::optional<std::string> sent;
    bool first = true;
    while (!control->stopped()) {
      auto read = co_await RunOn(self->context_.readers, [&] {
        return projections::ReadDocument(*self->context_.store, name, tenant,
                                         key);
      });
      if (control->stopped()) co_return;
      if (!read.has_value()) {
        self->Forget(sub.id, control);
        co_await self->SendFrame(ws::ErrorFrame(
            sub.id, HttpStatusOf(read.error()), read.error().message()));
        co_return;
      }
      if (first || read->document != sent) {
        first = false;
        sent = read->document;
        co_await self->SendFrame(
            ws::ReadModelFrame(sub.id, key, read->position, read->document));
      }
      // Until the projection applies the tenant's next event, a heartbeat
      // passes, or the subscription stops. The next version may come with
      // the runner's next pass: an open subscription does not end its
      // gathering pause (RunnerOptions::gather), or every open dashboard
      // would make the projector pass after each commit.
      const uint64_t next = read->position ? *read->position + 1 : 0;
      const std::optional<bool> applied = co_await WaitApplied(
          runner, name, tenant, next,
          std::chrono::milliseconds(self->context_.config->heartbeat_ms),
          projections::Runner::Urgency::kNextPass, control.get());
      if (control->stopped()) co_return;
      if (!applied) {
        co_await self->SendFrame(ws::HeartbeatFrame());
      } else if (!*applied) {
        self->Forget(sub.id, control);
        co_await self->SendFrame(ws::ErrorFrame(
            sub.id, 503, "the projection " + name + " is faulted"));
        co_return;
      }
    }
  }

  // Queues frames, one per line (taking them); waits while the queue is
  // full. False once closing.
  //
  // GCC 12 miscompiles some coroutine calls: a temporary argument inside
  // a co_await in a condition came out duplicated, and a by-value string
  // parameter was freed twice. So frames go by reference from named
  // variables, and results are tested after the co_await, never inside it.
  awaitable<bool> Send(std::string& frame) {
    Outbound out{std::move(frame), {}};
    auto [ec] = co_await out_.async_send(beast::error_code{}, std::move(out),
                                         kUseTuple);
    co_return !ec;
  }
  awaitable<bool> SendFrame(std::string frame) {
    const bool sent = co_await Send(frame);
    co_return sent;
  }

  // One write at a time, in queue order; a close ends the socket.
  static awaitable<void> Writer(std::shared_ptr<WsSession> self) {
    for (;;) {
      auto [ec, out] = co_await self->out_.async_receive(kUseTuple);
      if (ec) co_return;
      if (out.close) {
        // Whether the peer answers the close or not, the socket is done.
        co_await self->ws_.async_close(*out.close, kUseTuple);
        co_return;
      }
      self->ws_.text(true);
      for (size_t begin = 0; begin < out.frames.size();) {
        const size_t end =
            std::min(out.frames.find('\n', begin), out.frames.size());
        auto [wec, n] = co_await self->ws_.async_write(
            net::buffer(out.frames.data() + begin, end - begin), kUseTuple);
        if (wec) {
          // The reader learns it on its next read; stop queueing now.
          self->out_.close();
          co_return;
        }
        begin = end + 1;
      }
    }
  }

  // Shutdown: stop the subscriptions, flush what is queued, then close
  // with "going away".
  static awaitable<void> GoAway(std::shared_ptr<WsSession> self) {
    co_await self->Close(
        websocket::close_reason(websocket::close_code::going_away));
  }

  static awaitable<void> AuthDeadline(std::shared_ptr<WsSession> self) {
    net::steady_timer timer(self->ws_.get_executor(), kAuthTimeout);
    co_await timer.async_wait(kUseTuple);
    if (self->principal_ || self->stop_->stopped()) co_return;
    co_await self->Close(
        websocket::close_reason(kUnauthenticated, "authentication timed out"));
  }

  // Stops the subscriptions; the writer sends what is queued, then the
  // close.
  awaitable<void> Close(websocket::close_reason reason) {
    StopSubscriptions();
    Outbound close{{}, reason};
    co_await out_.async_send(beast::error_code{}, std::move(close), kUseTuple);
  }

  void StopSubscriptions() {
    for (auto& [id, running] : subscriptions_) running.control->Stop();
    subscriptions_.clear();
  }

  // A subscription that ended by itself: its id is free again, and so is
  // its place among the tenant's subscriptions. Not one that was replaced
  // under the same id meanwhile.
  void Forget(const std::string& id,
              const std::shared_ptr<SubscriptionControl>& control) {
    auto it = subscriptions_.find(id);
    if (it != subscriptions_.end() && it->second.control == control) {
      subscriptions_.erase(it);
    }
  }

  websocket::stream<beast::tcp_stream> ws_;
  const WebSocketContext context_;
  net::experimental::channel<void(beast::error_code, Outbound)> out_;
  const std::shared_ptr<SubscriptionControl> stop_;  // the whole connection
  std::optional<auth::Principal> principal_;         // once authenticated
  struct Running {
    std::shared_ptr<SubscriptionControl> control;
    TenantLimits::SubscriptionSlot slot;
  };
  std::map<std::string, Running> subscriptions_;  // by the client's id
};

}  // namespace

bool IsWebSocketUpgrade(const UpgradeRequest& request) {
  return websocket::is_upgrade(request);
}

awaitable<void> RunWebSocket(beast::tcp_stream stream, UpgradeRequest request,
                             WebSocketContext context) {
  auto session = std::make_shared<WsSession>(std::move(stream), context);
  co_await session->Run(std::move(request));
}

}  // namespace cairn::server
