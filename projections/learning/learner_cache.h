#pragma once

#include <boost/json.hpp>
#include <map>
#include <string>

#include "projections/learning/activity.h"
#include "projections/projection.h"

namespace cairn::projections::learning {

// A learner's working state as the built-in projections keep it: JSON
// fields (integers and strings) and their activity by day, stored as one
// JSON value under the learner's key.
struct LearnerState {
  boost::json::object fields;
  Activity days;
};

// Learners' states kept decoded for a batch of events and written once at
// its end: parsing and writing the JSON for every event cost more than
// everything else a projection does (docs/BENCHMARKS.md, "Projections").
// Outside a batch, each change is written at once.
class LearnerCache {
 public:
  void Begin() { in_batch_ = true; }
  void End(State& state) {
    for (auto& [key, learner] : batch_) Write(state, key, learner);
    batch_.clear();
    in_batch_ = false;
  }
  void Abort() {
    batch_.clear();
    in_batch_ = false;
  }

  // The learner's state, from the batch, the store, or `fresh` fields
  // (which must hold every key Write sets, "days", so that the bytes
  // stored do not depend on where batches begin and end).
  template <typename Fresh>
  LearnerState& Load(State& state, const std::string& key, Fresh fresh) {
    auto it = batch_.find(key);
    if (it != batch_.end()) return it->second;
    LearnerState learner;
    if (auto stored = state.Get(key)) {
      learner.fields = boost::json::parse(*stored).as_object();
      learner.days = Activity::FromJson(learner.fields.at("days").as_array());
    } else {
      learner.fields = fresh();
    }
    return batch_.insert_or_assign(key, std::move(learner)).first->second;
  }
  // After a change to the state Load gave.
  void Changed(State& state, const std::string& key) {
    if (in_batch_) return;
    auto it = batch_.find(key);
    Write(state, key, it->second);
    batch_.erase(it);
  }

 private:
  static void Write(State& state, const std::string& key,
                    LearnerState& learner) {
    learner.fields["days"] = learner.days.ToJson();
    state.Put(key, boost::json::serialize(learner.fields));
  }

  std::map<std::string, LearnerState, std::less<>> batch_;
  bool in_batch_ = false;
};

}  // namespace cairn::projections::learning
