#include "server/api.h"

#include <pthread.h>

#include <charconv>
#include <chrono>
#include <cstdio>

#include "projections/read_models.h"
#include "protocol/event_record.h"
#include "protocol/names.h"
#include "server/async_store.h"
#include "server/auth/authorizer.h"
#include "server/event_json.h"
#include "server/http_errors.h"
#include "server/json_writer.h"
#include "server/log.h"
#include "server/openapi.h"
#include "server/projection_wait.h"
#include "server/request_body.h"
#include "server/subscription.h"
#include "storage/backup.h"
#include "storage/projection_store.h"

namespace cairn::server {
namespace net = boost::asio;
using net::awaitable;

namespace {

constexpr size_t kMaxPageLimit = 10'000;
constexpr size_t kNdjsonStreamPage = 1'000;
constexpr size_t kNdjsonLogPage = 4'096;

std::optional<uint64_t> ParseUint(std::string_view s) {
  uint64_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) {
    return std::nullopt;
  }
  return v;
}

bool IsJsonContentType(std::string_view ct) {
  const size_t semi = ct.find(';');
  std::string_view media = ct.substr(0, semi);
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media.size() != 16) return false;
  for (size_t i = 0; i < media.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(media[i])) !=
        "application/json"[i]) {
      return false;
    }
  }
  return true;
}

std::vector<std::string> SplitList(std::string_view s) {
  std::vector<std::string> out;
  while (!s.empty()) {
    const size_t comma = s.find(',');
    std::string_view item = s.substr(0, comma);
    if (!item.empty()) out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    s.remove_prefix(comma + 1);
  }
  return out;
}

// The problem member a one-stream write adds when its expectation failed.
std::string ActualRevisionMember(const storage::WriteOutcome& out) {
  if (out.conflicts.empty()) return "";
  std::string member = ",\"actualRevision\":";
  AppendOptionalUint(&member, out.conflicts[0].actual_revision);
  return member;
}

struct AppendSize {
  uint64_t events = 0;
  uint64_t bytes = 0;  // of the encoded records
};

AppendSize SizeOf(const storage::AppendRequest& request) {
  AppendSize size;
  for (const storage::StreamAppend& s : request.streams) {
    size.events += s.events.size();
    for (const storage::ProposedEvent& e : s.events) {
      size.bytes += e.record.size();
    }
  }
  return size;
}

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start)
      .count();
}

HttpResponse Json(unsigned status, std::string body) {
  HttpResponse r;
  r.status = status;
  r.body = std::move(body);
  return r;
}

// "limit": optional, 1..max when given.
Result<std::optional<uint64_t>> LimitParam(const Route& route, size_t max) {
  auto text = route.Param("limit");
  if (!text) return std::optional<uint64_t>();
  auto v = ParseUint(*text);
  if (!v || *v == 0 || *v > max) {
    return Status::InvalidArgument("limit must be a whole number from 1 to " +
                                   std::to_string(max));
  }
  return std::optional<uint64_t>(*v);
}

Result<std::optional<uint64_t>> UintParam(const Route& route,
                                          std::string_view key) {
  auto text = route.Param(key);
  if (!text) return std::optional<uint64_t>();
  auto v = ParseUint(*text);
  if (!v) {
    return Status::InvalidArgument(std::string(key) +
                                   " must be a whole number from 0");
  }
  return std::optional<uint64_t>(*v);
}

// "true" or "false"; absent is false.
Result<bool> BoolParam(const Route& route, std::string_view key) {
  auto text = route.Param(key);
  if (!text || *text == "false") return false;
  if (*text == "true") return true;
  return Status::InvalidArgument(std::string(key) + " must be true or false");
}

// Pages of a stream, one NDJSON chunk each, until the end or the limit.
class StreamLines final : public ChunkSource {
 public:
  StreamLines(storage::EventStore* store, std::string tenant,
              std::string stream, storage::StreamReadOptions options,
              std::optional<uint64_t> remaining, std::string first_chunk,
              std::optional<uint64_t> next)
      : store_(store),
        tenant_(std::move(tenant)),
        stream_(std::move(stream)),
        options_(options),
        remaining_(remaining),
        pending_(std::move(first_chunk)),
        next_(next) {}

  Result<std::optional<std::string>> Read(size_t /*index: in order*/) override {
    if (pending_) return std::exchange(pending_, std::nullopt);
    if (!next_ || (remaining_ && *remaining_ == 0)) {
      return std::optional<std::string>();
    }
    options_.from = *next_;
    options_.limit = remaining_
                         ? std::min<uint64_t>(*remaining_, kNdjsonStreamPage)
                         : kNdjsonStreamPage;
    auto page = store_->ReadStream(tenant_, stream_, options_);
    if (!page.has_value()) return page.error();
    std::string chunk;
    if (Status s = AppendEventLines(&chunk, page->events); !s.ok()) return s;
    if (remaining_) *remaining_ -= page->events.size();
    next_ = page->next;
    return std::optional<std::string>(std::move(chunk));
  }

 private:
  storage::EventStore* const store_;
  const std::string tenant_;
  const std::string stream_;
  storage::StreamReadOptions options_;
  std::optional<uint64_t> remaining_;
  std::optional<std::string> pending_;
  std::optional<uint64_t> next_;
};

// Pages of the tenant log up to where it ended when the read began
// (options.until). Unfiltered and without a limit, page k is the fixed
// range of positions [from + k * kNdjsonLogPage, + kNdjsonLogPage), so
// pages are independent and read in parallel; otherwise each page starts
// where the one before stopped.
class LogLines final : public ChunkSource {
 public:
  LogLines(storage::EventStore* store, std::string tenant,
           storage::LogReadOptions options, std::optional<uint64_t> remaining)
      : store_(store),
        tenant_(std::move(tenant)),
        options_(std::move(options)),
        remaining_(remaining),
        independent_(!remaining_ && options_.filter.empty()) {}

  bool Independent() const override { return independent_; }

  Result<std::optional<std::string>> Read(size_t index) override {
    if (!independent_) return ReadOn();
    const uint64_t until = *options_.until;
    const uint64_t from = options_.from + index * kNdjsonLogPage;
    if (from >= until || from < options_.from) {  // (overflow: past the end)
      return std::optional<std::string>();
    }
    storage::LogReadOptions page = options_;
    page.from = from;
    page.until = std::min(until, from + kNdjsonLogPage);
    page.limit = kNdjsonLogPage;
    return Page(page);
  }

 private:
  // The next page of a filtered or limited read.
  Result<std::optional<std::string>> ReadOn() {
    if (done_ || (remaining_ && *remaining_ == 0)) {
      return std::optional<std::string>();
    }
    options_.limit = remaining_
                         ? std::min<uint64_t>(*remaining_, kNdjsonLogPage)
                         : kNdjsonLogPage;
    size_t count = 0;
    std::optional<uint64_t> next;
    auto chunk = Page(options_, &count, &next);
    if (!chunk.has_value()) return chunk;
    if (remaining_) *remaining_ -= count;
    if (next) {
      options_.from = *next;
    } else {
      done_ = true;
    }
    return chunk;
  }

  Result<std::optional<std::string>> Page(
      const storage::LogReadOptions& options, size_t* count = nullptr,
      std::optional<uint64_t>* next = nullptr) const {
    std::string chunk;
    chunk.reserve(options.limit * 512);
    size_t lines = 0;
    auto scanned = store_->ScanLog(
        tenant_, options,
        [&chunk, &lines](GlobalPosition position, const EventView& event) {
          AppendEventJson(&chunk, position, event);
          chunk.push_back('\n');
          ++lines;
        });
    if (!scanned.has_value()) return scanned.error();
    if (count != nullptr) *count = lines;
    if (next != nullptr) *next = *scanned;
    return std::optional<std::string>(std::move(chunk));
  }

  storage::EventStore* const store_;
  const std::string tenant_;
  storage::LogReadOptions options_;
  std::optional<uint64_t> remaining_;
  const bool independent_;
  bool done_ = false;
};

int64_t NowSeconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// 401 and 403 of authentication and authorization; a 401 says how to
// authenticate (RFC 6750 3).
HttpResponse AuthProblem(const Status& status, std::string_view trace,
                         bool had_token) {
  HttpResponse r = ProblemFromStatus(status, trace);
  if (status.IsUnauthenticated()) {
    r.headers.emplace_back(
        "WWW-Authenticate",
        had_token ? "Bearer error=\"invalid_token\"" : "Bearer");
  }
  return r;
}

// {"id","created","sizeBytes"}: `created` as RFC 3339 UTC, like an event's
// `time`.
void AppendBackupJson(std::string* out, const storage::BackupInfo& info) {
  out->append("{\"id\":");
  AppendUint(out, info.id);
  out->append(",\"created\":");
  AppendTimestamp(out, info.created_us);
  out->append(",\"sizeBytes\":");
  AppendUint(out, info.size_bytes);
  out->push_back('}');
}

HttpResponse Ndjson(std::shared_ptr<ChunkSource> source) {
  HttpResponse r;
  r.content_type = "application/x-ndjson";
  r.stream = std::move(source);
  return r;
}

}  // namespace

Api::Api(storage::EventStore* store, projections::Runner* projections,
         net::any_io_executor readers, const Config& config,
         const auth::JwtVerifier* verifier, TenantLimits* limits,
         Metrics* metrics)
    : store_(store),
      projections_(projections),
      readers_(std::move(readers)),
      config_(config),
      verifier_(verifier),
      limits_(limits),
      metrics_(metrics) {
  net::post(backups_,
            [] { pthread_setname_np(pthread_self(), "cairn-backup"); });
}

PreparedRequest Api::Prepare(const RequestHead& head) const {
  PreparedRequest p;
  p.trace = TraceContext::FromHeader(head.traceparent);
  p.route = MatchRoute(head.method, head.target);
  const std::string& trace = p.trace.trace_id;
  // Every /v1 path needs a caller, known routes or not: 401 comes before
  // 404 and 405, so that an unauthenticated client learns nothing of the
  // routes.
  const bool needs_caller = !auth::IsPublicPath(head.target);
  if (needs_caller) {
    auto principal = auth::Authenticate(head.authorization, head.tenant,
                                        config_.dev, verifier_, NowSeconds());
    if (!principal.has_value()) {
      p.early =
          AuthProblem(principal.error(), trace, !head.authorization.empty());
      return p;
    }
    p.principal = std::move(*principal);
  }
  switch (p.route.outcome) {
    case Route::Outcome::kOk:
      break;
    case Route::Outcome::kBadTarget:
      p.early = Problem(400, "the request target is not a valid path", trace);
      return p;
    case Route::Outcome::kNotFound:
      p.early = Problem(404, "no such route", trace);
      return p;
    case Route::Outcome::kMethodNotAllowed:
      p.early = Problem(405,
                        std::string(head.method) + " is not allowed here; " +
                            "allowed: " + p.route.allow,
                        trace);
      p.early->headers.emplace_back("Allow", p.route.allow);
      return p;
  }
  if (needs_caller) {
    if (Status s = auth::AuthorizeRoute(p.principal, p.route, head.method);
        !s.ok()) {
      p.early = AuthProblem(s, trace, true);
      return p;
    }
  }
  if (head.content_length && *head.content_length > config_.max_body_bytes) {
    p.early = Problem(413,
                      "the body is larger than " +
                          std::to_string(config_.max_body_bytes) + " bytes",
                      trace);
    return p;
  }
  // A rebuild and a backup are POSTs without a body: no Content-Type to
  // ask for.
  const bool bodiless = p.route.endpoint == Endpoint::kRebuild ||
                        p.route.endpoint == Endpoint::kBackups;
  const bool takes_json = (head.method == "POST" || head.method == "PUT") &&
                          !(bodiless && !head.has_body);
  if (takes_json && !IsJsonContentType(head.content_type)) {
    p.early = Problem(415, "the body must be application/json", trace);
    return p;
  }
  return p;
}

awaitable<HttpResponse> Api::Handle(const PreparedRequest& p,
                                    const RequestHead& head, std::string body) {
  const std::string& trace = p.trace.trace_id;
  switch (p.route.endpoint) {
    case Endpoint::kHealthz:
      co_return Json(200, "{\"status\":\"ok\"}");
    case Endpoint::kReadyz:
      if (shutting_down()) {
        co_return Problem(503, "shutting down", trace);
      }
      co_return Json(200, "{\"status\":\"ready\"}");
    case Endpoint::kMetrics: {
      if (metrics_ == nullptr) co_return Problem(404, "no metrics", trace);
      HttpResponse r;
      r.status = 200;
      r.content_type = "text/plain; version=0.0.4; charset=utf-8";
      // Render reads checkpoints: storage, so not on this I/O thread.
      r.body = co_await RunOn(readers_, [m = metrics_] { return m->Render(); });
      co_return r;
    }
    default:
      break;
  }
  if (shutting_down()) co_return Problem(503, "shutting down", trace);

  // Prepare authenticated the caller: in dev mode the tenant is the
  // X-Cairn-Tenant header, otherwise the token's.
  const std::string& tenant = p.principal.tenant;
  if (Status s = ValidateTenant(tenant); !s.ok()) {
    co_return Problem(
        400,
        (config_.dev ? "X-Cairn-Tenant: " : "the token's tenant: ") +
            s.message(),
        trace);
  }
  const Route& route = p.route;
  if (route.endpoint == Endpoint::kStreamEvents ||
      route.endpoint == Endpoint::kStream ||
      route.endpoint == Endpoint::kStreamMetadata) {
    if (Status s = ValidateStreamId(route.stream); !s.ok()) {
      co_return ProblemFromStatus(s, trace);
    }
  }
  const bool ndjson =
      head.accept.find("application/x-ndjson") != std::string_view::npos;
  const bool sse =
      head.accept.find("text/event-stream") != std::string_view::npos;
  const bool event_read =
      route.endpoint == Endpoint::kLog ||
      (route.endpoint == Endpoint::kStreamEvents && head.method == "GET");
  if (event_read) {
    auto follow = BoolParam(route, "follow");
    if (!follow.has_value()) co_return ProblemFromStatus(follow.error(), trace);
    if (*follow && !sse && !ndjson) {
      co_return Problem(400,
                        "follow=true needs Accept: application/x-ndjson or "
                        "text/event-stream",
                        trace);
    }
    if (sse || *follow) {
      co_return co_await Subscribe(p, head, tenant, sse, *follow);
    }
  }

  switch (route.endpoint) {
    case Endpoint::kStreamEvents:
      if (head.method == "POST") {
        co_return co_await Append(p, tenant, body);
      }
      co_return co_await ReadStream(p, tenant, ndjson);
    case Endpoint::kStream:
      if (head.method == "DELETE") co_return co_await DeleteStream(p, tenant);
      co_return co_await StreamInfo(p, tenant);
    case Endpoint::kStreamMetadata:
      co_return co_await SetMetadata(p, tenant, body);
    case Endpoint::kStreams:
      co_return co_await ListStreams(p, tenant);
    case Endpoint::kLog:
      co_return co_await ReadLog(p, tenant, ndjson);
    case Endpoint::kTransactions:
      co_return co_await Transaction(p, tenant, body);
    case Endpoint::kReadModel:
      co_return co_await ReadModel(p, head, tenant);
    case Endpoint::kProjections:
      co_return co_await ListProjections(p, tenant);
    case Endpoint::kOpenApi:
      // The same bytes for every caller (docs/openapi.json).
      co_return Json(200, std::string(OpenApiDocument()));
    case Endpoint::kBackups:
      if (head.method == "POST") co_return co_await CreateBackup(p, tenant);
      co_return co_await ListBackups(p);
    case Endpoint::kRebuild: {
      // Prepare checked the admin scope. A tenant's admin rebuilds the
      // tenant's state, never another's.
      const std::string& name = route.projection;
      Status s = projections_ == nullptr
                     ? Status::NotFound("no projection named " + name)
                     : projections_->Rebuild(name, tenant);
      if (!s.ok()) co_return ProblemFromStatus(s, trace);
      std::string body = R"({"name":)";
      AppendJsonString(&body, name);
      body += R"(,"status":"rebuilding"})";
      co_return Json(202, std::move(body));
    }
    default:
      co_return Problem(404, "no such route", trace);
  }
}

std::optional<HttpResponse> Api::AdmitAppend(const std::string& tenant,
                                             uint64_t events,
                                             const std::string& trace) const {
  const TenantLimits::Admission a = limits_->AdmitAppend(tenant, events);
  if (a.admitted) return std::nullopt;
  HttpResponse r = Problem(429, limits_->AppendRefusal(a), trace);
  r.headers.emplace_back("Retry-After", std::to_string(a.retry_after.count()));
  return r;
}

awaitable<HttpResponse> Api::Append(const PreparedRequest& p,
                                    const std::string& tenant,
                                    std::string_view body) {
  const std::string& trace = p.trace.trace_id;
  const Caller caller{tenant, p.principal.subject, trace};
  auto request =
      ParseAppendBody(body, p.route.stream, caller, {config_.max_event_bytes});
  if (!request.has_value()) co_return ProblemFromStatus(request.error(), trace);

  const AppendSize size = SizeOf(*request);
  if (auto refused = AdmitAppend(tenant, size.events, trace)) {
    co_return std::move(*refused);
  }
  const auto started = std::chrono::steady_clock::now();
  storage::WriteOutcome out = co_await AsyncWrite(
      *store_, &storage::EventStore::Append, std::move(*request));
  if (metrics_ != nullptr) {
    metrics_->ObserveAppend(out, size.events, size.bytes,
                            SecondsSince(started));
  }
  if (!out.status.ok()) {
    const std::string extra = ActualRevisionMember(out);
    if (HttpStatusOf(out.status) >= 500) {
      log::Error("append failed", {{"error", out.status.ToString()},
                                   {"trace_id", trace},
                                   {"org_id", tenant}});
    }
    co_return ProblemFromStatus(out.status, trace, extra);
  }
  std::string json;
  AppendAppendResultJson(&json, out.streams.front());
  if (out.duplicate) {
    json.pop_back();
    json += ",\"duplicate\":true}";
  }
  co_return Json(out.duplicate ? 200 : 201, std::move(json));
}

awaitable<HttpResponse> Api::Transaction(const PreparedRequest& p,
                                         const std::string& tenant,
                                         std::string_view body) {
  const std::string& trace = p.trace.trace_id;
  const Caller caller{tenant, p.principal.subject, trace};
  auto request = ParseTransactionBody(body, caller, {config_.max_event_bytes});
  if (!request.has_value()) co_return ProblemFromStatus(request.error(), trace);

  const AppendSize size = SizeOf(*request);
  if (auto refused = AdmitAppend(tenant, size.events, trace)) {
    co_return std::move(*refused);
  }
  const auto started = std::chrono::steady_clock::now();
  storage::WriteOutcome out = co_await AsyncWrite(
      *store_, &storage::EventStore::Append, std::move(*request));
  if (metrics_ != nullptr) {
    metrics_->ObserveAppend(out, size.events, size.bytes,
                            SecondsSince(started));
  }
  if (!out.status.ok()) {
    std::string extra;
    if (!out.conflicts.empty()) {
      extra = ",\"conflicts\":[";
      for (size_t i = 0; i < out.conflicts.size(); ++i) {
        const auto& c = out.conflicts[i];
        if (i > 0) extra += ',';
        extra += "{\"stream\":";
        AppendJsonString(&extra, c.stream);
        extra += ",\"expectedRevision\":";
        switch (c.expected.kind) {
          case storage::ExpectedRevision::Kind::kAny:
            extra += "\"any\"";
            break;
          case storage::ExpectedRevision::Kind::kNoStream:
            extra += "\"no_stream\"";
            break;
          case storage::ExpectedRevision::Kind::kExists:
            extra += "\"exists\"";
            break;
          case storage::ExpectedRevision::Kind::kExact:
            AppendUint(&extra, c.expected.revision);
            break;
        }
        extra += ",\"actualRevision\":";
        AppendOptionalUint(&extra, c.actual_revision);
        extra += '}';
      }
      extra += ']';
    }
    if (out.conflict_position) {
      extra += ",\"conflictPosition\":";
      AppendUint(&extra, out.conflict_position->value());
    }
    co_return ProblemFromStatus(out.status, trace, extra);
  }
  std::string json = "{\"results\":[";
  for (size_t i = 0; i < out.streams.size(); ++i) {
    if (i > 0) json += ',';
    AppendAppendResultJson(&json, out.streams[i]);
  }
  json += "],\"firstPosition\":";
  AppendUint(&json, out.first_position.value());
  json += ",\"lastPosition\":";
  AppendUint(&json, out.last_position.value());
  if (out.duplicate) json += ",\"duplicate\":true";
  json += '}';
  co_return Json(out.duplicate ? 200 : 201, std::move(json));
}

awaitable<HttpResponse> Api::ReadStream(const PreparedRequest& p,
                                        const std::string& tenant,
                                        bool ndjson) {
  const std::string& trace = p.trace.trace_id;
  const Route& route = p.route;
  storage::StreamReadOptions options;
  auto direction = route.Param("direction");
  if (direction && *direction == "backward") {
    options.direction = storage::Direction::kBackward;
  } else if (direction && *direction != "forward") {
    co_return Problem(400, "direction must be forward or backward", trace);
  }
  auto from = UintParam(route, "from");
  if (!from.has_value()) co_return ProblemFromStatus(from.error(), trace);
  options.from = *from;
  auto limit = LimitParam(route, ndjson ? UINT64_MAX : kMaxPageLimit);
  if (!limit.has_value()) co_return ProblemFromStatus(limit.error(), trace);
  options.limit = limit->value_or(ndjson ? kNdjsonStreamPage : 100);
  if (ndjson)
    options.limit = std::min<uint64_t>(options.limit, kNdjsonStreamPage);

  const std::string& stream = route.stream;
  auto read = [this, &tenant, &stream, options] {
    return store_->ReadStream(tenant, stream, options);
  };
  auto page = co_await RunOn(readers_, std::move(read));
  if (!page.has_value()) co_return ProblemFromStatus(page.error(), trace);

  if (ndjson) {
    std::string first;
    if (Status s = AppendEventLines(&first, page->events); !s.ok()) {
      co_return ProblemFromStatus(s, trace);
    }
    std::optional<uint64_t> remaining;
    if (*limit) remaining = **limit - page->events.size();
    co_return Ndjson(
        std::make_shared<StreamLines>(store_, tenant, stream, options,
                                      remaining, std::move(first), page->next));
  }
  std::string json;
  json.reserve(page->events.size() * 320 + 32);
  if (Status s = AppendEventPageJson(&json, page->events, page->next);
      !s.ok()) {
    co_return ProblemFromStatus(s, trace);
  }
  co_return Json(200, std::move(json));
}

awaitable<HttpResponse> Api::ReadLog(const PreparedRequest& p,
                                     const std::string& tenant, bool ndjson) {
  const std::string& trace = p.trace.trace_id;
  const Route& route = p.route;
  storage::LogReadOptions options;
  auto from = UintParam(route, "from");
  if (!from.has_value()) co_return ProblemFromStatus(from.error(), trace);
  options.from = from->value_or(0);
  auto limit = LimitParam(route, ndjson ? UINT64_MAX : kMaxPageLimit);
  if (!limit.has_value()) co_return ProblemFromStatus(limit.error(), trace);
  if (auto types = route.Param("types"))
    options.filter.types = SplitList(*types);
  if (auto category = route.Param("category")) {
    options.filter.categories = SplitList(*category);
  }

  if (ndjson) {
    // Up to the end of the log as it is now; later events belong to a
    // follow=true read (subscriptions).
    options.until = store_->LogEnd(tenant).value();
    options.long_scan = true;
    co_return Ndjson(
        std::make_shared<LogLines>(store_, tenant, std::move(options), *limit));
  }
  options.limit = limit->value_or(1000);
  // The page is written as it is read, on the reader thread.
  auto read = [this, &tenant, &options]() -> Result<std::string> {
    std::string json = "{\"events\":[";
    bool first = true;
    auto next = store_->ScanLog(
        tenant, options,
        [&json, &first](GlobalPosition position, const EventView& event) {
          if (!first) json.push_back(',');
          first = false;
          AppendEventJson(&json, position, event);
        });
    if (!next.has_value()) return next.error();
    json.append("],\"next\":");
    if (*next) {
      AppendUint(&json, **next);
    } else {
      json.append("null");
    }
    json.push_back('}');
    return json;
  };
  auto json = co_await RunOn(readers_, std::move(read));
  if (!json.has_value()) co_return ProblemFromStatus(json.error(), trace);
  co_return Json(200, std::move(*json));
}

awaitable<HttpResponse> Api::Subscribe(const PreparedRequest& p,
                                       const RequestHead& head,
                                       const std::string& tenant, bool sse,
                                       bool follow) {
  const std::string& trace = p.trace.trace_id;
  const Route& route = p.route;
  auto spec = std::make_shared<SubscriptionSpec>();
  spec->tenant = tenant;
  spec->follow = follow;
  auto from = UintParam(route, "from");
  if (!from.has_value()) co_return ProblemFromStatus(from.error(), trace);
  if (route.endpoint == Endpoint::kStreamEvents) {
    spec->stream = route.stream;
    if (auto d = route.Param("direction"); d && *d != "forward") {
      co_return Problem(400, "a streamed read goes forward", trace);
    }
    if (*from) {
      spec->from = SubscriptionSpec::From::kRevision;
      spec->at = **from;
    }
  } else {
    if (*from) {
      spec->from = SubscriptionSpec::From::kPosition;
      spec->at = **from;
    }
    if (auto types = route.Param("types")) {
      spec->filter.types = SplitList(*types);
    }
    if (auto category = route.Param("category")) {
      spec->filter.categories = SplitList(*category);
    }
  }
  if (sse && !head.last_event_id.empty()) {
    // Resume after the last event the client saw (its position).
    auto last = ParseUint(head.last_event_id);
    if (!last || *last == UINT64_MAX) {
      co_return Problem(400, "Last-Event-ID must be an event's position",
                        trace);
    }
    spec->from = SubscriptionSpec::From::kPosition;
    spec->at = *last + 1;
  }
  if (spec->stream) {
    // A tombstoned stream is gone for good; one that does not exist yet
    // may be followed (its first event comes live), not read.
    auto read = [this, &tenant, &spec] {
      return store_->GetStreamInfo(tenant, *spec->stream);
    };
    auto info = co_await RunOn(readers_, std::move(read));
    if (!info.has_value() && (info.error().IsStreamDeleted() || !follow ||
                              !info.error().IsNotFound())) {
      co_return ProblemFromStatus(info.error(), trace);
    }
  }
  TenantLimits::SubscriptionSlot slot = limits_->OpenSubscription(tenant);
  if (!slot) {
    HttpResponse r = Problem(429, limits_->SubscriptionRefusal(), trace);
    r.headers.emplace_back("Retry-After", "1");
    co_return r;
  }
  HttpResponse r;
  r.content_type = sse ? "text/event-stream" : "application/x-ndjson";
  if (sse) r.headers.emplace_back("Cache-Control", "no-cache");
  r.subscription = SubscriptionBody{
      sse ? SubscriptionBody::Format::kSse : SubscriptionBody::Format::kNdjson,
      std::move(spec), std::move(slot)};
  co_return r;
}

namespace {

// A stable tag of a read model's answer (FNV-1a, 64 bits).
std::string EntityTag(std::string_view body) {
  uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : body) {
    h ^= c;
    h *= 0x100000001b3ULL;
  }
  char buf[24];
  std::snprintf(buf, sizeof buf, "\"%016llx\"",
                static_cast<unsigned long long>(h));
  return buf;
}

}  // namespace

awaitable<HttpResponse> Api::ReadModel(const PreparedRequest& p,
                                       const RequestHead& head,
                                       const std::string& tenant) {
  const std::string& trace = p.trace.trace_id;
  const Route& route = p.route;
  const std::string& name = route.projection;
  if (projections_ == nullptr || projections_->Find(name) == nullptr) {
    co_return Problem(404, "no projection named " + name, trace);
  }
  auto min_position = UintParam(route, "minPosition");
  if (!min_position.has_value()) {
    co_return ProblemFromStatus(min_position.error(), trace);
  }
  auto timeout = UintParam(route, "timeout");
  if (!timeout.has_value()) co_return ProblemFromStatus(timeout.error(), trace);
  auto limit = LimitParam(route, 100);
  if (!limit.has_value()) co_return ProblemFromStatus(limit.error(), trace);
  const auto before = route.Param("before");

  if (*min_position) {
    const auto wait = std::chrono::milliseconds(
        std::min<uint64_t>(timeout->value_or(5000), 60'000));
    const std::optional<bool> applied =
        co_await WaitApplied(*projections_, name, tenant, **min_position, wait);
    if (!applied.value_or(false)) {
      auto cp = store_->Projections().Checkpoint(name, tenant);
      std::string body =
          R"({"type":"about:blank","title":"Service Unavailable","status":503,"detail":)";
      AppendJsonString(&body, "the projection has not applied position " +
                                  std::to_string(**min_position) + " yet");
      body += R"(,"checkpoint":)";
      const uint64_t next = cp.has_value() ? cp->next_position : 0;
      AppendOptionalUint(&body,
                         next > 0 ? std::optional(next - 1) : std::nullopt);
      body += R"(,"traceId":)";
      AppendJsonString(&body, trace);
      body += '}';
      HttpResponse r = Json(503, std::move(body));
      r.content_type = "application/problem+json";
      r.headers.emplace_back("Retry-After", "1");
      co_return r;
    }
  }

  const std::string& key = route.key;
  projections::ReadModelOptions options;
  if (before) options.before = std::string(*before);
  options.limit = limit->value_or(20);
  auto read = [this, &name, &tenant, &key, &options]() -> Result<std::string> {
    auto read = projections::ReadDocument(*store_, name, tenant, key, options);
    if (!read.has_value()) return read.error();
    if (!read->document) return Status::NotFound("no document for " + key);
    std::string out = R"({"projection":)";
    AppendJsonString(&out, name);
    out += R"(,"key":)";
    AppendJsonString(&out, key);
    out += R"(,"position":)";
    AppendOptionalUint(&out, read->position);
    out += R"(,"document":)";
    out += *read->document;
    out += '}';
    return out;
  };
  auto body = co_await RunOn(readers_, std::move(read));
  if (!body.has_value()) co_return ProblemFromStatus(body.error(), trace);
  const std::string tag = EntityTag(*body);
  HttpResponse r;
  if (head.if_none_match == tag) {
    r.status = 304;
    r.content_type.clear();
  } else {
    r = Json(200, std::move(*body));
  }
  r.headers.emplace_back("ETag", tag);
  co_return r;
}

awaitable<HttpResponse> Api::ListProjections(const PreparedRequest& p,
                                             const std::string& tenant) {
  std::string out = R"({"projections":[)";
  if (projections_ != nullptr) {
    const uint64_t end = store_->LogEnd(tenant).value();
    bool first = true;
    for (const projections::ProjectionStatus& s :
         projections_->Statuses(tenant)) {
      auto cp = store_->Projections().Checkpoint(s.name, tenant);
      if (!cp.has_value()) {
        co_return ProblemFromStatus(cp.error(), p.trace.trace_id);
      }
      if (!first) out += ',';
      first = false;
      out += R"({"name":)";
      AppendJsonString(&out, s.name);
      out += R"(,"version":)";
      AppendUint(&out, s.version);
      out += R"(,"status":)";
      out += s.faulted      ? R"("faulted")"
             : s.rebuilding ? R"("rebuilding")"
                            : R"("running")";
      out += R"(,"checkpoint":)";
      AppendOptionalUint(&out, cp->next_position > 0
                                   ? std::optional(cp->next_position - 1)
                                   : std::nullopt);
      out += R"(,"lag":)";
      AppendUint(&out, end > cp->next_position ? end - cp->next_position : 0);
      out += R"(,"skippedEvents":)";
      AppendUint(&out, s.skipped);
      out += R"(,"lastError":)";
      if (s.faulted) {
        AppendJsonString(&out, s.error);
      } else {
        out += "null";
      }
      out += R"(,"faultPosition":)";
      AppendOptionalUint(
          &out, s.fault_at ? std::optional(s.fault_at->value()) : std::nullopt);
      out += '}';
    }
  }
  out += "]}";
  co_return Json(200, std::move(out));
}

awaitable<HttpResponse> Api::StreamInfo(const PreparedRequest& p,
                                        const std::string& tenant) {
  const std::string& stream = p.route.stream;
  auto read = [this, &tenant, &stream] {
    return store_->GetStreamInfo(tenant, stream);
  };
  auto info = co_await RunOn(readers_, std::move(read));
  if (!info.has_value()) {
    co_return ProblemFromStatus(info.error(), p.trace.trace_id);
  }
  co_return Json(200, StreamInfoJson(*info));
}

awaitable<HttpResponse> Api::ListStreams(const PreparedRequest& p,
                                         const std::string& tenant) {
  const std::string& trace = p.trace.trace_id;
  auto limit = LimitParam(p.route, kMaxPageLimit);
  if (!limit.has_value()) co_return ProblemFromStatus(limit.error(), trace);
  const std::string prefix(p.route.Param("prefix").value_or(""));
  const std::string after(p.route.Param("after").value_or(""));
  const size_t n = limit->value_or(100);
  auto read = [this, &tenant, &prefix, &after, n] {
    return store_->ListStreams(tenant, prefix, after, n);
  };
  auto listing = co_await RunOn(readers_, std::move(read));
  if (!listing.has_value()) co_return ProblemFromStatus(listing.error(), trace);
  co_return Json(200, StreamListingJson(*listing));
}

awaitable<HttpResponse> Api::DeleteStream(const PreparedRequest& p,
                                          const std::string& tenant) {
  const std::string& trace = p.trace.trace_id;
  storage::DeleteRequest req{tenant, p.route.stream,
                             storage::ExpectedRevision::Any(), false};
  if (auto e = p.route.Param("expectedRevision")) {
    auto expected = ParseExpectedRevisionText(*e);
    if (!expected.has_value())
      co_return ProblemFromStatus(expected.error(), trace);
    req.expected = *expected;
  }
  if (auto t = p.route.Param("tombstone")) {
    if (*t != "true" && *t != "false") {
      co_return Problem(400, "tombstone must be true or false", trace);
    }
    req.tombstone = *t == "true";
  }
  storage::WriteOutcome out = co_await AsyncWrite(
      *store_, &storage::EventStore::Delete, std::move(req));
  if (!out.status.ok()) {
    const std::string extra = ActualRevisionMember(out);
    co_return ProblemFromStatus(out.status, trace, extra);
  }
  HttpResponse r;
  r.status = 204;
  r.content_type.clear();
  co_return r;
}

awaitable<HttpResponse> Api::SetMetadata(const PreparedRequest& p,
                                         const std::string& tenant,
                                         std::string_view body) {
  const std::string& trace = p.trace.trace_id;
  auto metadata = ParseMetadataBody(body);
  if (!metadata.has_value())
    co_return ProblemFromStatus(metadata.error(), trace);
  storage::MetadataRequest req{tenant, p.route.stream, *metadata};
  storage::WriteOutcome out = co_await AsyncWrite(
      *store_, &storage::EventStore::SetMetadata, std::move(req));
  if (!out.status.ok()) co_return ProblemFromStatus(out.status, trace);
  co_return Json(200, StreamMetadataJson(out.metadata));
}

// Prepare checked the admin scope. A backup holds every tenant (it is of
// the whole store, for whoever runs the server); its answer holds none:
// an id, a time and a size (of the whole store, which /metrics shows
// anyway as cairn_rocksdb_live_sst_bytes).
awaitable<HttpResponse> Api::CreateBackup(const PreparedRequest& p,
                                          const std::string& tenant) {
  const std::string& trace = p.trace.trace_id;
  const auto started = std::chrono::steady_clock::now();
  auto take = [this] { return store_->CreateBackup(config_.backup_dir); };
  auto info = co_await RunOn(backups_.get_executor(), std::move(take));
  const double seconds = SecondsSince(started);
  if (!info.has_value()) {
    if (metrics_ != nullptr) metrics_->ObserveBackup(false, seconds, 0);
    HttpResponse r = ProblemFromStatus(info.error(), trace);
    // 503: another writer has the directory, or the store is closing;
    // worth a retry, not an operator's attention as a 500 is.
    const bool retry = r.status == 503;
    log::Write(retry ? log::Level::kWarn : log::Level::kError, "backup failed",
               {{"backup_dir", config_.backup_dir},
                {"error", info.error().ToString()},
                {"trace_id", trace},
                {"org_id", tenant}});
    if (retry) r.headers.emplace_back("Retry-After", "10");
    co_return r;
  }
  if (metrics_ != nullptr) {
    metrics_->ObserveBackup(true, seconds, info->created_us);
  }
  log::Info("backup taken", {{"backup_id", info->id},
                             {"size_bytes", info->size_bytes},
                             {"ms", static_cast<int64_t>(seconds * 1000)},
                             {"backup_dir", config_.backup_dir},
                             {"trace_id", trace},
                             {"org_id", tenant},
                             {"principal", p.principal.subject}});
  std::string json;
  AppendBackupJson(&json, *info);
  co_return Json(201, std::move(json));
}

awaitable<HttpResponse> Api::ListBackups(const PreparedRequest& p) {
  // Reads the backup directory's meta files: quick, on the reader pool.
  auto list = [this] { return storage::ListBackups(config_.backup_dir); };
  auto backups = co_await RunOn(readers_, std::move(list));
  if (!backups.has_value()) {
    co_return ProblemFromStatus(backups.error(), p.trace.trace_id);
  }
  std::string json = "{\"backups\":[";
  for (size_t i = 0; i < backups->size(); ++i) {
    if (i > 0) json.push_back(',');
    AppendBackupJson(&json, (*backups)[i]);
  }
  json.append("]}");
  co_return Json(200, std::move(json));
}

}  // namespace cairn::server
