#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "projections/learning/learner_cache.h"
#include "projections/projection.h"

namespace cairn::projections::learning {

// `dashboard`: one document per userId (shared/DOMAIN.md): attempts,
// correct answers, accuracy, lessons completed, streaks, last activity,
// the daily goal and per-skill figures.
//
// State keys: "s" + userId holds what the figures are made from (JSON with
// integers and strings only); the document is rendered from it when read
// (one write per event rather than two: reads are far fewer than events).
class Dashboard final : public Projection {
 public:
  std::string_view name() const override { return "dashboard"; }
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

  // The document of `user_id` (rendered from its state), none before its
  // first event.
  static std::optional<std::string> Document(State& state,
                                             std::string_view user_id);

 private:
  LearnerCache cache_;
};

}  // namespace cairn::projections::learning
