#pragma once

// cairnctl's commands, one function each, called by main.cc once the
// command line has parsed. Each prints its result on stdout and returns
// normally, or throws CommandError.

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "tools/cairnctl/server_client.h"
#include "tools/cairnctl/source.h"

namespace cairn::cairnctl {

// The options every command takes, before or after its name.
struct GlobalOptions {
  std::string server = "http://127.0.0.1:8642";
  std::string token;
  // X-Cairn-Tenant to a dev-mode server; the tenant read in a data dir.
  std::string tenant;
  std::string data_dir;
  bool json = false;
  unsigned timeout_ms = 30'000;
};

// What one invocation talks to, opened on first use.
class Context {
 public:
  explicit Context(GlobalOptions options) : options_(std::move(options)) {}

  const GlobalOptions& options() const { return options_; }
  bool json() const { return options_.json; }

  // The server; `command` names what needs it in the error when --data-dir
  // was given instead (writes never go to a data directory).
  ServerClient& Server(const char* command);
  // The data directory when --data-dir was given, else the server.
  Source& Reads();

 private:
  GlobalOptions options_;
  std::unique_ptr<ServerClient> client_;
  std::unique_ptr<Source> source_;
};

void StreamsList(Context& ctx, const StreamListQuery& query);
void StreamInfo(Context& ctx, const std::string& stream);
void StreamRead(Context& ctx, const std::string& stream,
                const StreamReadQuery& query);
void StreamDelete(Context& ctx, const std::string& stream,
                  const std::optional<uint64_t>& expected_revision,
                  bool tombstone);

struct TailOptions {
  std::optional<uint64_t> from;  // default: `last` events before the end
  uint64_t last = 10;
  std::vector<std::string> types;
  std::vector<std::string> categories;
  bool follow = false;
};
void EventsTail(Context& ctx, const TailOptions& options);

struct AppendOptions {
  std::string stream;
  std::string expected_revision;  // "any", "no_stream", "exists" or N
  std::string type;
  std::string data = "{}";
  std::string metadata;
  std::string id;
  std::string body_file;  // a whole request body ("-": stdin) instead
};
void Append(Context& ctx, const AppendOptions& options);

void ProjectionsList(Context& ctx);
void ProjectionsRebuild(Context& ctx, const std::string& name);

void BackupCreate(Context& ctx);
// From `backup_dir` when given, else from the server.
void BackupList(Context& ctx, const std::string& backup_dir);
void BackupRestore(Context& ctx, const std::string& backup_dir,
                   const std::optional<uint32_t>& id);

void Inspect(Context& ctx, bool verify);

struct MintOptions {
  std::string secret_file;
  std::string subject;
  std::vector<std::string> scopes;
  uint64_t ttl_seconds = 3600;
  std::string issuer;
  std::string audience;
  std::string tenant_claim = "orgId";
};
// For the tenant of --tenant.
void TokenMint(Context& ctx, const MintOptions& options);

}  // namespace cairn::cairnctl
