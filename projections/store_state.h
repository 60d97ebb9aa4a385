#pragma once

// projections::State on storage's ProjectionStore: over a write being
// built (the runner), or over committed state (readers). Storage errors
// throw std::runtime_error: the runner turns them into a fault.

#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "projections/projection.h"
#include "storage/projection_store.h"

namespace cairn::projections {

// Over a write being built. Values read or written are kept in memory for
// the batch and reach the write once, at Flush: a batch touches the same
// learner many times, and each RocksDB lookup and insert costs more than
// the projection's own work.
class WriteState final : public State {
 public:
  explicit WriteState(storage::ProjectionWrite& write) : write_(write) {}
  std::optional<std::string> Get(std::string_view key) override {
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second.value;
    auto v = write_.Get(key);
    if (!v.has_value()) throw std::runtime_error(v.error().ToString());
    cache_.emplace(std::string(key), Entry{*v, false});
    return std::move(*v);
  }
  void Put(std::string_view key, std::string_view value) override {
    cache_.insert_or_assign(std::string(key), Entry{std::string(value), true});
  }
  void Delete(std::string_view key) override {
    cache_.insert_or_assign(std::string(key), Entry{std::nullopt, true});
  }
  void ScanBackward(
      std::string_view prefix, std::string_view before,
      const std::function<bool(std::string_view, std::string_view)>& visit)
      override {
    Flush();  // the write's own scan sees what is staged
    Status s = write_.ScanBackward(prefix, before, visit);
    if (!s.ok()) throw std::runtime_error(s.ToString());
  }
  // Hands the changes to the write. REQUIRES: before it commits.
  void Flush() {
    for (auto& [key, entry] : cache_) {
      if (!entry.dirty) continue;
      if (entry.value) {
        write_.Put(key, *entry.value);
      } else {
        write_.Delete(key);
      }
      entry.dirty = false;
    }
  }

 private:
  struct Entry {
    std::optional<std::string> value;  // none: absent or deleted
    bool dirty = false;
  };
  storage::ProjectionWrite& write_;
  std::map<std::string, Entry, std::less<>> cache_;
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
