// cairn-loadgen: the end-to-end HTTP load generator for cairnd (what
// leveldb's db_bench is to leveldb). N keep-alive connections, each one C++20
// coroutine on Boost.Asio with Beast parsing the responses, issue requests
// back to back (closed loop); every response is checked and timed. The
// connections are spread over --threads io_contexts, one thread each, so 64
// connections run fine on one thread.
//
//   cairn-loadgen --target http://127.0.0.1:8642 --workload append
//                 --connections 64 --duration 10
//   cairn-loadgen --workload batch --batch 1000 --connections 4
//   cairn-loadgen --workload preload --events 1000000 --batch 1000
//   cairn-loadgen --workload read-stream --limit 100 --stream-events 1000
//   cairn-loadgen --workload read-log --connections 1   (the log as NDJSON)
//
// Prints requests/s, events/s, errors by kind and latency percentiles from a
// log-linear histogram (HdrHistogram-like, <= 0.1% relative error); --json
// adds a one-line summary. Throughput and latency count successful requests
// only; any error is printed as a warning and makes the exit status 1.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <bit>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "protocol/uuid.h"
#include "tools/loadgen/histogram.h"

namespace cairn::loadgen {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

enum class Workload { kAppend, kBatch, kPreload, kReadStream, kReadLog };

struct Options {
  std::string target = "http://127.0.0.1:8642";
  Workload workload = Workload::kAppend;
  std::string tenant = "loadgen";
  std::string token;  // a bearer token, for a cairnd that checks them
  unsigned connections = 64;
  unsigned threads = 1;
  double duration = 10;
  uint64_t requests = 0;  // when > 0: a request count instead of a duration
  double warmup = 1;
  unsigned streams = 1000;
  unsigned batch = 1000;
  std::string expected_revision = "any";  // any, exact
  bool client_ids = false;
  unsigned limit = 100;
  uint64_t stream_events = 0;   // read-stream: events each stream holds
  uint64_t events = 1'000'000;  // preload
  uint64_t expect_events = 0;   // read-log: events each read must return
  bool verify_json = false;
  double timeout = 60;
  bool json = false;
};

bool IsWrite(Workload w) {
  return w == Workload::kAppend || w == Workload::kBatch ||
         w == Workload::kPreload;
}

const char* WorkloadName(Workload w) {
  switch (w) {
    case Workload::kAppend:
      return "append";
    case Workload::kBatch:
      return "batch";
    case Workload::kPreload:
      return "preload";
    case Workload::kReadStream:
      return "read-stream";
    case Workload::kReadLog:
      return "read-log";
  }
  return "?";
}

// What the connections of one I/O thread measured; only that thread
// touches it while the run lasts.
struct Stats {
  Histogram latency;
  uint64_t requests = 0;  // successful, measured
  uint64_t events = 0;
  uint64_t bytes = 0;  // response bytes received (measured, successful)
  std::map<std::string, uint64_t> errors;  // "409", "transport", ...
  uint64_t reconnects = 0;
  Clock::time_point last_finish{};
};

// State shared by every connection of a run.
struct Run {
  const Options* options = nullptr;
  std::string host;  // for the Host header
  tcp::resolver::results_type endpoints;
  Clock::time_point measure_from;
  Clock::time_point stop_at;              // duration mode
  std::atomic<uint64_t> next_request{0};  // counted modes: requests handed out
  uint64_t total_requests = 0;            // counted modes
  bool counted = false;                   // --requests or preload
};

// Appends a DOMAIN.md AttemptSubmitted event of learner `user`.
void AppendAttempt(std::string* out, unsigned user, uint64_t attempt,
                   std::mt19937_64& rng, bool client_id) {
  char num[24];
  const auto put = [&](uint64_t v) {
    auto [end, ec] = std::to_chars(num, num + sizeof num, v);
    out->append(num, end);
  };
  out->append("{");
  if (client_id) {
    Uuid id{rng(), rng()};
    id.hi = (id.hi & ~uint64_t{0xF000}) | 0x4000;  // version 4
    id.lo = (id.lo & ~(uint64_t{0xC} << 60)) | (uint64_t{0x8} << 60);
    out->append("\"id\":\"");
    const size_t at = out->size();
    out->resize(at + 36);
    id.FormatTo(out->data() + at);
    out->append("\",");
  }
  out->append(R"("type":"AttemptSubmitted","data":{"attemptId":"a-)");
  put(rng() >> 16);
  out->append(R"(","userId":"user-)");
  put(user);
  out->append(R"(","exerciseId":"ex-)");
  put(attempt % 40);
  out->append(R"(","skillId":"skill-)");
  put(attempt % 7);
  out->append(R"(","lessonId":"lesson-)");
  put(attempt % 40 / 8);
  const bool correct = attempt % 4 != 0;
  out->append(correct ? R"(","correct":true,"score":0.)"
                      : R"(","correct":false,"score":0.)");
  put(correct ? 75 + attempt % 25 : 10 + attempt % 40);
  out->append(R"(,"durationMs":)");
  put(2000 + attempt % 9000);
  // A time on 2026-11-25 from the attempt number.
  const uint64_t s = attempt % 86400;
  char time[9] = {static_cast<char>('0' + s / 36000),
                  static_cast<char>('0' + s / 3600 % 10),
                  ':',
                  static_cast<char>('0' + s % 3600 / 600),
                  static_cast<char>('0' + s % 600 / 60),
                  ':',
                  static_cast<char>('0' + s % 60 / 10),
                  static_cast<char>('0' + s % 10),
                  '\0'};
  out->append(R"(,"submittedAt":"2026-11-25T)");
  out->append(time);
  out->append(R"(Z"},"metadata":{"userId":"user-)");
  put(user);
  out->append("\"}}");
}

std::string StreamName(unsigned user) {
  return "learner-user-" + std::to_string(user);
}

// Parses "name":<uint> out of a small JSON body.
std::optional<uint64_t> UintField(std::string_view body,
                                  std::string_view quoted_name) {
  const size_t at = body.find(quoted_name);
  if (at == std::string_view::npos) return std::nullopt;
  const char* p = body.data() + at + quoted_name.size();
  const char* end = body.data() + body.size();
  while (p < end && (*p == ':' || *p == ' ')) ++p;
  uint64_t v = 0;
  auto [q, ec] = std::from_chars(p, end, v);
  if (ec != std::errc() || q == p) return std::nullopt;
  return v;
}

uint64_t Count(std::string_view text, std::string_view needle) {
  uint64_t n = 0;
  for (size_t at = text.find(needle); at != std::string_view::npos;
       at = text.find(needle, at + needle.size())) {
    ++n;
  }
  return n;
}

// The result of one exchange.
struct Outcome {
  std::string error;  // empty: success; else an error kind ("409", ...)
  uint64_t events = 0;
  uint64_t bytes = 0;
  bool reconnect = false;  // the connection must not be reused
};

class Connection {
 public:
  Connection(Run& run, unsigned index, Stats& stats)
      : run_(run),
        o_(*run.options),
        stats_(stats),
        rng_(0x9e3779b97f4a7c15ULL * (index + 1)) {
    // Beast reads as much as the buffer has room for (at least 512 bytes),
    // and a body moved out of it never makes it grow: without room up
    // front, a large response (read-log, read-stream) is read 512 bytes a
    // syscall and the client, not the server, sets the rate.
    buffer_.reserve(size_t{1} << 16);
    if (o_.expected_revision == "exact") {
      for (unsigned s = index; s < o_.streams; s += o_.connections) {
        own_streams_.push_back(s);
      }
      revisions_.assign(own_streams_.size(), std::nullopt);
    }
  }

  net::awaitable<void> Loop() {
    auto executor = co_await net::this_coro::executor;
    beast::tcp_stream stream(executor);
    bool connected = false;
    int failed_connects = 0;
    for (;;) {
      // Claim the next request (or stop).
      const auto now = Clock::now();
      const bool warmup = now < run_.measure_from;
      uint64_t number = 0;
      if (!warmup) {
        if (run_.counted) {
          number = run_.next_request.fetch_add(1);
          if (number >= run_.total_requests) break;
        } else if (now >= run_.stop_at) {
          break;
        }
      }
      if (!connected) {
        stream.expires_after(Timeout());
        auto [ec, ep] =
            co_await stream.async_connect(run_.endpoints, kUseTuple);
        if (ec) {
          if (!warmup) ++stats_.errors["connect"];
          if (++failed_connects >= 3) co_return;
          net::steady_timer timer(executor, std::chrono::milliseconds(100));
          co_await timer.async_wait(kUseTuple);
          continue;  // the claimed request is lost, as it was never sent
        }
        failed_connects = 0;
        stream.socket().set_option(tcp::no_delay(true));
        connected = true;
      }
      const size_t slot = BuildRequest(number);
      const auto start = Clock::now();
      stream.expires_after(Timeout());
      auto [wec, written] =
          co_await net::async_write(stream, net::buffer(request_), kUseTuple);
      Outcome out;
      if (wec) {
        out.error = wec == beast::error::timeout ? "timeout" : "transport";
        out.reconnect = true;
      } else if (o_.workload == Workload::kReadLog) {
        out = co_await ReadNdjson(stream);
      } else {
        out = co_await ReadSmall(stream, slot);
      }
      const auto finish = Clock::now();
      if (out.reconnect) {
        beast::error_code ignored;
        stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        stream.close();
        buffer_.clear();
        connected = false;
        if (!warmup) ++stats_.reconnects;
      }
      if (start < run_.measure_from) continue;  // warm-up
      if (!out.error.empty()) {
        ++stats_.errors[out.error];
        continue;
      }
      ++stats_.requests;
      stats_.events += out.events;
      stats_.bytes += out.bytes;
      stats_.latency.Record(static_cast<uint64_t>(
          std::chrono::duration_cast<std::chrono::nanoseconds>(finish - start)
              .count()));
      stats_.last_finish = std::max(stats_.last_finish, finish);
    }
    beast::error_code ignored;
    stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

 private:
  std::chrono::steady_clock::duration Timeout() const {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(o_.timeout));
  }

  // Builds request_ for request `number` (counted modes; else 0) and
  // returns the index of the stream in own_streams_ (exact revisions).
  size_t BuildRequest(uint64_t number) {
    size_t slot = 0;
    unsigned user = 0;
    if (o_.workload == Workload::kPreload) {
      user = static_cast<unsigned>(number % o_.streams);
    } else if (!own_streams_.empty()) {
      slot = rng_() % own_streams_.size();
      user = own_streams_[slot];
    } else {
      user = static_cast<unsigned>(rng_() % o_.streams);
    }
    request_.clear();
    char num[24];
    const auto put = [&](uint64_t v) {
      auto [end, ec] = std::to_chars(num, num + sizeof num, v);
      request_.append(num, end);
    };
    switch (o_.workload) {
      case Workload::kAppend:
      case Workload::kBatch:
      case Workload::kPreload: {
        body_.clear();
        body_.append("{\"expectedRevision\":");
        if (!own_streams_.empty() && revisions_[slot].has_value()) {
          body_.append(std::to_string(*revisions_[slot]));
        } else {
          body_.append("\"any\"");
        }
        body_.append(",\"events\":[");
        events_in_request_ = EventsIn(number);
        for (uint64_t i = 0; i < events_in_request_; ++i) {
          if (i > 0) body_.push_back(',');
          AppendAttempt(&body_, user, attempts_++, rng_, o_.client_ids);
        }
        body_.append("]}");
        request_.append("POST /v1/streams/");
        request_.append(StreamName(user));
        request_.append(
            "/events HTTP/1.1\r\nContent-Type: application/json\r\n"
            "Content-Length: ");
        put(body_.size());
        request_.append("\r\n");
        break;
      }
      case Workload::kReadStream: {
        request_.append("GET /v1/streams/");
        request_.append(StreamName(user));
        request_.append("/events?limit=");
        put(o_.limit);
        if (o_.stream_events > o_.limit) {
          request_.append("&from=");
          put(rng_() % (o_.stream_events - o_.limit + 1));
        }
        request_.append(" HTTP/1.1\r\nAccept: application/json\r\n");
        break;
      }
      case Workload::kReadLog:
        request_.append(
            "GET /v1/events HTTP/1.1\r\nAccept: application/x-ndjson\r\n");
        break;
    }
    request_.append("Host: ");
    request_.append(run_.host);
    if (o_.token.empty()) {
      request_.append("\r\nX-Cairn-Tenant: ");
      request_.append(o_.tenant);
    } else {
      request_.append("\r\nAuthorization: Bearer ");
      request_.append(o_.token);
    }
    request_.append("\r\n\r\n");
    if (IsWrite(o_.workload)) request_.append(body_);
    return slot;
  }

  uint64_t EventsIn(uint64_t number) const {
    switch (o_.workload) {
      case Workload::kAppend:
        return 1;
      case Workload::kBatch:
        return o_.batch;
      case Workload::kPreload:
        return std::min<uint64_t>(o_.batch, o_.events - number * o_.batch);
      default:
        return 0;
    }
  }

  // A response read whole: appends and stream pages.
  net::awaitable<Outcome> ReadSmall(beast::tcp_stream& stream, size_t slot) {
    Outcome out;
    http::response_parser<http::string_body> parser;
    parser.body_limit(uint64_t{1} << 30);
    stream.expires_after(Timeout());
    auto [ec, n] =
        co_await http::async_read(stream, buffer_, parser, kUseTuple);
    if (ec) {
      out.error = ec == beast::error::timeout ? "timeout" : "transport";
      out.reconnect = true;
      co_return out;
    }
    const auto& res = parser.get();
    out.reconnect = !res.keep_alive();
    out.bytes = n;
    const std::string& body = res.body();
    const int status = res.result_int();
    if (IsWrite(o_.workload)) {
      if (status != 201) {
        out.error = std::to_string(status);
        // A wrong expected revision: forget what this stream was at.
        if (!own_streams_.empty()) revisions_[slot].reset();
        co_return out;
      }
      // {"stream","firstRevision","lastRevision","firstPosition",...}
      const auto first = UintField(body, "\"firstRevision\"");
      const auto last = UintField(body, "\"lastRevision\"");
      if (!first || !last || *last < *first ||
          *last - *first + 1 != events_in_request_ ||
          (o_.verify_json && !VerifyAppendJson(body))) {
        out.error = "bad-body";
        co_return out;
      }
      if (!own_streams_.empty()) revisions_[slot] = *last;
      out.events = events_in_request_;
      co_return out;
    }
    // read-stream: {"events":[...],"next":...}
    if (status != 200) {
      out.error = std::to_string(status);
      co_return out;
    }
    out.events = Count(body, "\"position\":");
    if (o_.verify_json) {
      boost::system::error_code jec;
      const boost::json::value v = boost::json::parse(body, jec);
      const auto* obj = v.if_object();
      const auto* events = obj != nullptr && obj->contains("events")
                               ? obj->at("events").if_array()
                               : nullptr;
      if (jec || events == nullptr || events->size() != out.events) {
        out.error = "bad-body";
        co_return out;
      }
    }
    if (out.events == 0) out.error = "empty-page";
    co_return out;
  }

  static bool VerifyAppendJson(const std::string& body) {
    boost::system::error_code ec;
    const boost::json::value v = boost::json::parse(body, ec);
    const auto* obj = v.if_object();
    return !ec && obj != nullptr && obj->contains("stream") &&
           obj->contains("firstPosition") && obj->contains("lastPosition");
  }

  // The whole tenant log as NDJSON, streamed through a fixed buffer: one
  // event a line.
  net::awaitable<Outcome> ReadNdjson(beast::tcp_stream& stream) {
    Outcome out;
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    stream.expires_after(Timeout());
    auto [hec, hn] =
        co_await http::async_read_header(stream, buffer_, parser, kUseTuple);
    if (hec) {
      out.error = hec == beast::error::timeout ? "timeout" : "transport";
      out.reconnect = true;
      co_return out;
    }
    out.bytes = hn;
    const int status = parser.get().result_int();
    const bool ndjson = parser.get()[http::field::content_type].starts_with(
        "application/x-ndjson");
    chunk_.resize(1 << 20);
    uint64_t lines = 0;
    char last = '\n';
    while (!parser.is_done()) {
      parser.get().body().data = chunk_.data();
      parser.get().body().size = chunk_.size();
      stream.expires_after(Timeout());
      auto [ec, n] =
          co_await http::async_read(stream, buffer_, parser, kUseTuple);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) {
        out.error = ec == beast::error::timeout ? "timeout" : "transport";
        out.reconnect = true;
        co_return out;
      }
      const size_t got = chunk_.size() - parser.get().body().size;
      lines += static_cast<uint64_t>(std::count(
          chunk_.data(), chunk_.data() + static_cast<ptrdiff_t>(got), '\n'));
      if (got > 0) last = chunk_[got - 1];
      out.bytes += got;
    }
    out.reconnect = !parser.get().keep_alive();
    if (status != 200) {
      out.error = std::to_string(status);
    } else if (!ndjson || last != '\n') {
      out.error = "bad-body";
    } else if (o_.expect_events > 0 && lines != o_.expect_events) {
      out.error = "wrong-count";
    }
    out.events = lines;
    co_return out;
  }

  Run& run_;
  const Options& o_;
  Stats& stats_;
  std::mt19937_64 rng_;
  beast::flat_buffer buffer_;
  std::string request_;
  std::string body_;
  std::vector<char> chunk_;
  uint64_t events_in_request_ = 0;
  uint64_t attempts_ = 0;
  // --expected-revision exact: the streams this connection alone appends
  // to, and the last revision each had when this connection last wrote.
  std::vector<unsigned> own_streams_;
  std::vector<std::optional<uint64_t>> revisions_;
};

net::awaitable<void> RunConnection(std::unique_ptr<Connection> c) {
  co_await c->Loop();
}

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{"cairn-loadgen: HTTP load for cairnd"};
  app.add_option("--target", o.target, "http://HOST:PORT of cairnd")
      ->capture_default_str();
  const std::map<std::string, Workload> workloads = {
      {"append", Workload::kAppend},
      {"batch", Workload::kBatch},
      {"preload", Workload::kPreload},
      {"read-stream", Workload::kReadStream},
      {"read-log", Workload::kReadLog}};
  app.add_option("--workload", o.workload,
                 "append, batch, preload, read-stream or read-log")
      ->transform(CLI::CheckedTransformer(workloads))
      ->default_str("append");
  app.add_option("--tenant", o.tenant, "X-Cairn-Tenant")->capture_default_str();
  app.add_option("--token", o.token,
                 "send this bearer token instead of X-Cairn-Tenant");
  app.add_option("--connections", o.connections, "keep-alive connections")
      ->check(CLI::Range(1u, 10000u))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "I/O threads (one io_context each)")
      ->check(CLI::Range(1u, 256u))
      ->capture_default_str();
  app.add_option("--duration", o.duration, "seconds measured")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--requests", o.requests,
                 "measure this many requests instead of a duration");
  app.add_option("--warmup", o.warmup, "seconds of load before measuring")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--streams", o.streams, "learner-user-K streams, K < S")
      ->check(CLI::Range(1u, 100000000u))
      ->capture_default_str();
  app.add_option("--batch", o.batch, "events per request (batch, preload)")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  app.add_option("--expected-revision", o.expected_revision,
                 "any: \"any\" on every append; exact: each connection owns "
                 "streams and sends the revision it last saw (the first "
                 "append to a stream sends \"any\")")
      ->check(CLI::IsMember({"any", "exact"}))
      ->capture_default_str();
  app.add_flag("--client-ids", o.client_ids,
               "send a random event id with every event (else the server "
               "makes them)");
  app.add_option("--limit", o.limit, "events per read-stream page")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  app.add_option("--stream-events", o.stream_events,
                 "read-stream: events each stream holds; pages then start at "
                 "a random revision (0: always from the start)");
  app.add_option("--events", o.events, "preload: events to append")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--expect-events", o.expect_events,
                 "read-log: a read returning another count is an error");
  app.add_flag("--verify-json", o.verify_json,
               "parse every append result and stream page as JSON (costs "
               "load-generator CPU)");
  app.add_option("--timeout", o.timeout, "seconds per socket operation")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--json", o.json, "also print a one-line JSON summary");
  CLI11_PARSE(app, argc, argv);

  if (o.expected_revision == "exact" && o.workload != Workload::kAppend &&
      o.workload != Workload::kBatch) {
    std::fprintf(stderr, "--expected-revision exact is for append and batch\n");
    return 2;
  }
  if (o.expected_revision == "exact" && o.streams < o.connections) {
    std::fprintf(stderr,
                 "--expected-revision exact needs --streams >= "
                 "--connections (each connection owns its streams)\n");
    return 2;
  }

  // --target http://HOST:PORT (or HOST:PORT).
  std::string target = o.target;
  if (target.starts_with("http://")) target = target.substr(7);
  if (!target.empty() && target.back() == '/') target.pop_back();
  const size_t colon = target.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "--target must be http://HOST:PORT\n");
    return 2;
  }
  Run run;
  run.options = &o;
  run.host = target;
  {
    net::io_context ioc;
    tcp::resolver resolver(ioc);
    boost::system::error_code ec;
    run.endpoints =
        resolver.resolve(target.substr(0, colon), target.substr(colon + 1), ec);
    if (ec) {
      std::fprintf(stderr, "cannot resolve %s: %s\n", target.c_str(),
                   ec.message().c_str());
      return 2;
    }
  }

  if (o.workload == Workload::kPreload) {
    o.warmup = 0;
    run.counted = true;
    run.total_requests = (o.events + o.batch - 1) / o.batch;
  } else if (o.requests > 0) {
    run.counted = true;
    run.total_requests = o.requests;
  }
  const auto begin = Clock::now();
  run.measure_from = begin + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(o.warmup));
  run.stop_at =
      run.measure_from + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(o.duration));

  // One io_context per thread; connections spread over them, each a
  // coroutine; the connections of a thread share that thread's Stats.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<Stats> stats(o.threads);
  for (unsigned t = 0; t < o.threads; ++t) {
    contexts.push_back(std::make_unique<net::io_context>(1));
  }
  for (unsigned c = 0; c < o.connections; ++c) {
    const unsigned t = c % o.threads;
    net::co_spawn(*contexts[t],
                  RunConnection(std::make_unique<Connection>(run, c, stats[t])),
                  net::detached);
  }
  std::vector<std::thread> threads;
  for (auto& ctx : contexts) threads.emplace_back([&ctx] { ctx->run(); });
  for (auto& t : threads) t.join();

  Stats total;
  for (const auto& st : stats) {
    total.latency.Merge(st.latency);
    total.requests += st.requests;
    total.events += st.events;
    total.bytes += st.bytes;
    total.reconnects += st.reconnects;
    for (const auto& [k, v] : st.errors) total.errors[k] += v;
    total.last_finish = std::max(total.last_finish, st.last_finish);
  }
  uint64_t errors = 0;
  for (const auto& [k, v] : total.errors) errors += v;
  // From the start of measurement to the last successful response.
  const double seconds =
      total.requests == 0
          ? 0.0
          : std::chrono::duration<double>(total.last_finish - run.measure_from)
                .count();
  const auto rate = [seconds](uint64_t n) {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
  };
  const Histogram& h = total.latency;

  std::printf("cairn-loadgen %s: %u connections on %u thread%s, %s, tenant %s",
              WorkloadName(o.workload), o.connections, o.threads,
              o.threads == 1 ? "" : "s", o.target.c_str(), o.tenant.c_str());
  if (IsWrite(o.workload)) {
    std::printf(", %u streams, expectedRevision %s", o.streams,
                o.expected_revision.c_str());
  }
  std::printf("\n  measured %.2f s (warm-up %.1f s)\n", seconds, o.warmup);
  std::printf("  requests/s %12.0f   (%llu requests)\n", rate(total.requests),
              static_cast<unsigned long long>(total.requests));
  std::printf("  events/s   %12.0f   (%llu events)\n", rate(total.events),
              static_cast<unsigned long long>(total.events));
  std::printf("  received   %12.1f MB/s\n",
              rate(total.bytes) / (1024.0 * 1024.0));
  std::printf(
      "  latency ms  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
      Ms(h.ValueAt(0.5)), Ms(h.ValueAt(0.9)), Ms(h.ValueAt(0.99)),
      Ms(h.ValueAt(0.999)), Ms(h.max()));
  std::printf("  errors     %llu", static_cast<unsigned long long>(errors));
  for (const auto& [kind, count] : total.errors) {
    std::printf("   %s: %llu", kind.c_str(),
                static_cast<unsigned long long>(count));
  }
  std::printf("   (reconnects %llu)\n",
              static_cast<unsigned long long>(total.reconnects));
  if (errors > 0) {
    std::printf(
        "  WARNING: %llu requests failed; the figures above count only the "
        "successful ones and are not a valid measurement\n",
        static_cast<unsigned long long>(errors));
  }
  if (total.requests == 0) std::printf("  WARNING: no successful request\n");

  if (o.json) {
    boost::json::object by_kind;
    for (const auto& [kind, count] : total.errors) by_kind[kind] = count;
    boost::json::object summary{{"workload", WorkloadName(o.workload)},
                                {"connections", o.connections},
                                {"threads", o.threads},
                                {"seconds", seconds},
                                {"requests", total.requests},
                                {"requests_per_s", rate(total.requests)},
                                {"events", total.events},
                                {"events_per_s", rate(total.events)},
                                {"bytes_per_s", rate(total.bytes)},
                                {"p50_ms", Ms(h.ValueAt(0.5))},
                                {"p90_ms", Ms(h.ValueAt(0.9))},
                                {"p99_ms", Ms(h.ValueAt(0.99))},
                                {"p999_ms", Ms(h.ValueAt(0.999))},
                                {"max_ms", Ms(h.max())},
                                {"errors", errors},
                                {"errors_by_kind", std::move(by_kind)},
                                {"ok", errors == 0 && total.requests > 0}};
    std::printf("%s\n", boost::json::serialize(summary).c_str());
  }
  return errors == 0 && total.requests > 0 ? 0 : 1;
}

}  // namespace
}  // namespace cairn::loadgen

int main(int argc, char** argv) { return cairn::loadgen::Main(argc, argv); }
