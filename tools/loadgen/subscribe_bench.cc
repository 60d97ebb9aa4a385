// cairn-subscribe-bench: the subscription side of the load generator
// (issue 3's figures). One thread, Asio coroutines, Beast WebSockets.
//
//   latency   N WebSocket subscribers, each on its own stream, and M on the
//             tenant log, all from "end"; appends at a fixed rate over the
//             N streams on a few HTTP connections. Each event's delivery is
//             timed against the moment its append was sent and the moment
//             its 201 came back (matched by position).
//   catch-up  one WebSocket subscriber on the whole log from "start": the
//             time until its "caught-up" frame, events/s.
//   idle      N WebSocket subscribers, one stream subscription each, held
//             open for --hold seconds once all are caught up (measure the
//             server's memory meanwhile: bench/run_subscription_bench.sh).
//   read-model  appends of DOMAIN.md AttemptSubmitted events at --rate over
//             --subscribers learners; after each 201 the writer reads the
//             learner's dashboard with minPosition = the append's position
//             (read-your-writes): the time from the 201 to that answer
//             bounds the projection's lag.
//
//   cairn-subscribe-bench --target 127.0.0.1:8642 --mode latency
//       --subscribers 1000 --log-subscribers 10 --rate 2000 --duration 10

#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cairn::loadgen {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

struct Options {
  std::string target = "127.0.0.1:8642";
  std::string mode = "latency";
  std::string tenant = "subbench";
  unsigned subscribers = 1000;
  unsigned log_subscribers = 10;
  unsigned rate = 2000;
  unsigned writers = 4;
  double duration = 10;
  double hold = 10;
};

std::optional<uint64_t> UintAfter(std::string_view text, std::string_view key) {
  const size_t at = text.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  uint64_t v = 0;
  const char* begin = text.data() + at + key.size();
  auto [end, ec] = std::from_chars(begin, text.data() + text.size(), v);
  if (ec != std::errc()) return std::nullopt;
  return v;
}

struct Shared {
  Options o;
  tcp::endpoint endpoint;
  // Per position: when its append was sent and when its 201 came.
  std::unordered_map<uint64_t, std::pair<Clock::time_point, Clock::time_point>>
      appended;
  // read-model: milliseconds from each 201 to its minPosition read being
  // answered, and from the append's send (which bounds the projection's
  // lag from the commit, the commit being between the two).
  std::vector<double> read_your_writes;
  std::vector<double> send_to_read;
  // Deliveries: position and when, per kind of subscriber.
  std::vector<std::pair<uint64_t, Clock::time_point>> stream_deliveries;
  std::vector<std::pair<uint64_t, Clock::time_point>> log_deliveries;
  unsigned caught_up = 0;
  uint64_t catch_up_events = 0;
  std::optional<Clock::time_point> catch_up_done;
  unsigned errors = 0;
  bool stop = false;
};

net::awaitable<void> Subscriber(Shared& s, std::string subscribe, bool log) {
  websocket::stream<beast::tcp_stream> ws(co_await net::this_coro::executor);
  auto [cec] =
      co_await beast::get_lowest_layer(ws).async_connect(s.endpoint, kUseTuple);
  if (cec) {
    ++s.errors;
    co_return;
  }
  beast::get_lowest_layer(ws).expires_never();
  ws.set_option(websocket::stream_base::decorator(
      [tenant = s.o.tenant](websocket::request_type& req) {
        req.set("X-Cairn-Tenant", tenant);
      }));
  auto [hec] = co_await ws.async_handshake(s.o.target, "/v1/ws", kUseTuple);
  if (hec) {
    ++s.errors;
    co_return;
  }
  auto [wec, wn] = co_await ws.async_write(net::buffer(subscribe), kUseTuple);
  if (wec) {
    ++s.errors;
    co_return;
  }
  beast::flat_buffer buffer;
  bool counted = false;
  while (!s.stop) {
    buffer.clear();
    auto [ec, n] = co_await ws.async_read(buffer, kUseTuple);
    if (ec) break;
    const auto now = Clock::now();
    const std::string_view text(static_cast<const char*>(buffer.data().data()),
                                buffer.size());
    if (text.starts_with(R"({"op":"event")")) {
      if (s.o.mode == "catch-up") {
        ++s.catch_up_events;
        continue;
      }
      auto position = UintAfter(text, R"("position":)");
      if (!position) continue;
      (log ? s.log_deliveries : s.stream_deliveries)
          .emplace_back(*position, now);
    } else if (text.starts_with(R"({"op":"caught-up")")) {
      if (!counted) ++s.caught_up;
      counted = true;
      if (s.o.mode == "catch-up") s.catch_up_done = now;
    } else if (text.starts_with(R"({"op":"error")")) {
      std::fprintf(stderr, "error frame: %.*s\n", static_cast<int>(text.size()),
                   text.data());
      ++s.errors;
    }
  }
  beast::error_code ignored;
  beast::get_lowest_layer(ws).socket().close(ignored);
}

double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

// Appends one event at a time to lat-K streams (read-model: learner-uK),
// paced to its share of --rate.
net::awaitable<void> Writer(Shared& s, unsigned index,
                            Clock::time_point until) {
  beast::tcp_stream stream(co_await net::this_coro::executor);
  auto [cec] = co_await stream.async_connect(s.endpoint, kUseTuple);
  if (cec) {
    ++s.errors;
    co_return;
  }
  const auto interval = std::chrono::duration<double>(
      static_cast<double>(s.o.writers) / s.o.rate);
  net::steady_timer timer(stream.get_executor());
  auto next = Clock::now();
  beast::flat_buffer buffer;
  for (uint64_t i = index; Clock::now() < until; i += s.o.writers) {
    next += std::chrono::duration_cast<Clock::duration>(interval);
    timer.expires_at(next);
    co_await timer.async_wait(kUseTuple);
    http::request<http::string_body> req{
        http::verb::post,
        "/v1/streams/lat-" + std::to_string(i % s.o.subscribers) + "/events",
        11};
    req.set(http::field::host, s.o.target);
    req.set(http::field::content_type, "application/json");
    req.set("X-Cairn-Tenant", s.o.tenant);
    if (s.o.mode == "read-model") {
      req.target("/v1/streams/learner-u" + std::to_string(i % s.o.subscribers) +
                 "/events");
      req.body() =
          R"({"events":[{"type":"AttemptSubmitted","data":{"attemptId":"a)" +
          std::to_string(i) + R"(","userId":"u)" +
          std::to_string(i % s.o.subscribers) +
          R"(","exerciseId":"e","skillId":"skill-)" + std::to_string(i % 5) +
          R"(","lessonId":"l","correct":true,"score":1,"durationMs":900,)"
          R"("submittedAt":"2026-11-25T10:00:00Z"}}]})";
    } else {
      req.body() = R"({"events":[{"type":"Tick","data":{"i":)" +
                   std::to_string(i) + "}}]}";
    }
    req.prepare_payload();
    const auto sent = Clock::now();
    auto [wec, wn] = co_await http::async_write(stream, req, kUseTuple);
    http::response<http::string_body> res;
    auto [rec, rn] = co_await http::async_read(stream, buffer, res, kUseTuple);
    if (wec || rec || res.result_int() != 201) {
      ++s.errors;
      co_return;
    }
    const auto acked = Clock::now();
    auto position = UintAfter(res.body(), R"("lastPosition":)");
    if (position) s.appended[*position] = {sent, acked};
    if (s.o.mode != "read-model" || !position) continue;
    http::request<http::empty_body> read{
        http::verb::get,
        "/v1/read-models/dashboard/u" + std::to_string(i % s.o.subscribers) +
            "?minPosition=" + std::to_string(*position),
        11};
    read.set(http::field::host, s.o.target);
    read.set("X-Cairn-Tenant", s.o.tenant);
    auto [gwec, gwn] = co_await http::async_write(stream, read, kUseTuple);
    http::response<http::string_body> model;
    auto [grec, grn] =
        co_await http::async_read(stream, buffer, model, kUseTuple);
    if (gwec || grec || model.result_int() != 200) {
      ++s.errors;
      co_return;
    }
    const auto answered = Clock::now();
    s.read_your_writes.push_back(Ms(answered - acked));
    s.send_to_read.push_back(Ms(answered - sent));
  }
}

void Report(const char* name, const Shared& s,
            const std::vector<std::pair<uint64_t, Clock::time_point>>& got) {
  std::vector<double> from_201;
  std::vector<double> from_send;
  for (const auto& [position, at] : got) {
    auto it = s.appended.find(position);
    if (it == s.appended.end()) continue;
    from_send.push_back(Ms(at - it->second.first));
    from_201.push_back(std::max(0.0, Ms(at - it->second.second)));
  }
  const auto line = [name](const char* what, std::vector<double>& v) {
    if (v.empty()) {
      std::printf("  %-12s %-10s no deliveries\n", name, what);
      return;
    }
    std::sort(v.begin(), v.end());
    const auto at = [&v](double q) {
      return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
    };
    std::printf(
        "  %-12s %-10s n %zu  p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f ms\n",
        name, what, v.size(), at(0.5), at(0.99), at(0.999), v.back());
  };
  // From the 201: what the issue's target measures (negative when the event
  // arrived before the 201, counted as 0). From the send: the append too.
  line("from 201", from_201);
  line("from send", from_send);
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"cairn-subscribe-bench: WebSocket subscriptions under load"};
  app.add_option("--target", o.target, "HOST:PORT of cairnd")
      ->capture_default_str();
  app.add_option("--mode", o.mode, "latency, catch-up, idle or read-model")
      ->check(CLI::IsMember({"latency", "catch-up", "idle", "read-model"}))
      ->capture_default_str();
  app.add_option("--tenant", o.tenant, "X-Cairn-Tenant")->capture_default_str();
  app.add_option("--subscribers", o.subscribers,
                 "stream subscribers (latency, idle)")
      ->capture_default_str();
  app.add_option("--log-subscribers", o.log_subscribers,
                 "tenant-log subscribers (latency)")
      ->capture_default_str();
  app.add_option("--rate", o.rate, "appends per second (latency)")
      ->capture_default_str();
  app.add_option("--writers", o.writers, "HTTP connections appending")
      ->capture_default_str();
  app.add_option("--duration", o.duration, "seconds of appends (latency)")
      ->capture_default_str();
  app.add_option("--hold", o.hold, "seconds to hold the sockets (idle)")
      ->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
  const size_t colon = o.target.rfind(':');
  Shared s;
  s.o = o;
  s.endpoint = tcp::endpoint(
      net::ip::make_address(o.target.substr(0, colon)),
      static_cast<uint16_t>(std::stoi(o.target.substr(colon + 1))));
  net::io_context ioc;
  const auto spawn = [&ioc](net::awaitable<void> a) {
    net::co_spawn(ioc, std::move(a), net::detached);
  };
  // Runs the loop until `done` or `limit` passes.
  const auto run_until = [&ioc](auto done, std::chrono::seconds limit) {
    const auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline) {
      ioc.run_for(std::chrono::milliseconds(50));
      if (ioc.stopped()) ioc.restart();
    }
    return done();
  };

  const unsigned stream_subs =
      o.mode == "catch-up" || o.mode == "read-model" ? 0 : o.subscribers;
  const unsigned log_subs = o.mode == "latency"    ? o.log_subscribers
                            : o.mode == "catch-up" ? 1
                                                   : 0;
  const char* from = o.mode == "catch-up" ? "\"start\"" : "\"end\"";
  const auto opened = Clock::now();
  for (unsigned i = 0; i < stream_subs; ++i) {
    spawn(Subscriber(s,
                     R"({"op":"subscribe","id":"s","stream":"lat-)" +
                         std::to_string(i) + R"(","from":)" + from + "}",
                     false));
  }
  for (unsigned i = 0; i < log_subs; ++i) {
    spawn(Subscriber(
        s,
        std::string(R"({"op":"subscribe","id":"l","all":{},"from":)") + from +
            "}",
        true));
  }
  const unsigned total = stream_subs + log_subs;
  if (!run_until([&] { return s.caught_up == total || s.errors > 0; },
                 std::chrono::seconds(600))) {
    std::printf("only %u of %u subscribers caught up (%u errors)\n",
                s.caught_up, total, s.errors);
    return 1;
  }
  const auto ready = Clock::now();
  std::printf("cairn-subscribe-bench %s: %u subscribers caught up in %.1f ms\n",
              o.mode.c_str(), total, Ms(ready - opened));

  if (o.mode == "catch-up") {
    const double seconds = Ms(*s.catch_up_done - opened) / 1000;
    std::printf("  %llu events in %.3f s: %.0f events/s\n",
                static_cast<unsigned long long>(s.catch_up_events), seconds,
                static_cast<double>(s.catch_up_events) / seconds);
  } else if (o.mode == "read-model") {
    const auto until =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(o.duration));
    for (unsigned w = 0; w < o.writers; ++w) spawn(Writer(s, w, until));
    run_until([] { return false; },
              std::chrono::seconds(static_cast<int64_t>(o.duration) + 1));
    std::printf("  %zu appends (%.0f/s), each followed by its read\n",
                s.appended.size(),
                static_cast<double>(s.appended.size()) / o.duration);
    for (auto [what, v] :
         {std::pair("201 -> minPosition read answered", &s.read_your_writes),
          std::pair("append sent -> read answered", &s.send_to_read)}) {
      std::sort(v->begin(), v->end());
      const auto at = [v](double q) {
        return v->empty() ? 0.0
                          : (*v)[std::min(v->size() - 1,
                                          static_cast<size_t>(q * v->size()))];
      };
      std::printf("  %-34s p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f ms\n", what,
                  at(0.5), at(0.99), at(0.999), v->empty() ? 0.0 : v->back());
    }
  } else if (o.mode == "idle") {
    std::printf("  holding for %.0f s\n", o.hold);
    std::fflush(stdout);
    run_until([] { return false; },
              std::chrono::seconds(static_cast<int64_t>(o.hold)));
  } else {
    const auto until =
        Clock::now() + std::chrono::duration_cast<Clock::duration>(
                           std::chrono::duration<double>(o.duration));
    for (unsigned w = 0; w < o.writers; ++w) spawn(Writer(s, w, until));
    run_until([] { return false; },
              std::chrono::seconds(static_cast<int64_t>(o.duration)));
    // Let the last deliveries arrive.
    const size_t appended = s.appended.size();
    run_until(
        [&] {
          return s.stream_deliveries.size() >= appended &&
                 s.log_deliveries.size() >= appended * log_subs;
        },
        std::chrono::seconds(10));
    std::printf(
        "  %zu appends (%.0f/s), %zu stream deliveries, %zu log "
        "deliveries\n",
        appended, static_cast<double>(appended) / o.duration,
        s.stream_deliveries.size(), s.log_deliveries.size());
    Report("stream subs", s, s.stream_deliveries);
    Report("log subs", s, s.log_deliveries);
  }
  s.stop = true;
  std::printf("  errors %u\n", s.errors);
  return s.errors == 0 ? 0 : 1;
}

}  // namespace
}  // namespace cairn::loadgen

int main(int argc, char** argv) { return cairn::loadgen::Main(argc, argv); }
