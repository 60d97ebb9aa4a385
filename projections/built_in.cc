#include "projections/built_in.h"

#include "projections/indexes/event_index.h"
#include "projections/learning/dashboard.h"
#include "projections/learning/progress_feed.h"

namespace cairn::projections {

std::vector<std::unique_ptr<Projection>> BuiltInProjections() {
  std::vector<std::unique_ptr<Projection>> built_in;
  built_in.push_back(std::make_unique<indexes::EventIndex>());
  built_in.push_back(std::make_unique<learning::Dashboard>());
  built_in.push_back(std::make_unique<learning::ProgressFeed>());
  return built_in;
}

}  // namespace cairn::projections
