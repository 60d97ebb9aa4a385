#pragma once

#include <memory>
#include <vector>

#include "projections/projection.h"

namespace cairn::projections {

// The projections every cairnd runs: `$event-index` (the log's index by
// type and category) and the first users' `dashboard` and `progress-feed`.
std::vector<std::unique_ptr<Projection>> BuiltInProjections();

}  // namespace cairn::projections
