#include "projections/learning/learner_events.h"

#include <boost/json.hpp>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "protocol/json_text.h"

namespace cairn::projections::learning {

namespace json = boost::json;

namespace {

std::optional<std::string> String(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  if (v == nullptr || !v->is_string() || v->get_string().empty()) {
    return std::nullopt;
  }
  return std::string(v->get_string());
}

std::optional<double> Number(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  if (v == nullptr || !v->is_number()) return std::nullopt;
  const double d = v->to_number<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

// A time field: its microseconds and its text.
std::optional<std::pair<int64_t, std::string>> Time(const json::object& o,
                                                    std::string_view k) {
  auto text = String(o, k);
  if (!text) return std::nullopt;
  auto us = ParseRfc3339(*text);
  if (!us) return std::nullopt;
  return std::pair(*us, std::move(*text));
}

bool Digits(std::string_view s, size_t at, size_t n, int* out) {
  if (at + n > s.size()) return false;
  int v = 0;
  for (size_t i = at; i < at + n; ++i) {
    if (s[i] < '0' || s[i] > '9') return false;
    v = v * 10 + (s[i] - '0');
  }
  *out = v;
  return true;
}

}  // namespace

std::optional<int64_t> ParseRfc3339(std::string_view s) {
  int year, month, day, hour, minute, second;
  if (!Digits(s, 0, 4, &year) || s.size() < 20 || s[4] != '-' ||
      !Digits(s, 5, 2, &month) || s[7] != '-' || !Digits(s, 8, 2, &day) ||
      (s[10] != 'T' && s[10] != 't') || !Digits(s, 11, 2, &hour) ||
      s[13] != ':' || !Digits(s, 14, 2, &minute) || s[16] != ':' ||
      !Digits(s, 17, 2, &second)) {
    return std::nullopt;
  }
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  size_t at = 19;
  int64_t micros = 0;
  if (at < s.size() && s[at] == '.') {
    ++at;
    int64_t scale = 100000;
    const size_t start = at;
    while (at < s.size() && s[at] >= '0' && s[at] <= '9') {
      micros += (s[at] - '0') * scale;
      scale /= 10;
      ++at;
    }
    if (at == start) return std::nullopt;
  }
  int64_t offset_s = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    int oh, om;
    if (!Digits(s, at + 1, 2, &oh) || at + 3 >= s.size() || s[at + 3] != ':' ||
        !Digits(s, at + 4, 2, &om) || oh > 23 || om > 59) {
      return std::nullopt;
    }
    offset_s = (s[at] == '+' ? 1 : -1) * (oh * 3600 + om * 60);
    at += 6;
  } else {
    return std::nullopt;
  }
  if (at != s.size()) return std::nullopt;
  const int64_t days = DaysFromCivil(year, static_cast<unsigned>(month),
                                     static_cast<unsigned>(day));
  const int64_t seconds =
      days * 86400 + hour * 3600 + minute * 60 + second - offset_s;
  return seconds * 1'000'000 + micros;
}

int64_t DayOf(int64_t micros) {
  constexpr int64_t kDay = int64_t{86400} * 1'000'000;
  return micros >= 0 ? micros / kDay : -((-micros + kDay - 1) / kDay);
}

std::string DayText(int64_t day) {
  int64_t y;
  unsigned m, d;
  CivilFromDays(day, &y, &m, &d);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%04lld-%02u-%02u", static_cast<long long>(y),
                m, d);
  return buf;
}

std::optional<LearnerEvent> ParseLearnerEvent(std::string_view type,
                                              std::string_view data,
                                              bool* bad) {
  *bad = false;
  if (type != "AttemptSubmitted" && type != "LessonCompleted" &&
      type != "DailyGoalSet") {
    return std::nullopt;
  }
  *bad = true;  // until the fields check out
  json::error_code ec;
  const json::value v = json::parse(data, ec);
  const json::object* o = ec ? nullptr : v.if_object();
  if (o == nullptr) return std::nullopt;
  auto user = String(*o, "userId");
  if (!user) return std::nullopt;

  if (type == "AttemptSubmitted") {
    auto skill = String(*o, "skillId");
    const json::value* correct = o->if_contains("correct");
    auto at = Time(*o, "submittedAt");
    if (!skill || correct == nullptr || !correct->is_bool() || !at) {
      return std::nullopt;
    }
    *bad = false;
    return AttemptSubmitted{std::move(*user), std::move(*skill),
                            correct->get_bool(), at->first,
                            std::move(at->second)};
  }
  if (type == "LessonCompleted") {
    auto lesson = String(*o, "lessonId");
    auto score = Number(*o, "score");
    auto at = Time(*o, "completedAt");
    if (!lesson || !score || !at) return std::nullopt;
    *bad = false;
    return LessonCompleted{std::move(*user), std::move(*lesson), *score,
                           at->first, std::move(at->second)};
  }
  const json::value* goal = o->if_contains("attemptsPerDay");
  if (goal == nullptr || !(goal->is_int64() || goal->is_uint64())) {
    return std::nullopt;
  }
  const int64_t n = goal->is_int64() ? goal->get_int64()
                                     : static_cast<int64_t>(goal->get_uint64());
  if (n <= 0) return std::nullopt;
  *bad = false;
  return DailyGoalSet{std::move(*user), n};
}

void AppendJsonNumber(std::string* out, double v) {
  if (v == std::floor(v) && std::fabs(v) < 1e15) {
    AppendJsonNumber(out, static_cast<int64_t>(v));
    return;
  }
  char buf[32];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

void AppendJsonNumber(std::string* out, int64_t v) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof buf, v);
  out->append(buf, end);
}

}  // namespace cairn::projections::learning
