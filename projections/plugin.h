#pragma once

#include <memory>
#include <string>

#include "projections/projection.h"
#include "protocol/result.h"

namespace cairn::projections {

// Loads a projection plugin (projections/plugin_abi.h) from a shared
// library. InvalidArgument, with why, when the file cannot be loaded, has
// no entry point, or was built for another ABI version. The library stays
// loaded as long as the projection lives.
Result<std::unique_ptr<Projection>> LoadPlugin(const std::string& path);

}  // namespace cairn::projections
