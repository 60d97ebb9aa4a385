#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "projections/learning/learner_cache.h"
#include "projections/projection.h"

namespace cairn::projections::learning {

// `progress-feed`: per userId, newest-first items (shared/DOMAIN.md): a
// completed lesson, the first correct answer in a skill, every 10th
// correct answer, streaks of 3, 7, 30 and 100 days, a met daily goal. One
// event may give several items; "position.index" is their cursor.
//
// State keys: "s" + userId, what the milestones are judged from (JSON);
// "i" + length + userId + position + index (big-endian), one item each, so
// that a page is one backward scan.
class ProgressFeed final : public Projection {
 public:
  std::string_view name() const override { return "progress-feed"; }
  uint32_t version() const override { return 1; }
  std::vector<std::string> types() const override {
    return {"AttemptSubmitted", "LessonCompleted", "DailyGoalSet"};
  }
  void BeginBatch() override { cache_.Begin(); }
  Status EndBatch(State& state) override {
    cache_.End(state);
    return Status::Ok();
  }
  void AbortBatch() override { cache_.Abort(); }
  Result<Applied> Apply(const Event& event, State& state) override;

  // {"userId","items":[…],"next":cursor|null}: up to `limit` items older
  // than `before` (a cursor; none: from the newest). InvalidArgument for a
  // malformed cursor.
  static Result<std::string> Page(State& state, std::string_view user_id,
                                  std::optional<std::string_view> before,
                                  size_t limit);

 private:
  LearnerCache cache_;
};

}  // namespace cairn::projections::learning
