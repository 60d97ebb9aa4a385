// kill -9 during concurrent appends, at several moments, on one data
// directory: after each restart every acknowledged event is there with the
// same stream, revision and position; positions are gapless; no event is
// stored twice; every stream's revisions are gapless.

#include <gtest/gtest.h>

#include <boost/json.hpp>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/cairnd_fixture.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {
namespace {

namespace json = boost::json;

struct Acked {
  std::string id;
  std::string stream;
  int64_t revision;
  int64_t position;
};

// A client-chosen id that says who wrote it: round, writer, sequence.
std::string MakeId(int round, int writer, int seq) {
  char id[37];
  std::snprintf(id, sizeof id, "%08x-0000-4000-8000-%04x%08x", round, writer,
                seq);
  return id;
}

// The stream's last revision, or -1 when it has none.
int64_t LastRevision(HttpClient& client, const std::string& stream) {
  HttpResult r = client.Get("/v1/streams/" + stream);
  if (r.status != 200) return -1;
  const json::value info = json::parse(r.body);
  return info.at("lastRevision").is_null()
             ? -1
             : info.at("lastRevision").to_number<int64_t>();
}

TEST(Kill9Test, AcknowledgedEventsSurviveKill9AtSeveralMoments) {
  constexpr int kWriters = 6;
  TempDir dir;
  std::vector<Acked> acked;
  // Kill after this many acknowledgements in each round.
  for (int round = 0; round < 3; ++round) {
    const size_t kill_after = std::vector<size_t>{50, 600, 1500}[round];
    SCOPED_TRACE("round " + std::to_string(round));
    auto server = std::make_unique<CairndProcess>(dir.str());
    std::mutex mu;
    std::condition_variable cv;
    size_t acked_this_round = 0;
    std::vector<std::thread> writers;
    for (int w = 0; w < kWriters; ++w) {
      writers.emplace_back([&, w] {
        HttpClient client(server->port());
        const std::string stream = "learner-" + std::to_string(w);
        // Whatever was in flight at the last kill may or may not have
        // landed: start from what the store says.
        int64_t last = LastRevision(client, stream);
        for (int seq = 0;; ++seq) {
          const std::string id = MakeId(round, w, seq);
          const std::string expected =
              last < 0 ? "\"no_stream\"" : std::to_string(last);
          HttpResult r = client.PostJson(
              "/v1/streams/" + stream + "/events",
              R"({"expectedRevision":)" + expected + R"(,"events":[{"id":")" +
                  id + R"(","type":"AttemptSubmitted","data":{"seq":)" +
                  std::to_string(seq) + "}}]}");
          if (r.status != 201) return;  // killed
          const json::value v = json::parse(r.body);
          std::lock_guard lock(mu);
          last = v.at("lastRevision").to_number<int64_t>();
          acked.push_back(
              {id, stream, last, v.at("lastPosition").to_number<int64_t>()});
          ++acked_this_round;
          cv.notify_all();
        }
      });
    }
    {
      std::unique_lock lock(mu);
      const bool reached = cv.wait_for(lock, std::chrono::seconds(120), [&] {
        return acked_this_round >= kill_after;
      });
      EXPECT_TRUE(reached) << "only " << acked_this_round << " acks";
    }
    server->Kill9();
    for (auto& t : writers) t.join();
  }

  CairndProcess server(dir.str());
  HttpClient client(server.port());
  HttpResult all =
      client.Get("/v1/events", {{"Accept", "application/x-ndjson"}});
  ASSERT_EQ(all.status, 200);
  std::map<int64_t, json::value> by_position;
  std::set<std::string> ids;
  std::map<std::string, std::vector<int64_t>> revisions;
  int64_t expected_position = 0;
  for (size_t at = 0; at < all.body.size();) {
    const size_t end = all.body.find('\n', at);
    ASSERT_NE(end, std::string::npos);
    json::value e = json::parse(all.body.substr(at, end - at));
    at = end + 1;
    const int64_t position = e.at("position").to_number<int64_t>();
    ASSERT_EQ(position, expected_position++) << "a hole in the log";
    ASSERT_TRUE(ids.insert(std::string(e.at("id").as_string())).second)
        << "an event stored twice";
    revisions[std::string(e.at("stream").as_string())].push_back(
        e.at("revision").to_number<int64_t>());
    by_position[position] = std::move(e);
  }
  for (const auto& [stream, revs] : revisions) {
    for (size_t i = 0; i < revs.size(); ++i) {
      ASSERT_EQ(revs[i], static_cast<int64_t>(i)) << stream;
    }
  }
  ASSERT_GE(acked.size(), 50u + 600u + 1500u);
  for (const Acked& a : acked) {
    auto it = by_position.find(a.position);
    ASSERT_NE(it, by_position.end()) << "acknowledged event lost: " << a.id;
    EXPECT_EQ(it->second.at("id"), a.id.c_str());
    EXPECT_EQ(it->second.at("stream"), a.stream.c_str());
    EXPECT_EQ(it->second.at("revision").to_number<int64_t>(), a.revision);
  }
}

}  // namespace
}  // namespace cairn::testing
