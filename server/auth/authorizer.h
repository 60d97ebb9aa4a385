#pragma once

// Who is asking and what they may do: the one place a request's
// credentials (the Authorization and X-Cairn-Tenant headers, or a
// WebSocket's auth message) become a Principal, and a Principal is checked
// against what a route or a subscription needs (docs/API.md, "Auth"). No
// sockets; HTTP (server/api.cc) and WebSocket (server/ws_session.cc) both
// call it.

#include <cstdint>
#include <string_view>

#include "protocol/result.h"
#include "protocol/status.h"
#include "server/auth/jwt.h"
#include "server/router.h"

namespace cairn::server::auth {

// The principal of dev mode: every scope.
inline constexpr std::string_view kDevSubject = "anonymous";
ScopeSet AllScopes();

// The caller of a request. Dev mode (`dev`): the tenant is `tenant_header`,
// or "default" when empty (not validated here), subject "anonymous", every
// scope; the Authorization header is not looked at. Otherwise
// `authorization` must be "Bearer <token>" and the token must verify under
// `verifier` at `now_seconds`.
//
// Errors: Unauthenticated (401) for a missing or malformed header, no
// verifier, or a token that does not verify; PermissionDenied (403) when
// `tenant_header` is not empty and names another tenant than the token's.
Result<Principal> Authenticate(std::string_view authorization,
                               std::string_view tenant_header, bool dev,
                               const JwtVerifier* verifier,
                               int64_t now_seconds);

// As Authenticate without dev mode, for a bare token (a WebSocket's
// {"op":"auth","token":…}); `tenant` as `tenant_header` above.
Result<Principal> AuthenticateToken(std::string_view token,
                                    std::string_view tenant,
                                    const JwtVerifier* verifier,
                                    int64_t now_seconds);

// Whether a path is served without a token: /healthz, /readyz, /metrics
// and anything outside /v1 (which is a 404).
bool IsPublicPath(std::string_view target);

// OK when `principal` holds `scope`, else PermissionDenied naming it.
Status RequireScope(const Principal& principal, Scope scope);

// A read model's document under `key`: read-models:read, or self when
// `key` is the principal's subject. Else PermissionDenied.
Status RequireReadModel(const Principal& principal, std::string_view key);

// What a matched route (Route::Outcome::kOk) with `method` needs:
//   appends, transactions, delete, metadata           events:append
//   stream and log reads (followed too), stream info,
//   the stream listing                                events:read
//   GET /v1/read-models/{p}/{key}                     RequireReadModel
//   GET /v1/projections                               read-models:read or admin
//   POST /v1/projections/{p}/rebuild                  admin
//   /healthz, /readyz                                 nothing
//   GET /v1/openapi.json                              nothing (a caller)
// Else PermissionDenied.
Status AuthorizeRoute(const Principal& principal, const Route& route,
                      std::string_view method);

}  // namespace cairn::server::auth
