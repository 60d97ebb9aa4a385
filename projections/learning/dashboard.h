#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "projections/learning/learner_projection.h"

namespace cairn::projections::learning {

// `dashboard`: one document per userId (shared/DOMAIN.md): attempts,
// correct answers, accuracy, lessons completed, streaks, last activity,
// the daily goal and per-skill figures.
//
// State keys: "s" + userId holds what the figures are made from (JSON with
// integers and strings only); the document is rendered from it when read
// (one write per event rather than two: reads are far fewer than events).
class Dashboard final : public LearnerProjection {
 public:
  std::string_view name() const override { return "dashboard"; }
  uint32_t version() const override { return 1; }

  // The document of `user_id` (rendered from its state), none before its
  // first event.
  static std::optional<std::string> Document(State& state,
                                             std::string_view user_id);

 private:
  boost::json::object FreshState() const override;
  void Update(const LearnerEvent& event, const std::string& user,
              GlobalPosition position, LearnerState& learner,
              State& state) override;
};

}  // namespace cairn::projections::learning
