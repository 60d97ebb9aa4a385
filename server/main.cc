// cairnd: the Cairn event store server.

#include <sys/resource.h>

#include <chrono>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <vector>

#include "projections/built_in.h"
#include "projections/indexes/event_index.h"
#include "projections/plugin.h"
#include "projections/runner.h"
#include "server/auth/jwt.h"
#include "server/config.h"
#include "server/http_server.h"
#include "server/log.h"
#include "storage/event_store.h"

namespace {

// Every connection and subscription socket is a file descriptor, beside
// RocksDB's files: take the hard limit, not the soft 1,024 of most shells.
void RaiseOpenFileLimit() {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) == 0 &&
      limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = limit.rlim_max;
    setrlimit(RLIMIT_NOFILE, &limit);
  }
}

int Main(int argc, char** argv) {
  using namespace cairn;  // NOLINT: one short main
  server::Config config;
  if (int code = server::ParseConfig(argc, argv, &config); code >= 0) {
    return code;
  }
  server::log::SetLevel(config.log_level);
  RaiseOpenFileLimit();
  server::ListenAddress address;
  if (!server::ParseListenAddress(config.listen, &address)) {
    server::log::Error("cannot start",
                       {{"error", "--listen must be HOST:PORT"}});
    return 2;
  }
  if (std::string why = server::ValidateConfig(config, address); !why.empty()) {
    server::log::Error("cannot start", {{"error", why}});
    return 2;
  }
  // Dev mode takes no tokens; otherwise the keys must load, or cairnd
  // does not start.
  std::unique_ptr<server::auth::JwtVerifier> verifier;
  if (config.dev) {
    server::log::Warn("dev mode: no authentication; tenant from X-Cairn-Tenant",
                      {{"listen", config.listen}});
  } else {
    server::auth::JwtOptions jwt;
    jwt.secret_file = config.jwt_secret_file;
    jwt.jwks_file = config.jwks_file;
    jwt.issuer = config.jwt_issuer;
    jwt.audience = config.jwt_audience;
    jwt.tenant_claim = config.tenant_claim;
    auto created = server::auth::JwtVerifier::Create(std::move(jwt));
    if (!created.has_value()) {
      server::log::Error("cannot start: bad JWT key file",
                         {{"error", created.error().ToString()}});
      return 2;
    }
    verifier = std::move(*created);
  }

  storage::Options options;
  options.durability = config.durability;
  options.wal_prefill_bytes = uint64_t{config.wal_prefill_mib} << 20;
  const auto open_start = std::chrono::steady_clock::now();
  auto store = storage::EventStore::Open(options, config.data_dir);
  const auto open_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                           std::chrono::steady_clock::now() - open_start)
                           .count();
  if (!store.has_value()) {
    server::log::Error(
        "cannot open the data directory",
        {{"data_dir", config.data_dir}, {"error", store.error().ToString()}});
    return 1;
  }
  // Filtered reads and append conditions go through the index that the
  // built-in `$event-index` keeps.
  (*store)->UseLogIndex(
      projections::indexes::NewEventIndexReader(&(*store)->Projections()));
  // The built-in projections and the plugins, kept up to date from the log;
  // they catch up on start.
  std::vector<std::unique_ptr<projections::Projection>> built_in =
      projections::BuiltInProjections();
  for (const std::string& path : config.projection_plugins) {
    auto plugin = projections::LoadPlugin(path);
    if (!plugin.has_value()) {
      server::log::Error("cannot start", {{"error", plugin.error().message()}});
      return 2;
    }
    built_in.push_back(std::move(*plugin));
  }
  projections::RunnerOptions runner_options;
  runner_options.gather =
      std::chrono::milliseconds(config.projection_gather_ms);
  runner_options.nice = static_cast<int>(config.projection_nice);
  projections::Runner runner(store->get(), std::move(built_in), runner_options);
  if (Status s = runner.Start(); !s.ok()) {
    server::log::Error("cannot start the projections",
                       {{"error", s.ToString()}});
    return 1;
  }
  auto http =
      server::HttpServer::Create(config, store->get(), &runner, verifier.get());
  if (!http.has_value()) {
    server::log::Error("cannot start", {{"error", http.error().ToString()}});
    return 1;
  }
  // Tests and scripts read the bound port from this line (--listen :0).
  server::log::Info("listening", {{"address", (*http)->BoundAddress()},
                                  {"data_dir", config.data_dir},
                                  {"open_ms", static_cast<int64_t>(open_ms)}});
  (*http)->Run();

  // Every write acknowledged was durable already; Close commits what is
  // queued and flushes. The store outlives the server's callbacks into it.
  runner.Stop();
  (*store)->Close();
  http->reset();
  store->reset();
  server::log::Info("stopped");
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "cairnd: " << e.what() << std::endl;
    return 1;
  }
}
