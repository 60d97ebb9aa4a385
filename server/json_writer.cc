#include "server/json_writer.h"

#include <boost/json/value.hpp>
#include <charconv>
#include <cmath>

namespace cairn::server {
namespace {

void AppendDigits(std::string* out, uint64_t v, int width) {
  char buf[20];
  for (int i = width - 1; i >= 0; --i, v /= 10) buf[i] = '0' + (v % 10);
  out->append(buf, width);
}

}  // namespace

void AppendUint(std::string* out, uint64_t v) {
  char buf[20];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
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
  out->push_back('"');
  AppendDigits(out, static_cast<uint64_t>(y), 4);
  out->push_back('-');
  AppendDigits(out, m, 2);
  out->push_back('-');
  AppendDigits(out, d, 2);
  out->push_back('T');
  AppendDigits(out, static_cast<uint64_t>(rem / 3600), 2);
  out->push_back(':');
  AppendDigits(out, static_cast<uint64_t>(rem / 60 % 60), 2);
  out->push_back(':');
  AppendDigits(out, static_cast<uint64_t>(rem % 60), 2);
  out->push_back('.');
  AppendDigits(out, static_cast<uint64_t>(frac), 6);
  out->append("Z\"");
}

bool AppendCompactJson(std::string* out, const boost::json::value& v) {
  switch (v.kind()) {
    case boost::json::kind::null:
      out->append("null");
      return true;
    case boost::json::kind::bool_:
      out->append(v.get_bool() ? "true" : "false");
      return true;
    case boost::json::kind::int64: {
      char buf[24];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v.get_int64());
      out->append(buf, end);
      return true;
    }
    case boost::json::kind::uint64:
      AppendUint(out, v.get_uint64());
      return true;
    case boost::json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {  // JSON has no infinity: the caller decides
        out->append("null");
        return false;
      }
      char buf[32];
      auto [end, ec] = std::to_chars(buf, buf + sizeof buf, d);
      out->append(buf, end);
      return true;
    }
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
