#include "server/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <chrono>

#include "server/json_writer.h"

namespace cairn::server::log {
namespace {

std::atomic<int> g_level{static_cast<int>(Level::kInfo)};

constexpr std::string_view kNames[] = {"trace", "debug", "info", "warn",
                                       "error"};

spdlog::logger& Logger() {
  // spdlog does the locking and the write; the line is ours, so the pattern
  // is the bare message.
  static auto* logger = [] {
    auto l = spdlog::stderr_logger_mt("cairn");
    l->set_pattern("%v");
    l->set_level(spdlog::level::trace);
    l->flush_on(spdlog::level::trace);
    return l.get();
  }();
  return *logger;
}

}  // namespace

bool SetLevel(std::string_view level) {
  for (int i = 0; i < 5; ++i) {
    if (kNames[i] == level) {
      g_level.store(i);
      return true;
    }
  }
  return false;
}

bool Enabled(Level level) { return static_cast<int>(level) >= g_level.load(); }

void Write(Level level, std::string_view msg,
           std::initializer_list<Field> fields) {
  if (!Enabled(level)) return;
  std::string line;
  line.reserve(128);
  line.append("{\"time\":");
  AppendTimestamp(&line,
                  std::chrono::duration_cast<std::chrono::microseconds>(
                      std::chrono::system_clock::now().time_since_epoch())
                      .count());
  line.append(",\"level\":\"");
  line.append(kNames[static_cast<int>(level)]);
  line.append("\",\"msg\":");
  AppendJsonString(&line, msg);
  for (const Field& f : fields) {
    line.push_back(',');
    AppendJsonString(&line, f.key);
    line.push_back(':');
    if (const auto* s = std::get_if<std::string_view>(&f.value)) {
      AppendJsonString(&line, *s);
    } else {
      line.append(std::to_string(std::get<int64_t>(f.value)));
    }
  }
  line.push_back('}');
  Logger().log(spdlog::level::info, "{}", line);
}

}  // namespace cairn::server::log
