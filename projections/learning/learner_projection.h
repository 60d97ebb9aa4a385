#pragma once

#include <boost/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "projections/learning/learner_cache.h"
#include "projections/learning/learner_events.h"
#include "projections/projection.h"

namespace cairn::projections::learning {

// What `dashboard` and `progress-feed` share: the DOMAIN.md events they
// use, one working state per learner under "s" + userId, and that state
// kept decoded for a batch (LearnerCache). A subclass says what a new
// learner's state holds and how an event changes it.
class LearnerProjection : public Projection {
 public:
  std::vector<std::string> types() const final {
    return {"AttemptSubmitted", "LessonCompleted", "DailyGoalSet"};
  }
  void BeginBatch() final { cache_.Begin(); }
  Status EndBatch(State& state) final {
    cache_.End(state);
    return Status::Ok();
  }
  void AbortBatch() final { cache_.Abort(); }

  Result<Applied> Apply(const Event& event, State& state) final {
    bool bad = false;
    auto parsed = ParseLearnerEvent(event.type, event.data, &bad);
    if (!parsed) return bad ? Applied::kSkipped : Applied::kIgnored;
    const std::string& user = std::visit(
        [](const auto& e) -> const std::string& { return e.user_id; }, *parsed);
    const std::string key = StateKey(user);
    LearnerState& learner =
        cache_.Load(state, key, [this] { return FreshState(); });
    Update(*parsed, user, event.position, learner, state);
    cache_.Changed(state, key);
    return Applied::kApplied;
  }

  static std::string StateKey(std::string_view user) {
    return "s" + std::string(user);
  }

 protected:
  // A new learner's fields. Every key the batch's end writes ("days") is
  // here from the start, so that the bytes stored do not depend on where
  // batches begin and end.
  virtual boost::json::object FreshState() const = 0;
  // Applies the event to the learner's state; may write more keys.
  virtual void Update(const LearnerEvent& event, const std::string& user,
                      GlobalPosition position, LearnerState& learner,
                      State& state) = 0;

 private:
  LearnerCache cache_;
};

}  // namespace cairn::projections::learning
