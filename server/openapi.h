#pragma once

#include <string_view>

namespace cairn::server {

// docs/openapi.json as it was when cairnd was built (server/CMakeLists.txt
// compiles it in): the OpenAPI 3.1 description of the HTTP API, served at
// GET /v1/openapi.json. Static storage; thread-safe.
std::string_view OpenApiDocument();

}  // namespace cairn::server
