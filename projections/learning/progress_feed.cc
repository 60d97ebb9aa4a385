#include "projections/learning/progress_feed.h"

#include <boost/json.hpp>
#include <charconv>

#include "projections/key_encoding.h"
#include "projections/learning/activity.h"
#include "projections/learning/learner_events.h"

namespace cairn::projections::learning {

namespace json = boost::json;

namespace {

constexpr int64_t kStreakMilestones[] = {3, 7, 30, 100};

std::string ItemPrefix(std::string_view user) {
  std::string key = "i";
  PutBigEndian(&key, user.size(), 4);
  key.append(user);
  return key;
}

std::string ItemKey(std::string_view user, uint64_t position, uint64_t index) {
  std::string key = ItemPrefix(user);
  PutBigEndian(&key, position, 8);
  PutBigEndian(&key, index, 2);
  return key;
}

std::string Cursor(uint64_t position, uint64_t index) {
  return std::to_string(position) + "." + std::to_string(index);
}

// The cursor of an item key (its position and index follow the prefix).
std::string CursorOfKey(std::string_view key, size_t prefix_size) {
  const auto* p =
      reinterpret_cast<const unsigned char*>(key.data() + prefix_size);
  uint64_t position = 0;
  for (int i = 0; i < 8; ++i) position = position << 8 | p[i];
  const uint64_t index = uint64_t{p[8]} << 8 | p[9];
  return Cursor(position, index);
}

int64_t Int(const json::object& o, std::string_view k) {
  const json::value* v = o.if_contains(k);
  return v == nullptr || v->is_null() ? 0 : v->to_number<int64_t>();
}

bool Contains(const json::array& a, const json::value& v) {
  for (const auto& e : a) {
    if (e == v) return true;
  }
  return false;
}

// One feed item being built: the common fields, then the kind's own.
class Item {
 public:
  Item(uint64_t position, uint64_t index, std::string_view time,
       std::string_view kind, std::string_view title) {
    json_ = "{\"cursor\":";
    AppendJsonString(&json_, Cursor(position, index));
    json_ += ",\"position\":";
    AppendJsonNumber(&json_, static_cast<int64_t>(position));
    json_ += ",\"time\":";
    AppendJsonString(&json_, time);
    json_ += ",\"kind\":";
    AppendJsonString(&json_, kind);
    json_ += ",\"title\":";
    AppendJsonString(&json_, title);
  }
  Item& Text(std::string_view key, std::string_view value) {
    Key(key);
    AppendJsonString(&json_, value);
    return *this;
  }
  Item& Number(std::string_view key, double value) {
    Key(key);
    AppendJsonNumber(&json_, value);
    return *this;
  }
  std::string Done() { return json_ + "}"; }

 private:
  void Key(std::string_view key) {
    json_ += ',';
    AppendJsonString(&json_, key);
    json_ += ':';
  }
  std::string json_;
};

}  // namespace

json::object ProgressFeed::FreshState() const {
  return json::object{{"correct", 0},
                      {"goal", nullptr},
                      {"days", json::array()},
                      {"skills", json::array()},
                      {"goalMetDays", json::array()}};
}

void ProgressFeed::Update(const LearnerEvent& event, const std::string& user,
                          GlobalPosition at, LearnerState& learner,
                          State& state) {
  json::object& s = learner.fields;
  Activity& activity = learner.days;

  const uint64_t position = at.value();
  uint64_t index = 0;
  const auto add = [&](std::string item) {
    state.Put(ItemKey(user, position, index++), item);
  };

  if (const auto* c = std::get_if<LessonCompleted>(&event)) {
    add(Item(position, index, c->completed_at, "lesson-completed",
             "Completed lesson " + c->lesson_id)
            .Text("lessonId", c->lesson_id)
            .Number("score", c->score)
            .Done());
  } else if (const auto* g = std::get_if<DailyGoalSet>(&event)) {
    s["goal"] = g->attempts_per_day;
  } else {
    const auto& a = std::get<AttemptSubmitted>(event);
    const int64_t streak_before = activity.CurrentStreak();
    const int64_t day = DayOf(a.submitted_us);
    activity.Add(day);
    if (a.correct) {
      json::array& skills = s["skills"].as_array();
      if (!Contains(skills, json::value(a.skill_id))) {
        skills.emplace_back(a.skill_id);
        add(Item(position, index, a.submitted_at, "first-correct-in-skill",
                 "First correct answer in " + a.skill_id)
                .Text("skillId", a.skill_id)
                .Done());
      }
      const int64_t correct = Int(s, "correct") + 1;
      s["correct"] = correct;
      if (correct % 10 == 0) {
        add(Item(position, index, a.submitted_at, "correct-milestone",
                 std::to_string(correct) + " correct answers")
                .Number("correct", static_cast<double>(correct))
                .Done());
      }
    }
    // Every milestone the streak passed with this attempt (an attempt that
    // fills a gap may pass several).
    const int64_t streak = activity.CurrentStreak();
    for (int64_t m : kStreakMilestones) {
      if (streak_before < m && streak >= m) {
        add(Item(position, index, a.submitted_at, "streak",
                 std::to_string(m) + "-day streak")
                .Number("days", static_cast<double>(m))
                .Done());
      }
    }
    // The goal, once per day, on the attempt that reaches it today.
    // In this order: operator[] reserves room for a new key even when the
    // key exists, which may rehash `s` and leave references into it
    // dangling (Boost.JSON's object::emplace).
    json::array& met_days = s["goalMetDays"].as_array();
    const json::value& goal = s.at("goal");
    if (!goal.is_null() && day == activity.today() &&
        activity.AttemptsOn(day) >= goal.to_number<int64_t>() &&
        !Contains(met_days, json::value(day))) {
      met_days.emplace_back(day);
      add(Item(position, index, a.submitted_at, "daily-goal-met",
               "Daily goal met: " + std::to_string(activity.AttemptsOn(day)) +
                   " attempts")
              .Text("day", DayText(day))
              .Done());
    }
  }
}

Result<std::string> ProgressFeed::Page(State& state, std::string_view user_id,
                                       std::optional<std::string_view> before,
                                       size_t limit) {
  const std::string prefix = ItemPrefix(user_id);
  std::string upper;  // exclusive
  if (before) {
    const size_t dot = before->find('.');
    uint64_t position = 0, index = 0;
    const char* b = before->data();
    const char* e = b + before->size();
    if (dot == std::string_view::npos ||
        std::from_chars(b, b + dot, position).ptr != b + dot ||
        std::from_chars(b + dot + 1, e, index).ptr != e ||
        dot + 1 == before->size()) {
      return Status::InvalidArgument("before must be a cursor such as 1042.0");
    }
    upper = ItemKey(user_id, position, index);
  }
  std::string out = "{\"userId\":";
  AppendJsonString(&out, user_id);
  out += ",\"items\":[";
  size_t taken = 0;
  bool more = false;
  std::string last_key;
  state.ScanBackward(prefix, upper,
                     [&](std::string_view key, std::string_view value) {
                       if (taken == limit) {
                         more = true;  // the page ends before this one
                         return false;
                       }
                       if (taken > 0) out += ',';
                       out.append(value);
                       last_key = key;
                       ++taken;
                       return true;
                     });
  out += "],\"next\":";
  if (more) {
    AppendJsonString(&out, CursorOfKey(last_key, prefix.size()));
  } else {
    out += "null";
  }
  out += '}';
  return out;
}

}  // namespace cairn::projections::learning
