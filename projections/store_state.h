#pragma once

// projections::State on storage's ProjectionStore: over a write being
// built (the runner), or over committed state (readers). Storage errors
// throw std::runtime_error: the runner turns them into a fault.

#include <stdexcept>
#include <string>
#include <string_view>

#include "projections/projection.h"
#include "storage/projection_store.h"

namespace cairn::projections {

class WriteState final : public State {
 public:
  explicit WriteState(storage::ProjectionWrite& write) : write_(write) {}
  std::optional<std::string> Get(std::string_view key) override {
    auto v = write_.Get(key);
    if (!v.has_value()) throw std::runtime_error(v.error().ToString());
    return std::move(*v);
  }
  void Put(std::string_view key, std::string_view value) override {
    write_.Put(key, value);
  }
  void Delete(std::string_view key) override { write_.Delete(key); }
  void ScanBackward(
      std::string_view prefix, std::string_view before,
      const std::function<bool(std::string_view, std::string_view)>& visit)
      override {
    Status s = write_.ScanBackward(prefix, before, visit);
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }

 private:
  storage::ProjectionWrite& write_;
};

// Read-only: what the projection has committed for one tenant.
class CommittedState final : public State {
 public:
  CommittedState(storage::ProjectionStore& store, std::string_view projection,
                 std::string_view tenant)
      : store_(store), projection_(projection), tenant_(tenant) {}
  std::optional<std::string> Get(std::string_view key) override {
    auto v = store_.Get(projection_, tenant_, key);
    if (!v.has_value()) throw std::runtime_error(v.error().ToString());
    return std::move(*v);
  }
  void Put(std::string_view, std::string_view) override {
    throw std::logic_error("committed state is read-only");
  }
  void Delete(std::string_view) override {
    throw std::logic_error("committed state is read-only");
  }
  void ScanBackward(
      std::string_view prefix, std::string_view before,
      const std::function<bool(std::string_view, std::string_view)>& visit)
      override {
    Status s = store_.ScanBackward(projection_, tenant_, prefix, before, visit);
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }

 private:
  storage::ProjectionStore& store_;
  const std::string projection_;
  const std::string tenant_;
};

}  // namespace cairn::projections
