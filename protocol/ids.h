#pragma once

#include <compare>
#include <cstdint>
#include <functional>

namespace cairn {

// A number with a meaning, so that a position cannot be passed where a
// revision is expected (redpanda's named_type).
template <typename T, typename Tag>
class NamedType {
 public:
  using value_type = T;
  constexpr NamedType() = default;
  constexpr explicit NamedType(T v) : v_(v) {}
  constexpr T value() const { return v_; }
  constexpr auto operator<=>(const NamedType&) const = default;

 private:
  T v_{};
};

// A tenant's compact id, assigned on its first write (storage/FORMAT.md).
using TenantId = NamedType<uint32_t, struct TenantIdTag>;
// A stream's compact id, unique across tenants, assigned on its first write.
using StreamId = NamedType<uint64_t, struct StreamIdTag>;
// An event's 0-based index within its stream.
using StreamRevision = NamedType<uint64_t, struct StreamRevisionTag>;
// An event's 0-based index in its tenant's log ($all).
using GlobalPosition = NamedType<uint64_t, struct GlobalPositionTag>;

}  // namespace cairn

template <typename T, typename Tag>
struct std::hash<cairn::NamedType<T, Tag>> {
  size_t operator()(const cairn::NamedType<T, Tag>& v) const noexcept {
    return std::hash<T>()(v.value());
  }
};
