// Request targets (server/router.h) and the rules for names clients choose
// (protocol/names.h). The input is "METHOD TARGET" (a bare target is a
// GET); its bytes, and the names the route decodes, are also checked as a
// stream id, an event type and a tenant.
//
// A route agrees with the method table of docs/API.md, decodes the same
// names from a fully percent-encoded spelling of them, and the name rules
// agree with an independent reading of them (Unicode's table of well-formed
// UTF-8, table 3-7).

#include <cstddef>
#include <cstdint>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/names.h"
#include "server/router.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using cairn::server::Endpoint;
using cairn::server::MatchRoute;
using cairn::server::Route;

// The methods each endpoint answers (docs/API.md).
std::vector<std::string_view> MethodsOf(Endpoint e) {
  switch (e) {
    case Endpoint::kStreamEvents:
    case Endpoint::kBackups:
      return {"GET", "POST"};
    case Endpoint::kStream:
      return {"GET", "DELETE"};
    case Endpoint::kStreamMetadata:
      return {"PUT"};
    case Endpoint::kTransactions:
    case Endpoint::kRebuild:
      return {"POST"};
    default:
      return {"GET"};
  }
}

bool HasStream(Endpoint e) {
  return e == Endpoint::kStream || e == Endpoint::kStreamEvents ||
         e == Endpoint::kStreamMetadata;
}

std::string PercentEncodeAll(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (const char c : s) {
    const auto b = static_cast<uint8_t>(c);
    out += '%';
    out += kHex[b >> 4];
    out += kHex[b & 0xF];
  }
  return out;
}

// Well-formed UTF-8 by the byte ranges of Unicode table 3-7.
bool WellFormedUtf8(std::string_view s) {
  const auto in = [](uint8_t b, uint8_t lo, uint8_t hi) {
    return b >= lo && b <= hi;
  };
  for (size_t i = 0; i < s.size();) {
    const auto b = [&](size_t k) {
      return i + k < s.size() ? static_cast<uint8_t>(s[i + k]) : uint8_t{0};
    };
    size_t len;
    if (b(0) <= 0x7F) {
      len = 1;
    } else if (in(b(0), 0xC2, 0xDF)) {
      len = 2;
    } else if (b(0) == 0xE0) {
      len = in(b(1), 0xA0, 0xBF) ? 3 : 0;
    } else if (in(b(0), 0xE1, 0xEC) || in(b(0), 0xEE, 0xEF)) {
      len = in(b(1), 0x80, 0xBF) ? 3 : 0;
    } else if (b(0) == 0xED) {
      len = in(b(1), 0x80, 0x9F) ? 3 : 0;
    } else if (b(0) == 0xF0) {
      len = in(b(1), 0x90, 0xBF) ? 4 : 0;
    } else if (in(b(0), 0xF1, 0xF3)) {
      len = in(b(1), 0x80, 0xBF) ? 4 : 0;
    } else if (b(0) == 0xF4) {
      len = in(b(1), 0x80, 0x8F) ? 4 : 0;
    } else {
      return false;
    }
    if (len == 0 || i + len > s.size()) return false;
    for (size_t k = 2; k < len; ++k) {
      if (!in(b(k), 0x80, 0xBF)) return false;
    }
    if (len == 2 && !in(b(1), 0x80, 0xBF)) return false;
    i += len;
  }
  return true;
}

// A stream id or tenant: 1..256 bytes of UTF-8 without C0, DEL or C1 (the
// last encoded as C2 80..C2 9F).
bool ValidName(std::string_view s) {
  if (s.empty() || s.size() > 256 || !WellFormedUtf8(s)) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const auto b = static_cast<uint8_t>(s[i]);
    if (b < 0x20 || b == 0x7F) return false;
    if (b == 0xC2 && i + 1 < s.size() &&
        static_cast<uint8_t>(s[i + 1]) <= 0x9F) {
      return false;
    }
  }
  return true;
}

bool ValidType(std::string_view s) {
  if (s.empty() || s.size() > 256) return false;
  for (const char c : s) {
    if (c < 0x20 || c > 0x7E) return false;
  }
  return true;
}

void CheckNames(std::string_view s) {
  FUZZ_CHECK(cairn::IsValidUtf8(s) == WellFormedUtf8(s));
  const cairn::Status stream = cairn::ValidateStreamId(s);
  FUZZ_CHECK(stream.ok() == ValidName(s));
  FUZZ_CHECK(stream.ok() || stream.IsInvalidArgument());
  FUZZ_CHECK(cairn::ValidateTenant(s).ok() == ValidName(s));
  const cairn::Status type = cairn::ValidateEventType(s);
  FUZZ_CHECK(type.ok() == ValidType(s));
  FUZZ_CHECK(type.ok() || type.IsInvalidArgument());
  const std::string_view category = cairn::CategoryOf(s);
  FUZZ_CHECK(s.substr(0, category.size()) == category);
  FUZZ_CHECK(category.find('-') == std::string_view::npos);
  FUZZ_CHECK(category.size() == s.size() || s[category.size()] == '-');
}

void CheckRoute(std::string_view method, std::string_view target) {
  const Route r = MatchRoute(method, target);
  if (target.empty() || target[0] != '/') {
    FUZZ_CHECK(r.outcome == Route::Outcome::kBadTarget);
  }
  if (r.outcome == Route::Outcome::kBadTarget ||
      r.outcome == Route::Outcome::kNotFound) {
    FUZZ_CHECK(r.stream.empty() && r.projection.empty() && r.key.empty());
    FUZZ_CHECK(r.allow.empty());
    return;
  }
  FUZZ_CHECK(cairn::server::EndpointName(r.endpoint) != "unknown");
  const std::vector<std::string_view> methods = MethodsOf(r.endpoint);
  bool answers = false;
  std::string allow;
  for (std::string_view m : methods) {
    answers = answers || m == method;
    if (!allow.empty()) allow += ", ";
    allow += m;
  }
  if (r.outcome == Route::Outcome::kOk) {
    FUZZ_CHECK(answers && r.allow.empty());
  } else {
    FUZZ_CHECK(r.outcome == Route::Outcome::kMethodNotAllowed);
    FUZZ_CHECK(!answers && r.allow == allow);
  }
  FUZZ_CHECK(HasStream(r.endpoint) || r.stream.empty());

  // Each query parameter's first value is the one Param finds.
  std::set<std::string_view> seen;
  for (const auto& [key, value] : r.query) {
    if (seen.insert(key).second) FUZZ_CHECK(r.Param(key) == value);
  }

  // The same names, every byte percent-encoded, route the same way.
  std::string spelled;
  if (HasStream(r.endpoint)) {
    const std::string_view tail = r.endpoint == Endpoint::kStream ? ""
                                  : r.endpoint == Endpoint::kStreamEvents
                                      ? "/events"
                                      : "/metadata";
    spelled = "/v1/streams/" + PercentEncodeAll(r.stream) + std::string(tail);
  } else if (r.endpoint == Endpoint::kReadModel) {
    spelled = "/v1/read-models/" + PercentEncodeAll(r.projection) + "/" +
              PercentEncodeAll(r.key);
  } else if (r.endpoint == Endpoint::kRebuild) {
    spelled = "/v1/projections/" + PercentEncodeAll(r.projection) + "/rebuild";
  }
  if (!spelled.empty()) {
    const Route again = MatchRoute(methods.front(), spelled);
    FUZZ_CHECK(again.outcome == Route::Outcome::kOk);
    FUZZ_CHECK(again.endpoint == r.endpoint);
    FUZZ_CHECK(again.stream == r.stream);
    FUZZ_CHECK(again.projection == r.projection && again.key == r.key);
  }

  CheckNames(r.stream);
  CheckNames(r.projection);
  CheckNames(r.key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const size_t space = input.find(' ');
  if (space == std::string_view::npos) {
    CheckRoute("GET", input);
  } else {
    CheckRoute(input.substr(0, space), input.substr(space + 1));
  }
  CheckNames(input);
  return 0;
}
