#include "server/auth/authorizer.h"

#include <cctype>
#include <string>

namespace cairn::server::auth {

namespace {

std::string_view ScopeName(Scope scope) {
  switch (scope) {
    case Scope::kEventsAppend:
      return "events:append";
    case Scope::kEventsRead:
      return "events:read";
    case Scope::kReadModelsRead:
      return "read-models:read";
    case Scope::kAdmin:
      return "admin";
    case Scope::kSelf:
      return "self";
  }
  return "?";
}

bool StartsWithBearer(std::string_view value) {
  constexpr std::string_view kBearer = "bearer ";
  if (value.size() < kBearer.size()) return false;
  for (size_t i = 0; i < kBearer.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != kBearer[i]) {
      return false;
    }
  }
  return true;
}

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

}  // namespace

ScopeSet AllScopes() {
  ScopeSet all;
  for (Scope s : {Scope::kEventsAppend, Scope::kEventsRead,
                  Scope::kReadModelsRead, Scope::kAdmin, Scope::kSelf}) {
    all.Add(s);
  }
  return all;
}

Result<Principal> AuthenticateToken(std::string_view token,
                                    std::string_view tenant,
                                    const JwtVerifier* verifier,
                                    int64_t now_seconds) {
  if (verifier == nullptr) {
    return Status::Unauthenticated("token authentication is not configured");
  }
  if (token.empty()) return Status::Unauthenticated("missing bearer token");
  auto principal = verifier->Verify(token, now_seconds);
  if (!principal.has_value()) return principal.error();
  if (!tenant.empty() && tenant != principal->tenant) {
    return Status::PermissionDenied(
        "X-Cairn-Tenant names another tenant than the token's");
  }
  return principal;
}

Result<Principal> Authenticate(std::string_view authorization,
                               std::string_view tenant_header, bool dev,
                               const JwtVerifier* verifier,
                               int64_t now_seconds) {
  if (dev) {
    Principal p;
    p.tenant = tenant_header.empty() ? std::string("default")
                                     : std::string(tenant_header);
    p.subject = std::string(kDevSubject);
    p.scopes = AllScopes();
    return p;
  }
  authorization = Trim(authorization);
  if (authorization.empty()) {
    return Status::Unauthenticated("missing bearer token");
  }
  if (!StartsWithBearer(authorization)) {
    return Status::Unauthenticated(
        "the Authorization header must be Bearer <token>");
  }
  const std::string_view token = Trim(authorization.substr(7));
  return AuthenticateToken(token, tenant_header, verifier, now_seconds);
}

bool IsPublicPath(std::string_view target) {
  const std::string_view path = target.substr(0, target.find('?'));
  return !(path == "/v1" || path.starts_with("/v1/"));
}

Status RequireScope(const Principal& principal, Scope scope) {
  if (principal.scopes.Has(scope)) return Status::Ok();
  return Status::PermissionDenied("the token lacks the scope " +
                                  std::string(ScopeName(scope)));
}

Status RequireReadModel(const Principal& principal, std::string_view key) {
  if (principal.scopes.Has(Scope::kReadModelsRead)) return Status::Ok();
  if (principal.scopes.Has(Scope::kSelf) && key == principal.subject) {
    return Status::Ok();
  }
  return Status::PermissionDenied(
      principal.scopes.Has(Scope::kSelf)
          ? "the token's self scope covers only the key " + principal.subject
          : "the token lacks the scope read-models:read");
}

Status AuthorizeRoute(const Principal& principal, const Route& route,
                      std::string_view method) {
  switch (route.endpoint) {
    case Endpoint::kHealthz:
    case Endpoint::kReadyz:
    case Endpoint::kMetrics:
      return Status::Ok();
    case Endpoint::kStreamEvents:
      return RequireScope(principal, method == "POST" ? Scope::kEventsAppend
                                                      : Scope::kEventsRead);
    case Endpoint::kStream:
      return RequireScope(principal, method == "DELETE" ? Scope::kEventsAppend
                                                        : Scope::kEventsRead);
    case Endpoint::kStreamMetadata:
    case Endpoint::kTransactions:
      return RequireScope(principal, Scope::kEventsAppend);
    case Endpoint::kStreams:
    case Endpoint::kLog:
      return RequireScope(principal, Scope::kEventsRead);
    case Endpoint::kReadModel:
      return RequireReadModel(principal, route.key);
    case Endpoint::kProjections:
      if (principal.scopes.Has(Scope::kAdmin)) return Status::Ok();
      return RequireScope(principal, Scope::kReadModelsRead);
    case Endpoint::kRebuild:
    case Endpoint::kBackups:  // of every tenant: docs/API.md, "Backups"
      return RequireScope(principal, Scope::kAdmin);
    case Endpoint::kOpenApi:
      return Status::Ok();  // authenticated (a /v1 path), no scope
  }
  return Status::PermissionDenied("unknown route");
}

}  // namespace cairn::server::auth
