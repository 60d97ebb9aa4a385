#include "server/config.h"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>

namespace cairn::server {

int ParseConfig(int argc, char** argv, Config* c) {
  CLI::App app{"cairnd: the Cairn event store server"};
  app.set_config("--config", "", "a TOML file whose keys are the flags");
  const auto env = [](const char* flag) {
    std::string name = "CAIRN_";
    for (const char* p = flag; *p != '\0'; ++p) {
      name += *p == '-' ? '_' : static_cast<char>(std::toupper(*p));
    }
    return name;
  };
  const auto opt = [&](const char* flag, auto* value, const char* help) {
    return app.add_option(std::string("--") + flag, *value, help)
        ->envname(env(flag))
        ->capture_default_str();
  };
  opt("data-dir", &c->data_dir, "the RocksDB directory; created if absent");
  opt("listen", &c->listen, "HTTP and WebSocket address, HOST:PORT");
  app.add_flag("--dev", c->dev,
               "no auth, tenant from X-Cairn-Tenant; loopback only")
      ->envname(env("dev"));
  opt("jwt-secret-file", &c->jwt_secret_file, "HS256 key file");
  opt("jwks-file", &c->jwks_file, "RS256/ES256 public keys (JWKS)");
  opt("jwt-issuer", &c->jwt_issuer, "required iss");
  opt("jwt-audience", &c->jwt_audience, "required aud");
  opt("tenant-claim", &c->tenant_claim, "the claim that names the tenant");
  std::string durability = "fsync";
  opt("durability", &durability, "when a 201 may be sent: fsync, wal or memory")
      ->check(CLI::IsMember({"fsync", "wal", "memory"}));
  opt("max-body-bytes", &c->max_body_bytes, "request body limit (413)");
  opt("max-event-bytes", &c->max_event_bytes,
      "limit on one event's type, data and metadata together (413)");
  opt("projection-plugin", &c->projection_plugins,
      "a projection shared library; repeatable");
  opt("backup-dir", &c->backup_dir, "where online backups go");
  opt("log-level", &c->log_level, "trace, debug, info, warn, error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
  opt("cors-origin", &c->cors_origins, "an allowed browser origin; repeatable");
  opt("io-threads", &c->io_threads, "I/O threads (0: one per core)");
  opt("reader-threads", &c->reader_threads, "storage reader threads")
      ->check(CLI::Range(1u, 64u));
  opt("idle-timeout-seconds", &c->idle_timeout_seconds,
      "close connections idle this long");
  opt("max-connections", &c->max_connections,
      "connections open at once; more are answered 503")
      ->check(CLI::Range(size_t{1}, size_t{10'000'000}));
  opt("shutdown-grace-seconds", &c->shutdown_grace_seconds,
      "time SIGTERM gives requests in flight");
  opt("heartbeat-ms", &c->heartbeat_ms,
      "a subscription with nothing to send sends a heartbeat this often")
      ->check(CLI::Range(10u, 15'000u));
  opt("subscription-queue-events", &c->subscription_queue_events,
      "live events a subscription holds unsent before it reads storage")
      ->check(CLI::Range(size_t{16}, size_t{10'000'000}));
  opt("slow-consumer-events", &c->slow_consumer_events,
      "events behind at which a subscription ends as a slow consumer");
  opt("ws-max-subscriptions", &c->ws_max_subscriptions,
      "subscriptions per WebSocket")
      ->check(CLI::Range(size_t{1}, size_t{100'000}));
  opt("ws-max-message-bytes", &c->ws_max_message_bytes,
      "bytes per message a WebSocket client may send")
      ->check(CLI::Range(size_t{256}, size_t{16} << 20));
  opt("tenant-append-rate", &c->tenant_append_rate,
      "events per second one tenant may append (0: no cap); more is 429")
      ->check(CLI::NonNegativeNumber);
  opt("tenant-append-burst", &c->tenant_append_burst,
      "events one tenant may append at once (0: one second of the rate)");
  opt("tenant-max-subscriptions", &c->tenant_max_subscriptions,
      "subscriptions one tenant may hold open (0: no cap); more is 429");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code;
  }
  c->durability = durability == "wal"      ? storage::Durability::kWal
                  : durability == "memory" ? storage::Durability::kMemory
                                           : storage::Durability::kFsync;
  if (c->backup_dir.empty()) c->backup_dir = c->data_dir + "/../backups";
  return -1;
}

bool ParseListenAddress(const std::string& text, ListenAddress* out) {
  const size_t colon = text.rfind(':');
  if (colon == std::string::npos || colon + 1 == text.size()) return false;
  std::string host = text.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  unsigned long port = 0;
  try {
    size_t used = 0;
    port = std::stoul(text.substr(colon + 1), &used);
    if (used != text.size() - colon - 1 || port > 65535) return false;
  } catch (const std::exception&) {
    return false;
  }
  out->host = host.empty() ? "0.0.0.0" : host;
  out->port = static_cast<uint16_t>(port);
  return true;
}

std::string ValidateConfig(const Config& c, const ListenAddress& address) {
  boost::system::error_code ec;
  const auto ip = boost::asio::ip::make_address(address.host, ec);
  if (ec && address.host != "localhost") {
    return "--listen " + c.listen + ": not an IP address";
  }
  if (c.dev) {
    const bool loopback = address.host == "localhost" || ip.is_loopback();
    if (!loopback) {
      return "--dev serves without authentication and is refused on " +
             address.host + ": listen on a loopback address (127.0.0.1)";
    }
    return "";
  }
  if (c.jwt_secret_file.empty() && c.jwks_file.empty()) {
    return "no authentication configured: give --jwt-secret-file or "
           "--jwks-file, or --dev on a loopback address for development";
  }
  if (c.tenant_claim.empty()) return "--tenant-claim must not be empty";
  return "";
}

}  // namespace cairn::server
