// Tenant isolation, route by route (issue 5). Two tenants hold the same
// stream ids, the same learner (the same read-model keys) and tokens with
// the same subject; each event carries its tenant's marker in its data (in
// the fields the projections copy into documents, too). Each tenant asks
// every Endpoint of server/router.h, in every representation, and every
// kind of subscription, and no answer holds the other tenant's marker or
// name; what one tenant writes, deletes or rebuilds changes nothing the
// other reads. The real cairnd runs with JWT auth (HS256).
//
// The matrix is complete by construction: EveryEndpointHasCases walks every
// Endpoint (a switch without default names them, so a new Endpoint fails
// this file's build until it is named here, and then that test until it has
// cases).

#include <gtest/gtest.h>

#include <algorithm>
#include <boost/json.hpp>
#include <chrono>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/router.h"
#include "tests/integration/integration_test_util.h"
#include "tests/support/cairnd_process.h"
#include "tests/support/http_client.h"
#include "tests/support/jwt_tokens.h"
#include "tests/support/stream_client.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {
namespace {

using server::Endpoint;
using std::chrono::seconds;

constexpr std::string_view kSecret = "an HS256 secret for the isolation matrix";
constexpr std::string_view kAllScopes =
    "events:append events:read read-models:read admin";
// The learner of both tenants and the subject of every token: a read-model
// key and a subject that mean nothing across tenants.
constexpr std::string_view kUser = "user-u1";
// An event id both tenants append (the first event of lesson-1).
constexpr std::string_view kSharedEventId =
    "6f1c9a52-3e0b-4c7d-9a41-2b8e5d0f7c13";
// Each wait on the server (a response, a frame, a live event).
constexpr seconds kWait{10};

// --- Endpoints -------------------------------------------------------------

// The name of each Endpoint (as server/router.cc's EndpointName), or none
// past the last one. No default: a new Endpoint fails this file's build
// (-Wswitch, warnings are errors) until it is named here, and then
// EveryEndpointHasCases until it has cases.
std::optional<std::string_view> Named(Endpoint endpoint) {
  switch (endpoint) {
    case Endpoint::kHealthz:
      return "healthz";
    case Endpoint::kReadyz:
      return "readyz";
    case Endpoint::kMetrics:
      return "metrics";
    case Endpoint::kStreamEvents:
      return "stream_events";
    case Endpoint::kStream:
      return "stream";
    case Endpoint::kStreamMetadata:
      return "stream_metadata";
    case Endpoint::kStreams:
      return "streams";
    case Endpoint::kLog:
      return "log";
    case Endpoint::kTransactions:
      return "transactions";
    case Endpoint::kReadModel:
      return "read_model";
    case Endpoint::kProjections:
      return "projections";
    case Endpoint::kRebuild:
      return "rebuild";
    case Endpoint::kOpenApi:
      return "openapi";
    case Endpoint::kBackups:
      return "backups";
  }
  return std::nullopt;
}

// Every Endpoint, in order.
std::vector<Endpoint> AllEndpoints() {
  std::vector<Endpoint> all;
  for (int i = 0; Named(static_cast<Endpoint>(i)); ++i) {
    all.push_back(static_cast<Endpoint>(i));
  }
  return all;
}

std::string NameOf(Endpoint endpoint) {
  return std::string(Named(endpoint).value_or("?"));
}

// --- Tenants ---------------------------------------------------------------

// One tenant: its tokens, its marker, and what it appended.
struct Tenant {
  struct Event {
    int64_t position;
    std::string stream;
    std::string type;
    std::string tag;  // data.tag: unique in the test
  };

  std::string name;           // orgId
  std::string marker;         // in the data and metadata of its events
  std::string solo;           // a stream id only this tenant has
  std::string solo_event_id;  // the id of solo's event
  // Events more than the other tenant in attempt-1, user-u1, ledger-1 and
  // doomed-1, so that their revisions and positions differ.
  int extra = 0;
  HttpHeaders auth;        // Bearer, every scope, subject kUser
  std::string token;       // the same token
  std::string self_token;  // only `self`, subject kUser
  std::vector<Event> log;  // in position order, as the server answered
  std::map<std::string, int64_t> last_revision;
  int tags = 0;

  std::string NextTag() { return marker + "/" + std::to_string(tags++); }
  int64_t LastPosition() const {
    return log.empty() ? -1 : log.back().position;
  }

  std::vector<int64_t> Positions(
      const std::function<bool(const Event&)>& match) const {
    std::vector<int64_t> out;
    for (const Event& e : log) {
      if (match(e)) out.push_back(e.position);
    }
    return out;
  }
  std::vector<int64_t> PositionsIn(const std::string& stream) const {
    return Positions([&](const Event& e) { return e.stream == stream; });
  }
  std::vector<int64_t> PositionsOf(const std::string& type) const {
    return Positions([&](const Event& e) { return e.type == type; });
  }
  const Event& At(int64_t position) const {
    for (const Event& e : log) {
      if (e.position == position) return e;
    }
    ADD_FAILURE() << name << " has no event at " << position;
    return log.back();
  }
};

// A tag as it appears in its event's JSON, to wait for that event.
std::string TagNeedle(const std::string& tag) {
  return "\"tag\":\"" + tag + "\"";
}

// --- "Mine, not theirs" ----------------------------------------------------

std::string Around(std::string_view text, size_t at) {
  const size_t from = at > 120 ? at - 120 : 0;
  return "…" + std::string(text.substr(from, 300)) + "…";
}

// `text`, something one tenant was told, holds nothing of `other`: neither
// its marker nor its name.
::testing::AssertionResult NothingOf(const Tenant& other,
                                     std::string_view text) {
  for (const std::string& secret : {other.marker, other.name}) {
    const size_t at = text.find(secret);
    if (at != std::string_view::npos) {
      return ::testing::AssertionFailure()
             << "holds " << other.name << "'s \"" << secret
             << "\": " << Around(text, at);
    }
  }
  return ::testing::AssertionSuccess();
}

// ... and holds `me`'s marker.
::testing::AssertionResult MineOnly(const Tenant& me, const Tenant& other,
                                    std::string_view text) {
  if (auto nothing = NothingOf(other, text); !nothing) return nothing;
  if (text.find(me.marker) == std::string_view::npos) {
    return ::testing::AssertionFailure()
           << "does not hold " << me.name << "'s marker \"" << me.marker
           << "\": " << text.substr(0, 300);
  }
  return ::testing::AssertionSuccess();
}

// `events` (a JSON array) are `me`'s at exactly `positions`, in order.
void ExpectEvents(const Tenant& me, const json::value& events,
                  const std::vector<int64_t>& positions) {
  ASSERT_TRUE(events.is_array()) << json::serialize(events).substr(0, 300);
  std::vector<int64_t> got;
  for (const json::value& e : events.as_array()) {
    got.push_back(Int(e, "position"));
    EXPECT_EQ(Str(e.at("context"), "orgId"), me.name) << json::serialize(e);
    EXPECT_EQ(Str(e.at("data"), "marker"), me.marker) << json::serialize(e);
  }
  EXPECT_EQ(got, positions);
}

// The events of an NDJSON body, up to its last whole line; heartbeat lines
// skipped.
json::array NdjsonEvents(const std::string& body) {
  json::array out;
  for (json::value& line : NdjsonLines(body.substr(0, body.rfind('\n') + 1))) {
    if (!line.as_object().contains("op")) out.push_back(std::move(line));
  }
  return out;
}

// The events of an SSE body, up to its last whole event; each `id:` must be
// its event's position. Comments (heartbeats) skipped.
json::array SseEvents(const std::string& body) {
  json::array out;
  size_t at = 0;
  for (size_t end; (end = body.find("\n\n", at)) != std::string::npos;
       at = end + 2) {
    const std::string block = body.substr(at, end - at);
    if (block.starts_with(":")) continue;
    const size_t data = block.find("\ndata: ");
    if (!block.starts_with("id: ") || data == std::string::npos) {
      ADD_FAILURE() << "not an SSE event: " << block.substr(0, 200);
      continue;
    }
    json::value event = json::parse(block.substr(data + 7));
    EXPECT_EQ(block.substr(4, data - 4), std::to_string(Int(event, "position")))
        << block.substr(0, 200);
    out.push_back(std::move(event));
  }
  return out;
}

// The label values of a Prometheus text page.
std::vector<std::string> LabelValues(const std::string& page) {
  std::vector<std::string> out;
  size_t at = 0;
  while (at < page.size()) {
    size_t end = page.find('\n', at);
    if (end == std::string::npos) end = page.size();
    const std::string line = page.substr(at, end - at);
    at = end + 1;
    if (line.starts_with("#")) continue;
    const size_t open = line.find('{');
    const size_t close = line.rfind('}');
    if (open == std::string::npos || close == std::string::npos) continue;
    for (size_t q = line.find("=\"", open); q != std::string::npos && q < close;
         q = line.find("=\"", q)) {
      std::string value;
      for (q += 2; q < close && line[q] != '"'; ++q) {
        if (line[q] == '\\') ++q;
        value.push_back(line[q]);
      }
      out.push_back(std::move(value));
    }
  }
  return out;
}

// --- Requests --------------------------------------------------------------

// An event to append: its type, and its id when the client chooses it.
struct NewEvent {
  std::string type;
  std::string id = "";
  std::string tag = "";    // data.tag; "" for a fresh one
  bool malformed = false;  // the type's fields left out (a projection skips it)
};

std::vector<NewEvent> Many(const std::string& type, int n) {
  return std::vector<NewEvent>(n, NewEvent{type});
}

// One event of `t` as JSON: DOMAIN.md's fields for the learner kUser, the
// tenant's marker in each field a projection copies into a document
// (skillId, lessonId), in "marker" and in the metadata.
std::string EventJson(const Tenant& t, const NewEvent& e,
                      const std::string& tag) {
  const std::string user(kUser);
  const std::string lesson = "lesson-" + t.marker;
  std::string data = R"({"marker":")" + t.marker + R"(","tag":")" + tag +
                     R"(","userId":")" + user + '"';
  if (e.malformed) {
    // No other field: not an event the learner projections can use.
  } else if (e.type == "AttemptSubmitted") {
    data += R"(,"attemptId":")" + tag +
            R"(","exerciseId":"ex-1","skillId":"skill-)" + t.marker +
            R"(","lessonId":")" + lesson +
            R"(","correct":true,"score":1,"durationMs":100,)"
            R"("submittedAt":"2026-11-10T09:00:00Z")";
  } else if (e.type == "LessonStarted") {
    data +=
        R"(,"lessonId":")" + lesson + R"(","startedAt":"2026-11-10T08:00:00Z")";
  } else if (e.type == "LessonCompleted") {
    data += R"(,"lessonId":")" + lesson +
            R"(","score":0.9,"completedAt":"2026-11-10T10:00:00Z")";
  } else if (e.type == "DailyGoalSet") {
    data += R"(,"attemptsPerDay":3)";
  }
  data += '}';
  std::string out = "{";
  if (!e.id.empty()) out += R"("id":")" + e.id + R"(",)";
  return out + R"("type":")" + e.type + R"(","data":)" + data +
         R"(,"metadata":{"userId":")" + user + R"(","marker":")" + t.marker +
         R"("}})";
}

// One stream's part of an append or a transaction.
struct StreamAppend {
  std::string stream;
  std::vector<NewEvent> events;
  std::string expected = "";  // JSON text ("\"no_stream\"", "3"); "": none
};

// --- Probes: one request per route and method --------------------------------

// A request of each route and method, for the checks every route must pass
// whatever it does: naming the other tenant in X-Cairn-Tenant is refused.
struct Probe {
  Endpoint endpoint;
  std::string_view method;
  std::string_view target;
  std::string_view body = "";
  std::string_view accept = "";
};

constexpr std::string_view kNoteEvents = R"({"events":[{"type":"Note"}]})";

const std::vector<Probe>& Probes() {
  static const std::vector<Probe> probes = {
      {Endpoint::kHealthz, "GET", "/healthz"},
      {Endpoint::kReadyz, "GET", "/readyz"},
      {Endpoint::kMetrics, "GET", "/metrics"},
      {Endpoint::kStreamEvents, "GET", "/v1/streams/attempt-1/events"},
      {Endpoint::kStreamEvents, "GET", "/v1/streams/attempt-1/events", "",
       "application/x-ndjson"},
      {Endpoint::kStreamEvents, "GET",
       "/v1/streams/attempt-1/events?follow=true", "", "text/event-stream"},
      {Endpoint::kStreamEvents, "POST", "/v1/streams/attempt-1/events",
       kNoteEvents},
      {Endpoint::kStream, "GET", "/v1/streams/attempt-1"},
      {Endpoint::kStream, "DELETE", "/v1/streams/attempt-1"},
      {Endpoint::kStream, "DELETE", "/v1/streams/attempt-1?tombstone=true"},
      {Endpoint::kStreamMetadata, "PUT", "/v1/streams/attempt-1/metadata",
       R"({"maxCount":1})"},
      {Endpoint::kStreams, "GET", "/v1/streams"},
      {Endpoint::kLog, "GET", "/v1/events"},
      {Endpoint::kLog, "GET", "/v1/events?follow=true", "",
       "application/x-ndjson"},
      {Endpoint::kTransactions, "POST", "/v1/transactions",
       R"({"appends":[{"stream":"attempt-1","events":[{"type":"Note"}]}]})"},
      {Endpoint::kReadModel, "GET", "/v1/read-models/dashboard/user-u1"},
      {Endpoint::kProjections, "GET", "/v1/projections"},
      {Endpoint::kRebuild, "POST", "/v1/projections/dashboard/rebuild"},
      {Endpoint::kOpenApi, "GET", "/v1/openapi.json"},
      {Endpoint::kBackups, "GET", "/v1/admin/backups"},
      {Endpoint::kBackups, "POST", "/v1/admin/backups"},
  };
  return probes;
}

bool IsPublic(const Probe& p) { return !p.target.starts_with("/v1/"); }

// --- Subscription kinds ------------------------------------------------------

enum class WsAuth { kHeader, kMessage, kSelfMessage };

std::string_view NameOf(WsAuth auth) {
  switch (auth) {
    case WsAuth::kHeader:
      return "token in the upgrade's Authorization header";
    case WsAuth::kMessage:
      return "token in {\"op\":\"auth\"}";
    case WsAuth::kSelfMessage:
      return "self token in {\"op\":\"auth\"}";
  }
  return "?";
}

// A kind of WebSocket subscription.
struct WsCase {
  std::string_view what;
  std::string_view target;  // the subscribe message's members but "op", "id"
  // Event subscriptions: which of the tenant's events arrive.
  std::function<bool(const Tenant::Event&)> matches;
  bool read_model = false;  // the first frame is a document, not events
  std::string live_stream = "attempt-1";  // the event that arrives live
  std::string live_type = "AttemptSubmitted";
  std::vector<WsAuth> auths = {WsAuth::kHeader, WsAuth::kMessage};
};

const std::vector<WsCase>& WsCases() {
  using E = Tenant::Event;
  static const std::vector<WsCase> cases = {
      {"stream attempt-1 from the start",
       R"("stream":"attempt-1","from":"start")",
       [](const E& e) { return e.stream == "attempt-1"; }},
      {"all, unfiltered, from the start", R"("all":{},"from":"start")",
       [](const E&) { return true; }},
      {"all, from position 1", R"("all":{},"from":1)",
       [](const E& e) { return e.position >= 1; }},
      {"all, types AttemptSubmitted and LessonCompleted",
       R"("all":{"types":["AttemptSubmitted","LessonCompleted"]},"from":"start")",
       [](const E& e) {
         return e.type == "AttemptSubmitted" || e.type == "LessonCompleted";
       }},
      {"all, categories attempt and user",
       R"("all":{"categories":["attempt","user"]},"from":"start")",
       [](const E& e) {
         return e.stream.starts_with("attempt-") ||
                e.stream.starts_with("user-");
       }},
      {"readModel dashboard/user-u1",
       R"("readModel":{"name":"dashboard","key":"user-u1"})",
       nullptr,
       true,
       "attempt-1",
       "AttemptSubmitted",
       {WsAuth::kHeader, WsAuth::kMessage, WsAuth::kSelfMessage}},
      {"readModel progress-feed/user-u1",
       R"("readModel":{"name":"progress-feed","key":"user-u1"})",
       nullptr,
       true,
       "lesson-1",
       "LessonCompleted",
       {WsAuth::kHeader, WsAuth::kMessage, WsAuth::kSelfMessage}},
  };
  return cases;
}

// --- The fixture -------------------------------------------------------------

std::filesystem::path WriteSecret(const TempDir& dir) {
  const auto path = dir.path() / "jwt-secret";
  std::ofstream(path, std::ios::binary) << kSecret << "\n";
  return path;
}

std::string Mint(const std::string& tenant, std::string_view scope) {
  return MintHs256(kSecret, tenant, std::string(kUser), std::string(scope),
                   static_cast<int64_t>(std::time(nullptr)) + 3600);
}

class IsolationTest : public ::testing::Test {
 public:
  // One check of one route: `me` asks, `other` is the tenant whose data
  // must not show.
  using Run = void (IsolationTest::*)(Tenant& me, Tenant& other);
  struct Case {
    Endpoint endpoint;
    std::string_view what;
    Run run;
  };
  // Reads: they change nothing, and run in any order.
  static const std::vector<Case>& ReadCases();
  // Followed reads: each appends a live event for both tenants.
  static const std::vector<Case>& LiveCases();
  // Writes of `me` (in this order); `other` reads after them what it read
  // before.
  static const std::vector<Case>& WriteCases();

 protected:
  IsolationTest()
      : secret_(WriteSecret(keys_)),
        // Backups beside the key, not in DATA_DIR/../backups (the shared
        // temp directory).
        server_(std::vector<std::string>{"--jwt-secret-file", secret_.string(),
                                         "--backup-dir",
                                         (keys_.path() / "backups").string()}) {
    server_.set_dev(false);
  }

  void SetUp() override {
    server_.Start();
    client_ = std::make_unique<HttpClient>(server_.port(), kWait);
    a_ = MakeTenant("northwind", "marker-a-4f1d7c", "solo-north",
                    "0a4e1d2c-7b3f-4e6a-8c1d-5f2a9b0e3c41", 0);
    b_ = MakeTenant("southwind", "marker-b-9c2e31", "solo-south",
                    "0b5f2e3d-8c4a-4f7b-9d2e-6a3b0c1f4d52", 1);
    for (Tenant* t : {&a_, &b_}) {
      Seed(*t);
      if (HasFatalFailure()) return;
    }
    for (Tenant* t : {&a_, &b_}) AwaitReadModels(*t);
  }

  void TearDown() override {
    if (HasFailure()) {
      std::cerr << "cairnd's log:\n" << server_.Log().substr(0, 20000);
    }
  }

  static Tenant MakeTenant(std::string name, std::string marker,
                           std::string solo, std::string solo_event_id,
                           int extra) {
    Tenant t;
    t.name = std::move(name);
    t.marker = std::move(marker);
    t.solo = std::move(solo);
    t.solo_event_id = std::move(solo_event_id);
    t.extra = extra;
    t.token = Mint(t.name, kAllScopes);
    t.self_token = Mint(t.name, "self");
    t.auth = {{"Authorization", "Bearer " + t.token}};
    return t;
  }

  // The same streams for both tenants, `extra` more events in some.
  void Seed(Tenant& t) {
    const std::string kNoStream = "\"no_stream\"";
    const std::vector<StreamAppend> seed = {
        {"attempt-1", Many("AttemptSubmitted", 2 + t.extra), kNoStream},
        {"lesson-1",
         {{"LessonStarted", std::string(kSharedEventId), t.marker + "/shared"}},
         kNoStream},
        {"lesson-1", {{"LessonCompleted"}}, "0"},
        {"user-u1", Many("DailyGoalSet", 1 + t.extra), kNoStream},
        {t.solo, {{"Note", t.solo_event_id}}, kNoStream},
        {"ledger-1", Many("Note", 1 + t.extra), kNoStream},
        {"doomed-1", Many("Note", 1 + t.extra), kNoStream},
        {"tomb-1", Many("Note", 1), kNoStream},
    };
    for (const StreamAppend& a : seed) {
      const int64_t next = t.LastPosition() + 1;
      const HttpResponse r = Append(t, a);
      ASSERT_EQ(r.status, 201) << t.name << " " << a.stream << ": " << r.body;
      // Positions are the tenant's own: from 0, gapless.
      ASSERT_EQ(Int(Json(r), "firstPosition"), next) << r.body;
    }
  }

  // Waits until every projection has applied the tenant's last event (the
  // runner applies `$event-index`, `dashboard`, then `progress-feed`).
  void AwaitReadModels(const Tenant& t) {
    const HttpResponse r =
        Get(t, "/v1/read-models/progress-feed/user-u1?minPosition=" +
                   std::to_string(t.LastPosition()));
    EXPECT_EQ(r.status, 200) << r.body;
  }

  // The asking tenant first, then the other; then the other way round.
  std::vector<std::pair<Tenant*, Tenant*>> Pairs() {
    return {{&a_, &b_}, {&b_, &a_}};
  }

  HttpResponse Get(const Tenant& t, const std::string& target,
                   std::string_view accept = "") {
    HttpHeaders headers = t.auth;
    if (!accept.empty()) headers["Accept"] = std::string(accept);
    return client_->Get(target, headers);
  }

  // The body of one stream's append, tagging each event; `tags` gets them.
  static std::string AppendJson(Tenant& t, const StreamAppend& a,
                                std::vector<std::string>* tags) {
    std::string events;
    for (const NewEvent& e : a.events) {
      tags->push_back(e.tag.empty() ? t.NextTag() : e.tag);
      if (!events.empty()) events += ',';
      events += EventJson(t, e, tags->back());
    }
    std::string body = "{";
    if (!a.expected.empty())
      body += R"("expectedRevision":)" + a.expected + ",";
    return body + R"("events":[)" + events + "]}";
  }

  // Adds the events of a 201 `result` ({"stream", "firstPosition", ...}) to
  // what the tenant appended.
  static void Record(Tenant& t, const StreamAppend& a,
                     const std::vector<std::string>& tags,
                     const json::value& result) {
    const int64_t first = Int(result, "firstPosition");
    for (size_t i = 0; i < a.events.size(); ++i) {
      t.log.push_back({first + static_cast<int64_t>(i), a.stream,
                       a.events[i].type, tags[i]});
    }
    std::sort(t.log.begin(), t.log.end(), [](const auto& x, const auto& y) {
      return x.position < y.position;
    });
    t.last_revision[a.stream] = Int(result, "lastRevision");
  }

  HttpResponse Append(Tenant& t, const StreamAppend& a) {
    std::vector<std::string> tags;
    const HttpResponse r = client_->Post("/v1/streams/" + a.stream + "/events",
                                         AppendJson(t, a, &tags), t.auth);
    if (r.status == 201) Record(t, a, tags, Json(r));
    return r;
  }

  // POST /v1/transactions; `condition` is the JSON of the member, or "".
  HttpResponse Transact(Tenant& t, const std::vector<StreamAppend>& appends,
                        const std::string& condition = "") {
    std::vector<std::vector<std::string>> tags(appends.size());
    std::string body = R"({"appends":[)";
    for (size_t i = 0; i < appends.size(); ++i) {
      if (i > 0) body += ',';
      // {"stream":S, "expectedRevision":…, "events":[…]}
      body += R"({"stream":")" + appends[i].stream + "\"," +
              AppendJson(t, appends[i], &tags[i]).substr(1);
    }
    body += "]";
    if (!condition.empty()) body += R"(,"condition":)" + condition;
    body += "}";
    const HttpResponse r = client_->Post("/v1/transactions", body, t.auth);
    if (r.status == 201) {
      const json::value v = Json(r);
      for (size_t i = 0; i < appends.size(); ++i) {
        Record(t, appends[i], tags[i], v.at("results").as_array().at(i));
      }
    }
    return r;
  }

  // Appends one `type` event to `stream` as `t`, live; returns its tag.
  std::string AppendLive(Tenant& t, const std::string& stream = "attempt-1",
                         const std::string& type = "AttemptSubmitted") {
    const HttpResponse r = Append(t, {stream, {{type}}});
    EXPECT_EQ(r.status, 201) << t.name << ": " << r.body;
    return t.log.back().tag;
  }

  // What `t` reads, by target: the status and body of each GET of its
  // streams and of `theirs` (the other tenant's solo stream), its listing,
  // its log, its documents and its projections' checkpoints.
  std::map<std::string, std::string> Snapshot(const Tenant& t,
                                              const std::string& theirs) {
    std::vector<std::string> targets = {
        "/v1/streams",
        "/v1/events?limit=10000",
        "/v1/events?types=LessonCompleted",
        "/v1/events?category=attempt",
        "/v1/read-models/dashboard/user-u1",
        "/v1/read-models/progress-feed/user-u1",
        "/v1/streams/" + theirs,
    };
    for (const auto& [stream, revision] : t.last_revision) {
      targets.push_back("/v1/streams/" + stream);
      targets.push_back("/v1/streams/" + stream + "/events");
    }
    std::map<std::string, std::string> out;
    for (const std::string& target : targets) {
      const HttpResponse r = Get(t, target);
      // problem+json carries a trace id of its own: the status is enough.
      out[target] = std::to_string(r.status) + " " +
                    (r.status == 200 ? r.body : std::string());
    }
    // Every figure of every projection is the tenant's own: status,
    // checkpoint, lag, skipped events, faults.
    const HttpResponse r = Get(t, "/v1/projections");
    out["/v1/projections"] = std::to_string(r.status) + " " + r.body;
    return out;
  }

  static void ExpectSameSnapshot(const std::map<std::string, std::string>& a,
                                 const std::map<std::string, std::string>& b,
                                 const Tenant& t) {
    for (const auto& [target, before] : a) {
      const auto it = b.find(target);
      ASSERT_NE(it, b.end()) << target;
      EXPECT_EQ(it->second, before)
          << t.name << " reads GET " << target << " differently";
    }
  }

  // --- read cases ---

  void PublicRead(Tenant& me, Tenant& other, const std::string& target) {
    for (const HttpHeaders& headers : {HttpHeaders{}, me.auth}) {
      const HttpResponse r = client_->Get(target, headers);
      EXPECT_EQ(r.status, 200) << r.body;
      EXPECT_TRUE(NothingOf(me, r.body));
      EXPECT_TRUE(NothingOf(other, r.body));
    }
  }
  void Healthz(Tenant& me, Tenant& other) { PublicRead(me, other, "/healthz"); }
  void Readyz(Tenant& me, Tenant& other) { PublicRead(me, other, "/readyz"); }

  void OpenApi(Tenant& me, Tenant& other) {
    const HttpResponse r = Get(me, "/v1/openapi.json");
    ASSERT_EQ(r.status, 200) << r.body.substr(0, 300);
    EXPECT_TRUE(NothingOf(me, r.body));
    EXPECT_TRUE(NothingOf(other, r.body));
    EXPECT_EQ(Get(other, "/v1/openapi.json").body, r.body);
  }

  // A backup is of the whole store (docs/API.md, "Backups"): the list is
  // the same for every tenant and names none.
  void Backups(Tenant& me, Tenant& other) {
    const HttpResponse r = Get(me, "/v1/admin/backups");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(Json(r).at("backups").is_array()) << r.body;
    EXPECT_TRUE(NothingOf(me, r.body));
    EXPECT_TRUE(NothingOf(other, r.body));
    EXPECT_EQ(Get(other, "/v1/admin/backups").body, r.body);
  }

  // Taking one changes nothing either tenant reads (WriteCases checks the
  // other's); the answer is an id, a time and a size, nothing of a tenant.
  void TakeBackup(Tenant& me, Tenant& other) {
    const HttpResponse r =
        client_->Request("POST", "/v1/admin/backups", "", me.auth);
    ASSERT_EQ(r.status, 201) << r.body;
    const json::value backup = Json(r);
    EXPECT_GE(Int(backup, "id"), 1) << r.body;
    EXPECT_FALSE(Str(backup, "created").empty()) << r.body;
    EXPECT_GT(Int(backup, "sizeBytes"), 0) << r.body;
    EXPECT_TRUE(NothingOf(me, r.body));
    EXPECT_TRUE(NothingOf(other, r.body));
    const HttpResponse list = Get(other, "/v1/admin/backups");
    ASSERT_EQ(list.status, 200) << list.body;
    EXPECT_NE(list.body.find(r.body), std::string::npos)
        << list.body << " lacks " << r.body;
    Backups(me, other);
    StreamInfo(me, other);
  }

  void Metrics(Tenant& me, Tenant& other) {
    const HttpResponse r = client_->Get("/metrics", me.auth);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(NothingOf(me, r.body));
    EXPECT_TRUE(NothingOf(other, r.body));
    const std::set<std::string> tenant_words = {std::string(kUser),
                                                "attempt-1",
                                                "lesson-1",
                                                "ledger-1",
                                                "doomed-1",
                                                "tomb-1",
                                                me.solo,
                                                other.solo,
                                                "AttemptSubmitted",
                                                "LessonStarted",
                                                "LessonCompleted",
                                                "DailyGoalSet",
                                                "Note"};
    const std::vector<std::string> values = LabelValues(r.body);
    EXPECT_FALSE(values.empty())
        << "no labels found in " << r.body.substr(0, 300);
    for (const std::string& value : values) {
      EXPECT_FALSE(tenant_words.contains(value))
          << "/metrics has a label value \"" << value << "\"";
    }
  }

  void StreamForward(Tenant& me, Tenant& other) {
    const HttpResponse r = Get(me, "/v1/streams/attempt-1/events");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(MineOnly(me, other, r.body));
    const json::value page = Json(r);
    ExpectEvents(me, page.at("events"), me.PositionsIn("attempt-1"));
    EXPECT_TRUE(page.at("next").is_null()) << r.body;
  }

  void StreamBackward(Tenant& me, Tenant& other) {
    const HttpResponse r =
        Get(me, "/v1/streams/attempt-1/events?direction=backward");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(MineOnly(me, other, r.body));
    std::vector<int64_t> expected = me.PositionsIn("attempt-1");
    std::reverse(expected.begin(), expected.end());
    ExpectEvents(me, Json(r).at("events"), expected);
  }

  void StreamPages(Tenant& me, Tenant& other) {
    json::array events;
    std::string from = "0";
    for (int page = 0; page < 100 && !from.empty(); ++page) {
      const HttpResponse r =
          Get(me, "/v1/streams/attempt-1/events?limit=1&from=" + from);
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_TRUE(MineOnly(me, other, r.body));
      const json::value v = Json(r);
      for (const json::value& e : v.at("events").as_array())
        events.push_back(e);
      from = v.at("next").is_null() ? "" : std::to_string(Int(v, "next"));
    }
    ExpectEvents(me, events, me.PositionsIn("attempt-1"));
  }

  void StreamNdjson(Tenant& me, Tenant& other) {
    const HttpResponse r =
        Get(me, "/v1/streams/attempt-1/events", "application/x-ndjson");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(MineOnly(me, other, r.body));
    ExpectEvents(me, NdjsonEvents(r.body), me.PositionsIn("attempt-1"));
  }

  void StreamSse(Tenant& me, Tenant& other) {
    const HttpResponse r =
        Get(me, "/v1/streams/attempt-1/events", "text/event-stream");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(MineOnly(me, other, r.body));
    ExpectEvents(me, SseEvents(r.body), me.PositionsIn("attempt-1"));
  }

  void OthersSoloStreamEvents(Tenant& me, Tenant& other) {
    for (std::string_view accept :
         {"", "application/x-ndjson", "text/event-stream"}) {
      const HttpResponse r =
          Get(me, "/v1/streams/" + other.solo + "/events", accept);
      EXPECT_EQ(r.status, 404) << accept << ": " << r.body;
      EXPECT_TRUE(NothingOf(other, r.body));
    }
  }

  void StreamInfo(Tenant& me, Tenant& other) {
    const HttpResponse r = Get(me, "/v1/streams/attempt-1");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(NothingOf(other, r.body));
    const json::value v = Json(r);
    EXPECT_EQ(Int(v, "lastRevision"), me.last_revision.at("attempt-1"));
    EXPECT_EQ(Int(v, "lastPosition"), me.PositionsIn("attempt-1").back());
    EXPECT_FALSE(v.at("deleted").as_bool());
  }

  void OthersSoloStreamInfo(Tenant& me, Tenant& other) {
    const HttpResponse r = Get(me, "/v1/streams/" + other.solo);
    EXPECT_EQ(r.status, 404) << r.body;
    EXPECT_TRUE(NothingOf(other, r.body));
  }

  // The listing `me` must get: every stream it appended to, with its heads.
  static std::map<std::string, std::pair<int64_t, int64_t>> Heads(
      const Tenant& me, std::string_view prefix = "") {
    std::map<std::string, std::pair<int64_t, int64_t>> heads;
    for (const auto& [stream, revision] : me.last_revision) {
      if (stream.starts_with(prefix)) {
        heads[stream] = {revision, me.PositionsIn(stream).back()};
      }
    }
    return heads;
  }

  // Pages of the listing (`limit` each) from `query`, as stream -> heads.
  std::map<std::string, std::pair<int64_t, int64_t>> Listing(
      Tenant& me, Tenant& other, const std::string& query) {
    std::map<std::string, std::pair<int64_t, int64_t>> got;
    std::string after;
    for (int page = 0; page < 100; ++page) {
      const HttpResponse r =
          Get(me, "/v1/streams?" + query +
                      (after.empty() ? "" : "&after=" + after));
      EXPECT_EQ(r.status, 200) << r.body;
      if (r.status != 200) break;
      EXPECT_TRUE(NothingOf(other, r.body));
      const json::value v = Json(r);
      for (const json::value& s : v.at("streams").as_array()) {
        got[Str(s, "stream")] = {Int(s, "lastRevision"),
                                 Int(s, "lastPosition")};
      }
      if (v.at("next").is_null()) break;
      after = Str(v, "next");
    }
    return got;
  }

  void Streams(Tenant& me, Tenant& other) {
    EXPECT_EQ(Listing(me, other, "limit=100"), Heads(me));
  }
  void StreamsPaged(Tenant& me, Tenant& other) {
    EXPECT_EQ(Listing(me, other, "limit=2"), Heads(me));
  }
  void StreamsPrefix(Tenant& me, Tenant& other) {
    EXPECT_EQ(Listing(me, other, "prefix=solo-"), Heads(me, "solo-"));
  }

  void LogJson(Tenant& me, Tenant& other) {
    const HttpResponse r = Get(me, "/v1/events");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(MineOnly(me, other, r.body));
    std::vector<int64_t> gapless(me.log.size());
    for (size_t i = 0; i < gapless.size(); ++i) gapless[i] = i;
    ExpectEvents(me, Json(r).at("events"), gapless);
  }

  void LogPages(Tenant& me, Tenant& other) {
    json::array events;
    std::string from = "0";
    for (int page = 0; page < 100 && !from.empty(); ++page) {
      const HttpResponse r = Get(me, "/v1/events?limit=3&from=" + from);
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_TRUE(MineOnly(me, other, r.body));
      const json::value v = Json(r);
      for (const json::value& e : v.at("events").as_array())
        events.push_back(e);
      from = v.at("next").is_null() ? "" : std::to_string(Int(v, "next"));
    }
    ExpectEvents(me, events, me.Positions([](const auto&) { return true; }));
  }

  void LogFiltered(Tenant& me, Tenant& other, const std::string& query,
                   const std::function<bool(const Tenant::Event&)>& match) {
    const HttpResponse r = Get(me, "/v1/events?" + query);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(MineOnly(me, other, r.body));
    ExpectEvents(me, Json(r).at("events"), me.Positions(match));
  }
  void LogTypes(Tenant& me, Tenant& other) {
    LogFiltered(me, other, "types=LessonCompleted",
                [](const auto& e) { return e.type == "LessonCompleted"; });
  }
  void LogCategory(Tenant& me, Tenant& other) {
    LogFiltered(me, other, "category=lesson",
                [](const auto& e) { return e.stream == "lesson-1"; });
  }
  void LogTypesAndCategory(Tenant& me, Tenant& other) {
    LogFiltered(me, other, "types=AttemptSubmitted&category=attempt",
                [](const auto& e) { return e.stream == "attempt-1"; });
  }
  void LogFromMyLast(Tenant& me, Tenant& other) {
    LogFiltered(me, other, "from=" + std::to_string(me.LastPosition()),
                [&](const auto& e) { return e.position == me.LastPosition(); });
  }

  void LogNdjson(Tenant& me, Tenant& other) {
    const HttpResponse r = Get(me, "/v1/events", "application/x-ndjson");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(MineOnly(me, other, r.body));
    ExpectEvents(me, NdjsonEvents(r.body),
                 me.Positions([](const auto&) { return true; }));
  }

  void LogSse(Tenant& me, Tenant& other) {
    const HttpResponse r =
        Get(me, "/v1/events?types=AttemptSubmitted", "text/event-stream");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(MineOnly(me, other, r.body));
    ExpectEvents(me, SseEvents(r.body), me.PositionsOf("AttemptSubmitted"));
  }

  // Checks a dashboard answer: `me`'s figures and skill, at `me`'s last
  // position.
  static void ExpectMyDashboard(const Tenant& me, const Tenant& other,
                                const HttpResponse& r) {
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(MineOnly(me, other, r.body));
    const json::value v = Json(r);
    EXPECT_EQ(Int(v, "position"), me.LastPosition());
    const json::value& document = v.at("document");
    EXPECT_EQ(Int(document, "attempts"),
              static_cast<int64_t>(me.PositionsOf("AttemptSubmitted").size()));
    EXPECT_EQ(Int(document, "lessonsCompleted"),
              static_cast<int64_t>(me.PositionsOf("LessonCompleted").size()));
    const json::object& skills = document.at("skills").as_object();
    EXPECT_EQ(skills.size(), 1u) << json::serialize(skills);
    EXPECT_TRUE(skills.contains("skill-" + me.marker))
        << json::serialize(skills);
  }

  void Dashboard(Tenant& me, Tenant& other) {
    ExpectMyDashboard(me, other,
                      Get(me, "/v1/read-models/dashboard/user-u1?minPosition=" +
                                  std::to_string(me.LastPosition())));
  }

  void DashboardWithSelfToken(Tenant& me, Tenant& other) {
    const HttpHeaders self = {{"Authorization", "Bearer " + me.self_token}};
    ExpectMyDashboard(me, other,
                      client_->Get("/v1/read-models/dashboard/user-u1", self));
    // And it is the subject's own key only.
    EXPECT_EQ(client_->Get("/v1/read-models/dashboard/user-u2", self).status,
              403);
  }

  void ProgressFeedPages(Tenant& me, Tenant& other) {
    std::string all;
    std::vector<int64_t> positions;
    std::string before;
    for (int page = 0; page < 100; ++page) {
      const HttpResponse r =
          Get(me, "/v1/read-models/progress-feed/user-u1?limit=1" +
                      (before.empty() ? "" : "&before=" + before));
      ASSERT_EQ(r.status, 200) << r.body;
      EXPECT_TRUE(NothingOf(other, r.body));
      all += r.body;
      const json::value document = Json(r).at("document");
      for (const json::value& item : document.at("items").as_array()) {
        positions.push_back(Int(item, "position"));
      }
      if (document.at("next").is_null()) break;
      before = Str(document, "next");
    }
    EXPECT_TRUE(MineOnly(me, other, all));
    // Its items are about my events: a first correct answer, a lesson.
    std::sort(positions.begin(), positions.end());
    ASSERT_GE(positions.size(), 2u) << all;
    EXPECT_EQ(positions.front(), me.PositionsOf("AttemptSubmitted").front());
    EXPECT_EQ(positions.back(), me.PositionsOf("LessonCompleted").back());
  }

  void ReadModelPastMyLog(Tenant& me, Tenant& other) {
    const HttpResponse r =
        Get(me, "/v1/read-models/dashboard/user-u1?timeout=200&minPosition=" +
                    std::to_string(me.LastPosition() + 1));
    ASSERT_EQ(r.status, 503) << r.body;
    EXPECT_TRUE(NothingOf(other, r.body));
    EXPECT_EQ(Int(Json(r), "checkpoint"), me.LastPosition()) << r.body;
  }

  void Projections(Tenant& me, Tenant& other) {
    const HttpResponse r = Get(me, "/v1/projections");
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(NothingOf(other, r.body));
    const json::value v = Json(r);
    const json::array& projections = v.at("projections").as_array();
    EXPECT_EQ(projections.size(), 3u) << r.body;
    for (const json::value& p : projections) {
      EXPECT_EQ(Int(p, "checkpoint"), me.LastPosition()) << json::serialize(p);
      EXPECT_EQ(Int(p, "lag"), 0) << json::serialize(p);
    }
  }

  // --- live cases ---

  // A followed read of `me` (`target`, NDJSON or SSE): its history (the
  // events `match` takes), then a live event of the other tenant and one of
  // mine: the response has mine, in order, and nothing of the other's.
  void ExpectFollowIsMine(
      Tenant& me, Tenant& other, const std::string& target,
      std::string_view accept,
      const std::function<bool(const Tenant::Event&)>& match) {
    std::vector<int64_t> expected = me.Positions(match);
    ASSERT_FALSE(expected.empty());
    HttpHeaders headers = me.auth;
    headers["Accept"] = std::string(accept);
    FollowClient follow(server_.port(), target, headers, kWait);
    ASSERT_EQ(follow.status(), 200) << follow.head();
    const std::string history = TagNeedle(me.At(expected.back()).tag);
    ASSERT_TRUE(follow.ReadUntil(history, 0, kWait).has_value())
        << follow.body();
    AppendLive(other);
    const std::string live = AppendLive(me);
    expected.push_back(me.LastPosition());
    const auto at = follow.ReadUntil(TagNeedle(live), 0, kWait);
    ASSERT_TRUE(at.has_value()) << follow.body();
    const bool sse = accept == "text/event-stream";
    ASSERT_TRUE(follow.ReadUntil(sse ? "\n\n" : "\n", *at, kWait).has_value());
    EXPECT_TRUE(MineOnly(me, other, follow.body()));
    ExpectEvents(me,
                 sse ? SseEvents(follow.body()) : NdjsonEvents(follow.body()),
                 expected);
  }  // Ends the response: the client closes the connection.

  static bool InAttempt1(const Tenant::Event& e) {
    return e.stream == "attempt-1";
  }
  void StreamFollowNdjson(Tenant& me, Tenant& other) {
    ExpectFollowIsMine(me, other, "/v1/streams/attempt-1/events?follow=true",
                       "application/x-ndjson", InAttempt1);
  }
  void StreamFollowSse(Tenant& me, Tenant& other) {
    ExpectFollowIsMine(me, other, "/v1/streams/attempt-1/events?follow=true",
                       "text/event-stream", InAttempt1);
  }
  void LogFollowNdjson(Tenant& me, Tenant& other) {
    ExpectFollowIsMine(me, other, "/v1/events?follow=true",
                       "application/x-ndjson",
                       [](const auto&) { return true; });
  }
  void LogFollowSseTypes(Tenant& me, Tenant& other) {
    ExpectFollowIsMine(
        me, other, "/v1/events?follow=true&types=AttemptSubmitted",
        "text/event-stream",
        [](const auto& e) { return e.type == "AttemptSubmitted"; });
  }
  void LogFollowNdjsonCategory(Tenant& me, Tenant& other) {
    ExpectFollowIsMine(me, other, "/v1/events?follow=true&category=attempt",
                       "application/x-ndjson", InAttempt1);
  }

  // --- write cases (in this order) ---

  // A revision the other tenant has and `me` has not, in `stream`.
  static int64_t OthersRevision(const Tenant& me, const Tenant& other,
                                const std::string& stream) {
    const int64_t theirs = other.last_revision.at(stream);
    EXPECT_NE(theirs, me.last_revision.at(stream))
        << "this case needs the tenants' revisions of " << stream
        << " to differ";
    return theirs;
  }

  void AppendWithOthersRevision(Tenant& me, Tenant& other) {
    const std::string theirs =
        std::to_string(OthersRevision(me, other, "ledger-1"));
    const HttpResponse r = Append(me, {"ledger-1", {{"Note"}}, theirs});
    ASSERT_EQ(r.status, 409) << r.body;
    EXPECT_TRUE(NothingOf(other, r.body));
    EXPECT_EQ(Int(Json(r), "actualRevision"), me.last_revision.at("ledger-1"));
  }

  void RetryOfSharedEventId(Tenant& me, Tenant& other) {
    // The exact request that appended lesson-1's first event.
    const HttpResponse r =
        Append(me, {"lesson-1",
                    {{"LessonStarted", std::string(kSharedEventId),
                      me.marker + "/shared"}},
                    "\"no_stream\""});
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_TRUE(NothingOf(other, r.body));
    const json::value v = Json(r);
    EXPECT_TRUE(v.at("duplicate").as_bool());
    EXPECT_EQ(Int(v, "firstPosition"), me.PositionsIn("lesson-1").front());
    EXPECT_EQ(Int(v, "firstRevision"), 0);
  }

  void EventIdOnlyTheOtherUsed(Tenant& me, Tenant& other) {
    const int64_t next = me.LastPosition() + 1;
    const HttpResponse r =
        Append(me, {me.solo, {{"Note", other.solo_event_id}}});
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(Int(Json(r), "firstPosition"), next);
  }

  void NoStreamOnTheOthersSoloStream(Tenant& me, Tenant& other) {
    const int64_t next = me.LastPosition() + 1;
    const HttpResponse r =
        Append(me, {other.solo, {{"Note"}}, "\"no_stream\""});
    ASSERT_EQ(r.status, 201) << r.body;
    const json::value v = Json(r);
    EXPECT_EQ(Int(v, "firstRevision"), 0);
    EXPECT_EQ(Int(v, "firstPosition"), next);
  }

  void AppendWithMyRevision(Tenant& me, Tenant& other) {
    const int64_t revision = me.last_revision.at("attempt-1");
    const int64_t next = me.LastPosition() + 1;
    const HttpResponse r = Append(
        me, {"attempt-1", {{"AttemptSubmitted"}}, std::to_string(revision)});
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_TRUE(NothingOf(other, r.body));
    const json::value v = Json(r);
    EXPECT_EQ(Int(v, "firstRevision"), revision + 1);
    EXPECT_EQ(Int(v, "firstPosition"), next);
  }

  void TransactionWithOthersRevision(Tenant& me, Tenant& other) {
    const std::string theirs =
        std::to_string(OthersRevision(me, other, "ledger-1"));
    const HttpResponse r = Transact(me, {{"attempt-1", {{"AttemptSubmitted"}}},
                                         {"ledger-1", {{"Note"}}, theirs}});
    ASSERT_EQ(r.status, 409) << r.body;
    EXPECT_TRUE(NothingOf(other, r.body));
    const json::value v = Json(r);
    const json::array& conflicts = v.at("conflicts").as_array();
    ASSERT_EQ(conflicts.size(), 1u) << r.body;
    EXPECT_EQ(Str(conflicts[0], "stream"), "ledger-1");
    EXPECT_EQ(Int(conflicts[0], "actualRevision"),
              me.last_revision.at("ledger-1"));
  }

  static std::string LessonCompletedAfter(int64_t after) {
    return R"({"failIfEventsMatch":{"types":["LessonCompleted"]},"after":)" +
           std::to_string(after) + "}";
  }

  void ConditionOnMyLessonCompleted(Tenant& me, Tenant& other) {
    const int64_t mine = me.PositionsOf("LessonCompleted").back();
    const HttpResponse r = Transact(me, {{"attempt-1", {{"AttemptSubmitted"}}}},
                                    LessonCompletedAfter(mine - 1));
    ASSERT_EQ(r.status, 409) << r.body;
    EXPECT_TRUE(NothingOf(other, r.body));
    EXPECT_EQ(Int(Json(r), "conflictPosition"), mine);
  }

  void TransactionWithMyRevisions(Tenant& me, Tenant& other) {
    const int64_t next = me.LastPosition() + 1;
    const HttpResponse r = Transact(
        me,
        {{"attempt-1",
          {{"AttemptSubmitted"}},
          std::to_string(me.last_revision.at("attempt-1"))},
         {"user-u1",
          {{"DailyGoalSet"}},
          std::to_string(me.last_revision.at("user-u1"))}},
        // None of my LessonCompleted after my last: the other tenant's have
        // other positions, and do not count.
        LessonCompletedAfter(me.PositionsOf("LessonCompleted").back()));
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_TRUE(NothingOf(other, r.body));
    const json::value v = Json(r);
    EXPECT_EQ(Int(v, "firstPosition"), next);
    EXPECT_EQ(Int(v, "lastPosition"), next + 1);
  }

  void DeleteWithOthersRevision(Tenant& me, Tenant& other) {
    const HttpResponse r = client_->Delete(
        "/v1/streams/doomed-1?expectedRevision=" +
            std::to_string(OthersRevision(me, other, "doomed-1")),
        me.auth);
    ASSERT_EQ(r.status, 409) << r.body;
    EXPECT_EQ(Int(Json(r), "actualRevision"), me.last_revision.at("doomed-1"));
  }

  void SoftDelete(Tenant& me, Tenant& other) {
    const HttpResponse r =
        client_->Delete("/v1/streams/doomed-1?expectedRevision=" +
                            std::to_string(me.last_revision.at("doomed-1")),
                        me.auth);
    ASSERT_EQ(r.status, 204) << r.body;
    EXPECT_EQ(Get(me, "/v1/streams/doomed-1/events").status, 404);
    const HttpResponse info = Get(me, "/v1/streams/doomed-1");
    ASSERT_EQ(info.status, 200) << info.body;
    EXPECT_TRUE(Json(info).at("deleted").as_bool()) << info.body;
    const HttpResponse listing = Get(me, "/v1/streams");
    EXPECT_EQ(listing.body.find("doomed-1"), std::string::npos) << listing.body;
    EXPECT_TRUE(NothingOf(other, listing.body));
  }

  void Tombstone(Tenant& me, Tenant& other) {
    const HttpResponse r =
        client_->Delete("/v1/streams/tomb-1?tombstone=true", me.auth);
    ASSERT_EQ(r.status, 204) << r.body;
    EXPECT_EQ(Get(me, "/v1/streams/tomb-1/events").status, 410);
    EXPECT_EQ(Append(me, {"tomb-1", {{"Note"}}}).status, 410);
    EXPECT_TRUE(NothingOf(other, Get(me, "/v1/streams/tomb-1").body));
  }

  void MaxCount(Tenant& me, Tenant& other) {
    const HttpResponse r = client_->Put("/v1/streams/attempt-1/metadata",
                                        R"({"maxCount":1})", me.auth);
    ASSERT_EQ(r.status, 200) << r.body;
    EXPECT_EQ(Int(Json(r), "maxCount"), 1) << r.body;
    const HttpResponse read = Get(me, "/v1/streams/attempt-1/events");
    ASSERT_EQ(read.status, 200) << read.body;
    EXPECT_TRUE(MineOnly(me, other, read.body));
    ExpectEvents(me, Json(read).at("events"),
                 {me.PositionsIn("attempt-1").back()});
  }

  void Rebuild(Tenant& me, Tenant& other) {
    for (const char* name : {"$event-index", "dashboard", "progress-feed"}) {
      const HttpResponse r = client_->Request(
          "POST", std::string("/v1/projections/") + name + "/rebuild", "",
          me.auth);
      ASSERT_EQ(r.status, 202) << name << ": " << r.body;
      EXPECT_TRUE(NothingOf(other, r.body));
    }
    // Rebuilt, and on: the same documents plus my next event.
    AppendLive(me);
    AwaitReadModels(me);
    Dashboard(me, other);
    LogTypes(me, other);
  }

  // Runs `cases` for each tenant in turn, each named in failures.
  void RunCases(const std::vector<Case>& cases, Tenant& me, Tenant& other) {
    for (const Case& c : cases) {
      SCOPED_TRACE(NameOf(c.endpoint) + ": " + std::string(c.what) + ", as " +
                   me.name);
      (this->*c.run)(me, other);
    }
  }

  // One subscription of `me`: its history (or document), then a live event
  // of the other tenant and one of mine; every frame holds nothing of the
  // other's, and the live one is mine.
  void RunWsCase(const WsCase& c, WsAuth auth, Tenant& me, Tenant& other) {
    AwaitReadModels(me);  // the documents include the last live events
    std::unique_ptr<WsClient> ws;
    if (auth == WsAuth::kHeader) {
      ws = std::make_unique<WsClient>(server_.port(), me.auth);
    } else {
      ws = std::make_unique<WsClient>(server_.port());
      const std::string& token =
          auth == WsAuth::kSelfMessage ? me.self_token : me.token;
      ws->SendText(R"({"op":"auth","token":")" + token + R"("})");
      ASSERT_EQ(Str(NextMessage(*ws, kWait), "op"), "authenticated");
    }
    std::string told;  // every frame, for the leak check
    const auto next = [&ws, &told]() {
      json::value v = NextMessage(*ws, kWait);
      told += json::serialize(v) + "\n";
      return v;
    };
    ws->SendText(R"({"op":"subscribe","id":"s",)" + std::string(c.target) +
                 "}");
    ASSERT_EQ(Str(next(), "op"), "subscribed") << told;
    if (c.read_model) {
      const json::value first = next();
      ASSERT_EQ(Str(first, "op"), "read-model") << told;
      EXPECT_EQ(Int(first, "position"), me.LastPosition()) << told;
      EXPECT_FALSE(first.at("document").is_null()) << told;
    } else {
      const std::vector<int64_t> expected = me.Positions(c.matches);
      json::array events;
      json::value v;
      for (v = next(); Str(v, "op") == "event"; v = next()) {
        events.push_back(v.at("event"));
      }
      ExpectEvents(me, events, expected);
      ASSERT_EQ(Str(v, "op"), "caught-up") << told;
      EXPECT_EQ(Int(v, "position"), expected.back()) << told;
      if (c.target.starts_with(R"("stream")")) {
        EXPECT_EQ(Int(v, "revision"), me.last_revision.at("attempt-1")) << told;
      }
    }
    AppendLive(other, c.live_stream, c.live_type);
    const std::string live = AppendLive(me, c.live_stream, c.live_type);
    const json::value v = next();
    if (c.read_model) {
      ASSERT_EQ(Str(v, "op"), "read-model") << told;
      EXPECT_EQ(Int(v, "position"), me.LastPosition()) << told;
    } else {
      ASSERT_EQ(Str(v, "op"), "event") << told;
      EXPECT_EQ(Str(v.at("event").at("data"), "tag"), live) << told;
      EXPECT_EQ(Int(v.at("event"), "position"), me.LastPosition()) << told;
    }
    EXPECT_TRUE(MineOnly(me, other, told));
    ws->SendText(R"({"op":"unsubscribe","id":"s"})");
    EXPECT_EQ(Str(next(), "op"), "unsubscribed") << told;
    EXPECT_TRUE(NothingOf(other, told));
  }

  TempDir keys_;
  const std::filesystem::path secret_;
  CairndProcess server_;
  std::unique_ptr<HttpClient> client_;
  Tenant a_;
  Tenant b_;
};

const std::vector<IsolationTest::Case>& IsolationTest::ReadCases() {
  using T = IsolationTest;
  static const std::vector<Case> cases = {
      {Endpoint::kHealthz, "GET without and with a token", &T::Healthz},
      {Endpoint::kReadyz, "GET without and with a token", &T::Readyz},
      {Endpoint::kMetrics, "GET: no tenant, marker, stream or type",
       &T::Metrics},
      {Endpoint::kStreamEvents, "GET JSON forward", &T::StreamForward},
      {Endpoint::kStreamEvents, "GET JSON backward", &T::StreamBackward},
      {Endpoint::kStreamEvents, "GET JSON one a page through next",
       &T::StreamPages},
      {Endpoint::kStreamEvents, "GET NDJSON", &T::StreamNdjson},
      {Endpoint::kStreamEvents, "GET SSE", &T::StreamSse},
      {Endpoint::kStreamEvents, "GET the other's solo stream: 404",
       &T::OthersSoloStreamEvents},
      {Endpoint::kStream, "GET: my heads", &T::StreamInfo},
      {Endpoint::kStream, "GET the other's solo stream: 404",
       &T::OthersSoloStreamInfo},
      {Endpoint::kStreams, "GET: my streams and heads", &T::Streams},
      {Endpoint::kStreams, "GET two a page through after", &T::StreamsPaged},
      {Endpoint::kStreams, "GET prefix=solo-", &T::StreamsPrefix},
      {Endpoint::kLog, "GET JSON: positions from 0, gapless", &T::LogJson},
      {Endpoint::kLog, "GET JSON three a page through next", &T::LogPages},
      {Endpoint::kLog, "GET types=LessonCompleted", &T::LogTypes},
      {Endpoint::kLog, "GET category=lesson", &T::LogCategory},
      {Endpoint::kLog, "GET types=AttemptSubmitted&category=attempt",
       &T::LogTypesAndCategory},
      {Endpoint::kLog, "GET from=my last position", &T::LogFromMyLast},
      {Endpoint::kLog, "GET NDJSON", &T::LogNdjson},
      {Endpoint::kLog, "GET SSE types=AttemptSubmitted", &T::LogSse},
      {Endpoint::kReadModel, "GET dashboard with minPosition", &T::Dashboard},
      {Endpoint::kReadModel, "GET dashboard with a self token",
       &T::DashboardWithSelfToken},
      {Endpoint::kReadModel, "GET progress-feed one item a page",
       &T::ProgressFeedPages},
      {Endpoint::kReadModel, "GET minPosition past my log: my checkpoint",
       &T::ReadModelPastMyLog},
      {Endpoint::kProjections, "GET: my checkpoints and lag", &T::Projections},
      {Endpoint::kOpenApi, "GET: the same document for both tenants, no marker",
       &T::OpenApi},
      {Endpoint::kBackups, "GET: the same list for both tenants, naming none",
       &T::Backups},
  };
  return cases;
}

const std::vector<IsolationTest::Case>& IsolationTest::LiveCases() {
  using T = IsolationTest;
  static const std::vector<Case> cases = {
      {Endpoint::kStreamEvents, "GET NDJSON follow=true",
       &T::StreamFollowNdjson},
      {Endpoint::kStreamEvents, "GET SSE follow=true", &T::StreamFollowSse},
      {Endpoint::kLog, "GET NDJSON follow=true", &T::LogFollowNdjson},
      {Endpoint::kLog, "GET SSE follow=true types=AttemptSubmitted",
       &T::LogFollowSseTypes},
      {Endpoint::kLog, "GET NDJSON follow=true category=attempt",
       &T::LogFollowNdjsonCategory},
  };
  return cases;
}

const std::vector<IsolationTest::Case>& IsolationTest::WriteCases() {
  using T = IsolationTest;
  // Refusals first: they need the tenants' revisions as seeded.
  static const std::vector<Case> cases = {
      {Endpoint::kStreamEvents, "POST with the other's revision: 409, mine",
       &T::AppendWithOthersRevision},
      {Endpoint::kTransactions, "POST with the other's revision: 409, mine",
       &T::TransactionWithOthersRevision},
      {Endpoint::kTransactions, "POST condition: 409 at my LessonCompleted",
       &T::ConditionOnMyLessonCompleted},
      {Endpoint::kStream, "DELETE with the other's revision: 409, mine",
       &T::DeleteWithOthersRevision},
      {Endpoint::kStreamEvents, "POST retry of the shared event id: mine",
       &T::RetryOfSharedEventId},
      {Endpoint::kStreamEvents, "POST an event id only the other used: 201",
       &T::EventIdOnlyTheOtherUsed},
      {Endpoint::kStreamEvents, "POST no_stream on the other's solo stream",
       &T::NoStreamOnTheOthersSoloStream},
      {Endpoint::kStreamEvents, "POST with my revision: my next position",
       &T::AppendWithMyRevision},
      {Endpoint::kTransactions, "POST with my revisions and condition",
       &T::TransactionWithMyRevisions},
      // Before deletes and maxCount, whose events a rebuild may no longer
      // find.
      {Endpoint::kRebuild, "POST each projection: my documents as they were",
       &T::Rebuild},
      {Endpoint::kBackups, "POST: of the whole store; answers nothing of mine",
       &T::TakeBackup},
      {Endpoint::kStream, "DELETE soft: 404 to me", &T::SoftDelete},
      {Endpoint::kStream, "DELETE tombstone: 410 to me", &T::Tombstone},
      {Endpoint::kStreamMetadata, "PUT maxCount=1: my reads shrink",
       &T::MaxCount},
  };
  return cases;
}

// --- The matrix --------------------------------------------------------------

TEST(IsolationMatrixTest, EveryEndpointHasCases) {
  std::map<Endpoint, std::vector<std::string>> cases;
  for (const auto* table :
       {&IsolationTest::ReadCases(), &IsolationTest::LiveCases(),
        &IsolationTest::WriteCases()}) {
    for (const IsolationTest::Case& c : *table) {
      cases[c.endpoint].emplace_back(c.what);
    }
  }
  std::map<Endpoint, int> probes;
  for (const Probe& p : Probes()) ++probes[p.endpoint];
  const std::vector<Endpoint> all = AllEndpoints();
  EXPECT_EQ(all.back(), Endpoint::kBackups);  // the last one known today
  for (const Endpoint e : all) {
    EXPECT_FALSE(cases[e].empty())
        << "Endpoint " << NameOf(e) << " has no case in isolation_test.cc";
    EXPECT_GT(probes[e], 0)
        << "Endpoint " << NameOf(e) << " has no probe in isolation_test.cc";
    std::cout << NameOf(e) << " (" << probes[e] << " probes):\n";
    for (const std::string& what : cases[e]) std::cout << "  " << what << "\n";
  }
  for (const WsCase& c : WsCases()) {
    for (const WsAuth auth : c.auths) {
      std::cout << "ws: " << c.what << ", " << NameOf(auth) << "\n";
    }
  }
}

TEST_F(IsolationTest, ReadsAnswerEachTenantOnlyItsOwn) {
  for (auto [me, other] : Pairs()) RunCases(ReadCases(), *me, *other);
}

TEST_F(IsolationTest, FollowedReadsGoOnLiveWithOnlyTheTenantsOwnEvents) {
  for (auto [me, other] : Pairs()) RunCases(LiveCases(), *me, *other);
}

TEST_F(IsolationTest, SubscriptionsDeliverOnlyTheTenantsOwn) {
  for (auto [me, other] : Pairs()) {
    for (const WsCase& c : WsCases()) {
      for (const WsAuth auth : c.auths) {
        SCOPED_TRACE("ws " + std::string(c.what) + ", " +
                     std::string(NameOf(auth)) + ", as " + me->name);
        RunWsCase(c, auth, *me, *other);
      }
    }
  }
}

TEST_F(IsolationTest, WritesOfOneTenantChangeNothingTheOtherReads) {
  for (auto [me, other] : Pairs()) {
    const auto before = Snapshot(*other, me->solo);
    RunCases(WriteCases(), *me, *other);
    const auto after = Snapshot(*other, me->solo);
    SCOPED_TRACE(other->name + " after " + me->name + "'s writes");
    ExpectSameSnapshot(before, after, *other);
  }
  // Nor did the writes put a tenant's data in /metrics.
  Metrics(a_, b_);
}

TEST_F(IsolationTest, NamingTheOtherTenantIs403OnEveryRoute) {
  for (auto [me, other] : Pairs()) {
    const auto mine = Snapshot(*me, other->solo);
    const auto theirs = Snapshot(*other, me->solo);
    for (const Probe& p : Probes()) {
      SCOPED_TRACE(NameOf(p.endpoint) + ": " + std::string(p.method) + " " +
                   std::string(p.target) + " " + std::string(p.accept) +
                   ", as " + me->name + " naming " + other->name);
      HttpHeaders headers = me->auth;
      headers["X-Cairn-Tenant"] = other->name;
      if (!p.accept.empty()) headers["Accept"] = std::string(p.accept);
      if (!p.body.empty()) headers["Content-Type"] = "application/json";
      const HttpResponse r =
          client_->Request(p.method, p.target, p.body, headers);
      EXPECT_TRUE(NothingOf(*me, r.body));
      EXPECT_TRUE(NothingOf(*other, r.body));
      if (IsPublic(p)) {
        EXPECT_EQ(r.status, 200) << r.body;  // no tenant to name
        continue;
      }
      EXPECT_EQ(r.status, 403) << r.body;
      EXPECT_EQ(r.Header("content-type"), "application/problem+json");
      if (p.method == "GET" && p.target.find("follow") == std::string::npos) {
        headers["X-Cairn-Tenant"] = me->name;  // its own name passes
        EXPECT_EQ(client_->Request(p.method, p.target, "", headers).status,
                  200);
      }
    }
    // Nothing refused changed anything.
    ExpectSameSnapshot(mine, Snapshot(*me, other->solo), *me);
    ExpectSameSnapshot(theirs, Snapshot(*other, me->solo), *other);

    // The WebSocket: by the auth message, and by the upgrade's header.
    {
      WsClient ws(server_.port());
      ws.SendText(R"({"op":"auth","tenant":")" + other->name +
                  R"(","token":")" + me->token + R"("})");
      const WsClient::Message m = ws.Read(kWait);
      EXPECT_TRUE(m.closed) << m.text << m.error;
      EXPECT_EQ(m.close_code, 4403);
    }
    {
      HttpHeaders headers = me->auth;
      headers["X-Cairn-Tenant"] = other->name;
      WsClient ws(server_.port(), headers);
      const WsClient::Message m = ws.Read(kWait);
      EXPECT_TRUE(m.closed) << m.text << m.error;
      EXPECT_EQ(m.close_code, 4403);
    }
    {
      WsClient ws(server_.port());
      ws.SendText(R"({"op":"auth","tenant":")" + me->name + R"(","token":")" +
                  me->token + R"("})");
      EXPECT_EQ(Str(NextMessage(ws, kWait), "op"), "authenticated");
    }
  }
}

// GET /v1/projections answers each tenant's own figures: an event that
// another tenant's projections skip (or fail on) changes nothing in mine.
// (Found by this test: the runner once kept one status per projection.)
TEST_F(IsolationTest, ProjectionStatusesAreTheTenantsOwn) {
  for (auto [me, other] : Pairs()) {
    const HttpResponse before = Get(*me, "/v1/projections");
    ASSERT_EQ(before.status, 200) << before.body;
    // An AttemptSubmitted without its fields: dashboard and progress-feed
    // skip it, and count it.
    NewEvent malformed{"AttemptSubmitted"};
    malformed.malformed = true;
    ASSERT_EQ(Append(*other, {"attempt-1", {malformed}}).status, 201);
    AwaitReadModels(*other);
    const HttpResponse theirs = Get(*other, "/v1/projections");
    ASSERT_EQ(theirs.status, 200) << theirs.body;
    const json::value statuses = Json(theirs);
    for (const json::value& p : statuses.at("projections").as_array()) {
      if (Str(p, "name") == "dashboard") {
        ASSERT_GE(Int(p, "skippedEvents"), 1)
            << "the malformed event was not skipped: " << theirs.body;
      }
    }
    const HttpResponse after = Get(*me, "/v1/projections");
    EXPECT_EQ(after.body, before.body)
        << me->name << "'s projection statuses changed when " << other->name
        << " appended an event its projections skip";
  }
}

}  // namespace
}  // namespace cairn::testing
