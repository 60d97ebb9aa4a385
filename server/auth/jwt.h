#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "protocol/result.h"
#include "protocol/status.h"

namespace cairn::server::auth {

// The rights a token's `scope` claim grants (docs/API.md, "Auth").
enum class Scope : uint8_t {
  kEventsAppend,    // "events:append"
  kEventsRead,      // "events:read"
  kReadModelsRead,  // "read-models:read"
  kAdmin,           // "admin"
  kSelf,            // "self": the read-model documents keyed by `sub` only
};

// A set of Scopes, as bits.
class ScopeSet {
 public:
  void Add(Scope scope) { bits_ |= Bit(scope); }
  bool Has(Scope scope) const { return (bits_ & Bit(scope)) != 0; }
  bool empty() const { return bits_ == 0; }

  friend bool operator==(ScopeSet, ScopeSet) = default;

 private:
  static uint8_t Bit(Scope scope) {
    return static_cast<uint8_t>(1u << static_cast<unsigned>(scope));
  }

  uint8_t bits_ = 0;
};

// Whom a verified token speaks for.
struct Principal {
  std::string tenant;      // the tenant claim (JwtOptions::tenant_claim)
  std::string subject;     // `sub`
  ScopeSet scopes;         // the known names in `scope`; others are ignored
  int64_t expires_at = 0;  // `exp`, in seconds since the epoch
};

struct JwtOptions {
  // A file whose bytes are the HS256 key; one trailing newline is dropped,
  // and at least 32 bytes must remain. Default: none (HS256 refused).
  std::string secret_file;
  // A JWKS file of RS256 and ES256 public keys, chosen by the token's `kid`.
  // Default: none (RS256 and ES256 refused).
  std::string jwks_file;
  // `iss` must equal this. Default: empty, not checked.
  std::string issuer;
  // `aud` (a string or an array of strings) must hold this. Default: empty,
  // not checked.
  std::string audience;
  // The claim naming the tenant; a non-empty string. Default: orgId.
  std::string tenant_claim = "orgId";
  // Clock skew allowed on `exp` and `nbf`, 0 to 86,400. Default: 60 s.
  int64_t leeway_seconds = 60;
  // Verified tokens remembered, rounded up to a multiple of 16; 0 turns the
  // cache off. Default: 10,000.
  size_t cache_entries = 10'000;
};

// A longer bearer token is refused without being parsed.
inline constexpr size_t kMaxTokenBytes = size_t{8} << 10;

// Verifies the compact JWS bearer tokens of the Authorization header (RFC
// 7519 with the checks of RFC 8725): HS256 under the secret file, RS256 and
// ES256 under the JWKS key the header's `kid` names, each key bound to one
// algorithm. Verified tokens are cached until they expire, so repeating a
// token costs a hash and a lookup rather than a signature check.
//
// Thread-safe: Verify and Reload may be called from any threads at once.
class JwtVerifier {
 public:
  // Loads the keys. Errors: InvalidArgument for bad options or a malformed
  // file, IOError for an unreadable one; the message names the file.
  static Result<std::unique_ptr<JwtVerifier>> Create(JwtOptions options);

  JwtVerifier(const JwtVerifier&) = delete;
  JwtVerifier& operator=(const JwtVerifier&) = delete;
  ~JwtVerifier();

  // The principal of `token` at `now_seconds` (seconds since the epoch), or
  // Unauthenticated with a short reason fit for the client ("token
  // expired"), never key material.
  Result<Principal> Verify(std::string_view token, int64_t now_seconds) const;

  // Re-reads the secret and JWKS files and swaps the new keys in at once,
  // emptying the cache: tokens of a key no longer listed stop verifying.
  // Verify calls already running finish with the old keys. On error (as
  // Create's) the old keys stay in use.
  Status Reload();

  // The number of cached tokens.
  size_t TEST_CachedTokens() const;

 private:
  struct State;

  JwtVerifier(JwtOptions options, std::shared_ptr<const State> state);

  std::shared_ptr<const State> CurrentState() const;

  const JwtOptions options_;
  mutable std::mutex mu_;
  std::shared_ptr<const State> state_;  // guarded by mu_; swapped by Reload
};

}  // namespace cairn::server::auth
