#pragma once

// The first users' events (shared/DOMAIN.md) as the built-in `dashboard`
// and `progress-feed` projections read them, and the small pieces of JSON
// and time handling both need. An event with a missing or ill-typed field
// the projections use does not parse: it is skipped, never fatal.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>

#include "protocol/json_text.h"

namespace cairn::projections::learning {

struct AttemptSubmitted {
  std::string user_id;
  std::string skill_id;
  bool correct = false;
  int64_t submitted_us = 0;  // microseconds since the epoch, UTC
  std::string submitted_at;  // as sent
};

struct LessonCompleted {
  std::string user_id;
  std::string lesson_id;
  double score = 0;
  int64_t completed_us = 0;
  std::string completed_at;
};

struct DailyGoalSet {
  std::string user_id;
  int64_t attempts_per_day = 0;  // > 0
};

using LearnerEvent =
    std::variant<AttemptSubmitted, LessonCompleted, DailyGoalSet>;

// None when the type is not one of these, or a field is missing or
// ill-typed (`bad` tells which).
std::optional<LearnerEvent> ParseLearnerEvent(std::string_view type,
                                              std::string_view data, bool* bad);

// RFC 3339 date-time ("2026-11-25T10:00:00Z", fractions and offsets too)
// to microseconds since the epoch; none when malformed.
std::optional<int64_t> ParseRfc3339(std::string_view text);

// The UTC day (days since 1970-01-01) of a time, and its "YYYY-MM-DD".
int64_t DayOf(int64_t micros);
std::string DayText(int64_t day);

// JSON numbers that are the same on every machine: doubles in their
// shortest round-trip form ("0.75", "1", "0.1"). Strings:
// protocol/json_text.h.
void AppendJsonNumber(std::string* out, double v);
void AppendJsonNumber(std::string* out, int64_t v);

}  // namespace cairn::projections::learning
