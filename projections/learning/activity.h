#pragma once

#include <boost/json/array.hpp>
#include <cstdint>
#include <map>

namespace cairn::projections::learning {

// A learner's attempts per UTC day, and the streaks they make. "Today" is
// the day of the latest attempt (shared/DOMAIN.md: no wall clock), so the
// same events give the same figures whenever they are applied.
class Activity {
 public:
  void Add(int64_t day) { ++days_[day]; }
  bool empty() const { return days_.empty(); }
  // The day of the latest attempt. REQUIRES: !empty().
  int64_t today() const { return days_.rbegin()->first; }
  int64_t AttemptsOn(int64_t day) const {
    auto it = days_.find(day);
    return it == days_.end() ? 0 : it->second;
  }
  // Consecutive days with attempts, ending today (0 when none).
  int64_t CurrentStreak() const {
    int64_t n = 0;
    for (auto it = days_.rbegin(); it != days_.rend(); ++it, ++n) {
      if (it->first != today() - n) break;
    }
    return n;
  }
  int64_t LongestStreak() const {
    int64_t best = 0, run = 0, previous = 0;
    for (const auto& [day, count] : days_) {
      run = run > 0 && day == previous + 1 ? run + 1 : 1;
      best = run > best ? run : best;
      previous = day;
    }
    return best;
  }

  // [[day, attempts], …] in day order.
  boost::json::array ToJson() const {
    boost::json::array a;
    for (const auto& [day, count] : days_) a.push_back({day, count});
    return a;
  }
  static Activity FromJson(const boost::json::array& a) {
    Activity activity;
    for (const auto& pair : a) {
      const auto& p = pair.as_array();
      activity.days_[p.at(0).to_number<int64_t>()] =
          p.at(1).to_number<int64_t>();
    }
    return activity;
  }

 private:
  std::map<int64_t, int64_t> days_;
};

}  // namespace cairn::projections::learning
