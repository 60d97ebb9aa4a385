// kill -9 during concurrent appends, at several moments, on one data
// directory (default durability: fsync). After each restart: every
// acknowledged event is there with the same id, stream, revision and
// position; the tenant log's positions are gapless from 0 and hold each id
// once; every stream's revisions are gapless; nothing is stored that no
// client sent. Then the writers go on from the stream heads they read back
// (an append in flight at the kill may or may not have landed).

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/integration_test_util.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {
namespace {

constexpr int kWriters = 8;

struct Acked {
  std::string id;
  std::string stream;
  int64_t revision;
  int64_t position;
};

std::string StreamOf(int writer) { return "learner-" + std::to_string(writer); }

// A client-chosen id that says who wrote it: round, writer, sequence.
std::string MakeId(int round, int writer, int seq) {
  char id[37];
  std::snprintf(id, sizeof id, "%08x-0000-4000-8000-%04x%08x", round, writer,
                seq);
  return id;
}

// Everything the writers did, shared between their threads.
struct Ledger {
  std::mutex mu;
  std::condition_variable acked_more;
  std::vector<Acked> acked;    // every round
  std::set<std::string> sent;  // every id ever sent
  size_t acked_this_round = 0;
  std::vector<std::string> failures;  // unexpected answers
};

// One writer: single-event appends to its own stream, each expecting the
// revision it last had acknowledged, until the server goes away.
void Write(uint16_t port, int round, int writer, Ledger* ledger) {
  HttpClient client(port, std::chrono::seconds(30));
  client.set_retry(false);  // a resend after a kill could land twice
  const std::string stream = StreamOf(writer);
  // The head as stored: whatever was in flight at the last kill may or may
  // not have landed.
  int64_t last = -1;
  const HttpResponse head = client.Get("/v1/streams/" + stream);
  // Killed before this writer began (the round that kills after the first
  // acknowledgement may come while the others still read their heads).
  if (head.status == 0) return;
  if (head.status == 200) {
    const json::value info = json::parse(head.body);
    last = info.at("lastRevision").is_null() ? -1 : Int(info, "lastRevision");
  } else if (head.status != 404) {
    std::lock_guard lock(ledger->mu);
    ledger->failures.push_back("head of " + stream + ": " +
                               std::to_string(head.status) + " " + head.error);
    return;
  }
  for (int seq = 0;; ++seq) {
    const std::string id = MakeId(round, writer, seq);
    const std::string expected =
        last < 0 ? R"("no_stream")" : std::to_string(last);
    {
      std::lock_guard lock(ledger->mu);
      ledger->sent.insert(id);
    }
    const HttpResponse r = client.Post(
        "/v1/streams/" + stream + "/events",
        R"({"expectedRevision":)" + expected + R"(,"events":[{"id":")" + id +
            R"(","type":"AttemptSubmitted","data":{"writer":)" +
            std::to_string(writer) + R"(,"seq":)" + std::to_string(seq) +
            "}}]}");
    if (r.status == 0) return;  // killed
    std::lock_guard lock(ledger->mu);
    if (r.status != 201) {
      ledger->failures.push_back(id + ": " + std::to_string(r.status) + " " +
                                 r.body);
      return;
    }
    const json::value v = json::parse(r.body);
    last = Int(v, "lastRevision");
    ledger->acked.push_back({id, stream, last, Int(v, "lastPosition")});
    ++ledger->acked_this_round;
    ledger->acked_more.notify_all();
  }
}

// Checks the store against the ledger. `rounds` kills so far: at most one
// append per writer per kill was in flight, stored but not acknowledged.
void Verify(uint16_t port, const Ledger& ledger, int rounds) {
  HttpClient client(port);
  const HttpResponse all =
      client.Get("/v1/events", {{"Accept", "application/x-ndjson"}});
  ASSERT_EQ(all.status, 200) << all.body.substr(0, 500);
  const std::vector<json::value> log = NdjsonLines(all.body);

  std::set<std::string> ids;
  std::map<std::string, std::vector<const json::value*>> by_stream;
  for (size_t i = 0; i < log.size(); ++i) {
    const json::value& e = log[i];
    ASSERT_EQ(Int(e, "position"), static_cast<int64_t>(i)) << "a hole";
    const std::string id = Str(e, "id");
    ASSERT_TRUE(ids.insert(id).second) << "stored twice: " << id;
    ASSERT_TRUE(ledger.sent.count(id)) << "stored, never sent: " << id;
    by_stream[Str(e, "stream")].push_back(&e);
    // The record belongs to its id (the data says who wrote it).
    unsigned round = 0, writer = 0, seq = 0;
    ASSERT_EQ(std::sscanf(id.c_str(), "%8x-0000-4000-8000-%4x%8x", &round,
                          &writer, &seq),
              3);
    EXPECT_EQ(Str(e, "stream"), StreamOf(static_cast<int>(writer)));
    EXPECT_EQ(Int(e.at("data"), "seq"), static_cast<int64_t>(seq));
  }
  ASSERT_GE(log.size(), ledger.acked.size());
  EXPECT_LE(log.size(), ledger.acked.size() + kWriters * rounds)
      << "more unacknowledged events than appends in flight";
  ::testing::Test::RecordProperty(
      "stored_unacknowledged_after_round_" + std::to_string(rounds),
      static_cast<int>(log.size() - ledger.acked.size()));

  for (const Acked& a : ledger.acked) {
    ASSERT_LT(a.position, static_cast<int64_t>(log.size()))
        << "acknowledged, then lost: " << a.id;
    const json::value& e = log[static_cast<size_t>(a.position)];
    ASSERT_EQ(Str(e, "id"), a.id) << "position " << a.position;
    EXPECT_EQ(Str(e, "stream"), a.stream);
    EXPECT_EQ(Int(e, "revision"), a.revision);
  }

  // Each stream: revisions gapless from 0, and its own read (through the
  // stream index) agrees with the log.
  for (const auto& [stream, events] : by_stream) {
    SCOPED_TRACE(stream);
    for (size_t r = 0; r < events.size(); ++r) {
      ASSERT_EQ(Int(*events[r], "revision"), static_cast<int64_t>(r));
    }
    const HttpResponse read = client.Get("/v1/streams/" + stream + "/events",
                                         {{"Accept", "application/x-ndjson"}});
    ASSERT_EQ(read.status, 200) << read.body;
    const std::vector<json::value> own = NdjsonLines(read.body);
    ASSERT_EQ(own.size(), events.size());
    for (size_t r = 0; r < own.size(); ++r) {
      ASSERT_EQ(own[r], *events[r]) << "revision " << r;
    }
    const json::value info = Json(client.Get("/v1/streams/" + stream));
    EXPECT_EQ(Int(info, "lastRevision"),
              static_cast<int64_t>(events.size()) - 1);
    EXPECT_EQ(Int(info, "lastPosition"), Int(*events.back(), "position"));
  }
}

TEST(CrashTest, AcknowledgedEventsSurviveKill9DuringConcurrentAppends) {
  // Kill after this many acknowledgements in each round; the fourth kill
  // comes right after the first append that follows a recovery.
  const size_t kKillAfter[] = {200, 1000, 3000, 1, 500};
  TempDir dir;
  CairndProcess server(dir.path());
  Ledger ledger;
  int rounds = 0;
  for (const size_t kill_after : kKillAfter) {
    SCOPED_TRACE("round " + std::to_string(rounds));
    server.Start();
    if (rounds > 0) {
      Verify(server.port(), ledger, rounds);
      if (HasFatalFailure()) return;
    }
    ledger.acked_this_round = 0;
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back(Write, server.port(), rounds, w, &ledger);
    }
    bool reached;
    {
      std::unique_lock lock(ledger.mu);
      reached = ledger.acked_more.wait_for(lock, std::chrono::seconds(60), [&] {
        return ledger.acked_this_round >= kill_after ||
               !ledger.failures.empty();
      });
    }
    server.Kill9();
    for (auto& t : writers) t.join();
    ++rounds;
    EXPECT_TRUE(reached) << "only " << ledger.acked_this_round << " acks";
    for (const auto& f : ledger.failures) ADD_FAILURE() << f;
    if (!ledger.failures.empty()) return;
  }
  server.Start();
  Verify(server.port(), ledger, rounds);
  EXPECT_GE(ledger.acked.size(), 200u + 1000u + 3000u + 1u + 500u);
}

// Requests of several events, multi-event appends and two-stream
// transactions, during kill -9: after each restart every request is stored
// whole, on consecutive positions in its own order, or not at all, and
// every acknowledged one is there.
TEST(CrashTest, MultiEventWritesAreAllOrNothingAfterKill9) {
  constexpr int kBatchWriters = 4;
  constexpr unsigned kEventsPerRequest = 5;
  const size_t kKillAfter[] = {100, 400};
  TempDir dir;
  CairndProcess server(dir.path());
  std::mutex mu;
  std::condition_variable acked_more;
  std::set<std::string> sent;   // request keys sent; guarded by mu
  std::set<std::string> acked;  // request keys acknowledged; guarded by mu
  std::vector<std::string> failures;  // guarded by mu
  size_t acked_this_round = 0;        // guarded by mu

  // The request an event belongs to (its id without the event's index),
  // and its index within the request.
  const auto key_of = [](const std::string& id) { return id.substr(0, 35); };
  const auto index_of = [](const std::string& id) {
    return static_cast<unsigned>(std::stoul(id.substr(35), nullptr, 16));
  };

  const auto verify = [&](int round) {
    HttpClient client(server.port());
    const HttpResponse all =
        client.Get("/v1/events", {{"Accept", "application/x-ndjson"}});
    ASSERT_EQ(all.status, 200) << all.body.substr(0, 500);
    const std::vector<json::value> log = NdjsonLines(all.body);
    std::map<std::string, std::vector<int64_t>> positions;  // by request
    std::map<std::string, int64_t> next_revision;           // by stream
    std::set<std::string> ids;
    for (size_t i = 0; i < log.size(); ++i) {
      const json::value& e = log[i];
      ASSERT_EQ(Int(e, "position"), static_cast<int64_t>(i)) << "a hole";
      const std::string id = Str(e, "id");
      ASSERT_TRUE(ids.insert(id).second) << "stored twice: " << id;
      ASSERT_TRUE(sent.count(key_of(id))) << "never sent: " << id;
      auto& p = positions[key_of(id)];
      ASSERT_EQ(index_of(id), p.size()) << "out of order: " << id;
      p.push_back(Int(e, "position"));
      ASSERT_EQ(Int(e, "revision"), next_revision[Str(e, "stream")]++)
          << "a revision gap in " << Str(e, "stream");
    }
    for (const auto& [key, p] : positions) {
      ASSERT_EQ(p.size(), kEventsPerRequest) << "a partial write: " << key;
      ASSERT_EQ(p.back() - p.front(), kEventsPerRequest - 1)
          << "not consecutive: " << key;
    }
    for (const std::string& key : acked) {
      ASSERT_TRUE(positions.count(key)) << "acknowledged, then lost: " << key;
    }
    EXPECT_LE(positions.size(), acked.size() + kBatchWriters * round);
  };

  const auto write = [&](int round, int writer) {
    HttpClient client(server.port());
    client.set_retry(false);
    const std::string a = "batch-" + std::to_string(writer) + "a";
    const std::string b = "batch-" + std::to_string(writer) + "b";
    for (int seq = 0;; ++seq) {
      std::vector<std::string> ids;
      for (unsigned k = 0; k < kEventsPerRequest; ++k) {
        ids.push_back(MakeId(round, 0x100 + writer, seq * 16 + k));
      }
      const auto events = [&](size_t from, size_t to) {
        std::string out = "[";
        for (size_t k = from; k < to; ++k) {
          if (k > from) out += ",";
          out += R"({"id":")" + ids[k] + R"(","type":"Batch","data":{"k":)" +
                 std::to_string(k) + "}}";
        }
        return out + "]";
      };
      {
        std::lock_guard lock(mu);
        sent.insert(key_of(ids[0]));
      }
      const HttpResponse r =
          seq % 2 == 0
              ? client.Post("/v1/streams/" + a + "/events",
                            R"({"events":)" + events(0, 5) + "}")
              : client.Post("/v1/transactions",
                            R"({"appends":[{"stream":")" + a +
                                R"(","events":)" + events(0, 2) +
                                R"(},{"stream":")" + b + R"(","events":)" +
                                events(2, 5) + "}]}");
      if (r.status == 0) return;  // killed
      std::lock_guard lock(mu);
      if (r.status != 201) {
        failures.push_back(ids[0] + ": " + std::to_string(r.status) + " " +
                           r.body);
        return;
      }
      acked.insert(key_of(ids[0]));
      ++acked_this_round;
      acked_more.notify_all();
    }
  };

  int round = 0;
  for (const size_t kill_after : kKillAfter) {
    SCOPED_TRACE("round " + std::to_string(round));
    server.Start();
    if (round > 0) {
      verify(round);
      if (HasFatalFailure()) return;
    }
    acked_this_round = 0;
    std::vector<std::thread> writers;
    for (int w = 0; w < kBatchWriters; ++w)
      writers.emplace_back(write, round, w);
    bool reached;
    {
      std::unique_lock lock(mu);
      reached = acked_more.wait_for(lock, std::chrono::seconds(60), [&] {
        return acked_this_round >= kill_after || !failures.empty();
      });
    }
    server.Kill9();
    for (auto& t : writers) t.join();
    ++round;
    EXPECT_TRUE(reached) << "only " << acked_this_round << " acks";
    for (const auto& f : failures) ADD_FAILURE() << f;
    if (!failures.empty()) return;
  }
  server.Start();
  verify(round);
}

}  // namespace
}  // namespace cairn::testing
