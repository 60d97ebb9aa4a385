// Writes the generated seeds of the fuzz corpora: stored records made by
// EncodeEventRecord (event_record_fuzzer), tokens minted with the fixture's
// keys (jwt_fuzzer) and key files (jwks_fuzzer). The other corpora are
// written by hand.
//
//   make_corpus tests/fuzz/corpus
//
// Every token it writes as valid is first checked to verify, so the seeds
// reach past the signature check. ES256 signatures are randomised: running
// it again changes those files.

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>

#include "protocol/event_record.h"
#include "protocol/uuid.h"
#include "tests/fuzz/jwt_fixture.h"

namespace cairn::fuzz {
namespace {

void Write(const std::filesystem::path& dir, const std::string& name,
           std::string_view bytes) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir / name, std::ios::binary) << bytes;
}

[[noreturn]] void Fail(const char* what) {
  std::fprintf(stderr, "make_corpus: %s\n", what);
  std::exit(1);
}

EVP_PKEY* ReadKey(std::string_view pem) {
  BIO* bio = BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()));
  EVP_PKEY* key = PEM_read_bio_PrivateKey(bio, nullptr, nullptr, nullptr);
  BIO_free(bio);
  if (key == nullptr) Fail("cannot read a private key");
  return key;
}

std::string SignSha256(std::string_view pem, std::string_view input) {
  EVP_PKEY* key = ReadKey(pem);
  EVP_MD_CTX* ctx = EVP_MD_CTX_new();
  size_t len = 0;
  std::string sig;
  if (EVP_DigestSignInit(ctx, nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(ctx, nullptr, &len,
                     reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    Fail("cannot sign");
  }
  sig.resize(len);
  if (EVP_DigestSign(ctx, reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1) {
    Fail("cannot sign");
  }
  sig.resize(len);
  EVP_MD_CTX_free(ctx);
  EVP_PKEY_free(key);
  return sig;
}

// A DER ECDSA-Sig-Value as JWS writes it: r || s, 32 bytes each.
std::string DerToRaw(const std::string& der) {
  const auto* p = reinterpret_cast<const unsigned char*>(der.data());
  ECDSA_SIG* sig = d2i_ECDSA_SIG(nullptr, &p, static_cast<long>(der.size()));
  if (sig == nullptr) Fail("bad ECDSA signature");
  std::string raw(64, '\0');
  auto* out = reinterpret_cast<unsigned char*>(raw.data());
  BN_bn2binpad(ECDSA_SIG_get0_r(sig), out, 32);
  BN_bn2binpad(ECDSA_SIG_get0_s(sig), out + 32, 32);
  ECDSA_SIG_free(sig);
  return raw;
}

std::string Mint(std::string_view alg, std::string_view header,
                 std::string_view claims) {
  if (alg == "HS256") return MintHs256(header, claims);
  const std::string input =
      Base64UrlEncode(header) + "." + Base64UrlEncode(claims);
  std::string sig = alg == "RS256" ? SignSha256(kRsaPrivatePem, input)
                                   : DerToRaw(SignSha256(kEcPrivatePem, input));
  return input + "." + Base64UrlEncode(sig);
}

// The claims of a seed token; the defaults verify at kNow.
struct Claims {
  std::string_view iss = kIssuer;
  std::string_view aud = R"("cairn")";  // JSON: a string or an array
  std::string_view scope = "events:append events:read";
  std::string_view exp = "1800003600";  // JSON: a number
  std::string_view extra = "";          // more members, each after a comma

  std::string Text() const {
    return R"({"iss":")" + std::string(iss) + R"(","aud":)" + std::string(aud) +
           R"(,"sub":"user-1","orgId":"org-1","scope":")" + std::string(scope) +
           R"(","exp":)" + std::string(exp) + std::string(extra) + "}";
  }
};

void Tokens(const std::filesystem::path& dir) {
  const auto verifier = MakeVerifier();
  struct Seed {
    const char* name;
    std::string_view alg;
    std::string header;
    std::string claims;
    bool verifies;
  };
  const std::string rsa = R"({"alg":"RS256","typ":"JWT","kid":"fuzz-rsa"})";
  const std::string ec = R"({"alg":"ES256","kid":"fuzz-ec"})";
  const Seed seeds[] = {
      {"hs256", "HS256", R"({"alg":"HS256","typ":"JWT"})", Claims{}.Text(),
       true},
      {"hs256-at-jwt", "HS256", R"({"alg":"HS256","typ":"at+jwt"})",
       Claims{.extra = R"(,"nbf":1799999000,"iat":1799999000)"}.Text(), true},
      {"hs256-kid", "HS256", R"({"alg":"HS256","kid":"issuer-secret"})",
       Claims{.aud = R"(["other","cairn"])", .scope = "self"}.Text(), true},
      {"hs256-fractional-exp", "HS256", R"({"alg":"HS256"})",
       Claims{.exp = "1800003600.5"}.Text(), true},
      {"rs256", "RS256", rsa, Claims{}.Text(), true},
      {"rs256-admin", "RS256", rsa,
       Claims{.scope = "admin read-models:read"}.Text(), true},
      {"es256", "ES256", ec, Claims{}.Text(), true},
      {"es256-typ", "ES256",
       R"({"alg":"ES256","typ":"application/JWT","kid":"fuzz-ec"})",
       Claims{}.Text(), true},
      {"expired", "HS256", R"({"alg":"HS256"})",
       Claims{.exp = "1799990000"}.Text(), false},
      {"not-yet-valid", "HS256", R"({"alg":"HS256"})",
       Claims{.extra = R"(,"nbf":1800001000)"}.Text(), false},
      {"wrong-issuer", "HS256", R"({"alg":"HS256"})",
       Claims{.iss = "https://evil.example"}.Text(), false},
      {"wrong-audience", "RS256", rsa, Claims{.aud = R"(["other"])"}.Text(),
       false},
      {"alg-confusion", "HS256", R"({"alg":"HS256","kid":"fuzz-rsa"})",
       Claims{}.Text(), false},
      {"unknown-kid", "ES256", R"({"alg":"ES256","kid":"nobody"})",
       Claims{}.Text(), false},
      {"crit", "HS256", R"({"alg":"HS256","crit":["exp"]})", Claims{}.Text(),
       false},
      {"no-tenant", "HS256", R"({"alg":"HS256"})",
       R"({"iss":"https://issuer.example","aud":"cairn","sub":"u",)"
       R"("exp":1800003600})",
       false},
  };
  for (const Seed& s : seeds) {
    const std::string token = Mint(s.alg, s.header, s.claims);
    if (verifier->Verify(token, kNow).has_value() != s.verifies) {
      Fail(s.name);
    }
    Write(dir, s.name, token);
  }
  Write(dir, "alg-none",
        Base64UrlEncode(R"({"alg":"none"})") + "." +
            Base64UrlEncode(Claims{}.Text()) + ".");
  Write(dir, "jwe-five-parts", "a.b.c.d.e");
}

void Records(const std::filesystem::path& dir) {
  const Uuid id = *Uuid::Parse("0b5d3c3e-6a5f-4b7e-9d9e-1f0c2e0a9b11");
  const std::string_view context =
      R"({"orgId":"org-1","principal":"user-1","traceId":"4bf92f3577b34da6a3ce929d0e0e4736"})";
  struct Seed {
    const char* name;
    NewEventRecord event;
    uint64_t revision;
    int64_t time_us;
  };
  const Seed seeds[] = {
      {"attempt",
       {id, "learner-user-1", "AttemptSubmitted",
        R"({"attemptId":"a-1","correct":true,"score":1})", "{}", context},
       0,
       1'795'600'800'000'000},
      {"late-revision",
       {id, "learner-user-1", "LessonCompleted", R"({"score":0.9})",
        R"({"source":"web"})", context},
       41,
       1'795'601'100'000'000},
      {"unicode",
       {id, "élève-ünïcödé-☃", "Note", R"("héllo ☃")", "{}", context},
       7,
       1},
      {"empty-strings", {id, "s", "T", "", "", ""}, 0, 0},
      {"null-data",
       {id, "orders-42", "OrderPlaced", "null", "{}", context},
       UINT64_MAX,
       INT64_MAX},
      {"negative-time", {id, "a-b-c", "X", "[1,2,3]", "{}", context}, 3, -1},
  };
  for (const Seed& s : seeds) {
    std::string record = EncodeEventRecord(s.event);
    PatchEventRecord(&record, s.event.id, StreamRevision(s.revision),
                     s.time_us);
    if (!DecodeEventRecord(record).has_value()) Fail(s.name);
    Write(dir, s.name, record);
  }
  // As encoded, before the sequencer patches revision and time.
  Write(dir, "unpatched",
        EncodeEventRecord({id, "learner-user-2", "LessonStarted",
                           R"({"lessonId":"fractions-1"})", "{}", context}));
}

void KeyFiles(const std::filesystem::path& dir) {
  Write(dir, "fixture-jwks", kJwks);
  Write(dir, "secret", std::string(kHs256Secret) + "\n");
  Write(dir, "short-secret", "too short\n");
  Write(dir, "skipped-keys",
        R"({"keys":[{"kty":"oct","kid":"o","k":"c2VjcmV0"},)"
        R"({"kty":"RSA","use":"enc","kid":"e","n":"AQAB","e":"AQAB"},)"
        R"({"kty":"EC","crv":"P-384","kid":"p384","x":"AA","y":"AA"}]})");
  Write(dir, "no-kid",
        R"({"keys":[{"kty":"EC","crv":"P-256","x":"AA","y":"AA"}]})");
  Write(dir, "duplicate-kid",
        std::string(R"({"keys":[)") +
            std::string(kJwks.substr(9, kJwks.size() - 11)) + "," +
            std::string(kJwks.substr(9, kJwks.size() - 11)) + "]}");
}

}  // namespace
}  // namespace cairn::fuzz

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: make_corpus CORPUS_DIR\n");
    return 2;
  }
  const std::filesystem::path root = argv[1];
  cairn::fuzz::Records(root / "event_record_fuzzer");
  cairn::fuzz::Tokens(root / "jwt_fuzzer");
  cairn::fuzz::KeyFiles(root / "jwks_fuzzer");
  return 0;
}
