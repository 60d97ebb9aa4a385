#pragma once

#include <cstdint>
#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

namespace cairn::server::log {

enum class Level { kTrace, kDebug, kInfo, kWarn, kError };

// One field of a log line. Request context (trace id, tenant) is passed as
// fields by the caller, never kept in thread-locals.
struct Field {
  std::string_view key;
  std::variant<std::string_view, int64_t> value;
  Field(std::string_view k, std::string_view v) : key(k), value(v) {}
  Field(std::string_view k, const std::string& v)
      : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, const char* v)
      : key(k), value(std::string_view(v)) {}
  Field(std::string_view k, int64_t v) : key(k), value(v) {}
  Field(std::string_view k, uint64_t v)
      : key(k), value(static_cast<int64_t>(v)) {}
  Field(std::string_view k, int v) : key(k), value(int64_t{v}) {}
  Field(std::string_view k, unsigned v) : key(k), value(int64_t{v}) {}
};

// Sets the least level written; false for an unknown name.
bool SetLevel(std::string_view level);
bool Enabled(Level level);

// Writes one JSON line to stderr:
// {"time":"…","level":"info","msg":"…",<fields>}
void Write(Level level, std::string_view msg,
           std::initializer_list<Field> fields = {});

inline void Info(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kInfo, msg, f);
}
inline void Warn(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kWarn, msg, f);
}
inline void Error(std::string_view msg, std::initializer_list<Field> f = {}) {
  Write(Level::kError, msg, f);
}
inline void Debug(std::string_view msg, std::initializer_list<Field> f = {}) {
  if (Enabled(Level::kDebug)) Write(Level::kDebug, msg, f);
}

}  // namespace cairn::server::log
