#pragma once

#include <boost/json.hpp>
#include <cstddef>
#include <optional>
#include <string>
#include <unordered_map>

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
//
// Between batches it keeps (up to kKept learners) the decoded state with
// the bytes it wrote for it, and reuses the decoded state when the store
// gives back those same bytes: a live batch holds a few events of each
// learner, so decoding the state again at every batch was most of its
// JSON work (docs/BENCHMARKS.md, "Issue 7"). The bytes decide, so it
// needs to know nothing of tenants or of commits that failed.
class LearnerCache {
 public:
  static constexpr size_t kKept = 20'000;

  void Begin() { in_batch_ = true; }
  void End(State& state) {
    for (auto& [key, entry] : learners_) {
      if (entry.touched) Write(state, key, entry);
    }
    in_batch_ = false;
    if (learners_.size() > kKept) learners_.clear();
  }
  void Abort() {
    // What the batch changed was not written: those states are not what
    // their bytes say any more.
    std::erase_if(learners_, [](const auto& e) { return e.second.touched; });
    in_batch_ = false;
  }

  // The learner's state, from the batch, the store, or `fresh` fields
  // (which must hold every key Write sets, "days", so that the bytes
  // stored do not depend on where batches begin and end).
  template <typename Fresh>
  LearnerState& Load(State& state, const std::string& key, Fresh fresh) {
    auto it = learners_.find(key);
    if (it != learners_.end() && it->second.touched) return it->second.state;
    const std::optional<std::string> stored = state.Get(key);
    if (it == learners_.end()) {
      it = learners_.try_emplace(key).first;
    } else if (stored && *stored == it->second.bytes) {
      it->second.touched = true;  // decoded from these very bytes
      return it->second.state;
    }
    Entry& entry = it->second;
    entry.touched = true;
    if (stored) {
      entry.state.fields = boost::json::parse(*stored).as_object();
      entry.state.days =
          Activity::FromJson(entry.state.fields.at("days").as_array());
    } else {
      entry.state = {fresh(), Activity()};
    }
    return entry.state;
  }
  // After a change to the state Load gave.
  void Changed(State& state, const std::string& key) {
    if (in_batch_) return;
    Write(state, key, learners_.find(key)->second);
  }

 private:
  struct Entry {
    LearnerState state;
    std::string bytes;     // as written: `state` encoded (when not touched)
    bool touched = false;  // changed by the batch in progress
  };
  static void Write(State& state, const std::string& key, Entry& entry) {
    entry.state.fields["days"] = entry.state.days.ToJson();
    entry.bytes = boost::json::serialize(entry.state.fields);
    state.Put(key, entry.bytes);
    entry.touched = false;
  }

  std::unordered_map<std::string, Entry> learners_;
  bool in_batch_ = false;
};

}  // namespace cairn::projections::learning
