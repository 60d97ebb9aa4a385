#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "storage/event_store.h"

namespace cairn::server {

// Everything cairnd is told at start, from flags, CAIRN_* environment
// variables and a TOML file (--config), in that order of precedence
// (docs/OPERATIONS.md).
struct Config {
  std::string data_dir = "./data";        // Default: ./data
  std::string listen = "127.0.0.1:8642";  // Default: 127.0.0.1:8642
  bool dev = false;                       // Default: off
  std::string jwt_secret_file;
  std::string jwks_file;
  std::string jwt_issuer;
  std::string jwt_audience;
  std::string tenant_claim = "orgId";  // Default: orgId
  storage::Durability durability = storage::Durability::kFsync;
  size_t max_body_bytes = size_t{16} << 20;  // Default: 16 MiB
  size_t max_event_bytes = size_t{1} << 20;  // Default: 1 MiB
  std::vector<std::string> projection_plugins;
  std::string backup_dir;          // Default: DATA_DIR/../backups
  std::string log_level = "info";  // Default: info
  std::vector<std::string> cors_origins;
  // I/O threads. Default: one per core.
  unsigned io_threads = 0;
  // Threads that run storage reads off the I/O threads. Default: 2.
  unsigned reader_threads = 2;
  // Connections open at once (HTTP and WebSocket); one more is answered
  // 503 and closed. Default: 100,000.
  size_t max_connections = 100'000;
  // A connection with no request for this long is closed; a WebSocket that
  // does not answer pings for this long too. Default: 60 s.
  unsigned idle_timeout_seconds = 60;
  // Time SIGTERM gives requests already read to finish. Default: 10 s.
  unsigned shutdown_grace_seconds = 10;
  // A subscription with nothing to send sends a heartbeat this often (API:
  // at least every 15 s). Default: 15,000 ms.
  unsigned heartbeat_ms = 15'000;
  // While nobody waits on a projection, the projector lets commits gather
  // this long between passes (projections::RunnerOptions::gather): a read
  // model read without minPosition may lag this much under load. 0: a
  // pass as soon as the last one ends. Default: 100 ms.
  unsigned projection_gather_ms = 100;
  // The projector thread's nice value (projections::RunnerOptions::nice):
  // passes yield the CPU to appends and reads. 0: the same priority as
  // the rest of cairnd. Default: 19.
  unsigned projection_nice = 19;
  // Zeros kept ahead of the end of the events' WAL under fsync durability
  // (storage::Options::wal_prefill_bytes), in MiB. 0: none. Default: 4.
  unsigned wal_prefill_mib = 4;
  // Live events a subscription may hold unsent before it falls back to
  // reading storage. Default: 10,000.
  size_t subscription_queue_events = 10'000;
  // A subscription this many events behind after its live queue overflowed
  // is ended as a slow consumer (it resumes from its last position).
  // Default: 1,000,000.
  uint64_t slow_consumer_events = 1'000'000;
  // WebSocket limits: subscriptions per socket (default 100), bytes per
  // inbound message (default 64 KiB).
  size_t ws_max_subscriptions = 100;
  size_t ws_max_message_bytes = size_t{64} << 10;
  // Per-tenant limits (server/tenant_limits.h), answered 429 with
  // Retry-After. Events per second a tenant may append (default 0: no
  // cap), the burst it may append at once (default 0: one second's worth),
  // and the subscriptions it may hold open (default 0: no cap).
  double tenant_append_rate = 0;
  uint64_t tenant_append_burst = 0;
  uint64_t tenant_max_subscriptions = 0;
};

// The host and port of --listen.
struct ListenAddress {
  std::string host;
  uint16_t port = 0;
};

// Parses argv (and the environment, and --config or CAIRN_CONFIG): a flag
// overrides its CAIRN_* variable, which overrides the file. A key of the
// file that is no flag, or any [section], is an error. Prints what is wrong
// (or --help) and returns the exit code to use when cairnd must stop, or -1
// to run.
int ParseConfig(int argc, char** argv, Config* config);

// One option of ParseConfig, as --help shows it (docs/OPERATIONS.md lists
// them all; tests/server/config_test.cc checks it).
struct ConfigOption {
  std::string flag;           // "--data-dir"
  std::string toml_key;       // "data-dir"; empty when the file may not set it
  std::string env;            // "CAIRN_DATA_DIR"
  std::string default_value;  // as --help shows it; empty when none is shown
  std::string help;
};

// Every option of ParseConfig but --help, in --help's order.
std::vector<ConfigOption> ConfigOptions();

// Splits HOST:PORT ([v6]:PORT too). False when malformed.
bool ParseListenAddress(const std::string& text, ListenAddress* out);

// Why this configuration cannot run, or empty when it can.
std::string ValidateConfig(const Config& config, const ListenAddress& address);

}  // namespace cairn::server
