#include "server/auth/jwt.h"

#include <openssl/err.h>
#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <boost/json.hpp>
#include <cctype>
#include <cmath>
#include <cstring>
#include <limits>
#include <optional>
#include <unordered_map>
#include <utility>

#include "server/auth/base64url.h"
#include "server/auth/keys.h"

namespace cairn::server::auth {
namespace {

namespace json = boost::json;

constexpr int64_t kMaxLeewaySeconds = 86'400;
// NumericDates past ±2^53 s are refused: a double is exact up to there, and
// adding the leeway cannot overflow.
constexpr int64_t kMaxNumericDate = int64_t{1} << 53;

Status Refuse(std::string why) {
  return Status::Unauthenticated(std::move(why));
}

using Digest = std::array<unsigned char, 32>;

struct DigestHash {
  size_t operator()(const Digest& d) const {
    size_t h;
    std::memcpy(&h, d.data(), sizeof h);  // already uniform: it is SHA-256
    return h;
  }
};

std::optional<Digest> Sha256(std::string_view data) {
  Digest digest;
  if (EVP_Digest(data.data(), data.size(), digest.data(), nullptr, EVP_sha256(),
                 nullptr) != 1) {
    ERR_clear_error();
    return std::nullopt;
  }
  return digest;
}

// Tokens verified under one key set, each with its principal and the times
// it verifies at. Keyed by the token's SHA-256 rather than by the token: a
// lookup then compares digests, whereas comparing a forged token byte by
// byte with a cached one would time how much of a valid signature the
// forger has guessed. Sharded so that threads rarely share a lock.
// Thread-safe.
class VerifiedCache {
 public:
  struct Entry {
    Principal principal;
    int64_t valid_from;   // nbf - leeway, or the minimum without nbf
    int64_t valid_until;  // exp + leeway: refused from then on
  };

  explicit VerifiedCache(size_t capacity)
      : per_shard_((capacity + kShards - 1) / kShards) {}

  // The principal of a token cached and valid at `now`, or nullopt.
  std::optional<Principal> Find(const Digest& key, int64_t now) {
    Shard& shard = ShardOf(key);
    std::lock_guard lock(shard.mu);
    auto it = shard.entries.find(key);
    if (it == shard.entries.end() || now < it->second.valid_from ||
        now >= it->second.valid_until) {
      return std::nullopt;  // verified afresh, which says why it fails
    }
    return it->second.principal;
  }

  void Insert(const Digest& key, Entry entry, int64_t now) {
    if (per_shard_ == 0) return;
    Shard& shard = ShardOf(key);
    std::lock_guard lock(shard.mu);
    if (shard.entries.size() >= per_shard_) {
      // Full: drop what has expired, and everything if that is not enough.
      // Simpler than LRU bookkeeping on every hit, and a dropped token
      // costs one signature check when it comes back.
      std::erase_if(shard.entries, [now](const auto& kv) {
        return kv.second.valid_until <= now;
      });
      if (shard.entries.size() >= per_shard_) shard.entries.clear();
    }
    shard.entries.insert_or_assign(key, std::move(entry));
  }

  size_t size() {
    size_t n = 0;
    for (Shard& shard : shards_) {
      std::lock_guard lock(shard.mu);
      n += shard.entries.size();
    }
    return n;
  }

 private:
  static constexpr size_t kShards = 16;

  struct Shard {
    std::mutex mu;
    std::unordered_map<Digest, Entry, DigestHash> entries;  // guarded by mu
  };

  // The last byte picks the shard; DigestHash uses the first ones.
  Shard& ShardOf(const Digest& key) { return shards_[key.back() % kShards]; }

  const size_t per_shard_;
  std::array<Shard, kShards> shards_;
};

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  return std::equal(a.begin(), a.end(), b.begin(), b.end(), [](char x, char y) {
    return std::tolower(static_cast<unsigned char>(x)) ==
           std::tolower(static_cast<unsigned char>(y));
  });
}

// `typ` is a media type whose "application/" may be left out (RFC 7515
// §4.1.9): a JWT, or an OAuth access token (RFC 9068). Other types are
// other kinds of token, refused so that one cannot pass for another (RFC
// 8725 §3.11).
bool AcceptableTyp(std::string_view typ) {
  constexpr std::string_view kPrefix = "application/";
  if (typ.size() > kPrefix.size() &&
      EqualsIgnoreCase(typ.substr(0, kPrefix.size()), kPrefix)) {
    typ.remove_prefix(kPrefix.size());
  }
  return EqualsIgnoreCase(typ, "JWT") || EqualsIgnoreCase(typ, "at+jwt");
}

// A token segment decoded to a JSON object, or nullopt.
std::optional<json::object> DecodeObject(std::string_view segment) {
  std::optional<std::string> text = Base64UrlDecode(segment);
  if (!text) return std::nullopt;
  boost::system::error_code ec;
  json::value value = json::parse(*text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.get_object());
}

// A NumericDate (RFC 7519 §2): seconds, possibly fractional, rounded down.
std::optional<int64_t> NumericDate(const json::value& value) {
  if (value.is_int64()) {
    const int64_t s = value.get_int64();
    if (s >= -kMaxNumericDate && s <= kMaxNumericDate) return s;
  } else if (value.is_double()) {
    const double s = std::floor(value.get_double());
    if (s >= -static_cast<double>(kMaxNumericDate) &&
        s <= static_cast<double>(kMaxNumericDate)) {
      return static_cast<int64_t>(s);
    }
  }
  return std::nullopt;
}

// The claim `name` when it is a non-empty string, else nullptr.
const json::string* NonEmptyString(const json::object& claims,
                                   std::string_view name) {
  const json::value* value = claims.if_contains(name);
  const json::string* s = value == nullptr ? nullptr : value->if_string();
  return s == nullptr || s->empty() ? nullptr : s;
}

// `aud` is one audience or an array of them (RFC 7519 §4.1.3).
bool HasAudience(const json::value* aud, std::string_view want) {
  if (aud == nullptr) return false;
  if (aud->is_string()) return aud->get_string() == want;
  if (!aud->is_array()) return false;
  const json::array& all = aud->get_array();
  return std::any_of(all.begin(), all.end(), [want](const json::value& v) {
    return v.is_string() && v.get_string() == want;
  });
}

std::optional<Scope> ScopeFromName(std::string_view name) {
  if (name == "events:append") return Scope::kEventsAppend;
  if (name == "events:read") return Scope::kEventsRead;
  if (name == "read-models:read") return Scope::kReadModelsRead;
  if (name == "admin") return Scope::kAdmin;
  if (name == "self") return Scope::kSelf;
  return std::nullopt;
}

// `scope` is space-separated (RFC 8693 §4.2).
ScopeSet ParseScopes(std::string_view text) {
  ScopeSet scopes;
  while (!text.empty()) {
    const size_t end = text.find(' ');
    if (std::optional<Scope> scope = ScopeFromName(text.substr(0, end))) {
      scopes.Add(*scope);
    }
    text.remove_prefix(end == std::string_view::npos ? text.size() : end + 1);
  }
  return scopes;
}

// Every check but the size limit and the cache. The header is read first
// only to choose the key; no claim is looked at before the signature holds.
Result<VerifiedCache::Entry> VerifyUncached(const KeySet& keys,
                                            const JwtOptions& options,
                                            std::string_view token,
                                            int64_t now) {
  // A JWS in compact form is three segments (a JWE would be five).
  const size_t dot1 = token.find('.');
  const size_t dot2 =
      dot1 == std::string_view::npos ? dot1 : token.find('.', dot1 + 1);
  if (dot2 == std::string_view::npos ||
      token.find('.', dot2 + 1) != std::string_view::npos) {
    return Refuse("malformed token: not three dot-separated parts");
  }
  const std::optional<json::object> header =
      DecodeObject(token.substr(0, dot1));
  if (!header) return Refuse("malformed token header");

  const json::value* alg_value = header->if_contains("alg");
  if (alg_value == nullptr || !alg_value->is_string()) {
    return Refuse("token header has no alg");
  }
  const std::string_view alg_name = alg_value->get_string();
  const std::optional<Algorithm> alg = AlgorithmFromName(alg_name);
  if (!alg) {
    return Refuse(EqualsIgnoreCase(alg_name, "none")
                      ? "unsigned tokens (alg none) are refused"
                      : "token algorithm not supported");
  }
  // Extensions named in `crit` must be understood (RFC 7515 §4.1.11); Cairn
  // understands none.
  if (header->contains("crit")) return Refuse("token header crit refused");
  if (const json::value* typ = header->if_contains("typ");
      typ != nullptr &&
      !(typ->is_string() && AcceptableTyp(typ->get_string()))) {
    return Refuse("token typ is not JWT");
  }
  const json::value* kid = header->if_contains("kid");
  if (kid != nullptr && !kid->is_string()) {
    return Refuse("token kid is not a string");
  }

  // The key: the JWKS key named by `kid`, whose bound algorithm the token
  // must use; else, for HS256 only, the secret (a `kid` the JWKS does not
  // list may name the secret for the issuer).
  const PublicKey* key =
      kid == nullptr ? nullptr : keys.Find(kid->get_string());
  if (key != nullptr && key->alg != *alg) {
    return Refuse("token algorithm does not match its key");
  }
  if (key == nullptr && *alg != Algorithm::kHS256) {
    if (!keys.has_public_keys()) {
      return Refuse(std::string(alg_name) + " tokens are not accepted");
    }
    return Refuse(kid == nullptr ? "token has no kid" : "unknown token kid");
  }
  if (key == nullptr && !keys.has_hs256()) {
    return Refuse("HS256 tokens are not accepted");
  }
  const std::string_view signing_input = token.substr(0, dot2);
  const std::optional<std::string> signature =
      Base64UrlDecode(token.substr(dot2 + 1));
  const bool signature_ok =
      signature.has_value() &&
      (key != nullptr ? key->Verify(signing_input, *signature)
                      : keys.VerifyHs256(signing_input, *signature));
  if (!signature_ok) return Refuse("bad token signature");

  const std::optional<json::object> claims =
      DecodeObject(token.substr(dot1 + 1, dot2 - dot1 - 1));
  if (!claims) return Refuse("malformed token payload");

  const int64_t leeway = options.leeway_seconds;
  const json::value* exp_value = claims->if_contains("exp");
  if (exp_value == nullptr) return Refuse("token has no exp");
  const std::optional<int64_t> exp = NumericDate(*exp_value);
  if (!exp) return Refuse("token exp is not a time");
  if (now >= *exp + leeway) return Refuse("token expired");
  int64_t valid_from = std::numeric_limits<int64_t>::min();
  if (const json::value* nbf_value = claims->if_contains("nbf")) {
    const std::optional<int64_t> nbf = NumericDate(*nbf_value);
    if (!nbf) return Refuse("token nbf is not a time");
    valid_from = *nbf - leeway;
    if (now < valid_from) return Refuse("token not yet valid");
  }
  if (!options.issuer.empty()) {
    const json::value* iss = claims->if_contains("iss");
    if (iss == nullptr || !iss->is_string() ||
        iss->get_string() != options.issuer) {
      return Refuse("token issuer not accepted");
    }
  }
  if (!options.audience.empty() &&
      !HasAudience(claims->if_contains("aud"), options.audience)) {
    return Refuse("token audience not accepted");
  }
  const json::string* tenant = NonEmptyString(*claims, options.tenant_claim);
  if (tenant == nullptr) {
    return Refuse("token has no tenant claim " + options.tenant_claim);
  }
  const json::string* subject = NonEmptyString(*claims, "sub");
  if (subject == nullptr) return Refuse("token has no sub");
  ScopeSet scopes;
  if (const json::value* scope = claims->if_contains("scope")) {
    if (!scope->is_string()) return Refuse("token scope is not a string");
    scopes = ParseScopes(scope->get_string());
  }
  return VerifiedCache::Entry{
      Principal{std::string(*tenant), std::string(*subject), scopes, *exp},
      valid_from, *exp + leeway};
}

}  // namespace

// One key set with the cache of tokens verified under it: Reload replaces
// both together, so a token cached under a key that is gone cannot be found
// again, not even one a Verify racing the Reload inserts late.
struct JwtVerifier::State {
  State(KeySet k, size_t cache_entries)
      : keys(std::move(k)), cache(cache_entries) {}

  const KeySet keys;
  mutable VerifiedCache cache;  // locks of its own
};

Result<std::unique_ptr<JwtVerifier>> JwtVerifier::Create(JwtOptions options) {
  if (options.tenant_claim.empty()) {
    return Status::InvalidArgument("the JWT tenant claim name is empty");
  }
  if (options.leeway_seconds < 0 ||
      options.leeway_seconds > kMaxLeewaySeconds) {
    return Status::InvalidArgument("the JWT leeway must be 0 to 86400 s");
  }
  Result<KeySet> keys = KeySet::Load(options.secret_file, options.jwks_file);
  if (!keys) return keys.error();
  auto state =
      std::make_shared<const State>(*std::move(keys), options.cache_entries);
  return std::unique_ptr<JwtVerifier>(
      new JwtVerifier(std::move(options), std::move(state)));
}

JwtVerifier::JwtVerifier(JwtOptions options, std::shared_ptr<const State> state)
    : options_(std::move(options)), state_(std::move(state)) {}

JwtVerifier::~JwtVerifier() = default;

std::shared_ptr<const JwtVerifier::State> JwtVerifier::CurrentState() const {
  std::lock_guard lock(mu_);
  return state_;
}

Result<Principal> JwtVerifier::Verify(std::string_view token,
                                      int64_t now_seconds) const {
  if (token.size() > kMaxTokenBytes) return Refuse("token too large");
  const std::shared_ptr<const State> state = CurrentState();
  const std::optional<Digest> digest = Sha256(token);
  if (digest) {
    if (std::optional<Principal> hit =
            state->cache.Find(*digest, now_seconds)) {
      return *std::move(hit);
    }
  }
  Result<VerifiedCache::Entry> verified =
      VerifyUncached(state->keys, options_, token, now_seconds);
  if (!verified) return verified.error();
  Principal principal = verified->principal;
  if (digest) state->cache.Insert(*digest, *std::move(verified), now_seconds);
  return principal;
}

Status JwtVerifier::Reload() {
  Result<KeySet> keys = KeySet::Load(options_.secret_file, options_.jwks_file);
  if (!keys) return keys.error();
  std::shared_ptr<const State> next =
      std::make_shared<const State>(*std::move(keys), options_.cache_entries);
  {
    std::lock_guard lock(mu_);
    state_.swap(next);
  }
  // `next` holds the old state now: freed here, outside the lock, unless a
  // Verify still uses it.
  return Status::Ok();
}

size_t JwtVerifier::TEST_CachedTokens() const {
  return CurrentState()->cache.size();
}

}  // namespace cairn::server::auth
