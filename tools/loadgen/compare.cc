// cairn-compare: the same closed-loop workloads against Cairn (HTTP/1.1 and
// WebSocket), PostgreSQL used as an event store (libpq) and Redis Streams
// (RESP, parsed by hiredis's reader), so that bench/compare/run.sh can put
// the three side by side. One program for all three so that the client
// side costs the same: every connection is a C++20 coroutine on Boost.Asio
// (one io_context per --threads thread, as cairn-loadgen), one request in
// flight per connection (closed loop), the same payload bytes, the same
// latency histogram (tools/loadgen/histogram.h).
//
//   cairn-compare --system cairn|postgres|redis --target 127.0.0.1:PORT
//       --workload append --clients 64 --batch 1 --duration 8
//   ... --workload preload --events 1000000 --streams 1000 --batch 1000
//   ... --workload read-stream --stream-events 1000 --clients 8
//   ... --workload read-log --expect-events 1000000
//   ... --workload subscribe --rate 1000 --clients 8 --subscribers 4
//
// What one operation is, per system (bench/compare/README.md says why):
//
// append   events [r, r+n) of stream learner-user-U, expecting the stream
//          at revision r-1 (no stream when r = 0). Each client owns the
//          streams U with U % clients == its index and knows their
//          revisions, so no append conflicts; a conflict is an error.
//   cairn     POST /v1/streams/S/events {"expectedRevision": r-1 or
//             "no_stream", "events": [...]} -> 201.
//   postgres  one prepared INSERT of n rows (a multi-row VALUES list, one
//             statement, so one implicit transaction) with the versions
//             r..r+n-1 computed by the client; UNIQUE (stream, version)
//             rejects a stale expectation (SQLSTATE 23505).
//   redis     EVALSHA of a Lua script (atomic): XLEN S must be r, then per
//             event XADD $all * (the global log, its id the position) and
//             XADD S 0-(v+1) (the stream, its id the version).
// read-stream  all events of one stream of --stream-events events.
//   cairn     GET /v1/streams/S/events?limit=N (JSON page).
//   postgres  SELECT ... WHERE stream = $1 ORDER BY version.
//   redis     XRANGE S - +.
// read-log  every event of the log, in order.
//   cairn     GET /v1/events, Accept: application/x-ndjson (one response).
//   postgres  keyset pages: SELECT ... WHERE position > $1 ORDER BY
//             position LIMIT --page.
//   redis     XRANGE $all (LAST + COUNT --page.
// subscribe  --clients writers append single events at --rate in all;
//          --subscribers followers of the whole log record when each event
//          reaches them; latency from the append's acknowledgement (and
//          from its send) to the delivery, matched by position.
//   cairn     WebSocket /v1/ws {"op":"subscribe","all":{},"from":"start"}.
//   postgres  LISTEN events (a statement trigger NOTIFYs, bench/compare/
//             notify.sql), then SELECT ... WHERE position > last, with gap
//             detection (PgSubscriber says why).
//   redis     XREAD BLOCK 0 COUNT 1000 STREAMS $all LAST.
//
// Prints a human summary and, with --json, one JSON line. Throughput and
// latency count successful operations only; any error makes the exit
// status 1.

#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <sys/resource.h>

#include <CLI/CLI.hpp>
#include <algorithm>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/json.hpp>
#include <charconv>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <vector>

#include "tools/loadgen/histogram.h"

namespace cairn::loadgen {
namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace websocket = beast::websocket;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = net::as_tuple(net::use_awaitable);

enum class System { kCairn, kPostgres, kRedis };
enum class Workload { kAppend, kPreload, kReadStream, kReadLog, kSubscribe };

const char* SystemName(System s) {
  switch (s) {
    case System::kCairn:
      return "cairn";
    case System::kPostgres:
      return "postgres";
    case System::kRedis:
      return "redis";
  }
  return "?";
}

const char* WorkloadName(Workload w) {
  switch (w) {
    case Workload::kAppend:
      return "append";
    case Workload::kPreload:
      return "preload";
    case Workload::kReadStream:
      return "read-stream";
    case Workload::kReadLog:
      return "read-log";
    case Workload::kSubscribe:
      return "subscribe";
  }
  return "?";
}

struct Options {
  System system = System::kCairn;
  std::string target = "127.0.0.1:8642";
  Workload workload = Workload::kAppend;
  unsigned clients = 8;
  unsigned threads = 1;
  double duration = 8;
  double warmup = 1;
  unsigned batch = 1;
  unsigned streams = 1000;
  uint64_t events = 1'000'000;    // preload
  unsigned stream_events = 1000;  // read-stream: events in each stream
  uint64_t expect_events = 0;     // read-log: each read must return this many
  unsigned page = 10'000;         // read-log page (postgres, redis)
  unsigned rate = 1000;           // subscribe: appends/s in all
  unsigned subscribers = 4;       // subscribe
  std::string tenant = "compare";
  std::string pg_user = "postgres";
  std::string pg_db = "postgres";
  std::string label;  // copied into the JSON line
  double timeout = 120;
  bool json = false;
};

// ---------------------------------------------------------------------------
// The payload: DOMAIN.md events, deterministic in (learner, revision), so
// the three systems store the same bytes for the same event.

struct EventBytes {
  std::string_view type;
  std::string data;
  std::string metadata;
};

void PutUint(std::string* out, uint64_t v) {
  char num[24];
  auto [end, ec] = std::to_chars(num, num + sizeof num, v);
  out->append(num, end);
}

void PutTime(std::string* out, uint64_t seconds_of_day) {
  const uint64_t s = seconds_of_day % 86400;
  const char time[8] = {static_cast<char>('0' + s / 36000),
                        static_cast<char>('0' + s / 3600 % 10),
                        ':',
                        static_cast<char>('0' + s % 3600 / 600),
                        static_cast<char>('0' + s % 600 / 60),
                        ':',
                        static_cast<char>('0' + s % 60 / 10),
                        static_cast<char>('0' + s % 10)};
  out->append("2026-11-25T");
  out->append(time, sizeof time);
  out->append("Z");
}

// Event `revision` of learner `user`: a LessonCompleted every 10th, else an
// AttemptSubmitted (about 300 bytes of data), with {"userId"} metadata.
void MakeEvent(unsigned user, uint64_t revision, EventBytes* e) {
  const uint64_t t = user * 37 + revision * 53;
  e->data.clear();
  e->metadata.clear();
  if (revision % 10 == 9) {
    e->type = "LessonCompleted";
    e->data.append(R"({"userId":"user-)");
    PutUint(&e->data, user);
    e->data.append(R"(","lessonId":"lesson-)");
    PutUint(&e->data, revision / 10 % 40);
    e->data.append(R"(","score":0.)");
    PutUint(&e->data, 50 + revision % 50);
    e->data.append(R"(,"completedAt":")");
    PutTime(&e->data, t);
    e->data.append(R"("})");
  } else {
    const bool correct = revision % 4 != 0;
    e->type = "AttemptSubmitted";
    e->data.append(R"({"attemptId":"a-)");
    PutUint(&e->data, user);
    e->data.push_back('-');
    PutUint(&e->data, revision);
    e->data.append(R"(","userId":"user-)");
    PutUint(&e->data, user);
    e->data.append(R"(","exerciseId":"ex-)");
    PutUint(&e->data, revision % 40);
    e->data.append(R"(","skillId":"skill-fractions-)");
    PutUint(&e->data, revision % 7);
    e->data.append(R"(","lessonId":"lesson-)");
    PutUint(&e->data, revision / 10 % 40);
    e->data.append(correct ? R"(","correct":true,"score":0.)"
                           : R"(","correct":false,"score":0.)");
    PutUint(&e->data, correct ? 75 + revision % 25 : 10 + revision % 40);
    e->data.append(R"(,"durationMs":)");
    PutUint(&e->data, 2000 + revision * 7919 % 9000);
    e->data.append(R"(,"submittedAt":")");
    PutTime(&e->data, t);
    e->data.append(R"("})");
  }
  e->metadata.append(R"({"userId":"user-)");
  PutUint(&e->metadata, user);
  e->metadata.append(R"("})");
}

std::string StreamName(unsigned user) {
  return "learner-user-" + std::to_string(user);
}

std::optional<uint64_t> UintAfter(std::string_view text, std::string_view key) {
  const size_t at = text.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  const char* p = text.data() + at + key.size();
  const char* end = text.data() + text.size();
  while (p < end && *p == ' ') ++p;
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

// A Redis stream id "MS-SEQ" as one ordered number (the position).
uint64_t RedisIdKey(std::string_view id) {
  const size_t dash = id.find('-');
  uint64_t ms = 0;
  uint64_t seq = 0;
  std::from_chars(id.data(), id.data() + dash, ms);
  std::from_chars(id.data() + dash + 1, id.data() + id.size(), seq);
  return (ms << 22) | seq;
}

// ---------------------------------------------------------------------------
// One connection of a client, whatever the system.

struct Result {
  std::string error;  // empty: success; else a kind ("conflict", "status-500")
  uint64_t events = 0;
  uint64_t last_position = 0;  // appends: the position of the last event
  bool fatal = false;          // the connection cannot go on
};

class Client {
 public:
  virtual ~Client() = default;
  virtual net::awaitable<Result> Append(unsigned user, uint64_t revision,
                                        unsigned n) = 0;
  virtual net::awaitable<Result> ReadStream(unsigned user) = 0;
  virtual net::awaitable<Result> ReadLog() = 0;
};

Result Fail(std::string kind, bool fatal = false) {
  Result r;
  r.error = std::move(kind);
  r.fatal = fatal;
  return r;
}

// --- Cairn: HTTP/1.1 keep-alive, Beast parsing the responses (as
// cairn-loadgen does).

constexpr size_t kReadBuffer = size_t{1} << 16;  // as the Redis path reads

class CairnClient final : public Client {
 public:
  CairnClient(net::io_context& ctx, const Options& o, const tcp::endpoint& ep)
      : o_(o), stream_(ctx) {
    // Beast reads as much as the buffer has room for (at least 512 bytes),
    // and a body moved out of it never makes it grow: without room up
    // front, a large response is read 512 bytes a syscall.
    buffer_.reserve(kReadBuffer);
    stream_.socket().connect(ep);
    stream_.socket().set_option(tcp::no_delay(true));
  }

  net::awaitable<Result> Append(unsigned user, uint64_t revision,
                                unsigned n) override {
    body_.clear();
    body_.append(R"({"expectedRevision":)");
    if (revision == 0) {
      body_.append(R"("no_stream")");
    } else {
      PutUint(&body_, revision - 1);
    }
    body_.append(R"(,"events":[)");
    for (unsigned i = 0; i < n; ++i) {
      MakeEvent(user, revision + i, &event_);
      if (i > 0) body_.push_back(',');
      body_.append(R"({"type":")");
      body_.append(event_.type);
      body_.append(R"(","data":)");
      body_.append(event_.data);
      body_.append(R"(,"metadata":)");
      body_.append(event_.metadata);
      body_.push_back('}');
    }
    body_.append("]}");
    Head("POST", "/v1/streams/" + StreamName(user) + "/events");
    request_.append("Content-Type: application/json\r\nContent-Length: ");
    PutUint(&request_, body_.size());
    request_.append("\r\n\r\n");
    request_.append(body_);
    std::string body;
    int status = 0;
    if (auto r = co_await Exchange(&status, &body); !r.error.empty()) {
      co_return r;
    }
    if (status == 409) co_return Fail("conflict");
    if (status != 201) co_return Fail("status-" + std::to_string(status));
    const auto first = UintAfter(body, R"("firstRevision":)");
    const auto last = UintAfter(body, R"("lastRevision":)");
    const auto position = UintAfter(body, R"("lastPosition":)");
    if (!first || !last || !position || *first != revision ||
        *last != revision + n - 1) {
      co_return Fail("bad-body");
    }
    Result r;
    r.events = n;
    r.last_position = *position;
    co_return r;
  }

  net::awaitable<Result> ReadStream(unsigned user) override {
    Head("GET", "/v1/streams/" + StreamName(user) +
                    "/events?limit=" + std::to_string(o_.stream_events));
    request_.append("Accept: application/json\r\n\r\n");
    std::string body;
    int status = 0;
    if (auto r = co_await Exchange(&status, &body); !r.error.empty()) {
      co_return r;
    }
    if (status != 200) co_return Fail("status-" + std::to_string(status));
    Result r;
    r.events = Count(body, R"("position":)");
    if (r.events != o_.stream_events) co_return Fail("wrong-count");
    co_return r;
  }

  // The whole log as NDJSON, streamed through a fixed buffer; one event a
  // line.
  net::awaitable<Result> ReadLog() override {
    Head("GET", "/v1/events");
    request_.append("Accept: application/x-ndjson\r\n\r\n");
    stream_.expires_after(Timeout());
    auto [wec, wn] =
        co_await net::async_write(stream_, net::buffer(request_), kUseTuple);
    if (wec) co_return Fail("transport", true);
    http::response_parser<http::buffer_body> parser;
    parser.body_limit(boost::none);
    auto [hec, hn] =
        co_await http::async_read_header(stream_, buffer_, parser, kUseTuple);
    if (hec) co_return Fail("transport", true);
    const int status = parser.get().result_int();
    chunk_.resize(1 << 20);
    uint64_t lines = 0;
    while (!parser.is_done()) {
      parser.get().body().data = chunk_.data();
      parser.get().body().size = chunk_.size();
      stream_.expires_after(Timeout());
      auto [ec, n] =
          co_await http::async_read(stream_, buffer_, parser, kUseTuple);
      if (ec == http::error::need_buffer) ec = {};
      if (ec) co_return Fail("transport", true);
      const size_t got = chunk_.size() - parser.get().body().size;
      lines += static_cast<uint64_t>(std::count(
          chunk_.data(), chunk_.data() + static_cast<ptrdiff_t>(got), '\n'));
    }
    if (status != 200) co_return Fail("status-" + std::to_string(status));
    if (o_.expect_events > 0 && lines != o_.expect_events) {
      co_return Fail("wrong-count");
    }
    Result r;
    r.events = lines;
    co_return r;
  }

 private:
  std::chrono::steady_clock::duration Timeout() const {
    return std::chrono::duration_cast<Clock::duration>(
        std::chrono::duration<double>(o_.timeout));
  }

  void Head(std::string_view method, const std::string& target) {
    request_.clear();
    request_.append(method);
    request_.push_back(' ');
    request_.append(target);
    request_.append(" HTTP/1.1\r\nHost: ");
    request_.append(o_.target);
    request_.append("\r\nX-Cairn-Tenant: ");
    request_.append(o_.tenant);
    request_.append("\r\n");
  }

  net::awaitable<Result> Exchange(int* status, std::string* body) {
    stream_.expires_after(Timeout());
    auto [wec, wn] =
        co_await net::async_write(stream_, net::buffer(request_), kUseTuple);
    if (wec) co_return Fail("transport", true);
    http::response_parser<http::string_body> parser;
    parser.body_limit(uint64_t{1} << 30);
    auto [ec, n] =
        co_await http::async_read(stream_, buffer_, parser, kUseTuple);
    if (ec) co_return Fail("transport", true);
    *status = parser.get().result_int();
    *body = std::move(parser.get().body());
    co_return Result{};
  }

  const Options& o_;
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string request_;
  std::string body_;
  std::vector<char> chunk_;
  EventBytes event_;
};

// --- PostgreSQL: libpq in nonblocking mode, its socket watched by Asio.

struct PgClear {
  void operator()(PGresult* r) const { PQclear(r); }
};
using PgResult = std::unique_ptr<PGresult, PgClear>;

std::string PgConninfo(const Options& o) {
  const size_t colon = o.target.rfind(':');
  // TCP on loopback like the other two (not the Unix socket); no TLS, no
  // GSS probe.
  return "host=" + o.target.substr(0, colon) +
         " port=" + o.target.substr(colon + 1) + " user=" + o.pg_user +
         " dbname=" + o.pg_db +
         " sslmode=disable gssencmode=disable application_name=cairn-compare";
}

class PgConn {
 public:
  PgConn(net::io_context& ctx, const Options& o) : sd_(ctx) {
    conn_ = PQconnectdb(PgConninfo(o).c_str());
    if (PQstatus(conn_) != CONNECTION_OK) {
      const std::string message = PQerrorMessage(conn_);
      PQfinish(conn_);
      throw std::runtime_error("postgres: " + message);
    }
    sd_.assign(PQsocket(conn_));
  }
  ~PgConn() {
    sd_.release();  // libpq owns the socket
    PQfinish(conn_);
  }
  PgConn(const PgConn&) = delete;
  PgConn& operator=(const PgConn&) = delete;

  // Blocking (PQexec ignores nonblocking mode): setup only.
  void ExecSync(const std::string& sql) {
    PgResult r(PQexec(conn_, sql.c_str()));
    const auto status = PQresultStatus(r.get());
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      throw std::runtime_error("postgres: " + sql + ": " +
                               PQerrorMessage(conn_));
    }
  }
  void Prepare(const char* name, const std::string& sql) {
    PgResult r(PQprepare(conn_, name, sql.c_str(), 0, nullptr));
    if (PQresultStatus(r.get()) != PGRES_COMMAND_OK) {
      throw std::runtime_error(std::string("postgres: prepare ") + name + ": " +
                               PQerrorMessage(conn_));
    }
  }
  void SetNonblocking() { PQsetnonblocking(conn_, 1); }

  // Runs a prepared statement with text parameters; the first result, or
  // nullptr with *error set.
  net::awaitable<PgResult> Exec(const char* name, int n,
                                const char* const* values, std::string* error) {
    if (PQsendQueryPrepared(conn_, name, n, values, nullptr, nullptr, 0) == 0) {
      *error = "transport";
      co_return nullptr;
    }
    for (;;) {
      const int f = PQflush(conn_);
      if (f == 0) break;
      if (f < 0) {
        *error = "transport";
        co_return nullptr;
      }
      auto [ec] = co_await sd_.async_wait(
          net::posix::stream_descriptor::wait_write, kUseTuple);
      if (ec || PQconsumeInput(conn_) == 0) {
        *error = "transport";
        co_return nullptr;
      }
    }
    PgResult first;
    for (;;) {
      while (PQisBusy(conn_) != 0) {
        auto [ec] = co_await sd_.async_wait(
            net::posix::stream_descriptor::wait_read, kUseTuple);
        if (ec || PQconsumeInput(conn_) == 0) {
          *error = "transport";
          co_return nullptr;
        }
      }
      PgResult r(PQgetResult(conn_));
      if (!r) break;
      if (!first) first = std::move(r);
    }
    const auto status = first ? PQresultStatus(first.get()) : PGRES_FATAL_ERROR;
    if (status != PGRES_TUPLES_OK && status != PGRES_COMMAND_OK) {
      const char* state =
          first ? PQresultErrorField(first.get(), PG_DIAG_SQLSTATE) : nullptr;
      *error = state != nullptr && std::string_view(state) == "23505"
                   ? "conflict"
                   : std::string("sqlstate-") + (state ? state : "?");
      co_return nullptr;
    }
    co_return first;
  }

  net::awaitable<bool> WaitReadable() {
    auto [ec] = co_await sd_.async_wait(
        net::posix::stream_descriptor::wait_read, kUseTuple);
    co_return !ec && PQconsumeInput(conn_) != 0;
  }
  void Cancel() {
    boost::system::error_code ignored;
    sd_.cancel(ignored);
  }
  PGconn* raw() { return conn_; }

 private:
  PGconn* conn_ = nullptr;
  net::posix::stream_descriptor sd_;
};

constexpr const char* kPgColumns =
    "position, stream, version, type, data, metadata, created";

class PgClient final : public Client {
 public:
  PgClient(net::io_context& ctx, const Options& o) : o_(o), pg_(ctx, o) {
    // One prepared INSERT for the batch size of the run.
    std::string sql =
        "INSERT INTO events (stream, version, type, data, metadata) VALUES ";
    for (unsigned i = 0; i < o.batch; ++i) {
      if (i > 0) sql += ", ";
      const unsigned p = 2 + 4 * i;
      sql += "($1, $" + std::to_string(p) + "::int, $" + std::to_string(p + 1) +
             ", $" + std::to_string(p + 2) + "::jsonb, $" +
             std::to_string(p + 3) + "::jsonb)";
    }
    sql += " RETURNING position";
    if (o.batch > 1) {
      sql = "WITH ins AS (" + sql + ") SELECT max(position) FROM ins";
    }
    pg_.Prepare("append", sql);
    pg_.Prepare("read_stream", std::string("SELECT ") + kPgColumns +
                                   " FROM events WHERE stream = $1 "
                                   "ORDER BY version");
    pg_.Prepare("read_log", std::string("SELECT ") + kPgColumns +
                                " FROM events WHERE position > $1 "
                                "ORDER BY position LIMIT " +
                                std::to_string(o.page));
    pg_.SetNonblocking();
    params_.resize(1 + 4 * o.batch);
    values_.resize(params_.size());
  }

  net::awaitable<Result> Append(unsigned user, uint64_t revision,
                                unsigned n) override {
    if (n != o_.batch) co_return Fail("batch-size", true);
    params_[0] = StreamName(user);
    for (unsigned i = 0; i < n; ++i) {
      MakeEvent(user, revision + i, &event_);
      params_[1 + 4 * i] = std::to_string(revision + i);
      params_[2 + 4 * i] = event_.type;
      params_[3 + 4 * i] = event_.data;
      params_[4 + 4 * i] = event_.metadata;
    }
    for (size_t i = 0; i < params_.size(); ++i) {
      values_[i] = params_[i].c_str();
    }
    std::string error;
    PgResult r = co_await pg_.Exec("append", static_cast<int>(values_.size()),
                                   values_.data(), &error);
    if (!r) co_return Fail(error, error == "transport");
    if (PQntuples(r.get()) != 1) co_return Fail("bad-result");
    Result out;
    out.events = n;
    out.last_position = std::strtoull(PQgetvalue(r.get(), 0, 0), nullptr, 10);
    co_return out;
  }

  net::awaitable<Result> ReadStream(unsigned user) override {
    const std::string stream = StreamName(user);
    const char* values[1] = {stream.c_str()};
    std::string error;
    PgResult r = co_await pg_.Exec("read_stream", 1, values, &error);
    if (!r) co_return Fail(error, error == "transport");
    Result out;
    out.events = static_cast<uint64_t>(PQntuples(r.get()));
    if (out.events != o_.stream_events) co_return Fail("wrong-count");
    co_return out;
  }

  net::awaitable<Result> ReadLog() override {
    Result out;
    std::string after = "0";
    for (;;) {
      const char* values[1] = {after.c_str()};
      std::string error;
      PgResult r = co_await pg_.Exec("read_log", 1, values, &error);
      if (!r) co_return Fail(error, error == "transport");
      const int rows = PQntuples(r.get());
      out.events += static_cast<uint64_t>(rows);
      if (rows > 0) after = PQgetvalue(r.get(), rows - 1, 0);
      if (rows < static_cast<int>(o_.page)) break;
    }
    if (o_.expect_events > 0 && out.events != o_.expect_events) {
      co_return Fail("wrong-count");
    }
    co_return out;
  }

 private:
  const Options& o_;
  PgConn pg_;
  std::vector<std::string> params_;
  std::vector<const char*> values_;
  EventBytes event_;
};

// --- Redis: RESP over an Asio socket, formatted and parsed by hiredis.

struct ReplyFree {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using Reply = std::unique_ptr<redisReply, ReplyFree>;

// Atomic append with an expected version: Redis has no cross-key
// optimistic concurrency without a script (WATCH/MULTI would be three
// round trips). KEYS[1] the stream, KEYS[2] the global log; ARGV[1] the
// expected version (-1: no stream), then type, data, metadata per event.
// The stream's entry ids are 0-(version+1), so XRANGE by version works;
// the log's are Redis's time-based ids, the global position.
constexpr std::string_view kAppendScript = R"lua(
local len = redis.call('XLEN', KEYS[1])
if len ~= tonumber(ARGV[1]) + 1 then
  return redis.error_reply('WRONGVERSION stream is at ' .. (len - 1))
end
local n = (#ARGV - 1) / 3
local first, last
for i = 0, n - 1 do
  local t, d, m = ARGV[2 + 3 * i], ARGV[3 + 3 * i], ARGV[4 + 3 * i]
  local v = len + i
  last = redis.call('XADD', KEYS[2], '*', 'stream', KEYS[1], 'version', v,
                    'type', t, 'data', d, 'metadata', m)
  if i == 0 then first = last end
  redis.call('XADD', KEYS[1], '0-' .. (v + 1), 'position', last, 'type', t,
             'data', d, 'metadata', m)
end
return {first, last}
)lua";

// SCRIPT LOAD over a blocking hiredis connection (setup).
std::string LoadRedisScript(const tcp::endpoint& ep) {
  redisContext* c = redisConnect(ep.address().to_string().c_str(), ep.port());
  if (c == nullptr || c->err != 0) {
    throw std::runtime_error("redis: cannot connect");
  }
  const std::string script(kAppendScript);
  Reply r(static_cast<redisReply*>(
      redisCommand(c, "SCRIPT LOAD %b", script.data(), script.size())));
  if (!r || r->type != REDIS_REPLY_STRING) {
    redisFree(c);
    throw std::runtime_error("redis: SCRIPT LOAD failed");
  }
  std::string sha(r->str, r->len);
  redisFree(c);
  return sha;
}

// A command's arguments. Built outside the coroutines: GCC 12 cannot keep
// a braced initializer list's array in a coroutine frame.
template <class... A>
std::vector<std::string_view> Args(const A&... a) {
  return {std::string_view(a)...};
}

class RedisConn {
 public:
  RedisConn(net::io_context& ctx, const tcp::endpoint& ep)
      : socket_(ctx), reader_(redisReaderCreate()), buffer_(1 << 16) {
    socket_.connect(ep);
    socket_.set_option(tcp::no_delay(true));
  }
  ~RedisConn() { redisReaderFree(reader_); }
  RedisConn(const RedisConn&) = delete;
  RedisConn& operator=(const RedisConn&) = delete;

  // One command, its reply; nullptr with *error on failure (an error reply
  // is returned as it is).
  net::awaitable<Reply> Command(const std::vector<std::string_view>& args,
                                std::string* error) {
    argv_.clear();
    lengths_.clear();
    for (auto a : args) {
      argv_.push_back(a.data());
      lengths_.push_back(a.size());
    }
    char* command = nullptr;
    const int n = redisFormatCommandArgv(
        &command, static_cast<int>(args.size()), argv_.data(), lengths_.data());
    if (n < 0) {
      *error = "format";
      co_return nullptr;
    }
    auto [wec, wn] = co_await net::async_write(
        socket_, net::buffer(command, static_cast<size_t>(n)), kUseTuple);
    redisFreeCommand(command);
    if (wec) {
      *error = "transport";
      co_return nullptr;
    }
    for (;;) {
      void* reply = nullptr;
      if (redisReaderGetReply(reader_, &reply) != REDIS_OK) {
        *error = "protocol";
        co_return nullptr;
      }
      if (reply != nullptr) co_return Reply(static_cast<redisReply*>(reply));
      auto [ec, got] =
          co_await socket_.async_read_some(net::buffer(buffer_), kUseTuple);
      if (ec) {
        *error = "transport";
        co_return nullptr;
      }
      redisReaderFeed(reader_, buffer_.data(), got);
    }
  }
  void Close() {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  tcp::socket socket_;
  redisReader* reader_;
  std::vector<char> buffer_;
  std::vector<const char*> argv_;
  std::vector<size_t> lengths_;
};

class RedisClient final : public Client {
 public:
  RedisClient(net::io_context& ctx, const Options& o, const tcp::endpoint& ep,
              const std::string& sha)
      : o_(o), redis_(ctx, ep), sha_(sha) {}

  net::awaitable<Result> Append(unsigned user, uint64_t revision,
                                unsigned n) override {
    const std::string stream = StreamName(user);
    const std::string expected =
        std::to_string(static_cast<int64_t>(revision) - 1);
    events_.resize(n);
    auto args = Args("EVALSHA", sha_, "2", stream, "$all", expected);
    for (unsigned i = 0; i < n; ++i) {
      MakeEvent(user, revision + i, &events_[i]);
      args.push_back(events_[i].type);
      args.push_back(events_[i].data);
      args.push_back(events_[i].metadata);
    }
    std::string error;
    Reply r = co_await redis_.Command(args, &error);
    if (!r) co_return Fail(error, true);
    if (r->type == REDIS_REPLY_ERROR) {
      co_return Fail(
          std::string_view(r->str, r->len).starts_with("WRONGVERSION")
              ? "conflict"
              : "redis-error");
    }
    if (r->type != REDIS_REPLY_ARRAY || r->elements != 2 ||
        r->element[1]->type != REDIS_REPLY_STRING) {
      co_return Fail("bad-reply");
    }
    Result out;
    out.events = n;
    out.last_position =
        RedisIdKey(std::string_view(r->element[1]->str, r->element[1]->len));
    co_return out;
  }

  net::awaitable<Result> ReadStream(unsigned user) override {
    const std::string stream = StreamName(user);
    std::string error;
    const auto args = Args("XRANGE", stream, "-", "+");
    Reply r = co_await redis_.Command(args, &error);
    if (!r) co_return Fail(error, true);
    if (r->type != REDIS_REPLY_ARRAY) co_return Fail("bad-reply");
    Result out;
    out.events = r->elements;
    if (out.events != o_.stream_events) co_return Fail("wrong-count");
    co_return out;
  }

  net::awaitable<Result> ReadLog() override {
    Result out;
    std::string start = "-";
    const std::string count = std::to_string(o_.page);
    for (;;) {
      std::string error;
      const auto args = Args("XRANGE", "$all", start, "+", "COUNT", count);
      Reply r = co_await redis_.Command(args, &error);
      if (!r) co_return Fail(error, true);
      if (r->type != REDIS_REPLY_ARRAY) co_return Fail("bad-reply");
      out.events += r->elements;
      if (r->elements > 0) {
        const redisReply* id = r->element[r->elements - 1]->element[0];
        start = "(" + std::string(id->str, id->len);
      }
      if (r->elements < o_.page) break;
    }
    if (o_.expect_events > 0 && out.events != o_.expect_events) {
      co_return Fail("wrong-count");
    }
    co_return out;
  }

 private:
  const Options& o_;
  RedisConn redis_;
  std::string sha_;
  std::vector<EventBytes> events_;
};

// ---------------------------------------------------------------------------
// Subscribers: follow the whole log, record each event's arrival.

struct Delivery {
  uint64_t position;
  Clock::time_point at;
};

class Subscriber {
 public:
  virtual ~Subscriber() = default;
  // Follows until Stop(); sets *ready once it is following.
  virtual net::awaitable<void> Run(std::vector<Delivery>* out, bool* ready,
                                   unsigned* errors) = 0;
  virtual void Stop() = 0;
};

class CairnSubscriber final : public Subscriber {
 public:
  CairnSubscriber(net::io_context& ctx, const Options& o,
                  const tcp::endpoint& ep)
      : o_(o), ws_(ctx) {
    beast::get_lowest_layer(ws_).socket().connect(ep);
    beast::get_lowest_layer(ws_).socket().set_option(tcp::no_delay(true));
  }
  net::awaitable<void> Run(std::vector<Delivery>* out, bool* ready,
                           unsigned* errors) override {
    ws_.set_option(websocket::stream_base::decorator(
        [tenant = o_.tenant](websocket::request_type& req) {
          req.set("X-Cairn-Tenant", tenant);
        }));
    auto [hec] = co_await ws_.async_handshake(o_.target, "/v1/ws", kUseTuple);
    if (hec) {
      ++*errors;
      co_return;
    }
    const std::string subscribe =
        R"({"op":"subscribe","id":"log","all":{},"from":"start"})";
    auto [wec, wn] =
        co_await ws_.async_write(net::buffer(subscribe), kUseTuple);
    if (wec) {
      ++*errors;
      co_return;
    }
    beast::flat_buffer buffer;
    for (;;) {
      buffer.clear();
      auto [ec, n] = co_await ws_.async_read(buffer, kUseTuple);
      if (ec) co_return;  // Stop() closed it
      const auto now = Clock::now();
      const std::string_view text(
          static_cast<const char*>(buffer.data().data()), buffer.size());
      if (text.starts_with(R"({"op":"event")")) {
        if (auto p = UintAfter(text, R"("position":)")) {
          out->push_back({*p, now});
        }
      } else if (text.starts_with(R"({"op":"caught-up")")) {
        *ready = true;
      } else if (text.starts_with(R"({"op":"error")")) {
        ++*errors;
      }
    }
  }
  void Stop() override {
    boost::system::error_code ignored;
    beast::get_lowest_layer(ws_).socket().close(ignored);
  }

 private:
  const Options& o_;
  websocket::stream<beast::tcp_stream> ws_;
};

// Positions come from a sequence when a row is inserted, not when its
// transaction commits, so a follower reading "position > last" misses the
// event of a transaction that took its position first and committed last
// (a smoke test of that naive follower lost 47 of 2,000 events at 8
// writers). So this follower does gap detection, as PostgreSQL-backed
// event stores do (SqlStreamStore, Marten's high-water mark): it takes
// rows only while positions follow on from the last one; at a gap it
// waits for the next notification (the missing transaction's commit), and
// skips the gap only once it is older than 1 s (a rolled-back insert
// leaves one for good; none happens in these runs, and skips are counted
// as errors).
class PgSubscriber final : public Subscriber {
 public:
  PgSubscriber(net::io_context& ctx, const Options& o) : pg_(ctx, o) {
    pg_.ExecSync("LISTEN events");
    pg_.Prepare("follow", std::string("SELECT ") + kPgColumns +
                              " FROM events WHERE position > $1 "
                              "ORDER BY position LIMIT 1000");
    pg_.SetNonblocking();
  }
  net::awaitable<void> Run(std::vector<Delivery>* out, bool* ready,
                           unsigned* errors) override {
    *ready = true;
    uint64_t last = 0;  // positions start at 1 in a fresh table
    std::optional<Clock::time_point> gap_since;
    while (!stopped_) {
      bool notified = false;
      while (PGnotify* n = PQnotifies(pg_.raw())) {
        notified = true;
        PQfreemem(n);
      }
      if (!notified) {
        if (!co_await pg_.WaitReadable()) co_return;
        continue;
      }
      // Read what follows the last event seen (several commits may share
      // a notification).
      for (;;) {
        const std::string after = std::to_string(last);
        const char* values[1] = {after.c_str()};
        std::string error;
        PgResult r = co_await pg_.Exec("follow", 1, values, &error);
        if (!r) {
          if (!stopped_) ++*errors;
          co_return;
        }
        const auto now = Clock::now();
        const int rows = PQntuples(r.get());
        int taken = 0;
        for (; taken < rows; ++taken) {
          const uint64_t position =
              std::strtoull(PQgetvalue(r.get(), taken, 0), nullptr, 10);
          if (position != last + 1) {
            if (!gap_since) gap_since = now;
            if (now - *gap_since < std::chrono::seconds(1)) break;
            ++*errors;  // skipped for good
          }
          gap_since.reset();
          last = position;
          out->push_back({position, now});
        }
        if (rows < 1000 || taken < rows) break;
      }
    }
  }
  void Stop() override {
    stopped_ = true;
    pg_.Cancel();
  }

 private:
  PgConn pg_;
  bool stopped_ = false;
};

class RedisSubscriber final : public Subscriber {
 public:
  RedisSubscriber(net::io_context& ctx, const tcp::endpoint& ep)
      : redis_(ctx, ep) {}
  net::awaitable<void> Run(std::vector<Delivery>* out, bool* ready,
                           unsigned* errors) override {
    *ready = true;
    std::string last = "0-0";
    while (!stopped_) {
      std::string error;
      const auto args =
          Args("XREAD", "BLOCK", "0", "COUNT", "1000", "STREAMS", "$all", last);
      Reply r = co_await redis_.Command(args, &error);
      if (!r) {
        if (!stopped_) ++*errors;
        co_return;
      }
      const auto now = Clock::now();
      if (r->type == REDIS_REPLY_NIL) continue;
      if (r->type != REDIS_REPLY_ARRAY || r->elements != 1) {
        ++*errors;
        co_return;
      }
      const redisReply* entries = r->element[0]->element[1];
      for (size_t i = 0; i < entries->elements; ++i) {
        const redisReply* id = entries->element[i]->element[0];
        const std::string_view text(id->str, id->len);
        out->push_back({RedisIdKey(text), now});
        if (i + 1 == entries->elements) last = text;
      }
    }
  }
  void Stop() override {
    stopped_ = true;
    redis_.Close();
  }

 private:
  RedisConn redis_;
  bool stopped_ = false;
};

// ---------------------------------------------------------------------------
// The closed-loop driver.

struct Stats {
  Histogram latency;
  uint64_t requests = 0;  // successful, measured
  uint64_t events = 0;
  std::map<std::string, uint64_t> errors;
  Clock::time_point last_finish{};
};

struct Run {
  const Options* o = nullptr;
  Clock::time_point measure_from;
  Clock::time_point stop_at;
  std::atomic<uint64_t> next_request{0};  // preload: requests handed out
  uint64_t total_requests = 0;            // preload
};

net::awaitable<void> ClientLoop(Run& run, Client& client, Stats& stats,
                                unsigned index) {
  const Options& o = *run.o;
  std::mt19937_64 rng(0x9e3779b97f4a7c15ULL * (index + 1));
  // The streams this client alone appends to, and their next revision (the
  // store is fresh for append runs).
  std::vector<unsigned> own;
  for (unsigned s = index; s < o.streams; s += o.clients) own.push_back(s);
  std::vector<uint64_t> next_revision(own.size(), 0);
  for (;;) {
    const auto now = Clock::now();
    uint64_t number = 0;
    if (o.workload == Workload::kPreload) {
      number = run.next_request.fetch_add(1);
      if (number >= run.total_requests) break;
    } else if (now >= run.stop_at) {
      break;
    }
    const auto start = Clock::now();
    Result r;
    size_t slot = 0;
    switch (o.workload) {
      case Workload::kAppend:
        slot = rng() % own.size();
        r = co_await client.Append(own[slot], next_revision[slot], o.batch);
        break;
      case Workload::kPreload: {
        // Request k: events [(k / S) * batch, ...) of stream k % S.
        const auto user = static_cast<unsigned>(number % o.streams);
        const uint64_t revision = number / o.streams * o.batch;
        r = co_await client.Append(user, revision, o.batch);
        break;
      }
      case Workload::kReadStream:
        r = co_await client.ReadStream(
            static_cast<unsigned>(rng() % o.streams));
        break;
      case Workload::kReadLog:
        r = co_await client.ReadLog();
        break;
      case Workload::kSubscribe:
        break;
    }
    const auto finish = Clock::now();
    if (o.workload == Workload::kAppend && r.error.empty()) {
      next_revision[slot] += o.batch;
    }
    if (start >= run.measure_from) {
      if (r.error.empty()) {
        ++stats.requests;
        stats.events += r.events;
        stats.latency.Record(static_cast<uint64_t>(
            std::chrono::duration_cast<std::chrono::nanoseconds>(finish - start)
                .count()));
        stats.last_finish = std::max(stats.last_finish, finish);
      } else {
        ++stats.errors[r.error];
      }
    }
    if (r.fatal) co_return;
  }
}

double Ms(uint64_t ns) { return static_cast<double>(ns) / 1e6; }
double Ms(Clock::duration d) {
  return std::chrono::duration<double, std::milli>(d).count();
}

std::unique_ptr<Client> MakeClient(net::io_context& ctx, const Options& o,
                                   const tcp::endpoint& ep,
                                   const std::string& sha) {
  switch (o.system) {
    case System::kCairn:
      return std::make_unique<CairnClient>(ctx, o, ep);
    case System::kPostgres:
      return std::make_unique<PgClient>(ctx, o);
    case System::kRedis:
      return std::make_unique<RedisClient>(ctx, o, ep, sha);
  }
  return nullptr;
}

// CPU seconds this process used so far (user + system): what the client
// cost, against the run's seconds.
double ClientCpuSeconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  const auto s = [](const timeval& t) {
    return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
  };
  return s(u.ru_utime) + s(u.ru_stime);
}

boost::json::object BaseSummary(const Options& o) {
  return {{"system", SystemName(o.system)},
          {"client_cpu_s", ClientCpuSeconds()},
          {"workload", WorkloadName(o.workload)},
          {"clients", o.clients},
          {"threads", o.threads},
          {"batch", o.batch},
          {"label", o.label}};
}

int RunClosedLoop(const Options& o, const tcp::endpoint& ep,
                  const std::string& sha) {
  Run run;
  run.o = &o;
  if (o.workload == Workload::kPreload) {
    run.total_requests = (o.events + o.batch - 1) / o.batch;
  }
  std::vector<std::unique_ptr<net::io_context>> contexts;
  for (unsigned t = 0; t < o.threads; ++t) {
    contexts.push_back(std::make_unique<net::io_context>(1));
  }
  // Connect every client first (PostgreSQL forks a backend per
  // connection), then start the clock.
  std::vector<std::unique_ptr<Client>> clients;
  for (unsigned c = 0; c < o.clients; ++c) {
    clients.push_back(MakeClient(*contexts[c % o.threads], o, ep, sha));
  }
  std::vector<Stats> stats(o.threads);
  const auto begin = Clock::now();
  const double warmup =
      o.workload == Workload::kAppend || o.workload == Workload::kReadStream
          ? o.warmup
          : 0.0;
  run.measure_from = begin + std::chrono::duration_cast<Clock::duration>(
                                 std::chrono::duration<double>(warmup));
  run.stop_at =
      run.measure_from + std::chrono::duration_cast<Clock::duration>(
                             std::chrono::duration<double>(o.duration));
  for (unsigned c = 0; c < o.clients; ++c) {
    const unsigned t = c % o.threads;
    net::co_spawn(*contexts[t], ClientLoop(run, *clients[c], stats[t], c),
                  net::detached);
  }
  // A watchdog: no run outlives its duration by more than --timeout.
  std::atomic<bool> done{false};
  std::atomic<bool> timed_out{false};
  std::thread watchdog([&] {
    const auto limit =
        (o.workload == Workload::kPreload ? begin : run.stop_at) +
        std::chrono::duration_cast<Clock::duration>(
            std::chrono::duration<double>(o.timeout));
    while (!done && Clock::now() < limit) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
    if (!done) {
      timed_out = true;
      for (auto& ctx : contexts) ctx->stop();
    }
  });
  std::vector<std::thread> threads;
  for (auto& ctx : contexts) threads.emplace_back([&ctx] { ctx->run(); });
  for (auto& t : threads) t.join();
  done = true;
  watchdog.join();

  Stats total;
  for (const auto& st : stats) {
    total.latency.Merge(st.latency);
    total.requests += st.requests;
    total.events += st.events;
    for (const auto& [k, v] : st.errors) total.errors[k] += v;
    total.last_finish = std::max(total.last_finish, st.last_finish);
  }
  if (timed_out) ++total.errors["timeout"];
  uint64_t errors = 0;
  for (const auto& [k, v] : total.errors) errors += v;
  const double seconds =
      total.requests == 0
          ? 0.0
          : std::chrono::duration<double>(total.last_finish - run.measure_from)
                .count();
  const auto rate = [seconds](uint64_t n) {
    return seconds > 0 ? static_cast<double>(n) / seconds : 0.0;
  };
  const Histogram& h = total.latency;
  std::printf("cairn-compare %s %s: %u clients on %u thread%s, batch %u, %s\n",
              SystemName(o.system), WorkloadName(o.workload), o.clients,
              o.threads, o.threads == 1 ? "" : "s", o.batch, o.target.c_str());
  std::printf("  measured %.2f s (warm-up %.1f s)\n", seconds, warmup);
  std::printf("  requests/s %12.0f   (%llu)\n", rate(total.requests),
              static_cast<unsigned long long>(total.requests));
  std::printf("  events/s   %12.0f   (%llu)\n", rate(total.events),
              static_cast<unsigned long long>(total.events));
  std::printf(
      "  latency ms  p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
      Ms(h.ValueAt(0.5)), Ms(h.ValueAt(0.9)), Ms(h.ValueAt(0.99)),
      Ms(h.ValueAt(0.999)), Ms(h.max()));
  std::printf("  errors     %llu", static_cast<unsigned long long>(errors));
  for (const auto& [kind, count] : total.errors) {
    std::printf("   %s: %llu", kind.c_str(),
                static_cast<unsigned long long>(count));
  }
  std::printf("\n");
  if (o.json) {
    boost::json::object by_kind;
    for (const auto& [kind, count] : total.errors) by_kind[kind] = count;
    auto summary = BaseSummary(o);
    summary["seconds"] = seconds;
    summary["requests"] = total.requests;
    summary["requests_per_s"] = rate(total.requests);
    summary["events"] = total.events;
    summary["events_per_s"] = rate(total.events);
    summary["p50_ms"] = Ms(h.ValueAt(0.5));
    summary["p90_ms"] = Ms(h.ValueAt(0.9));
    summary["p99_ms"] = Ms(h.ValueAt(0.99));
    summary["p999_ms"] = Ms(h.ValueAt(0.999));
    summary["max_ms"] = Ms(h.max());
    summary["errors"] = errors;
    summary["errors_by_kind"] = std::move(by_kind);
    summary["ok"] = errors == 0 && total.requests > 0;
    std::printf("%s\n", boost::json::serialize(summary).c_str());
  }
  return errors == 0 && total.requests > 0 ? 0 : 1;
}

// Writers at a fixed rate, subscribers on the log: one thread, so the
// maps need no locks.
int RunSubscribe(const Options& o, const tcp::endpoint& ep,
                 const std::string& sha) {
  net::io_context ioc(1);
  std::vector<std::unique_ptr<Client>> writers;
  for (unsigned c = 0; c < o.clients; ++c) {
    writers.push_back(MakeClient(ioc, o, ep, sha));
  }
  std::vector<std::unique_ptr<Subscriber>> subs;
  for (unsigned i = 0; i < o.subscribers; ++i) {
    switch (o.system) {
      case System::kCairn:
        subs.push_back(std::make_unique<CairnSubscriber>(ioc, o, ep));
        break;
      case System::kPostgres:
        subs.push_back(std::make_unique<PgSubscriber>(ioc, o));
        break;
      case System::kRedis:
        subs.push_back(std::make_unique<RedisSubscriber>(ioc, ep));
        break;
    }
  }
  std::vector<std::vector<Delivery>> got(o.subscribers);
  std::unique_ptr<bool[]> ready(new bool[o.subscribers]());
  unsigned errors = 0;
  for (unsigned i = 0; i < o.subscribers; ++i) {
    net::co_spawn(ioc, subs[i]->Run(&got[i], &ready[i], &errors),
                  net::detached);
  }
  const auto run_until = [&ioc](auto done, Clock::duration limit) {
    const auto deadline = Clock::now() + limit;
    while (!done() && Clock::now() < deadline) {
      ioc.run_for(std::chrono::milliseconds(20));
      if (ioc.stopped()) ioc.restart();
    }
    return done();
  };
  if (!run_until(
          [&] {
            return std::all_of(ready.get(), ready.get() + o.subscribers,
                               [](bool r) { return r; });
          },
          std::chrono::seconds(30))) {
    std::printf("subscribers did not start\n");
    return 1;
  }
  // Let the subscribers' first reads (XREAD BLOCK, LISTEN) settle.
  run_until([] { return false; }, std::chrono::milliseconds(300));

  // Per position: when its append was sent and acknowledged.
  std::unordered_map<uint64_t, std::pair<Clock::time_point, Clock::time_point>>
      appended;
  std::map<std::string, uint64_t> append_errors;
  const auto until =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(
                         std::chrono::duration<double>(o.duration));
  unsigned writers_done = 0;
  for (unsigned w = 0; w < o.clients; ++w) {
    net::co_spawn(
        ioc,
        [&, w]() -> net::awaitable<void> {
          Client& client = *writers[w];
          net::steady_timer timer(co_await net::this_coro::executor);
          const auto interval = std::chrono::duration_cast<Clock::duration>(
              std::chrono::duration<double>(static_cast<double>(o.clients) /
                                            o.rate));
          // Spread the writers' first sends over one interval.
          auto next = Clock::now() + interval * w / o.clients;
          std::vector<unsigned> own;
          for (unsigned s = w; s < o.streams; s += o.clients) own.push_back(s);
          std::vector<uint64_t> revision(own.size(), 0);
          for (uint64_t i = 0; next < until; ++i) {
            timer.expires_at(next);
            co_await timer.async_wait(kUseTuple);
            next += interval;
            const size_t slot = i % own.size();
            const auto sent = Clock::now();
            Result r = co_await client.Append(own[slot], revision[slot], 1);
            const auto acked = Clock::now();
            if (!r.error.empty()) {
              ++append_errors[r.error];
              if (r.fatal) break;
              continue;
            }
            ++revision[slot];
            appended[r.last_position] = {sent, acked};
          }
          ++writers_done;
        },
        net::detached);
  }
  run_until([&] { return writers_done == o.clients; },
            std::chrono::duration_cast<Clock::duration>(
                std::chrono::duration<double>(o.duration + o.timeout)));
  // The last deliveries.
  run_until(
      [&] {
        return std::all_of(got.begin(), got.end(), [&](const auto& g) {
          return g.size() >= appended.size();
        });
      },
      std::chrono::seconds(10));
  for (auto& s : subs) s->Stop();
  run_until([] { return false; }, std::chrono::milliseconds(100));

  std::vector<double> from_ack;
  std::vector<double> from_send;
  uint64_t deliveries = 0;
  for (const auto& g : got) {
    deliveries += g.size();
    for (const auto& d : g) {
      auto it = appended.find(d.position);
      if (it == appended.end()) continue;
      from_send.push_back(Ms(d.at - it->second.first));
      // Delivered before the acknowledgement arrived: 0.
      from_ack.push_back(std::max(0.0, Ms(d.at - it->second.second)));
    }
  }
  const uint64_t expected = appended.size() * o.subscribers;
  uint64_t append_error_count = 0;
  for (const auto& [k, v] : append_errors) append_error_count += v;
  const uint64_t missing =
      expected > from_ack.size() ? expected - from_ack.size() : 0;
  const auto at = [](std::vector<double>& v, double q) {
    if (v.empty()) return 0.0;
    return v[std::min(v.size() - 1, static_cast<size_t>(q * v.size()))];
  };
  std::sort(from_ack.begin(), from_ack.end());
  std::sort(from_send.begin(), from_send.end());
  std::printf(
      "cairn-compare %s subscribe: %u writers at %u appends/s, %u log "
      "subscribers, %s\n",
      SystemName(o.system), o.clients, o.rate, o.subscribers, o.target.c_str());
  std::printf("  %zu appends (%.0f/s), %llu deliveries, %llu missing\n",
              appended.size(),
              static_cast<double>(appended.size()) / o.duration,
              static_cast<unsigned long long>(deliveries),
              static_cast<unsigned long long>(missing));
  std::printf(
      "  ack -> delivery ms   p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
      at(from_ack, 0.5), at(from_ack, 0.99), at(from_ack, 0.999),
      from_ack.empty() ? 0.0 : from_ack.back());
  std::printf(
      "  send -> delivery ms  p50 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
      at(from_send, 0.5), at(from_send, 0.99), at(from_send, 0.999),
      from_send.empty() ? 0.0 : from_send.back());
  std::printf("  errors %u subscriber, %llu append\n", errors,
              static_cast<unsigned long long>(append_error_count));
  const bool ok = errors == 0 && append_error_count == 0 && missing == 0 &&
                  !appended.empty();
  if (o.json) {
    auto summary = BaseSummary(o);
    summary["subscribers"] = o.subscribers;
    summary["rate"] = o.rate;
    summary["appends"] = appended.size();
    summary["deliveries"] = deliveries;
    summary["missing"] = missing;
    summary["p50_ms"] = at(from_ack, 0.5);
    summary["p99_ms"] = at(from_ack, 0.99);
    summary["p999_ms"] = at(from_ack, 0.999);
    summary["max_ms"] = from_ack.empty() ? 0.0 : from_ack.back();
    summary["send_p50_ms"] = at(from_send, 0.5);
    summary["send_p99_ms"] = at(from_send, 0.99);
    summary["send_p999_ms"] = at(from_send, 0.999);
    summary["errors"] = errors + append_error_count;
    summary["ok"] = ok;
    std::printf("%s\n", boost::json::serialize(summary).c_str());
  }
  return ok ? 0 : 1;
}

int Main(int argc, char** argv) {
  Options o;
  CLI::App app{
      "cairn-compare: the same workloads against Cairn, PostgreSQL and "
      "Redis"};
  const std::map<std::string, System> systems = {
      {"cairn", System::kCairn},
      {"postgres", System::kPostgres},
      {"redis", System::kRedis}};
  app.add_option("--system", o.system, "cairn, postgres or redis")
      ->transform(CLI::CheckedTransformer(systems))
      ->required();
  app.add_option("--target", o.target, "HOST:PORT of the server")
      ->capture_default_str();
  const std::map<std::string, Workload> workloads = {
      {"append", Workload::kAppend},
      {"preload", Workload::kPreload},
      {"read-stream", Workload::kReadStream},
      {"read-log", Workload::kReadLog},
      {"subscribe", Workload::kSubscribe}};
  app.add_option("--workload", o.workload,
                 "append, preload, read-stream, read-log or subscribe")
      ->transform(CLI::CheckedTransformer(workloads))
      ->default_str("append");
  app.add_option("--clients", o.clients, "connections (subscribe: writers)")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "client I/O threads")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  app.add_option("--duration", o.duration, "seconds measured")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--warmup", o.warmup,
                 "seconds of load before measuring (append, read-stream)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  app.add_option("--batch", o.batch, "events per append")
      ->check(CLI::Range(1u, 10000u))
      ->capture_default_str();
  app.add_option("--streams", o.streams, "learner-user-K streams, K < S")
      ->check(CLI::Range(1u, 10000000u))
      ->capture_default_str();
  app.add_option("--events", o.events, "preload: events in all")
      ->capture_default_str();
  app.add_option("--stream-events", o.stream_events,
                 "read-stream: events each stream holds")
      ->capture_default_str();
  app.add_option("--expect-events", o.expect_events,
                 "read-log: a read returning another count is an error");
  app.add_option("--page", o.page, "read-log page (postgres, redis)")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  app.add_option("--rate", o.rate, "subscribe: appends/s in all")
      ->check(CLI::Range(1u, 1000000u))
      ->capture_default_str();
  app.add_option("--subscribers", o.subscribers, "subscribe: log followers")
      ->check(CLI::Range(1u, 1000u))
      ->capture_default_str();
  app.add_option("--tenant", o.tenant, "cairn: X-Cairn-Tenant")
      ->capture_default_str();
  app.add_option("--pg-user", o.pg_user, "postgres: user")
      ->capture_default_str();
  app.add_option("--pg-db", o.pg_db, "postgres: database")
      ->capture_default_str();
  app.add_option("--label", o.label, "copied into the JSON line");
  app.add_option("--timeout", o.timeout,
                 "seconds a run may outlast its duration")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_flag("--json", o.json, "also print a one-line JSON summary");
  CLI11_PARSE(app, argc, argv);

  const size_t colon = o.target.rfind(':');
  if (colon == std::string::npos) {
    std::fprintf(stderr, "--target must be HOST:PORT\n");
    return 2;
  }
  if (o.workload == Workload::kPreload &&
      o.events % (uint64_t{o.batch} * o.streams) != 0) {
    std::fprintf(stderr,
                 "preload: --events must be a multiple of --batch * "
                 "--streams\n");
    return 2;
  }
  if (o.workload == Workload::kSubscribe) o.batch = 1;
  if ((o.workload == Workload::kAppend || o.workload == Workload::kSubscribe) &&
      o.streams < o.clients) {
    std::fprintf(stderr,
                 "--streams must be >= --clients (each client owns "
                 "its streams)\n");
    return 2;
  }
  try {
    const tcp::endpoint ep(
        net::ip::make_address(o.target.substr(0, colon)),
        static_cast<uint16_t>(std::stoi(o.target.substr(colon + 1))));
    const std::string sha =
        o.system == System::kRedis ? LoadRedisScript(ep) : std::string();
    return o.workload == Workload::kSubscribe ? RunSubscribe(o, ep, sha)
                                              : RunClosedLoop(o, ep, sha);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "cairn-compare: %s\n", e.what());
    return 2;
  }
}

}  // namespace
}  // namespace cairn::loadgen

int main(int argc, char** argv) { return cairn::loadgen::Main(argc, argv); }
