#include "tools/cairnctl/commands.h"

#include <boost/json.hpp>
#include <ctime>
#include <fstream>
#include <iostream>
#include <iterator>

#include "protocol/json_text.h"
#include "server/auth/keys.h"
#include "server/json_writer.h"
#include "storage/backup.h"
#include "storage/inspect.h"
#include "tools/cairnctl/output.h"

namespace cairn::cairnctl {
namespace {

namespace json = boost::json;

// Prints a response body: as it came with --json, else with `table`.
void Print(const Context& ctx, const std::string& body,
           void (*table)(std::ostream&, std::string_view)) {
  if (ctx.json()) {
    std::cout << body << '\n';
  } else {
    table(std::cout, body);
  }
}

// The text is JSON, or the command line is wrong (`what` names the option).
void RequireJson(const std::string& text, const std::string& what) {
  boost::system::error_code ec;
  json::parse(text, ec);
  if (ec)
    throw CommandError(kExitUsage, what + " is not JSON: " + ec.message());
}

std::string ReadBody(const std::string& file) {
  if (file == "-") {
    return std::string(std::istreambuf_iterator<char>(std::cin), {});
  }
  std::ifstream in(file, std::ios::binary);
  if (!in) throw CommandError(kExitUsage, "--body " + file + ": cannot open");
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The expectedRevision field: a revision number, or one of the names.
std::string ExpectedRevisionJson(const std::string& text) {
  if (text == "any" || text == "no_stream" || text == "exists") {
    return "\"" + text + "\"";
  }
  if (text.empty() || text.size() > 19 ||
      text.find_first_not_of("0123456789") != std::string::npos) {
    throw CommandError(kExitUsage,
                       "--expected-revision " + text +
                           ": give any, no_stream, exists or a revision");
  }
  return text;
}

}  // namespace

ServerClient& Context::Server(const char* command) {
  if (!options_.data_dir.empty()) {
    throw CommandError(kExitUsage,
                       std::string(command) +
                           " needs a server (--server): a data directory is "
                           "only ever opened read-only");
  }
  if (!client_) {
    client_ = std::make_unique<ServerClient>(
        ParseServerUrl(options_.server), options_.token, options_.tenant,
        std::chrono::milliseconds(options_.timeout_ms));
  }
  return *client_;
}

Source& Context::Reads() {
  if (!source_) {
    if (!options_.data_dir.empty()) {
      source_ =
          DataDirSource(options_.data_dir,
                        options_.tenant.empty() ? "default" : options_.tenant);
    } else {
      source_ = ServerSource(&Server("this command"));
    }
  }
  return *source_;
}

void StreamsList(Context& ctx, const StreamListQuery& query) {
  Print(ctx, ctx.Reads().ListStreams(query), PrintStreamList);
}

void StreamInfo(Context& ctx, const std::string& stream) {
  Print(ctx, ctx.Reads().StreamInfo(stream), PrintStreamInfo);
}

void StreamRead(Context& ctx, const std::string& stream,
                const StreamReadQuery& query) {
  Print(ctx, ctx.Reads().ReadStream(stream, query), PrintEventPage);
}

void StreamDelete(Context& ctx, const std::string& stream,
                  const std::optional<uint64_t>& expected_revision,
                  bool tombstone) {
  std::string target = "/v1/streams/" + PercentEncode(stream);
  std::string sep = "?";
  if (expected_revision) {
    target += sep + "expectedRevision=" + std::to_string(*expected_revision);
    sep = "&";
  }
  if (tombstone) target += sep + "tombstone=true";
  BodyOrThrow(ctx.Server("stream delete").Request("DELETE", target));
  if (ctx.json()) {
    std::string out = R"({"stream":)";
    AppendJsonString(&out, stream);
    out += tombstone ? R"(,"tombstoned":true})" : R"(,"deleted":true})";
    std::cout << out << '\n';
  } else {
    std::cout << "stream " << stream
              << (tombstone ? " tombstoned\n" : " deleted\n");
  }
}

void EventsTail(Context& ctx, const TailOptions& options) {
  Source& reads = ctx.Reads();
  LogQuery query;
  query.types = options.types;
  query.categories = options.categories;
  query.follow = options.follow;
  if (options.from) {
    query.from = *options.from;
  } else {
    const uint64_t end = reads.LogEnd();
    query.from = end > options.last ? end - options.last : 0;
  }
  // Each line as the server wrote it with --json (NDJSON), else drawn.
  reads.ReadLogLines(query, [&](std::string_view line) {
    if (ctx.json()) {
      std::cout << line << '\n';
    } else {
      std::cout << EventLine(line) << '\n';
    }
    std::cout.flush();
  });
}

void Append(Context& ctx, const AppendOptions& options) {
  std::string body;
  if (!options.body_file.empty()) {
    body = ReadBody(options.body_file);
    RequireJson(body, "--body " + options.body_file);
  } else {
    if (options.type.empty()) {
      throw CommandError(kExitUsage, "append needs --type (or --body FILE)");
    }
    RequireJson(options.data, "--data");
    body = R"({"expectedRevision":)" +
           ExpectedRevisionJson(options.expected_revision) +
           R"(,"events":[{"type":)";
    AppendJsonString(&body, options.type);
    body += R"(,"data":)" + options.data;
    if (!options.metadata.empty()) {
      RequireJson(options.metadata, "--metadata");
      body += R"(,"metadata":)" + options.metadata;
    }
    if (!options.id.empty()) {
      body += R"(,"id":)";
      AppendJsonString(&body, options.id);
    }
    body += "}]}";
  }
  const std::string target =
      "/v1/streams/" + PercentEncode(options.stream) + "/events";
  Print(ctx, BodyOrThrow(ctx.Server("append").Request("POST", target, body)),
        PrintAppendResult);
}

void ProjectionsList(Context& ctx) {
  Print(ctx, ctx.Reads().Projections(), PrintProjections);
}

void ProjectionsRebuild(Context& ctx, const std::string& name) {
  const std::string body =
      BodyOrThrow(ctx.Server("projections rebuild")
                      .Request("POST", "/v1/projections/" +
                                           PercentEncode(name) + "/rebuild"));
  if (ctx.json()) {
    std::cout << (body.empty() ? "{}" : body) << '\n';
  } else {
    std::cout << "projection " << name << " is rebuilding\n";
  }
}

void BackupCreate(Context& ctx) {
  Print(ctx,
        BodyOrThrow(ctx.Server("backup create")
                        .Request("POST", "/v1/admin/backups", "{}")),
        PrintBackup);
}

void BackupList(Context& ctx, const std::string& backup_dir) {
  if (backup_dir.empty()) {
    Print(ctx,
          BodyOrThrow(
              ctx.Server("backup list").Request("GET", "/v1/admin/backups")),
          PrintBackupList);
    return;
  }
  auto backups = storage::ListBackups(backup_dir);
  if (!backups) {
    throw CommandError(kExitFailed, "backups in " + backup_dir + ": " +
                                        backups.error().message());
  }
  std::string out = R"({"backups":[)";
  for (size_t i = 0; i < backups->size(); ++i) {
    const storage::BackupInfo& b = (*backups)[i];
    if (i > 0) out += ',';
    out += R"({"id":)";
    server::AppendUint(&out, b.id);
    out += R"(,"created":)";
    server::AppendTimestamp(&out, b.created_us);
    out += R"(,"sizeBytes":)";
    server::AppendUint(&out, b.size_bytes);
    out += '}';
  }
  out += "]}";
  Print(ctx, out, PrintBackupList);
}

void BackupRestore(Context& ctx, const std::string& backup_dir,
                   const std::optional<uint32_t>& id) {
  const std::string& data_dir = ctx.options().data_dir;
  if (data_dir.empty()) {
    throw CommandError(kExitUsage,
                       "backup restore needs --data-dir, a new or empty "
                       "directory to restore into");
  }
  const Status s = storage::RestoreBackup(backup_dir, id, data_dir);
  if (!s.ok()) throw CommandError(kExitFailed, "restore: " + s.message());
  if (ctx.json()) {
    std::string out = R"({"restored":)";
    AppendJsonString(&out, data_dir);
    out += '}';
    std::cout << out << '\n';
  } else {
    std::cout << "restored "
              << (id ? "backup " + std::to_string(*id) : "the newest backup")
              << " into " << data_dir << '\n';
  }
}

namespace {

// The report as JSON: what --json prints, and what the tables show.
json::object InspectJson(const storage::InspectReport& report, bool verify) {
  json::array tenants;
  for (const auto& t : report.tenants) {
    tenants.push_back(
        {{"tenant", t.tenant}, {"streams", t.streams}, {"events", t.events}});
  }
  json::array families;
  for (const auto& f : report.families) {
    families.push_back(
        {{"family", f.family}, {"bytes", f.bytes}, {"keys", f.keys}});
  }
  json::array checkpoints;
  for (const auto& c : report.checkpoints) {
    // As the API shows it: the last position applied, null for none.
    json::value at = nullptr;
    if (c.position > 0) at = c.position - 1;
    checkpoints.push_back({{"projection", c.projection},
                           {"tenant", c.tenant},
                           {"checkpoint", at},
                           {"version", c.version}});
  }
  json::object out{{"tenants", std::move(tenants)},
                   {"families", std::move(families)},
                   {"checkpoints", std::move(checkpoints)},
                   {"verify", nullptr}};
  if (verify) {
    json::array problems;
    for (const auto& p : report.problems) problems.push_back(json::string(p));
    out["verify"] = {{"finished", report.verified},
                     {"recordsVerified", report.records_verified},
                     {"problemsFound", report.problems_found},
                     {"problems", std::move(problems)}};
  }
  return out;
}

void PrintInspect(std::ostream& out, const json::object& report) {
  const auto rows = [&](const char* list, std::vector<std::string> headers,
                        std::vector<const char*> fields) {
    Table t(std::move(headers));
    for (const auto& item : report.at(list).as_array()) {
      std::vector<std::string> row;
      for (const char* f : fields) {
        const json::value& v = item.at(f);
        row.push_back(v.is_string() ? std::string(v.as_string())
                      : v.is_null() ? "-"
                                    : json::serialize(v));
      }
      t.Add(std::move(row));
    }
    t.Print(out);
  };
  rows("tenants", {"TENANT", "STREAMS", "EVENTS"},
       {"tenant", "streams", "events"});
  out << '\n';
  rows("families", {"FAMILY", "BYTES", "KEYS (ESTIMATE)"},
       {"family", "bytes", "keys"});
  out << '\n';
  rows("checkpoints", {"PROJECTION", "TENANT", "CHECKPOINT", "VERSION"},
       {"projection", "tenant", "checkpoint", "version"});
  const json::value& verify = report.at("verify");
  if (verify.is_null()) return;
  const auto found = verify.at("problemsFound").to_number<uint64_t>();
  const json::array& listed = verify.at("problems").as_array();
  out << "\nverify: " << verify.at("recordsVerified").to_number<uint64_t>()
      << " records checked, " << found
      << (found == 1 ? " problem" : " problems")
      << (verify.at("finished").as_bool() ? "\n" : " (did not finish)\n");
  for (const auto& p : listed) out << "  " << p.as_string() << '\n';
  if (found > listed.size()) {
    out << "  (and " << found - listed.size() << " more)\n";
  }
}

}  // namespace

void Inspect(Context& ctx, bool verify) {
  const std::string& dir = ctx.options().data_dir;
  if (dir.empty()) {
    throw CommandError(kExitUsage,
                       "inspect reads a data directory: give --data-dir");
  }
  storage::InspectOptions options;
  options.verify = verify;
  auto report = storage::Inspect(dir, options);
  if (!report) {
    throw CommandError(
        kExitFailed, "cannot inspect " + dir + ": " + report.error().message());
  }
  const json::object out = InspectJson(*report, verify);
  if (ctx.json()) {
    std::cout << json::serialize(out) << '\n';
  } else {
    PrintInspect(std::cout, out);
  }
  std::cout.flush();
  if (report->problems_found > 0) {
    throw CommandError(
        kExitFailed,
        "inspect --verify found " + std::to_string(report->problems_found) +
            (report->problems_found == 1 ? " problem" : " problems") + " in " +
            dir);
  }
  if (verify && !report->verified) {
    throw CommandError(kExitFailed, "inspect --verify did not finish");
  }
}

void TokenMint(Context& ctx, const MintOptions& o) {
  const std::string& tenant = ctx.options().tenant;
  if (tenant.empty()) {
    throw CommandError(kExitUsage,
                       "token mint needs --tenant, the tenant "
                       "the token speaks for");
  }
  for (const char* taken : {"sub", "scope", "iat", "exp", "iss", "aud"}) {
    if (o.tenant_claim == taken) {
      throw CommandError(kExitUsage, "--tenant-claim " + o.tenant_claim +
                                         ": a claim the token sets itself");
    }
  }
  auto secret = server::auth::ReadHs256Secret(o.secret_file);
  if (!secret) throw CommandError(kExitFailed, secret.error().message());
  const int64_t now = static_cast<int64_t>(std::time(nullptr));
  const int64_t expires = now + static_cast<int64_t>(o.ttl_seconds);
  std::string scope;
  for (const auto& s : o.scopes) scope += (scope.empty() ? "" : " ") + s;
  json::object claims{{"sub", o.subject},
                      {o.tenant_claim, tenant},
                      {"scope", scope},
                      {"iat", now},
                      {"exp", expires}};
  if (!o.issuer.empty()) claims["iss"] = o.issuer;
  if (!o.audience.empty()) claims["aud"] = o.audience;
  const std::string token =
      server::auth::SignHs256(json::serialize(claims), *secret);
  if (token.empty()) throw CommandError(kExitFailed, "signing failed");
  if (ctx.json()) {
    std::cout << json::serialize(
                     json::object{{"token", token}, {"expires", expires}})
              << '\n';
  } else {
    std::cout << token << '\n';
  }
}

}  // namespace cairn::cairnctl
