#include "server/config.h"

#include <CLI/CLI.hpp>
#include <boost/asio/ip/address.hpp>
#include <cctype>
#include <cstdlib>
#include <istream>
#include <memory>
#include <string_view>
#include <type_traits>

namespace cairn::server {

namespace {

// CAIRN_ and the flag in upper case with '_' for '-'.
std::string EnvName(std::string_view flag) {
  std::string name = "CAIRN_";
  for (const char ch : flag) {
    name +=
        ch == '-'
            ? '_'
            : static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  }
  return name;
}

bool EnvSet(const std::string& name) {
  const char* value = std::getenv(name.c_str());
  return value != nullptr && *value != '\0';
}

// CLI11's TOML reader, stricter: a key that is not a flag, any section, an
// empty value and a value cut at a '#' are errors (CLI11 ignores the first
// two by default, so a misspelt key would do nothing, and reads the others
// as "" or a truncated value); and a key whose CAIRN_* variable is set is
// dropped, so that the environment overrides the file (CLI11 reads the
// file first and fills an option from the environment only when nothing
// set it).
class ConfigFile : public CLI::ConfigTOML {
 public:
  explicit ConfigFile(const CLI::App* app) : app_(app) {}

  std::vector<CLI::ConfigItem> from_config(std::istream& input) const override {
    std::vector<CLI::ConfigItem> items = CLI::ConfigTOML::from_config(input);
    std::vector<CLI::ConfigItem> kept;
    for (CLI::ConfigItem& item : items) {
      if (!item.parents.empty()) {
        // "++" and "--" open and close a section.
        const std::string what = item.name == "++" || item.name == "--"
                                     ? "[" + item.parents.front() + "]"
                                     : item.fullname();
        throw CLI::ConfigError(
            "a section or dotted key in the --config file (" + what +
            "): cairnd's keys are its flags without --, outside any section");
      }
      const CLI::Option* option = app_->get_option_no_throw("--" + item.name);
      if (option != nullptr && !option->get_configurable()) {
        throw CLI::ConfigError("\"" + item.name +
                               "\" may not be set in the --config file");
      }
      if (option == nullptr) {
        throw CLI::ConfigError(
            "unknown key \"" + item.name +
            "\" in the --config file: its keys are cairnd's flags without "
            "-- (docs/OPERATIONS.md lists them)");
      }
      for (const std::string& value : item.inputs) {
        if (value.empty()) {
          throw CLI::ConfigError("\"" + item.name +
                                 "\" has an empty value in the --config "
                                 "file: leave the key out for its default");
        }
        // A quote left at the front: CLI11 cut the value at a '#', which
        // it takes for a comment even inside quotes.
        if (value.front() == '"' || value.front() == '\'') {
          throw CLI::ConfigError(
              "\"" + item.name +
              "\" in the --config file: a value cannot hold '#' (cairnd's "
              "TOML reader takes it for a comment)");
        }
      }
      if (!option->get_envname().empty() && EnvSet(option->get_envname())) {
        continue;  // the environment wins
      }
      kept.push_back(std::move(item));
    }
    return kept;
  }

 private:
  const CLI::App* app_;
};

// cairnd's command line: every option, bound to a Config.
class Parser {
 public:
  explicit Parser(Config* c) {
    // --config may come from CAIRN_CONFIG too; a file named either way
    // must exist.
    const std::string env_config = EnvSet(kConfigEnv)
                                       ? std::string(std::getenv(kConfigEnv))
                                       : std::string();
    app.set_config("--config", env_config,
                   "a TOML file whose keys are the flags (env CAIRN_CONFIG)",
                   !env_config.empty());
    app.config_formatter(std::make_shared<ConfigFile>(&app));
    app.allow_config_extras(CLI::config_extras_mode::error);
    const auto opt = [&](const char* flag, auto* value, const char* help) {
      CLI::Option* o = app.add_option(std::string("--") + flag, *value, help)
                           ->envname(EnvName(flag))
                           ->capture_default_str();
      // CLI11 2.1 reads "-1" into a size_t or uint64_t as 2^64 - 1.
      if constexpr (std::is_unsigned_v<
                        std::remove_pointer_t<decltype(value)>>) {
        o->check(CLI::Validator(
            [](std::string& text) {
              return text.find('-') == std::string::npos
                         ? std::string()
                         : "not a number of 0 or more: " + text;
            },
            ""));
      }
      return o;
    };
    opt("data-dir", &c->data_dir, "the RocksDB directory; created if absent");
    opt("listen", &c->listen, "HTTP and WebSocket address, HOST:PORT");
    app.add_flag("--dev", c->dev,
                 "no auth, tenant from X-Cairn-Tenant; loopback only")
        ->envname(EnvName("dev"));
    opt("jwt-secret-file", &c->jwt_secret_file, "HS256 key file");
    opt("jwks-file", &c->jwks_file, "RS256/ES256 public keys (JWKS)");
    opt("jwt-issuer", &c->jwt_issuer, "required iss");
    opt("jwt-audience", &c->jwt_audience, "required aud");
    opt("tenant-claim", &c->tenant_claim, "the claim that names the tenant");
    opt("durability", &durability,
        "when a 201 may be sent: fsync, wal or memory")
        ->check(CLI::IsMember({"fsync", "wal", "memory"}));
    opt("max-body-bytes", &c->max_body_bytes, "request body limit (413)");
    opt("max-event-bytes", &c->max_event_bytes,
        "limit on one event's type, data and metadata together (413)");
    opt("projection-plugin", &c->projection_plugins,
        "a projection shared library; repeatable");
    opt("backup-dir", &c->backup_dir, "where online backups go");
    opt("log-level", &c->log_level, "trace, debug, info, warn, error")
        ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error"}));
    opt("cors-origin", &c->cors_origins,
        "an allowed browser origin; repeatable");
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
    opt("projection-gather-ms", &c->projection_gather_ms,
        "while nobody waits on a projection, commits gather at least this "
        "long between its passes (up to ten times it after a long pass)")
        ->check(CLI::Range(0u, 10'000u));
    opt("projection-nice", &c->projection_nice,
        "the projector thread's nice value: 19 yields the CPU to appends, "
        "0 keeps cairnd's")
        ->check(CLI::Range(0u, 19u));
    opt("wal-prefill-mib", &c->wal_prefill_mib,
        "under fsync durability, MiB of zeros written ahead of the WAL's "
        "end, so that commits sync only data; 0: none")
        ->check(CLI::Range(0u, 1024u));
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
  }

  static constexpr const char* kConfigEnv = "CAIRN_CONFIG";
  CLI::App app{"cairnd: the Cairn event store server"};
  std::string durability = "fsync";
};

}  // namespace

int ParseConfig(int argc, char** argv, Config* c) {
  Parser parser(c);
  try {
    parser.app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return parser.app.exit(e);
  }
  c->durability = parser.durability == "wal"      ? storage::Durability::kWal
                  : parser.durability == "memory" ? storage::Durability::kMemory
                                                  : storage::Durability::kFsync;
  if (c->backup_dir.empty()) c->backup_dir = c->data_dir + "/../backups";
  return -1;
}

std::vector<ConfigOption> ConfigOptions() {
  Config config;
  Parser parser(&config);
  std::vector<ConfigOption> out;
  for (const CLI::Option* o : parser.app.get_options()) {
    if (o == parser.app.get_help_ptr() || o->get_lnames().empty()) continue;
    ConfigOption option;
    option.flag = "--" + o->get_lnames().front();
    if (o->get_configurable()) option.toml_key = o->get_lnames().front();
    option.env = o == parser.app.get_config_ptr() ? Parser::kConfigEnv
                                                  : o->get_envname();
    option.default_value = o->get_default_str();
    option.help = o->get_description();
    out.push_back(std::move(option));
  }
  return out;
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
