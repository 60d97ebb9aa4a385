#include "server/json_writer.h"

#include <array>
#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>
#include <cstring>

namespace cairn::server {
namespace {

// "00" .. "99": a timestamp is written two digits at a time (every event
// of a read has one).
constexpr auto kTwoDigits = [] {
  std::array<char, 200> t{};
  for (int i = 0; i < 100; ++i) {
    t[2 * i] = static_cast<char>('0' + i / 10);
    t[2 * i + 1] = static_cast<char>('0' + i % 10);
  }
  return t;
}();

void PutTwo(char* at, unsigned v) { std::memcpy(at, &kTwoDigits[2 * v], 2); }

}  // namespace

void AppendUint(std::string* out, uint64_t v) {
  char buf[20];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

void AppendInt(std::string* out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

bool AppendDouble(std::string* out, double v) {
  if (!std::isfinite(v)) {
    out->append("null");
    return false;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
  return true;
}

void AppendOptionalUint(std::string* out, std::optional<uint64_t> v) {
  if (v) {
    AppendUint(out, *v);
  } else {
    out->append("null");
  }
}

void AppendTimestamp(std::string* out, int64_t micros) {
  int64_t secs = micros / 1'000'000;
  int64_t frac = micros % 1'000'000;
  if (frac < 0) frac += 1'000'000, --secs;
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) rem += 86400, --days;
  int64_t y;
  unsigned m, d;
  CivilFromDays(days, &y, &m, &d);
  // "YYYY-MM-DDTHH:MM:SS.ffffffZ", quoted, written in place.
  char buf[29] = "\"0000-00-00T00:00:00.000000Z";
  buf[28] = '"';
  // Four digits, as ever: the year's last four (a stored time is the
  // server's clock, so always 1970..9999 in practice).
  const auto year = static_cast<unsigned>((y % 10'000 + 10'000) % 10'000);
  PutTwo(buf + 1, year / 100);
  PutTwo(buf + 3, year % 100);
  PutTwo(buf + 6, m);
  PutTwo(buf + 9, d);
  PutTwo(buf + 12, static_cast<unsigned>(rem / 3600));
  PutTwo(buf + 15, static_cast<unsigned>(rem / 60 % 60));
  PutTwo(buf + 18, static_cast<unsigned>(rem % 60));
  const auto f = static_cast<unsigned>(frac);
  PutTwo(buf + 21, f / 10'000);
  PutTwo(buf + 23, f / 100 % 100);
  PutTwo(buf + 25, f % 100);
  out->append(buf, sizeof buf);
}

bool AppendCompactJson(std::string* out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out->append("null");
      return true;
    case boost::json::kind::bool_:
      out->append(v.get_bool() ? "true" : "false");
      return true;
    case boost::json::kind::int64:
      AppendInt(out, v.get_int64());
      return true;
    case boost::json::kind::uint64:
      AppendUint(out, v.get_uint64());
      return true;
    case boost::json::kind::double_:
      return AppendDouble(out, v.get_double());
    case boost::json::kind::string: {
      const auto& s = v.get_string();
      AppendJsonString(out, std::string_view(s.data(), s.size()));
      return true;
    }
    case boost::json::kind::array: {
      out->push_back('[');
      bool first = true;
      bool finite = true;
      for (const auto& e : v.get_array()) {
        if (!first) out->push_back(',');
        first = false;
        finite = AppendCompactJson(out, e) && finite;
      }
      out->push_back(']');
      return finite;
    }
    case boost::json::kind::object: {
      out->push_back('{');
      bool first = true;
      bool finite = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out->push_back(',');
        first = false;
        AppendJsonString(out,
                         std::string_view(kv.key().data(), kv.key().size()));
        out->push_back(':');
        finite = AppendCompactJson(out, kv.value()) && finite;
      }
      out->push_back('}');
      return finite;
    }
  }
  return true;
}

}  // namespace cairn::server
