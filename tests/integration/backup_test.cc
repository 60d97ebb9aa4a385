// Online backups over HTTP on the real cairnd (JWT auth, --backup-dir in a
// temp dir): a POST during an append load from several threads, the
// listing, then the server stopped, the backup restored (storage API, as
// cairnctl does) into a new directory and a cairnd started on it: every
// event acknowledged before the POST was sent is there, identical, in a
// gapless log. And who may ask (admin), and with which methods.

#include "storage/backup.h"

#include <gtest/gtest.h>

#include <atomic>
#include <boost/json.hpp>
#include <chrono>
#include <condition_variable>
#include <csignal>
#include <cstdint>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

#include "tests/integration/integration_test_util.h"
#include "tests/support/cairnd_process.h"
#include "tests/support/http_client.h"
#include "tests/support/jwt_tokens.h"
#include "tests/support/temp_dir.h"

namespace cairn::testing {
namespace {

namespace fs = std::filesystem;
using std::chrono::seconds;

constexpr std::string_view kSecret = "an HS256 secret for the backup tests!";
// Each wait on the server or on the writers.
constexpr seconds kWait{60};

HttpHeaders Bearer(const std::string& tenant, const std::string& scope) {
  const int64_t exp = static_cast<int64_t>(std::time(nullptr)) + 3600;
  return {{"Authorization",
           "Bearer " + MintHs256(kSecret, tenant, "ops", scope, exp)}};
}

fs::path WriteSecret(const fs::path& dir) {
  const fs::path path = dir / "jwt-secret";
  std::ofstream(path, std::ios::binary) << kSecret << "\n";
  return path;
}

// Every event of a tenant's log, page by page.
json::array WholeLog(HttpClient& client, const HttpHeaders& headers) {
  json::array all;
  std::string from = "0";
  for (;;) {
    const HttpResponse r =
        client.Get("/v1/events?limit=10000&from=" + from, headers);
    EXPECT_EQ(r.status, 200) << r.body.substr(0, 300);
    if (r.status != 200) return all;
    json::value page = Json(r);
    for (json::value& e : page.at("events").as_array()) {
      all.push_back(std::move(e));
    }
    if (page.at("next").is_null()) return all;
    from = std::to_string(Int(page, "next"));
  }
}

void ExpectBackupJson(const json::value& backup) {
  ASSERT_TRUE(backup.is_object()) << json::serialize(backup);
  EXPECT_GE(Int(backup, "id"), 1);
  EXPECT_GT(Int(backup, "sizeBytes"), 0);
  // RFC 3339 UTC like an event's `time`, whole seconds.
  static const std::regex kTime(
      R"(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.000000Z)");
  EXPECT_TRUE(std::regex_match(Str(backup, "created"), kTime))
      << Str(backup, "created");
  EXPECT_EQ(backup.as_object().size(), 3u) << json::serialize(backup);
}

class BackupTest : public JwtCairndTest {
 protected:
  BackupTest()
      : JwtCairndTest([](const fs::path& dir) {
          return std::vector<std::string>{
              "--jwt-secret-file", WriteSecret(dir).string(), "--backup-dir",
              (dir / "backups").string()};
        }) {}

  fs::path backup_dir() const { return keys_.path() / "backups"; }

  const HttpHeaders admin_ = Bearer("acme", "admin");
};

TEST_F(BackupTest, ABackupDuringAppendsHoldsEveryAcknowledgedEvent) {
  const std::vector<std::string> tenants = {"acme", "globex"};
  std::map<std::string, HttpHeaders> writer;
  for (const std::string& t : tenants) {
    writer[t] = Bearer(t, "events:append events:read");
  }
  // Nothing yet: an empty list, no directory made for it.
  HttpResponse list = client_->Get("/v1/admin/backups", admin_);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.body, R"({"backups":[]})");
  EXPECT_FALSE(fs::exists(backup_dir()));

  // A few megabytes, so that the copy takes a while under the load.
  std::string seed = R"({"events":[)";
  for (int i = 0; i < 100; ++i) {
    if (i > 0) seed += ',';
    seed += R"({"type":"Seed","data":{"pad":")" +
            std::to_string(i).append(1'000, 'a' + i % 26) + R"("}})";
  }
  seed += "]}";
  for (const std::string& t : tenants) {
    for (int i = 0; i < 15; ++i) {
      const HttpResponse r =
          client_->Post("/v1/streams/seed-1/events", seed, writer[t]);
      ASSERT_EQ(r.status, 201) << r.body;
    }
  }

  // Writers, each on its own connection, appending three events a request
  // until told to stop.
  struct Acked {
    std::string tenant;
    int64_t first = 0;
    int64_t last = 0;
    bool before_post = false;
  };
  constexpr int kWriters = 4;
  std::atomic<bool> post_sent{false};
  std::atomic<bool> stop{false};
  std::mutex mu;
  std::condition_variable acked_more;
  std::vector<std::vector<Acked>> acked(kWriters);  // guarded by mu
  std::vector<std::thread> threads;
  for (int w = 0; w < kWriters; ++w) {
    threads.emplace_back([&, w] {
      const std::string& tenant = tenants[w % tenants.size()];
      HttpClient client(server_.port());
      const std::string target =
          "/v1/streams/load-" + std::to_string(w) + "/events";
      while (!stop.load()) {
        const HttpResponse r =
            client.Post(target, AppendBody(3, "Load"), writer[tenant]);
        // Read after the answer came: false means it came before the POST
        // of the backup was sent.
        const bool before = !post_sent.load();
        if (r.status != 201) {
          ADD_FAILURE() << "writer " << w << ": " << r.status << " " << r.body
                        << r.error;
          break;
        }
        const json::value v = Json(r);
        std::lock_guard lock(mu);
        acked[w].push_back(
            {tenant, Int(v, "firstPosition"), Int(v, "lastPosition"), before});
        acked_more.notify_all();
      }
      std::lock_guard lock(mu);
      stop.store(true);  // one writer failing ends the load
      acked_more.notify_all();
    });
  }
  const auto each_has = [&](bool after_post, size_t n) {
    for (const auto& per_writer : acked) {
      size_t count = 0;
      for (const Acked& a : per_writer) count += a.before_post != after_post;
      if (count < n) return false;
    }
    return true;
  };
  {
    std::unique_lock lock(mu);
    ASSERT_TRUE(acked_more.wait_for(
        lock, kWait, [&] { return stop.load() || each_has(false, 3); }));
    ASSERT_FALSE(stop.load());
  }

  post_sent.store(true);
  const HttpResponse post = client_->Post("/v1/admin/backups", "", admin_);
  {
    // The load goes on past the backup before it stops.
    std::unique_lock lock(mu);
    EXPECT_TRUE(acked_more.wait_for(
        lock, kWait, [&] { return stop.load() || each_has(true, 2); }));
    stop.store(true);
  }
  for (auto& t : threads) t.join();
  ASSERT_EQ(post.status, 201) << post.body;
  EXPECT_EQ(post.Header("content-type"), "application/json");
  const json::value backup = Json(post);
  ExpectBackupJson(backup);
  EXPECT_EQ(Int(backup, "id"), 1);

  list = client_->Get("/v1/admin/backups", admin_);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.body, R"({"backups":[)" + post.body + "]}");
  const HttpResponse metrics = client_->Get("/metrics");
  EXPECT_NE(metrics.body.find("cairn_backups_total{outcome=\"ok\"} 1"),
            std::string::npos);

  std::map<std::string, json::array> original;
  for (const std::string& t : tenants) {
    original[t] = WholeLog(*client_, writer[t]);
  }
  ASSERT_EQ(server_.Stop(SIGTERM), 0) << server_.Log();

  // Restored as cairnctl does, and served by a cairnd of its own.
  TempDir restore_root;
  const fs::path restored_dir = restore_root.path() / "data";
  Status s = storage::RestoreBackup(backup_dir().string(), std::nullopt,
                                    restored_dir.string());
  ASSERT_TRUE(s.ok()) << s.ToString();
  CairndProcess restored(
      restored_dir, {"--backup-dir", (restore_root.path() / "b").string()});
  restored.Start();
  HttpClient client(restored.port());
  size_t checked = 0;
  for (const std::string& t : tenants) {
    SCOPED_TRACE(t);
    const json::array got = WholeLog(client, {{"X-Cairn-Tenant", t}});
    const json::array& want = original[t];
    // A prefix of what the server held when it stopped, event by event,
    // with no position missing.
    ASSERT_LE(got.size(), want.size());
    for (size_t i = 0; i < got.size(); ++i) {
      ASSERT_EQ(Int(got[i], "position"), static_cast<int64_t>(i));
      ASSERT_EQ(json::serialize(got[i]), json::serialize(want[i]));
    }
    for (const auto& per_writer : acked) {
      for (const Acked& a : per_writer) {
        if (a.tenant != t || !a.before_post) continue;
        EXPECT_LT(a.last, static_cast<int64_t>(got.size()))
            << "positions " << a.first << ".." << a.last
            << " were acknowledged before the POST and are not in the backup";
        ++checked;
      }
    }
  }
  EXPECT_GE(checked, static_cast<size_t>(3 * kWriters));
  EXPECT_EQ(restored.Stop(SIGTERM), 0) << restored.Log();
}

TEST_F(BackupTest, WithoutTheAdminScopeIs403) {
  const HttpHeaders others =
      Bearer("acme", "events:append events:read read-models:read self");
  for (const char* method : {"GET", "POST"}) {
    const HttpResponse r =
        client_->Request(method, "/v1/admin/backups", "", others);
    EXPECT_EQ(r.status, 403) << method << ": " << r.body;
    EXPECT_EQ(r.Header("content-type"), "application/problem+json");
  }
  EXPECT_FALSE(fs::exists(backup_dir()));
  EXPECT_EQ(client_->Get("/v1/admin/backups").status, 401);
}

TEST_F(BackupTest, OtherMethodsAre405) {
  for (const char* method : {"PUT", "DELETE", "PATCH"}) {
    const HttpResponse r =
        client_->Request(method, "/v1/admin/backups", "", admin_);
    EXPECT_EQ(r.status, 405) << method << ": " << r.body;
    EXPECT_EQ(r.Header("allow"), "GET, POST") << method;
    EXPECT_EQ(r.Header("content-type"), "application/problem+json");
  }
}

// Backups one after the other: ids count up, each listed, oldest first.
TEST_F(BackupTest, BackupsAreListedOldestFirst) {
  const HttpHeaders w = Bearer("acme", "events:append");
  std::vector<std::string> taken;
  for (int i = 0; i < 3; ++i) {
    ASSERT_EQ(client_->Post("/v1/streams/s-1/events", AppendBody(5), w).status,
              201);
    const HttpResponse r = client_->Post("/v1/admin/backups", "", admin_);
    ASSERT_EQ(r.status, 201) << r.body;
    EXPECT_EQ(Int(Json(r), "id"), i + 1);
    taken.push_back(r.body);
  }
  const HttpResponse list = client_->Get("/v1/admin/backups", admin_);
  ASSERT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.body, R"({"backups":[)" + taken[0] + "," + taken[1] + "," +
                           taken[2] + "]}");
  // Another tenant's admin sees the same list: a backup is of the store.
  EXPECT_EQ(client_->Get("/v1/admin/backups", Bearer("globex", "admin")).body,
            list.body);
}

class UnwritableBackupDirTest : public JwtCairndTest {
 protected:
  UnwritableBackupDirTest()
      : JwtCairndTest([](const fs::path& dir) {
          // A regular file where a parent directory should be: no
          // permission can fix that, so the test holds as root too.
          std::ofstream(dir / "a-file") << "x";
          return std::vector<std::string>{
              "--jwt-secret-file", WriteSecret(dir).string(), "--backup-dir",
              (dir / "a-file" / "backups").string()};
        }) {}
};

TEST_F(UnwritableBackupDirTest, IsA500ThatSaysWhy) {
  const HttpHeaders admin = Bearer("acme", "admin");
  const HttpResponse r = client_->Post("/v1/admin/backups", "", admin);
  EXPECT_EQ(r.status, 500) << r.body;
  EXPECT_EQ(r.Header("content-type"), "application/problem+json");
  const std::string detail = Str(Json(r), "detail");
  EXPECT_NE(detail.find("cannot create the backup directory"),
            std::string::npos)
      << detail;
  EXPECT_NE(detail.find((keys_.path() / "a-file" / "backups").string()),
            std::string::npos)
      << detail;
  EXPECT_TRUE(server_.WaitForLog("backup failed", std::chrono::seconds(10)));
  const HttpResponse metrics = client_->Get("/metrics");
  EXPECT_NE(metrics.body.find("cairn_backups_total{outcome=\"failed\"} 1"),
            std::string::npos);
  // A directory that cannot exist holds no backups.
  const HttpResponse list = client_->Get("/v1/admin/backups", admin);
  EXPECT_EQ(list.status, 200) << list.body;
  EXPECT_EQ(list.body, R"({"backups":[]})");
}

}  // namespace
}  // namespace cairn::testing
