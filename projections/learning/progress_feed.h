#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>

#include "projections/learning/learner_projection.h"

namespace cairn::projections::learning {

// `progress-feed`: per userId, newest-first items (shared/DOMAIN.md): a
// completed lesson, the first correct answer in a skill, every 10th
// correct answer, streaks of 3, 7, 30 and 100 days, a met daily goal. One
// event may give several items; "position.index" is their cursor.
//
// State keys: "s" + userId, what the milestones are judged from (JSON);
// "i" + length + userId + position + index (big-endian), one item each, so
// that a page is one backward scan.
class ProgressFeed final : public LearnerProjection {
 public:
  std::string_view name() const override { return "progress-feed"; }
  uint32_t version() const override { return 1; }

  // {"userId","items":[…],"next":cursor|null}: up to `limit` items older
  // than `before` (a cursor; none: from the newest). InvalidArgument for a
  // malformed cursor.
  static Result<std::string> Page(State& state, std::string_view user_id,
                                  std::optional<std::string_view> before,
                                  size_t limit);

 private:
  boost::json::object FreshState() const override;
  void Update(const LearnerEvent& event, const std::string& user,
              GlobalPosition position, LearnerState& learner,
              State& state) override;
};

}  // namespace cairn::projections::learning
