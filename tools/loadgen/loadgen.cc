// cairn-loadgen: an HTTP load generator for cairnd (like leveldb's db_bench,
// end to end). N keep-alive connections, each one coroutine on Asio, issue
// requests back to back; every response is checked and timed.
//
//   cairn-loadgen --target 127.0.0.1:8642 --workload append --connections 64
//   cairn-loadgen --workload batch --batch 1000 --connections 8
//   cairn-loadgen --workload preload --events 1000000
//   cairn-loadgen --workload read-log          (the whole log as NDJSON)
//   cairn-loadgen --workload read-stream --limit 100
//
// Prints requests/s, events/s, errors by status and latency percentiles;
// --json adds a one-line summary for scripts.

#include <CLI/CLI.hpp>
#include <algorithm>
#include <array>
#include <atomic>
#include <boost/asio.hpp>
#include <boost/asio/experimental/as_tuple.hpp>
#include <chrono>
#include <cstdio>
#include <map>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace {

namespace net = boost::asio;
using net::ip::tcp;
using Clock = std::chrono::steady_clock;
constexpr auto kUseTuple = net::experimental::as_tuple(net::use_awaitable);

struct Options {
  std::string target = "127.0.0.1:8642";
  std::string workload = "append";
  std::string tenant = "loadgen";
  unsigned connections = 64;
  unsigned threads = 1;
  double duration = 10;
  double warmup = 1;
  unsigned streams = 1000;
  unsigned batch = 1000;
  unsigned limit = 100;
  uint64_t events = 1'000'000;  // preload
  bool json = false;
};

// One DOMAIN.md AttemptSubmitted event.
std::string AttemptEvent(unsigned user, uint64_t n) {
  return R"({"type":"AttemptSubmitted","data":{"attemptId":"a-)" +
         std::to_string(n) + R"(","userId":"user-)" + std::to_string(user) +
         R"(","exerciseId":"ex-7","skillId":"skill-fractions","lessonId":"fractions-1","correct":true,"score":0.75,"durationMs":5300,"submittedAt":"2026-11-25T10:01:00Z"},"metadata":{"userId":"user-)" +
         std::to_string(user) + R"("}})";
}

struct Stats {
  std::vector<double> latencies_us;  // measured requests only
  std::map<int, uint64_t> errors;    // by status (0: connection failed)
  uint64_t requests = 0;
  uint64_t events = 0;
};

struct Shared {
  const Options* options;
  std::string body;  // of every write request; empty for reads
  tcp::endpoint endpoint;
  Clock::time_point measure_from;
  Clock::time_point stop_at;
  std::atomic<uint64_t> next_batch{0};  // preload: batches handed out
  uint64_t total_batches = 0;
  std::mutex mu;
  Stats total;  // guarded by mu
};

// The body of every append of this run: built once, so that the load
// generator spends its CPU on the wire rather than on formatting.
std::string AppendBody(const Options& o) {
  const unsigned count = o.workload == "append" ? 1 : o.batch;
  std::string body = R"({"events":[)";
  for (unsigned i = 0; i < count; ++i) {
    if (i > 0) body += ',';
    body += AttemptEvent(i % 1000, i);
  }
  return body + "]}";
}

// The request line and headers for one request to the user's stream.
std::string RequestHead(const Options& o, unsigned user, size_t body_size) {
  const std::string stream = "learner-user-" + std::to_string(user);
  std::string head;
  if (o.workload == "append" || o.workload == "batch" ||
      o.workload == "preload") {
    head = "POST /v1/streams/" + stream +
           "/events HTTP/1.1\r\nContent-Type: application/json\r\n";
  } else if (o.workload == "read-stream") {
    head = "GET /v1/streams/" + stream +
           "/events?limit=" + std::to_string(o.limit) + " HTTP/1.1\r\n";
  } else {  // read-log
    head = "GET /v1/events HTTP/1.1\r\nAccept: application/x-ndjson\r\n";
  }
  head += "Host: cairn\r\nX-Cairn-Tenant: " + o.tenant + "\r\n";
  head += "Content-Length: " + std::to_string(body_size) + "\r\n\r\n";
  return head;
}

// Appends what the socket has to buf; false when the connection broke.
net::awaitable<bool> Fill(tcp::socket& sock, std::string& buf) {
  char tmp[65536];
  auto [ec, n] = co_await sock.async_read_some(net::buffer(tmp), kUseTuple);
  if (ec) co_return false;
  buf.append(tmp, n);
  co_return true;
}

// Reads one response; returns its status (0 on a broken connection) and
// counts the NDJSON lines of a chunked body in *lines.
net::awaitable<int> ReadResponse(tcp::socket& sock, std::string& buf,
                                 uint64_t* lines) {
  size_t end;
  while ((end = buf.find("\r\n\r\n")) == std::string::npos) {
    if (!co_await Fill(sock, buf)) co_return 0;
  }
  const int status = std::atoi(buf.c_str() + 9);
  std::string head = buf.substr(0, end);
  buf.erase(0, end + 4);
  for (auto& c : head) c = static_cast<char>(std::tolower(c));
  const size_t cl = head.find("content-length:");
  if (cl != std::string::npos) {
    const size_t len = std::strtoull(head.c_str() + cl + 15, nullptr, 10);
    while (buf.size() < len) {
      if (!co_await Fill(sock, buf)) co_return 0;
    }
    buf.erase(0, len);
  } else if (head.find("transfer-encoding: chunked") != std::string::npos) {
    for (;;) {
      size_t eol;
      while ((eol = buf.find("\r\n")) == std::string::npos) {
        if (!co_await Fill(sock, buf)) co_return 0;
      }
      const size_t size = std::strtoull(buf.c_str(), nullptr, 16);
      while (buf.size() < eol + 2 + size + 2) {
        if (!co_await Fill(sock, buf)) co_return 0;
      }
      *lines += static_cast<uint64_t>(
          std::count(buf.begin() + static_cast<long>(eol) + 2,
                     buf.begin() + static_cast<long>(eol + 2 + size), '\n'));
      buf.erase(0, eol + 2 + size + 2);
      if (size == 0) break;
    }
  }
  co_return status;
}

net::awaitable<void> Connection(Shared& s, unsigned index, Stats& stats) {
  const Options& o = *s.options;
  tcp::socket sock(co_await net::this_coro::executor);
  auto [cec] = co_await sock.async_connect(s.endpoint, kUseTuple);
  if (cec) {
    ++stats.errors[0];
    co_return;
  }
  sock.set_option(tcp::no_delay(true));
  std::mt19937 rng(index);
  std::string buf;
  const bool preload = o.workload == "preload";
  const unsigned events_per_request =
      o.workload == "append" ? 1
                             : (o.workload == "batch" || preload ? o.batch : 0);
  for (uint64_t n = 0;; ++n) {
    uint64_t batch_no = 0;
    if (preload) {
      batch_no = s.next_batch++;
      if (batch_no >= s.total_batches) break;
    } else if (Clock::now() >= s.stop_at) {
      break;
    }
    const unsigned user = preload ? static_cast<unsigned>(batch_no % o.streams)
                                  : rng() % o.streams;
    const std::string head = RequestHead(o, user, s.body.size());
    const std::array<net::const_buffer, 2> req = {net::buffer(head),
                                                  net::buffer(s.body)};
    const auto start = Clock::now();
    auto [wec, wn] = co_await net::async_write(sock, req, kUseTuple);
    uint64_t lines = 0;
    const int status = wec ? 0 : co_await ReadResponse(sock, buf, &lines);
    const auto finish = Clock::now();
    const bool ok =
        o.workload.starts_with("read") ? status == 200 : status == 201;
    if (start < s.measure_from) continue;  // warm-up
    ++stats.requests;
    if (!ok) {
      ++stats.errors[status];
      if (status == 0) co_return;
      continue;
    }
    stats.events += o.workload == "read-log"      ? lines
                    : o.workload == "read-stream" ? o.limit
                                                  : events_per_request;
    stats.latencies_us.push_back(
        std::chrono::duration<double, std::micro>(finish - start).count());
  }
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"cairn-loadgen: HTTP load for cairnd"};
  app.add_option("--target", o.target, "HOST:PORT of cairnd")
      ->capture_default_str();
  app.add_option("--workload", o.workload,
                 "append, batch, preload, read-stream, read-log")
      ->check(CLI::IsMember(
          {"append", "batch", "preload", "read-stream", "read-log"}))
      ->capture_default_str();
  app.add_option("--tenant", o.tenant, "X-Cairn-Tenant")->capture_default_str();
  app.add_option("--connections", o.connections, "keep-alive connections")
      ->check(CLI::Range(1u, 10000u))
      ->capture_default_str();
  app.add_option("--threads", o.threads, "I/O threads")
      ->check(CLI::Range(1u, 64u))
      ->capture_default_str();
  app.add_option("--duration", o.duration, "seconds measured")
      ->capture_default_str();
  app.add_option("--warmup", o.warmup, "seconds before measuring")
      ->capture_default_str();
  app.add_option("--streams", o.streams, "learner streams to spread over")
      ->check(CLI::Range(1u, 100000000u))
      ->capture_default_str();
  app.add_option("--batch", o.batch, "events per request (batch, preload)")
      ->check(CLI::Range(1u, 100000u))
      ->capture_default_str();
  app.add_option("--limit", o.limit, "events per read-stream request")
      ->capture_default_str();
  app.add_option("--events", o.events, "events to preload")
      ->capture_default_str();
  app.add_flag("--json", o.json, "also print a one-line JSON summary");
  CLI11_PARSE(app, argc, argv);

  const size_t colon = o.target.rfind(':');
  std::string host = o.target.substr(0, colon);
  if (host.starts_with("http://")) host = host.substr(7);
  Shared s;
  s.options = &o;
  s.endpoint = tcp::endpoint(
      net::ip::make_address(host),
      static_cast<uint16_t>(std::stoi(o.target.substr(colon + 1))));
  const auto begin = Clock::now();
  const bool preload = o.workload == "preload";
  s.measure_from = preload
                       ? begin
                       : begin + std::chrono::duration_cast<Clock::duration>(
                                     std::chrono::duration<double>(o.warmup));
  s.stop_at = s.measure_from + std::chrono::duration_cast<Clock::duration>(
                                   std::chrono::duration<double>(o.duration));
  s.total_batches = (o.events + o.batch - 1) / o.batch;
  if (!o.workload.starts_with("read")) s.body = AppendBody(o);

  // One io_context per thread, connections spread over them.
  std::vector<std::unique_ptr<net::io_context>> contexts;
  std::vector<Stats> stats(o.connections);
  for (unsigned t = 0; t < o.threads; ++t) {
    contexts.push_back(std::make_unique<net::io_context>(1));
  }
  for (unsigned c = 0; c < o.connections; ++c) {
    net::co_spawn(*contexts[c % o.threads], Connection(s, c, stats[c]),
                  net::detached);
  }
  std::vector<std::thread> threads;
  for (auto& ctx : contexts) threads.emplace_back([&ctx] { ctx->run(); });
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(Clock::now() - s.measure_from).count();

  Stats total;
  for (auto& st : stats) {
    total.requests += st.requests;
    total.events += st.events;
    for (auto& [k, v] : st.errors) total.errors[k] += v;
    total.latencies_us.insert(total.latencies_us.end(), st.latencies_us.begin(),
                              st.latencies_us.end());
  }
  std::sort(total.latencies_us.begin(), total.latencies_us.end());
  const auto pct = [&](double p) {
    if (total.latencies_us.empty()) return 0.0;
    size_t i =
        static_cast<size_t>(p * static_cast<double>(total.latencies_us.size()));
    return total.latencies_us[std::min(i, total.latencies_us.size() - 1)] /
           1000.0;
  };
  uint64_t errors = 0;
  for (auto& [k, v] : total.errors) errors += v;
  const double rps = static_cast<double>(total.requests) / seconds;
  const double eps = static_cast<double>(total.events) / seconds;
  std::printf("workload %s, %u connections, %u threads, %.1f s measured\n",
              o.workload.c_str(), o.connections, o.threads, seconds);
  std::printf("requests/s %.0f   events/s %.0f   requests %llu   errors %llu\n",
              rps, eps, static_cast<unsigned long long>(total.requests),
              static_cast<unsigned long long>(errors));
  for (auto& [status, count] : total.errors) {
    std::printf("  errors with status %d: %llu\n", status,
                static_cast<unsigned long long>(count));
  }
  std::printf(
      "latency ms: p50 %.3f  p90 %.3f  p99 %.3f  p99.9 %.3f  max %.3f\n",
      pct(0.5), pct(0.9), pct(0.99), pct(0.999), pct(1.0));
  if (errors > 0)
    std::printf("WARNING: errors occurred; the figures above include them\n");
  if (o.json) {
    std::printf(
        "{\"workload\":\"%s\",\"connections\":%u,\"seconds\":%.2f,\"requests_"
        "per_s\":%.0f,"
        "\"events_per_s\":%.0f,\"errors\":%llu,\"p50_ms\":%.3f,\"p90_ms\":%.3f,"
        "\"p99_ms\":%.3f,\"p999_ms\":%.3f,\"max_ms\":%.3f}\n",
        o.workload.c_str(), o.connections, seconds, rps, eps,
        static_cast<unsigned long long>(errors), pct(0.5), pct(0.9), pct(0.99),
        pct(0.999), pct(1.0));
  }
  return errors > 0 ? 1 : 0;
}
