// cairnctl against the real cairnd and against its data directory, stopped
// and running: output asserted in tables and JSON, exit codes on errors,
// following the log live, backups under load restored and verified, and
// inspect --verify on deliberately damaged copies.

#include <rocksdb/db.h>
#include <signal.h>

#include <atomic>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <thread>

#include "tests/integration/integration_test_util.h"
#include "tests/support/child_process.h"

namespace cairn::testing {
namespace {

namespace fs = std::filesystem;

const char* CairnctlPath() { return CAIRNCTL_PATH; }

constexpr std::string_view kSecret = "a cairnctl test secret of 32+ bytes";

// The lines of `text`, without their newlines.
std::vector<std::string> Lines(const std::string& text) {
  std::vector<std::string> lines;
  size_t at = 0;
  for (size_t nl; (nl = text.find('\n', at)) != std::string::npos;
       at = nl + 1) {
    lines.push_back(text.substr(at, nl - at));
  }
  if (at < text.size()) lines.push_back(text.substr(at));
  return lines;
}

// A failed command's stderr is one line, "cairnctl: ...".
void ExpectOneLineError(const CommandOutcome& r) {
  const auto lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0].rfind("cairnctl: ", 0), 0u) << r.err;
}

class CairnctlTest : public CairndTest {
 protected:
  // Runs cairnctl ARGS... against the test's server (--server first, so
  // that a test may give its own later).
  CommandOutcome Ctl(std::vector<std::string> args,
                     std::map<std::string, std::string> env = {}) {
    std::vector<std::string> argv = {CairnctlPath()};
    argv.insert(argv.end(), args.begin(), args.end());
    if (env.find("CAIRN_SERVER") == env.end()) {
      env["CAIRN_SERVER"] =
          "http://127.0.0.1:" + std::to_string(server_.port());
    }
    return RunCommand(argv, env);
  }

  // Runs it and expects exit 0; its stdout.
  std::string CtlOk(std::vector<std::string> args,
                    std::map<std::string, std::string> env = {}) {
    const CommandOutcome r = Ctl(args, env);
    EXPECT_EQ(r.exit_code, 0) << "stdout: " << r.out << "\nstderr: " << r.err;
    EXPECT_EQ(r.err, "");
    return r.out;
  }

  // Two tenants' worth of events; acme's are what the tests read.
  void Seed() {
    const HttpHeaders acme = {{"X-Cairn-Tenant", "acme"}};
    AppendOk("attempt-1", 3, "AttemptSubmitted", acme);
    AppendOk("lesson-1", 2, "LessonCompleted", acme);
    AppendOk("attempt-2", 1, "AttemptSubmitted", acme);
    AppendOk("other-1", 4, "T", {{"X-Cairn-Tenant", "globex"}});
  }

  std::string Get(const std::string& target) {
    const HttpResponse r = client_->Get(target, {{"X-Cairn-Tenant", "acme"}});
    EXPECT_EQ(r.status, 200) << r.body;
    return r.body;
  }

  // Waits (bounded) until every projection of acme has applied the log.
  void AwaitProjections() {
    const auto deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(30);
    while (std::chrono::steady_clock::now() < deadline) {
      const json::value v = json::parse(Get("/v1/projections"));
      bool caught_up = !v.at("projections").as_array().empty();
      for (const auto& p : v.at("projections").as_array()) {
        caught_up = caught_up && Int(p, "lag") == 0;
      }
      if (caught_up) return;
      // The read model wait of the API: a read that returns once the
      // dashboard has applied the last position, or at its timeout.
      client_->Get("/v1/read-models/dashboard/x?minPosition=5&timeout=1000",
                   {{"X-Cairn-Tenant", "acme"}});
    }
    FAIL() << "projections did not catch up";
  }
};

TEST_F(CairnctlTest, ReadCommandsPrintTheApiJsonAndTables) {
  Seed();
  const std::map<std::string, std::string> env = {{"CAIRN_TENANT", "acme"}};

  // --json is the API's body as it came, one line.
  EXPECT_EQ(CtlOk({"streams", "list", "--json"}, env),
            Get("/v1/streams?limit=100") + "\n");
  EXPECT_EQ(CtlOk({"stream", "info", "attempt-1", "--json"}, env),
            Get("/v1/streams/attempt-1") + "\n");
  EXPECT_EQ(CtlOk({"stream", "read", "attempt-1", "--json"}, env),
            Get("/v1/streams/attempt-1/events?limit=100") + "\n");
  EXPECT_EQ(
      CtlOk({"stream", "read", "attempt-1", "--backward", "--limit", "1",
             "--json"},
            env),
      Get("/v1/streams/attempt-1/events?limit=1&direction=backward") + "\n");

  // Tables: a header, one aligned row per item.
  const auto streams = Lines(CtlOk({"streams", "list"}, env));
  ASSERT_EQ(streams.size(), 4u);
  EXPECT_EQ(streams[0], "STREAM     LAST REVISION  LAST POSITION");
  EXPECT_EQ(streams[1], "attempt-1  2              2");
  EXPECT_EQ(streams[2], "attempt-2  0              5");
  EXPECT_EQ(streams[3], "lesson-1   1              4");
  const std::string info = CtlOk({"stream", "info", "lesson-1"}, env);
  EXPECT_NE(info.find("last revision    1\n"), std::string::npos) << info;
  EXPECT_NE(info.find("deleted          false\n"), std::string::npos) << info;
  const auto page = Lines(CtlOk({"stream", "read", "attempt-1"}, env));
  ASSERT_EQ(page.size(), 4u);
  EXPECT_EQ(page[0].rfind("POSITION  STREAM@REVISION  TYPE", 0), 0u);
  EXPECT_EQ(page[3].rfind("2         attempt-1@2      AttemptSubmitted", 0), 0u)
      << page[3];
  EXPECT_NE(page[3].find(R"({"n":2})"), std::string::npos);

  // A paged listing says how to get the next page.
  const std::string first = CtlOk({"streams", "list", "--limit", "1"}, env);
  EXPECT_NE(first.find("(more: --after attempt-1)"), std::string::npos)
      << first;

  // The tenant comes from --tenant as well, before or after the command.
  EXPECT_EQ(CtlOk({"--tenant", "globex", "streams", "list", "--json"}),
            CtlOk({"streams", "list", "--json", "--tenant", "globex"}));
  EXPECT_NE(CtlOk({"streams", "list", "--tenant", "globex"}).find("other-1"),
            std::string::npos);
}

TEST_F(CairnctlTest, EventsTailPrintsTheLastEvents) {
  Seed();
  const std::map<std::string, std::string> env = {{"CAIRN_TENANT", "acme"}};
  const auto all = json::parse(Get("/v1/events")).at("events").as_array();
  ASSERT_EQ(all.size(), 6u);

  // NDJSON: the last two events, as the log read gives them.
  const auto lines =
      Lines(CtlOk({"events", "tail", "--last", "2", "--json"}, env));
  ASSERT_EQ(lines.size(), 2u);
  EXPECT_EQ(json::parse(lines[0]), all[4]);
  EXPECT_EQ(json::parse(lines[1]), all[5]);
  // The default is ten: the whole of this log; --from starts anywhere.
  EXPECT_EQ(Lines(CtlOk({"events", "tail"}, env)).size(), 6u);
  const auto from =
      Lines(CtlOk({"events", "tail", "--from", "3", "--json"}, env));
  ASSERT_EQ(from.size(), 3u);
  EXPECT_EQ(json::parse(from[0]), all[3]);
  // Filters: only the lessons.
  const auto lessons = Lines(
      CtlOk({"events", "tail", "--category", "lesson", "--from", "0", "--json"},
            env));
  ASSERT_EQ(lessons.size(), 2u);
  EXPECT_EQ(Str(json::parse(lessons[1]), "type"), "LessonCompleted");
  // A table line per event.
  const auto table = Lines(CtlOk({"events", "tail", "--last", "1"}, env));
  ASSERT_EQ(table.size(), 1u);
  EXPECT_EQ(table[0].rfind("5  attempt-2@0  AttemptSubmitted  ", 0), 0u)
      << table[0];
  // An empty tenant's log has no end to find and nothing to print.
  EXPECT_EQ(CtlOk({"events", "tail", "--tenant", "nobody"}), "");
}

// --json prints the server's own NDJSON lines, from a server and from its
// data directory alike: numbers as they were written, not re-serialised.
TEST_F(CairnctlTest, EventsTailJsonIsTheServersNdjson) {
  const HttpHeaders acme = {{"X-Cairn-Tenant", "acme"}};
  ASSERT_EQ(Append("attempt-1",
                   R"({"events":[{"type":"AttemptSubmitted","data":)"
                   R"({"score":0.75,"big":1e300,"tiny":1.5e-7,"n":-3}}]})",
                   acme)
                .status,
            201);
  AppendOk("attempt-1", 2, "AttemptSubmitted", acme);
  const HttpResponse ndjson = client_->Get(
      "/v1/events?from=0",
      {{"X-Cairn-Tenant", "acme"}, {"Accept", "application/x-ndjson"}});
  ASSERT_EQ(ndjson.status, 200);
  const std::map<std::string, std::string> env = {{"CAIRN_TENANT", "acme"}};
  EXPECT_EQ(CtlOk({"events", "tail", "--from", "0", "--json"}, env),
            ndjson.body);
  ASSERT_EQ(server_.Stop(), 0);
  EXPECT_EQ(CtlOk({"events", "tail", "--from", "0", "--json", "--data-dir",
                   server_.data_dir().string()},
                  env),
            ndjson.body);
}

TEST_F(CairnctlTest, EventsTailFollowGoesOnLiveUntilInterrupted) {
  Seed();
  ChildProcess tail(
      {CairnctlPath(), "events", "tail", "--follow", "--last", "1", "--json"},
      {{"CAIRN_SERVER", "http://127.0.0.1:" + std::to_string(server_.port())},
       {"CAIRN_TENANT", "acme"}});
  ASSERT_TRUE(tail.WaitForStdout(R"("position":5)", std::chrono::seconds(30)))
      << tail.Stdout() << tail.Stderr();
  AppendOk("attempt-3", 2, "AttemptSubmitted", {{"X-Cairn-Tenant", "acme"}});
  ASSERT_TRUE(tail.WaitForStdout(R"("position":7)", std::chrono::seconds(30)))
      << tail.Stdout() << tail.Stderr();
  tail.Signal(SIGINT);
  EXPECT_EQ(tail.Wait(std::chrono::seconds(30)), 0) << tail.Stderr();
  const auto lines = Lines(tail.Stdout());
  ASSERT_EQ(lines.size(), 3u) << tail.Stdout();
  for (size_t i = 0; i < lines.size(); ++i) {
    EXPECT_EQ(Int(json::parse(lines[i]), "position"),
              static_cast<int64_t>(5 + i));
  }
  EXPECT_EQ(tail.Stderr(), "");
}

TEST_F(CairnctlTest, AppendAndDelete) {
  const std::map<std::string, std::string> env = {{"CAIRN_TENANT", "acme"}};
  const json::value r = json::parse(CtlOk(
      {"append", "attempt-9", "--type", "AttemptSubmitted", "--data",
       R"({"exerciseId":"ex-1","correct":true})", "--metadata",
       R"({"userId":"user-1"})", "--expected-revision", "no_stream", "--json"},
      env));
  EXPECT_EQ(Int(r, "firstRevision"), 0);
  EXPECT_EQ(Int(r, "firstPosition"), 0);
  const json::value stored =
      json::parse(Get("/v1/streams/attempt-9/events")).at("events").at(0);
  EXPECT_EQ(Str(stored, "type"), "AttemptSubmitted");
  EXPECT_EQ(stored.at("data"),
            json::parse(R"({"exerciseId":"ex-1","correct":true})"));
  EXPECT_EQ(Str(stored.at("metadata"), "userId"), "user-1");

  // A whole request body from stdin: a batch of two.
  const CommandOutcome batch = RunCommand(
      {CairnctlPath(), "append", "attempt-9", "--body", "-"},
      {{"CAIRN_SERVER", "http://127.0.0.1:" + std::to_string(server_.port())},
       {"CAIRN_TENANT", "acme"}},
      AppendBody(2, "AttemptSubmitted", "0"));
  ASSERT_EQ(batch.exit_code, 0) << batch.err;
  const auto table = Lines(batch.out);
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table[1], "attempt-9  1..2       1..2       no");

  // Wrong expected revision: the server's 409, one line, exit 1.
  const CommandOutcome conflict = Ctl(
      {"append", "attempt-9", "--type", "T", "--expected-revision", "0"}, env);
  EXPECT_EQ(conflict.exit_code, 1);
  ExpectOneLineError(conflict);
  EXPECT_NE(conflict.err.find("409"), std::string::npos) << conflict.err;
  EXPECT_EQ(conflict.out, "");

  // Bad JSON is refused before anything is sent.
  const CommandOutcome bad =
      Ctl({"append", "attempt-9", "--type", "T", "--data", "{nope"}, env);
  EXPECT_EQ(bad.exit_code, 2);
  ExpectOneLineError(bad);

  EXPECT_EQ(
      CtlOk({"stream", "delete", "attempt-9", "--expected-revision", "2"}, env),
      "stream attempt-9 deleted\n");
  // Soft-deleted: its head says so, its events are gone from reads.
  EXPECT_NE(CtlOk({"stream", "info", "attempt-9"}, env)
                .find("deleted          true\n"),
            std::string::npos);
  const CommandOutcome gone = Ctl({"stream", "read", "attempt-9"}, env);
  EXPECT_EQ(gone.exit_code, 1);
  EXPECT_NE(gone.err.find("404"), std::string::npos) << gone.err;
  EXPECT_EQ(
      CtlOk({"stream", "delete", "attempt-9", "--tombstone", "--json"}, env),
      R"({"stream":"attempt-9","tombstoned":true})"
      "\n");
  const CommandOutcome tombstoned = Ctl({"stream", "read", "attempt-9"}, env);
  EXPECT_EQ(tombstoned.exit_code, 1);
  EXPECT_NE(tombstoned.err.find("410"), std::string::npos) << tombstoned.err;
}

TEST_F(CairnctlTest, ErrorsExitNonZeroWithOneLine) {
  Seed();
  const std::map<std::string, std::string> env = {{"CAIRN_TENANT", "acme"}};
  // Unknown stream: 1.
  const CommandOutcome unknown = Ctl({"stream", "info", "no-such"}, env);
  EXPECT_EQ(unknown.exit_code, 1);
  ExpectOneLineError(unknown);
  EXPECT_NE(unknown.err.find("404"), std::string::npos);
  EXPECT_EQ(unknown.out, "");
  // Server down: 3.
  const CommandOutcome down =
      Ctl({"streams", "list"}, {{"CAIRN_SERVER", "http://127.0.0.1:1"}});
  EXPECT_EQ(down.exit_code, 3);
  ExpectOneLineError(down);
  EXPECT_NE(down.err.find("cannot reach the server"), std::string::npos);
  // Usage: 2, for an unknown command, a missing argument, a bad URL, a
  // write to a data directory.
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{
           {"frobnicate"},
           {"stream", "info"},
           {"streams"},
           {"streams", "list", "--limit", "0"},
           {"streams", "list", "--server", "ftp://x"},
           {"append", "s", "--type", "T", "--data-dir", "/nonexistent"},
           {"inspect"},
       }) {
    const CommandOutcome r = Ctl(args);
    EXPECT_EQ(r.exit_code, 2) << args[0] << ": " << r.err;
    ExpectOneLineError(r);
  }
}

TEST_F(CairnctlTest, HelpOnEveryCommand) {
  for (const std::vector<std::string>& command :
       std::vector<std::vector<std::string>>{
           {},
           {"streams"},
           {"streams", "list"},
           {"stream"},
           {"stream", "info"},
           {"stream", "read"},
           {"stream", "delete"},
           {"events"},
           {"events", "tail"},
           {"append"},
           {"projections"},
           {"projections", "list"},
           {"projections", "rebuild"},
           {"backup"},
           {"backup", "create"},
           {"backup", "list"},
           {"backup", "restore"},
           {"inspect"},
           {"token"},
           {"token", "mint"},
       }) {
    std::vector<std::string> args = command;
    args.push_back("--help");
    const CommandOutcome r = Ctl(args);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_NE(r.out.find("Usage:"), std::string::npos) << r.out;
    EXPECT_NE(r.out.find("--json"), std::string::npos)
        << "global options are listed on every command: " << r.out;
  }
}

TEST_F(CairnctlTest, ProjectionsListAndRebuild) {
  Seed();
  AwaitProjections();
  const std::map<std::string, std::string> env = {{"CAIRN_TENANT", "acme"}};
  EXPECT_EQ(CtlOk({"projections", "list", "--json"}, env),
            Get("/v1/projections") + "\n");
  const std::string table = CtlOk({"projections", "list"}, env);
  EXPECT_EQ(table.rfind("NAME", 0), 0u) << table;
  EXPECT_NE(table.find("dashboard"), std::string::npos) << table;
  EXPECT_NE(table.find("running"), std::string::npos) << table;

  EXPECT_EQ(CtlOk({"projections", "rebuild", "dashboard"}, env),
            "projection dashboard is rebuilding\n");
  AwaitProjections();
  const CommandOutcome unknown =
      Ctl({"projections", "rebuild", "no-such"}, env);
  EXPECT_EQ(unknown.exit_code, 1);
  EXPECT_NE(unknown.err.find("404"), std::string::npos) << unknown.err;
}

// The same reads from the data directory, beside the running server and
// once it has stopped, print what the server printed.
TEST_F(CairnctlTest, DataDirectoryReadsAsTheServerDoes) {
  Seed();
  AwaitProjections();
  const std::map<std::string, std::string> env = {{"CAIRN_TENANT", "acme"}};
  const std::vector<std::vector<std::string>> reads = {
      {"streams", "list", "--json"},
      {"streams", "list"},
      {"streams", "list", "--prefix", "attempt-", "--limit", "1"},
      {"stream", "info", "attempt-1", "--json"},
      {"stream", "info", "lesson-1"},
      {"stream", "read", "attempt-1", "--json"},
      {"stream", "read", "lesson-1", "--backward", "--from", "0"},
      {"events", "tail", "--json"},
      {"events", "tail", "--last", "3"},
  };
  std::vector<std::string> from_server;
  for (const auto& args : reads) from_server.push_back(CtlOk(args, env));

  const std::string dir = server_.data_dir().string();
  const auto from_dir = [&](std::vector<std::string> args) {
    args.insert(args.end(), {"--data-dir", dir});
    return CtlOk(args, env);
  };
  for (size_t i = 0; i < reads.size(); ++i) {
    EXPECT_EQ(from_dir(reads[i]), from_server[i]) << "beside: " << reads[i][0];
  }
  ASSERT_EQ(server_.Stop(), 0);
  for (size_t i = 0; i < reads.size(); ++i) {
    EXPECT_EQ(from_dir(reads[i]), from_server[i]) << "stopped: " << reads[i][0];
  }

  // Projections: the checkpoints and lag the server showed, without what
  // only a running server knows.
  const json::value listed =
      json::parse(from_dir({"projections", "list", "--json"}));
  ASSERT_FALSE(listed.at("projections").as_array().empty());
  for (const auto& p : listed.at("projections").as_array()) {
    EXPECT_EQ(Int(p, "checkpoint"), 5) << p;
    EXPECT_EQ(Int(p, "lag"), 0) << p;
    EXPECT_FALSE(p.as_object().contains("status"));
  }

  // Errors from the directory as from the server.
  const CommandOutcome unknown =
      Ctl({"stream", "info", "no-such", "--data-dir", dir}, env);
  EXPECT_EQ(unknown.exit_code, 1);
  ExpectOneLineError(unknown);
  EXPECT_NE(unknown.err.find("not found"), std::string::npos) << unknown.err;
  const CommandOutcome missing =
      Ctl({"streams", "list", "--data-dir", dir + "/no-such"}, env);
  EXPECT_EQ(missing.exit_code, 1);
  ExpectOneLineError(missing);
  EXPECT_FALSE(fs::exists(dir + "/no-such"));
  const CommandOutcome follow =
      Ctl({"events", "tail", "--follow", "--data-dir", dir}, env);
  EXPECT_EQ(follow.exit_code, 2);
  ExpectOneLineError(follow);
}

TEST_F(CairnctlTest, InspectCountsAndVerifies) {
  Seed();
  AwaitProjections();
  const std::string dir = server_.data_dir().string();
  // Beside the running server, then stopped.
  for (int round = 0; round < 2; ++round) {
    if (round == 1) {
      ASSERT_EQ(server_.Stop(), 0);
    }
    const json::value report = json::parse(
        CtlOk({"inspect", "--verify", "--json", "--data-dir", dir}));
    std::map<std::string, std::pair<int64_t, int64_t>> tenants;
    for (const auto& t : report.at("tenants").as_array()) {
      tenants[Str(t, "tenant")] = {Int(t, "streams"), Int(t, "events")};
    }
    EXPECT_EQ(tenants["acme"], std::make_pair(int64_t{3}, int64_t{6}));
    EXPECT_EQ(tenants["globex"], std::make_pair(int64_t{1}, int64_t{4}));
    bool events_family = false;
    for (const auto& f : report.at("families").as_array()) {
      if (Str(f, "family") == "events") events_family = Int(f, "bytes") > 0;
    }
    EXPECT_TRUE(events_family) << report;
    bool dashboard = false;
    for (const auto& c : report.at("checkpoints").as_array()) {
      if (Str(c, "projection") == "dashboard" && Str(c, "tenant") == "acme") {
        dashboard = Int(c, "checkpoint") == 5;
      }
    }
    EXPECT_TRUE(dashboard) << report;
    EXPECT_EQ(Int(report.at("verify"), "recordsVerified"), 10);
    EXPECT_EQ(Int(report.at("verify"), "problemsFound"), 0);
  }
  const std::string table = CtlOk({"inspect", "--verify", "--data-dir", dir});
  EXPECT_EQ(table.rfind("TENANT  STREAMS  EVENTS\nacme    3        6\n", 0), 0u)
      << table;
  EXPECT_NE(table.find("verify: 10 records checked, 0 problems"),
            std::string::npos)
      << table;
}

// Opens a copy of a data directory with RocksDB itself, every family, to
// damage it.
class RawDb {
 public:
  explicit RawDb(const std::string& dir) {
    std::vector<std::string> names;
    EXPECT_TRUE(
        rocksdb::DB::ListColumnFamilies(rocksdb::DBOptions(), dir, &names)
            .ok());
    std::vector<rocksdb::ColumnFamilyDescriptor> families;
    for (const auto& n : names)
      families.emplace_back(n, rocksdb::ColumnFamilyOptions());
    rocksdb::DB* db = nullptr;
    const rocksdb::Status s =
        rocksdb::DB::Open(rocksdb::DBOptions(), dir, families, &handles_, &db);
    EXPECT_TRUE(s.ok()) << s.ToString();
    db_.reset(db);
  }
  ~RawDb() {
    for (auto* h : handles_)
      db_->DestroyColumnFamilyHandle(h).PermitUncheckedError();
    db_->Close().PermitUncheckedError();
  }
  rocksdb::DB* db() { return db_.get(); }
  rocksdb::ColumnFamilyHandle* Family(const std::string& name) {
    for (auto* h : handles_) {
      if (h->GetName() == name) return h;
    }
    ADD_FAILURE() << "no family " << name;
    return nullptr;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
};

// The `events` key of a tenant's position: u32 tenant id, u64 position,
// big-endian (storage/FORMAT.md). The first tenant written has id 1.
std::string EventKey(uint32_t tenant, uint64_t position) {
  std::string key;
  for (int i = 3; i >= 0; --i)
    key.push_back(static_cast<char>(tenant >> (8 * i)));
  for (int i = 7; i >= 0; --i)
    key.push_back(static_cast<char>(position >> (8 * i)));
  return key;
}

TEST_F(CairnctlTest, InspectVerifyNamesACorruptRecordAndAHole) {
  Seed();  // acme is tenant 1
  ASSERT_EQ(server_.Stop(), 0);
  TempDir copies;
  const auto copy = [&](const std::string& name) {
    const std::string to = (copies.path() / name).string();
    fs::copy(server_.data_dir(), to, fs::copy_options::recursive);
    return to;
  };
  const std::string corrupt = copy("corrupt");
  const std::string hole = copy("hole");
  {
    RawDb db(corrupt);
    ASSERT_TRUE(db.db()
                    ->Put(rocksdb::WriteOptions(), db.Family("events"),
                          EventKey(1, 2), "not a flatbuffer at all")
                    .ok());
  }
  {
    RawDb db(hole);
    ASSERT_TRUE(db.db()
                    ->Delete(rocksdb::WriteOptions(), db.Family("events"),
                             EventKey(1, 4))
                    .ok());
  }
  const CommandOutcome c = Ctl({"inspect", "--verify", "--data-dir", corrupt});
  EXPECT_EQ(c.exit_code, 1) << c.out;
  ExpectOneLineError(c);
  EXPECT_NE(c.out.find("tenant acme: position 2"), std::string::npos) << c.out;
  EXPECT_NE(c.out.find("FlatBuffers"), std::string::npos) << c.out;

  const CommandOutcome h = Ctl({"inspect", "--verify", "--data-dir", hole});
  EXPECT_EQ(h.exit_code, 1) << h.out;
  EXPECT_NE(h.out.find("tenant acme: position 4 is missing"), std::string::npos)
      << h.out;
  // The original is untouched and clean.
  EXPECT_EQ(
      Ctl({"inspect", "--verify", "--data-dir", server_.data_dir().string()})
          .exit_code,
      0);
}

TEST_F(CairnctlTest, BackupUnderLoadRestoresEveryAcknowledgedEvent) {
  TempDir backups;
  server_.Stop();
  CairndProcess server(server_.data_dir(), {"--backup-dir", backups.str()});
  server.Start();
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());

  // Writers append until told to stop, counting what was acknowledged.
  std::atomic<bool> stop{false};
  std::atomic<int64_t> acknowledged_before_backup{-1};
  std::vector<std::thread> writers;
  std::vector<std::vector<int64_t>> acked(4);  // positions, per writer
  std::mutex acked_mu;
  for (int w = 0; w < 4; ++w) {
    writers.emplace_back([&, w] {
      HttpClient c(server.port());
      for (int i = 0; !stop; ++i) {
        const HttpResponse r =
            c.Post("/v1/streams/load-" + std::to_string(w) + "/events",
                   AppendBody(1, "AttemptSubmitted"));
        if (r.status != 201) continue;
        std::lock_guard lock(acked_mu);
        acked[w].push_back(Int(json::parse(r.body), "lastPosition"));
      }
    });
  }
  // Wait for some load, then back up while it runs.
  const auto total = [&] {
    std::lock_guard lock(acked_mu);
    size_t n = 0;
    for (const auto& a : acked) n += a.size();
    return n;
  };
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while (total() < 200 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::yield();
  }
  std::vector<int64_t> before;
  {
    std::lock_guard lock(acked_mu);
    for (const auto& a : acked) before.insert(before.end(), a.begin(), a.end());
  }
  const CommandOutcome created = RunCommand(
      {CairnctlPath(), "backup", "create", "--json"}, {{"CAIRN_SERVER", url}});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  const json::value backup = json::parse(created.out);
  EXPECT_GT(Int(backup, "sizeBytes"), 0);
  stop = true;
  for (auto& t : writers) t.join();
  ASSERT_GE(before.size(), 200u);

  // Listed by the server and from the directory alike.
  const std::string listed =
      RunCommand({CairnctlPath(), "backup", "list", "--json"},
                 {{"CAIRN_SERVER", url}})
          .out;
  EXPECT_EQ(RunCommand({CairnctlPath(), "backup", "list", "--json",
                        "--backup-dir", backups.str()})
                .out,
            listed);
  EXPECT_EQ(json::parse(listed).at("backups").at(0).at("id"), backup.at("id"));
  ASSERT_EQ(server.Stop(), 0);

  // Restore refuses a live directory, then fills an empty one.
  const CommandOutcome refused =
      RunCommand({CairnctlPath(), "backup", "restore", "--backup-dir",
                  backups.str(), "--data-dir", server_.data_dir().string()});
  EXPECT_EQ(refused.exit_code, 1);
  ExpectOneLineError(refused);
  TempDir restored_parent;
  const std::string restored = (restored_parent.path() / "data").string();
  const CommandOutcome restore = RunCommand(
      {CairnctlPath(), "backup", "restore", "--backup-dir", backups.str(),
       "--id", std::to_string(Int(backup, "id")), "--data-dir", restored});
  ASSERT_EQ(restore.exit_code, 0) << restore.err;
  const CommandOutcome verify = RunCommand(
      {CairnctlPath(), "inspect", "--verify", "--data-dir", restored});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;

  // Its events are the original's, byte for byte, up to where it ends.
  const auto log_of = [](const std::string& dir) {
    const CommandOutcome r =
        RunCommand({CairnctlPath(), "events", "tail", "--from", "0", "--json",
                    "--data-dir", dir});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return Lines(r.out);
  };
  const auto original = log_of(server_.data_dir().string());
  const auto copy = log_of(restored);
  ASSERT_GE(copy.size(), before.size());
  ASSERT_LE(copy.size(), original.size());
  for (size_t i = 0; i < copy.size(); ++i) {
    ASSERT_EQ(copy[i], original[i]) << "position " << i;
  }

  // The restored store serves every event acknowledged before the backup.
  CairndProcess again(restored);
  again.Start();
  HttpClient c(again.port());
  const HttpResponse log = c.Get("/v1/events?limit=10000");
  ASSERT_EQ(log.status, 200);
  std::set<int64_t> positions;
  const json::value page = json::parse(log.body);
  for (const auto& e : page.at("events").as_array()) {
    positions.insert(Int(e, "position"));
  }
  for (const int64_t p : before) EXPECT_TRUE(positions.count(p)) << p;
  // Gapless from 0.
  EXPECT_EQ(static_cast<size_t>(*positions.rbegin() + 1), positions.size());
}

TEST(CairnctlTokenTest, MintedTokensSpeakForTheirTenantAndScopes) {
  TempDir dir;
  const std::string secret = (dir.path() / "secret").string();
  std::ofstream(secret) << kSecret << "\n";
  CairndProcess server({"--jwt-secret-file", secret});
  server.set_dev(false);
  server.Start();
  const std::string url = "http://127.0.0.1:" + std::to_string(server.port());
  const auto mint = [&](std::vector<std::string> scopes) {
    std::vector<std::string> argv = {CairnctlPath(),  "token",     "mint",
                                     "--secret-file", secret,      "--tenant",
                                     "acme",          "--subject", "ops"};
    for (auto& s : scopes) argv.insert(argv.end(), {"--scope", s});
    const CommandOutcome r = RunCommand(argv);
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out.substr(0, r.out.find('\n'));
  };
  const std::string writer = mint({"events:append", "events:read"});
  const CommandOutcome appended =
      RunCommand({CairnctlPath(), "append", "s-1", "--type", "T", "--json"},
                 {{"CAIRN_SERVER", url}, {"CAIRN_TOKEN", writer}});
  ASSERT_EQ(appended.exit_code, 0) << appended.err;
  // The event carries the token's tenant and subject.
  const CommandOutcome read = RunCommand(
      {CairnctlPath(), "stream", "read", "s-1", "--json", "--token", writer},
      {{"CAIRN_SERVER", url}});
  ASSERT_EQ(read.exit_code, 0) << read.err;
  const json::value context =
      json::parse(read.out).at("events").at(0).at("context");
  EXPECT_EQ(Str(context, "orgId"), "acme");
  EXPECT_EQ(Str(context, "principal"), "ops");

  // A token without the scope: 403; a bad token: 401; each exit 1.
  const CommandOutcome no_scope =
      RunCommand({CairnctlPath(), "backup", "list"},
                 {{"CAIRN_SERVER", url}, {"CAIRN_TOKEN", writer}});
  EXPECT_EQ(no_scope.exit_code, 1);
  EXPECT_NE(no_scope.err.find("403"), std::string::npos) << no_scope.err;
  const CommandOutcome bad =
      RunCommand({CairnctlPath(), "streams", "list"},
                 {{"CAIRN_SERVER", url}, {"CAIRN_TOKEN", writer + "x"}});
  EXPECT_EQ(bad.exit_code, 1);
  ExpectOneLineError(bad);
  EXPECT_NE(bad.err.find("401"), std::string::npos) << bad.err;

  // The claims as asked: lifetime, and JSON out.
  const CommandOutcome json_out =
      RunCommand({CairnctlPath(), "token", "mint", "--secret-file", secret,
                  "--tenant", "acme", "--subject", "ops", "--scope", "admin",
                  "--ttl-seconds", "60", "--json"});
  ASSERT_EQ(json_out.exit_code, 0) << json_out.err;
  const json::value minted = json::parse(json_out.out);
  EXPECT_NEAR(static_cast<double>(Int(minted, "expires")),
              static_cast<double>(std::time(nullptr) + 60), 5);
  // A short secret is refused, not signed with.
  const std::string short_secret = (dir.path() / "short").string();
  std::ofstream(short_secret) << "short\n";
  const CommandOutcome refused = RunCommand(
      {CairnctlPath(), "token", "mint", "--secret-file", short_secret,
       "--tenant", "acme", "--subject", "ops", "--scope", "admin"});
  EXPECT_EQ(refused.exit_code, 1);
  ExpectOneLineError(refused);
}

}  // namespace
}  // namespace cairn::testing
