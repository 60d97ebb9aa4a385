// cairnd's configuration (server/config.h) against what an operator is
// given: docs/OPERATIONS.md lists every option (flag, TOML key, variable,
// default); docs/deploy/cairnd.toml is TOML, parses to the values it states
// and is accepted; docs/deploy/cairnd.service starts cairnd with flags its
// parser takes and agrees with that file; and a key or value of a TOML file
// that cairnd cannot use stops it at start. The syntax of the unit is
// checked by systemd-analyze (verify_systemd_unit.sh).

#include "server/config.h"

#include <gtest/gtest.h>
#include <toml++/toml.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/temp_dir.h"

namespace cairn::server {
namespace {

std::string ReadFile(const char* path) {
  std::ifstream in(path);
  EXPECT_TRUE(in.good()) << "cannot read " << path;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

std::string Join(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) {
    if (!out.empty()) out += ',';
    out += item;
  }
  return out;
}

std::string Number(double v) {
  std::ostringstream out;
  out << v;
  return out.str();
}

// Every value of a Config, by its TOML key, as text (arrays joined by ',').
std::map<std::string, std::string> AsText(const Config& c) {
  const auto n = [](auto v) { return std::to_string(v); };
  return {
      {"data-dir", c.data_dir},
      {"listen", c.listen},
      {"dev", c.dev ? "true" : "false"},
      {"jwt-secret-file", c.jwt_secret_file},
      {"jwks-file", c.jwks_file},
      {"jwt-issuer", c.jwt_issuer},
      {"jwt-audience", c.jwt_audience},
      {"tenant-claim", c.tenant_claim},
      {"durability", c.durability == storage::Durability::kWal      ? "wal"
                     : c.durability == storage::Durability::kMemory ? "memory"
                                                                    : "fsync"},
      {"max-body-bytes", n(c.max_body_bytes)},
      {"max-event-bytes", n(c.max_event_bytes)},
      {"projection-plugin", Join(c.projection_plugins)},
      {"backup-dir", c.backup_dir},
      {"log-level", c.log_level},
      {"cors-origin", Join(c.cors_origins)},
      {"io-threads", n(c.io_threads)},
      {"reader-threads", n(c.reader_threads)},
      {"idle-timeout-seconds", n(c.idle_timeout_seconds)},
      {"max-connections", n(c.max_connections)},
      {"shutdown-grace-seconds", n(c.shutdown_grace_seconds)},
      {"heartbeat-ms", n(c.heartbeat_ms)},
      {"projection-gather-ms", n(c.projection_gather_ms)},
      {"projection-nice", n(c.projection_nice)},
      {"wal-prefill-mib", n(c.wal_prefill_mib)},
      {"subscription-queue-events", n(c.subscription_queue_events)},
      {"slow-consumer-events", n(c.slow_consumer_events)},
      {"ws-max-subscriptions", n(c.ws_max_subscriptions)},
      {"ws-max-message-bytes", n(c.ws_max_message_bytes)},
      {"tenant-append-rate", Number(c.tenant_append_rate)},
      {"tenant-append-burst", n(c.tenant_append_burst)},
      {"tenant-max-subscriptions", n(c.tenant_max_subscriptions)},
  };
}

// What docs/deploy/cairnd.toml says, key by key.
const std::map<std::string, std::string> kExample = {
    {"data-dir", "/var/lib/cairn/data"},
    {"backup-dir", "/var/lib/cairn/backups"},
    {"durability", "fsync"},
    {"listen", "127.0.0.1:8642"},
    {"max-connections", "50000"},
    {"idle-timeout-seconds", "60"},
    {"shutdown-grace-seconds", "10"},
    {"io-threads", "0"},
    {"reader-threads", "2"},
    {"cors-origin", "https://app.example.com"},
    {"jwt-secret-file", "/etc/cairn/jwt-secret"},
    {"jwt-issuer", "https://auth.example.com/"},
    {"jwt-audience", "cairn"},
    {"tenant-claim", "orgId"},
    {"max-body-bytes", "16777216"},
    {"max-event-bytes", "1048576"},
    {"tenant-append-rate", "5000"},
    {"tenant-append-burst", "20000"},
    {"tenant-max-subscriptions", "10000"},
    {"ws-max-subscriptions", "100"},
    {"ws-max-message-bytes", "65536"},
    {"subscription-queue-events", "10000"},
    {"slow-consumer-events", "1000000"},
    {"log-level", "info"},
};

// The exit codes after which systemd does not restart cairnd
// (RestartPreventExitStatus= of docs/deploy/cairnd.service).
std::set<int> NoRestartCodes() {
  std::istringstream in(ReadFile(CAIRN_SYSTEMD_UNIT_FILE));
  const std::string key = "RestartPreventExitStatus=";
  std::set<int> codes;
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(key, 0) != 0) continue;
    std::istringstream words(line.substr(key.size()));
    for (int code; words >> code;) codes.insert(code);
  }
  return codes;
}

// Runs with every CAIRN_* variable of cairnd's options unset (restored
// after), so that the environment of the test run does not leak in.
class ConfigTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const ConfigOption& o : ConfigOptions()) {
      if (o.env.empty()) continue;
      const char* v = std::getenv(o.env.c_str());
      saved_.emplace_back(
          o.env, v == nullptr ? std::nullopt : std::optional<std::string>(v));
      unsetenv(o.env.c_str());
    }
  }
  void TearDown() override {
    for (const auto& [name, value] : saved_) {
      if (value) {
        setenv(name.c_str(), value->c_str(), 1);
      } else {
        unsetenv(name.c_str());
      }
    }
  }

  // ParseConfig of "cairnd ARGS..."; `error` gets what it printed on stderr.
  // A refusal must exit with a code after which systemd does not restart
  // cairnd: a configuration error does not go away by retrying.
  static int Parse(std::vector<std::string> args, Config* config,
                   std::string* error = nullptr) {
    args.insert(args.begin(), "cairnd");
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    ::testing::internal::CaptureStderr();
    const int code =
        ParseConfig(static_cast<int>(args.size()), argv.data(), config);
    const std::string err = ::testing::internal::GetCapturedStderr();
    if (error != nullptr) *error = err;
    if (code > 0) {
      EXPECT_TRUE(NoRestartCodes().count(code))
          << "exit " << code << " (" << err
          << ") is not in RestartPreventExitStatus= of cairnd.service";
    }
    return code;
  }

  // A TOML file of `text` in a fresh directory.
  std::string File(const std::string& text) {
    const std::string path =
        dir_.str() + "/c" + std::to_string(files_++) + ".toml";
    std::ofstream(path) << text;
    return path;
  }

 private:
  std::vector<std::pair<std::string, std::optional<std::string>>> saved_;
  testing::TempDir dir_;
  int files_ = 0;
};

// --- docs/OPERATIONS.md -----------------------------------------------------

// The cells of a Markdown table row, trimmed ("\|" is a '|' inside a cell).
std::vector<std::string> Cells(std::string_view row) {
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 1; i < row.size(); ++i) {
    if (row[i] == '\\' && i + 1 < row.size() && row[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (row[i] == '|') {
      const size_t b = cell.find_first_not_of(' ');
      const size_t e = cell.find_last_not_of(' ');
      cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
      cell.clear();
    } else {
      cell += row[i];
    }
  }
  return cells;
}

// The rows of OPERATIONS.md's configuration table, by flag: the rows whose
// first cell starts with "`--FLAG".
std::map<std::string, std::vector<std::string>> OptionRows() {
  std::map<std::string, std::vector<std::string>> rows;
  std::istringstream in(ReadFile(CAIRN_OPERATIONS_FILE));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("| `--", 0) != 0) continue;
    std::vector<std::string> cells = Cells(line);
    const std::string& first = cells.at(0);
    const std::string flag = first.substr(1, first.find_first_of(" `", 1) - 1);
    EXPECT_TRUE(rows.emplace(flag, std::move(cells)).second)
        << flag << " has two rows in docs/OPERATIONS.md";
  }
  return rows;
}

TEST_F(ConfigTest, OperationsListsEveryOption) {
  const auto rows = OptionRows();
  std::set<std::string> flags;
  for (const ConfigOption& o : ConfigOptions()) {
    flags.insert(o.flag);
    auto it = rows.find(o.flag);
    if (it == rows.end()) {
      ADD_FAILURE() << o.flag << " (" << o.help
                    << ") is missing from docs/OPERATIONS.md's table: add a "
                       "row | `"
                    << o.flag << " ...` | TOML key | variable | default | "
                    << "meaning |";
      continue;
    }
    const std::vector<std::string>& cells = it->second;
    ASSERT_GE(cells.size(), 5u) << o.flag << ": a row has five cells";
    EXPECT_EQ(cells[1], o.toml_key.empty() ? "—" : "`" + o.toml_key + "`")
        << o.flag << ": the TOML key";
    EXPECT_EQ(cells[2], "`" + o.env + "`") << o.flag << ": the variable";
    if (!o.default_value.empty() && o.default_value != "[]") {
      EXPECT_NE(cells[3].find("`" + o.default_value + "`"), std::string::npos)
          << o.flag << ": the default cell should show `" << o.default_value
          << "`, as --help does; it is: " << cells[3];
    }
    EXPECT_FALSE(cells[4].empty()) << o.flag << ": what it means";
  }
  for (const auto& [flag, cells] : rows) {
    EXPECT_TRUE(flags.count(flag)) << "docs/OPERATIONS.md describes " << flag
                                   << ", which cairnd does not have";
  }
}

TEST_F(ConfigTest, OptionsAreFlagsWithTheirVariables) {
  const std::map<std::string, std::string> text = AsText(Config());
  for (const ConfigOption& o : ConfigOptions()) {
    ASSERT_EQ(o.flag.rfind("--", 0), 0u) << o.flag;
    std::string env = "CAIRN_";
    for (char ch : o.flag.substr(2)) {
      env += ch == '-' ? '_' : static_cast<char>(std::toupper(ch));
    }
    EXPECT_EQ(o.env, env);
    if (o.flag == "--config") {
      EXPECT_EQ(o.toml_key, "");
      continue;
    }
    EXPECT_EQ(o.toml_key, o.flag.substr(2));
    // AsText (and so the example's check) covers every key.
    EXPECT_TRUE(text.count(o.toml_key)) << o.toml_key << " is not in AsText";
  }
}

// --- docs/deploy/cairnd.toml ------------------------------------------------

std::string TomlText(const toml::node& node) {
  if (const auto* s = node.as_string()) return s->get();
  if (const auto* i = node.as_integer()) return std::to_string(i->get());
  if (const auto* f = node.as_floating_point()) return Number(f->get());
  if (const auto* b = node.as_boolean()) return b->get() ? "true" : "false";
  if (const auto* a = node.as_array()) {
    std::vector<std::string> items;
    for (const toml::node& item : *a) items.push_back(TomlText(item));
    return Join(items);
  }
  ADD_FAILURE() << "a TOML value cairnd does not take, of type "
                << static_cast<int>(node.type());
  return "";
}

TEST_F(ConfigTest, ExampleIsTomlStatingTheExpectedValues) {
  // toml++ is a strict TOML parser, independent of CLI11's reader.
  toml::table table;
  try {
    table = toml::parse_file(CAIRN_EXAMPLE_CONFIG_FILE);
  } catch (const toml::parse_error& e) {
    FAIL() << "docs/deploy/cairnd.toml is not TOML: " << e;
  }
  std::map<std::string, std::string> stated;
  for (const auto& [key, value] : table) {
    stated.emplace(std::string(key.str()), TomlText(value));
  }
  EXPECT_EQ(stated, kExample);
}

TEST_F(ConfigTest, ExampleParsesToItsValuesAndIsAccepted) {
  Config config;
  std::string error;
  ASSERT_EQ(Parse({"--config", CAIRN_EXAMPLE_CONFIG_FILE}, &config, &error), -1)
      << error;
  const std::map<std::string, std::string> parsed = AsText(config);
  for (const auto& [key, value] : kExample) {
    EXPECT_EQ(parsed.at(key), value) << key;
  }
  ListenAddress address;
  ASSERT_TRUE(ParseListenAddress(config.listen, &address));
  EXPECT_EQ(ValidateConfig(config, address), "");
}

// --- what a TOML file may not say ------------------------------------------

TEST_F(ConfigTest, UnknownKeyIsRefused) {
  Config config;
  std::string error;
  EXPECT_GT(Parse({"--config", File("listen = \"127.0.0.1:8642\"\n"
                                    "jwt-secret-fle = \"/etc/cairn/k\"\n")},
                  &config, &error),
            0);
  EXPECT_NE(error.find("unknown key \"jwt-secret-fle\""), std::string::npos)
      << error;
}

TEST_F(ConfigTest, SectionIsRefused) {
  Config config;
  std::string error;
  EXPECT_GT(Parse({"--config", File("[cairnd]\nlisten = \"127.0.0.1:1\"\n")},
                  &config, &error),
            0);
  EXPECT_NE(error.find("[cairnd]"), std::string::npos) << error;
  EXPECT_GT(Parse({"--config", File("cairnd.listen = \"127.0.0.1:1\"\n")},
                  &config, &error),
            0);
}

TEST_F(ConfigTest, ConfigAndHelpAreNotKeys) {
  Config config;
  std::string error;
  EXPECT_GT(Parse({"--config", File("config = \"/etc/cairn/other.toml\"\n")},
                  &config, &error),
            0);
  EXPECT_NE(error.find("\"config\" may not be set"), std::string::npos)
      << error;
  EXPECT_GT(Parse({"--config", File("help = true\n")}, &config), 0);
}

// CLI11 would read `key = ""` as "" (0 for a number) and cut a value at a
// '#' even inside quotes; cairnd refuses both.
TEST_F(ConfigTest, EmptyValueAndHashInValueAreRefused) {
  Config config;
  std::string error;
  EXPECT_GT(Parse({"--config", File("idle-timeout-seconds = \"\"\n")}, &config,
                  &error),
            0);
  EXPECT_NE(error.find("empty value"), std::string::npos) << error;
  EXPECT_GT(Parse({"--config", File("data-dir =\n")}, &config), 0);
  EXPECT_GT(Parse({"--config", File("jwt-issuer = \"https://a/#x\"\n")},
                  &config, &error),
            0);
  EXPECT_NE(error.find("'#'"), std::string::npos) << error;
  // A ',' inside quotes is fine; a comment after the value too.
  config = Config();
  ASSERT_EQ(Parse({"--config", File("jwt-audience = \"a,b\"  # two in one\n")},
                  &config),
            -1);
  EXPECT_EQ(config.jwt_audience, "a,b");
}

TEST_F(ConfigTest, MissingFileIsRefused) {
  Config config;
  EXPECT_GT(Parse({"--config", "/nonexistent/cairnd.toml"}, &config), 0);
}

// Each line, alone in a file, is refused by the parser with a message that
// names the key.
TEST_F(ConfigTest, ValueOfTheWrongTypeOrOutOfRangeIsRefused) {
  const std::vector<std::pair<std::string, std::string>> bad = {
      {"max-connections = \"many\"", "max-connections"},
      {"max-connections = 0", "max-connections"},
      {"max-connections = 99999999999999999999999", "max-connections"},
      {"max-body-bytes = 1.5", "max-body-bytes"},
      {"max-body-bytes = -1", "max-body-bytes"},
      {"slow-consumer-events = -1", "slow-consumer-events"},
      {"tenant-max-subscriptions = -1", "tenant-max-subscriptions"},
      {"io-threads = -1", "io-threads"},
      {"reader-threads = 0", "reader-threads"},
      {"heartbeat-ms = 60000", "heartbeat-ms"},
      {"projection-gather-ms = 20000", "projection-gather-ms"},
      {"projection-nice = 20", "projection-nice"},
      {"wal-prefill-mib = 2048", "wal-prefill-mib"},
      {"durability = \"fast\"", "durability"},
      {"log-level = \"verbose\"", "log-level"},
      {"tenant-append-rate = -1", "tenant-append-rate"},
      {"dev = \"maybe\"", "dev"},
      {"listen = [\"127.0.0.1:1\", \"127.0.0.1:2\"]", "listen"},
  };
  for (const auto& [line, key] : bad) {
    Config config;
    std::string error;
    EXPECT_GT(Parse({"--config", File(line + "\n")}, &config, &error), 0)
        << line;
    EXPECT_NE(error.find(key), std::string::npos) << line << ": " << error;
  }
  // CLI11 would read -1 as 2^64 - 1 for these, from a flag as from a file.
  Config config;
  EXPECT_GT(Parse({"--max-body-bytes=-1"}, &config), 0);
  setenv("CAIRN_MAX_EVENT_BYTES", "-1", 1);
  EXPECT_GT(Parse({}, &config), 0);
}

// What the parser takes but cairnd refuses at start (main.cc stops with
// exit 2): an address that is not HOST:PORT, no authentication, --dev off
// loopback.
TEST_F(ConfigTest, ConfigurationThatCannotRunIsRefusedAtStart) {
  Config config;
  ASSERT_EQ(Parse({"--config", File("listen = \"localhost\"\n")}, &config), -1);
  ListenAddress address;
  EXPECT_FALSE(ParseListenAddress(config.listen, &address));

  config = Config();
  ASSERT_EQ(Parse({"--config", File("listen = \"0.0.0.0:8642\"\n")}, &config),
            -1);
  ASSERT_TRUE(ParseListenAddress(config.listen, &address));
  EXPECT_NE(ValidateConfig(config, address).find("no authentication"),
            std::string::npos);

  config = Config();
  ASSERT_EQ(Parse({"--config", File("listen = \"0.0.0.0:8642\"\ndev = true\n")},
                  &config),
            -1);
  ASSERT_TRUE(ParseListenAddress(config.listen, &address));
  EXPECT_NE(ValidateConfig(config, address).find("--dev"), std::string::npos);
}

// --- precedence: flag > CAIRN_* > file -------------------------------------

TEST_F(ConfigTest, FlagOverridesEnvironmentOverridesFile) {
  const std::string file = File(
      "listen = \"127.0.0.1:1001\"\n"
      "data-dir = \"/from/file\"\n"
      "log-level = \"warn\"\n"
      "dev = true\n");
  setenv("CAIRN_LISTEN", "127.0.0.1:1002", 1);
  setenv("CAIRN_LOG_LEVEL", "error", 1);
  Config config;
  ASSERT_EQ(Parse({"--config", file, "--log-level", "debug"}, &config), -1);
  EXPECT_EQ(config.data_dir, "/from/file");    // file only
  EXPECT_EQ(config.listen, "127.0.0.1:1002");  // environment over file
  EXPECT_EQ(config.log_level, "debug");        // flag over environment and file
  EXPECT_TRUE(config.dev);
  EXPECT_EQ(config.backup_dir, "/from/file/../backups");  // the default

  // A repeatable option takes several values from "[A,B]" in a variable.
  setenv("CAIRN_CORS_ORIGIN", "[https://a.example,https://b.example]", 1);
  config = Config();
  ASSERT_EQ(Parse({"--config", file}, &config), -1);
  EXPECT_EQ(
      config.cors_origins,
      (std::vector<std::string>{"https://a.example", "https://b.example"}));
  unsetenv("CAIRN_CORS_ORIGIN");

  // An empty variable counts as unset.
  setenv("CAIRN_LISTEN", "", 1);
  config = Config();
  ASSERT_EQ(Parse({"--config", file}, &config), -1);
  EXPECT_EQ(config.listen, "127.0.0.1:1001");
}

TEST_F(ConfigTest, CairnConfigNamesTheFile) {
  setenv("CAIRN_CONFIG", File("data-dir = \"/from/env/file\"\n").c_str(), 1);
  Config config;
  ASSERT_EQ(Parse({}, &config), -1);
  EXPECT_EQ(config.data_dir, "/from/env/file");

  config = Config();
  ASSERT_EQ(
      Parse({"--config", File("data-dir = \"/from/flag/file\"\n")}, &config),
      -1);
  EXPECT_EQ(config.data_dir, "/from/flag/file");

  setenv("CAIRN_CONFIG", "/nonexistent/cairnd.toml", 1);
  config = Config();
  EXPECT_GT(Parse({}, &config), 0);
}

// --- docs/deploy/cairnd.service ---------------------------------------------

// KEY → its values, in order, for every KEY=VALUE line of a unit's
// [Service] section.
std::multimap<std::string, std::string> ServiceSection(
    const std::string& unit) {
  std::multimap<std::string, std::string> keys;
  std::istringstream in(unit);
  std::string section;
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#' || line[0] == ';') continue;
    if (line[0] == '[') {
      section = line;
      continue;
    }
    const size_t eq = line.find('=');
    if (section == "[Service]" && eq != std::string::npos) {
      keys.emplace(line.substr(0, eq), line.substr(eq + 1));
    }
  }
  return keys;
}

std::string One(const std::multimap<std::string, std::string>& keys,
                const std::string& key) {
  EXPECT_EQ(keys.count(key), 1u) << key << "= in cairnd.service";
  auto it = keys.find(key);
  return it == keys.end() ? "" : it->second;
}

std::vector<std::string> Words(const std::string& text) {
  std::istringstream in(text);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

// "30s", "30", "1min" → seconds; -1 when it is none of these.
long Seconds(const std::string& text) {
  size_t used = 0;
  const long n = std::stol(text, &used);
  const std::string unit = text.substr(used);
  if (unit.empty() || unit == "s") return n;
  if (unit == "min") return n * 60;
  return -1;
}

TEST_F(ConfigTest, UnitStartsCairndWithTheExampleAndAgreesWithIt) {
  const auto service = ServiceSection(ReadFile(CAIRN_SYSTEMD_UNIT_FILE));
  std::vector<std::string> exec = Words(One(service, "ExecStart"));
  ASSERT_GE(exec.size(), 1u);
  EXPECT_EQ(exec[0], "/usr/local/bin/cairnd");
  // The flags of ExecStart, with the example in place of the file it names.
  bool names_config = false;
  for (std::string& w : exec) {
    if (w == "/etc/cairn/cairnd.toml") {
      w = CAIRN_EXAMPLE_CONFIG_FILE;
      names_config = true;
    }
  }
  EXPECT_TRUE(names_config) << "ExecStart should read /etc/cairn/cairnd.toml";
  Config config;
  std::string error;
  ASSERT_EQ(Parse(std::vector<std::string>(exec.begin() + 1, exec.end()),
                  &config, &error),
            -1)
      << error;
  ListenAddress address;
  ASSERT_TRUE(ParseListenAddress(config.listen, &address));
  EXPECT_EQ(ValidateConfig(config, address), "");

  EXPECT_EQ(One(service, "Type"), "exec");
  EXPECT_EQ(One(service, "User"), "cairn");
  EXPECT_EQ(One(service, "Restart"), "on-failure");
  EXPECT_EQ(One(service, "KillSignal"), "SIGTERM");
  EXPECT_EQ(One(service, "ProtectSystem"), "strict");
  EXPECT_EQ(One(service, "NoNewPrivileges"), "yes");
  EXPECT_EQ(One(service, "PrivateTmp"), "yes");
  // SIGTERM's grace, then the flush, before systemd's SIGKILL.
  EXPECT_GE(Seconds(One(service, "TimeoutStopSec")),
            static_cast<long>(config.shutdown_grace_seconds) + 10);
  // A descriptor per connection, and RocksDB's files beside them.
  EXPECT_GE(std::stoull(One(service, "LimitNOFILE")),
            config.max_connections + 10'000);
  // The data and backup directories are created and writable.
  const std::vector<std::string> state = Words(One(service, "StateDirectory"));
  const std::vector<std::string> writable =
      Words(One(service, "ReadWritePaths"));
  for (const std::string& dir : {config.data_dir, config.backup_dir}) {
    ASSERT_EQ(dir.rfind("/var/lib/", 0), 0u) << dir;
    EXPECT_NE(std::find(state.begin(), state.end(), dir.substr(9)), state.end())
        << dir << " is not a StateDirectory";
    EXPECT_NE(std::find(writable.begin(), writable.end(), dir), writable.end())
        << dir << " is not in ReadWritePaths";
  }
}

}  // namespace
}  // namespace cairn::server
