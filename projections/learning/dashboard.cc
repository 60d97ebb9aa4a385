#include "projections/learning/dashboard.h"

#include <boost/json.hpp>
#include <map>

#include "projections/learning/activity.h"
#include "projections/learning/learner_events.h"

namespace cairn::projections::learning {

namespace json = boost::json;

namespace {

int64_t Int(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v == nullptr || v->is_null() ? 0 : v->to_number<int64_t>();
}

// Keeps `at` (and its microseconds) when it is later than the stored one.
void KeepLatest(json::object& o, std::string_view us_key,
                std::string_view text_key, int64_t us, const std::string& at) {
  if (!o.contains(text_key) || us > Int(o, us_key)) {
    o[us_key] = us;
    o[text_key] = at;
  }
}

double Ratio(int64_t part, int64_t whole) {
  return whole == 0 ? 0.0 : static_cast<double>(part) / whole;
}

std::string Render(std::string_view user, const json::object& s) {
  const Activity activity = Activity::FromJson(s.at("days").as_array());
  std::string out = "{\"userId\":";
  AppendJsonString(&out, user);
  out += ",\"attempts\":";
  AppendJsonNumber(&out, Int(s, "attempts"));
  out += ",\"correct\":";
  AppendJsonNumber(&out, Int(s, "correct"));
  out += ",\"accuracy\":";
  AppendJsonNumber(&out, Ratio(Int(s, "correct"), Int(s, "attempts")));
  out += ",\"lessonsCompleted\":";
  AppendJsonNumber(&out, Int(s, "lessons"));
  out += ",\"currentStreakDays\":";
  AppendJsonNumber(&out, activity.CurrentStreak());
  out += ",\"longestStreakDays\":";
  AppendJsonNumber(&out, activity.LongestStreak());
  out += ",\"lastActivityAt\":";
  if (const json::value* at = s.if_contains("lastAt")) {
    AppendJsonString(&out, at->as_string());
  } else {
    out += "null";
  }
  out += ",\"dailyGoal\":";
  if (s.at("goal").is_null()) {
    out += "null";
  } else {
    const int64_t goal = Int(s, "goal");
    const int64_t that_day =
        activity.empty() ? 0 : activity.AttemptsOn(activity.today());
    out += "{\"attemptsPerDay\":";
    AppendJsonNumber(&out, goal);
    out += ",\"day\":";
    if (activity.empty()) {
      out += "null";
    } else {
      AppendJsonString(&out, DayText(activity.today()));
    }
    out += ",\"attemptsThatDay\":";
    AppendJsonNumber(&out, that_day);
    out += that_day >= goal ? ",\"met\":true}" : ",\"met\":false}";
  }
  out += ",\"skills\":{";
  // In skill order, whatever order they first appeared in.
  std::map<std::string_view, const json::object*> skills;
  for (const auto& [id, v] : s.at("skills").as_object()) {
    skills[std::string_view(id.data(), id.size())] = &v.as_object();
  }
  bool first = true;
  for (const auto& [id, k] : skills) {
    if (!first) out += ',';
    first = false;
    AppendJsonString(&out, id);
    out += ":{\"attempts\":";
    AppendJsonNumber(&out, Int(*k, "attempts"));
    out += ",\"correct\":";
    AppendJsonNumber(&out, Int(*k, "correct"));
    out += ",\"accuracy\":";
    AppendJsonNumber(&out, Ratio(Int(*k, "correct"), Int(*k, "attempts")));
    out += ",\"lastAttemptAt\":";
    AppendJsonString(&out, k->at("lastAt").as_string());
    out += '}';
  }
  out += "}}";
  return out;
}

}  // namespace

json::object Dashboard::FreshState() const {
  return json::object{{"attempts", 0},         {"correct", 0},
                      {"lessons", 0},          {"goal", nullptr},
                      {"days", json::array()}, {"skills", json::object()}};
}

void Dashboard::Update(const LearnerEvent& event, const std::string&,
                       GlobalPosition, LearnerState& learner, State&) {
  json::object& s = learner.fields;
  if (const auto* a = std::get_if<AttemptSubmitted>(&event)) {
    s["attempts"] = Int(s, "attempts") + 1;
    if (a->correct) s["correct"] = Int(s, "correct") + 1;
    KeepLatest(s, "lastUs", "lastAt", a->submitted_us, a->submitted_at);
    learner.days.Add(DayOf(a->submitted_us));
    json::value& entry = s["skills"].as_object()[a->skill_id];
    if (!entry.is_object()) entry.emplace_object();
    json::object& skill = entry.as_object();
    skill["attempts"] = Int(skill, "attempts") + 1;
    if (a->correct) skill["correct"] = Int(skill, "correct") + 1;
    KeepLatest(skill, "lastUs", "lastAt", a->submitted_us, a->submitted_at);
  } else if (const auto* c = std::get_if<LessonCompleted>(&event)) {
    s["lessons"] = Int(s, "lessons") + 1;
    KeepLatest(s, "lastUs", "lastAt", c->completed_us, c->completed_at);
  } else {
    s["goal"] = std::get<DailyGoalSet>(event).attempts_per_day;
  }
}

std::optional<std::string> Dashboard::Document(State& state,
                                               std::string_view user_id) {
  auto stored = state.Get(StateKey(user_id));
  if (!stored) return std::nullopt;
  return Render(user_id, json::parse(*stored).as_object());
}

}  // namespace cairn::projections::learning
