#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "protocol/ids.h"

namespace cairn::storage {

// Hashes std::string and std::string_view alike, for lookups without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>()(s);
  }
};

template <typename V>
using StringMap =
    std::unordered_map<std::string, V, StringHash, std::equal_to<>>;

// The tenants that have committed at least one write, for readers.
// Thread-safe: the sequencer adds, any thread finds. Entries live as long
// as the directory.
class TenantDirectory {
 public:
  struct Entry {
    TenantId id;
    // The position of the tenant's next event; raised by the sequencer after
    // each commit (release), so a reader that loads it (acquire) can read
    // every event below it.
    std::atomic<uint64_t> log_end{0};
  };

  // Null when the tenant has never written.
  const Entry* Find(std::string_view tenant) const {
    std::shared_lock lock(mu_);
    auto it = by_name_.find(tenant);
    return it == by_name_.end() ? nullptr : it->second.get();
  }

  // Every tenant's name, in no particular order.
  std::vector<std::string> Names() const {
    std::shared_lock lock(mu_);
    std::vector<std::string> names;
    names.reserve(by_name_.size());
    for (const auto& [name, entry] : by_name_) names.push_back(name);
    return names;
  }

  Entry* Add(const std::string& tenant, TenantId id, uint64_t log_end) {
    std::unique_lock lock(mu_);
    auto& e = by_name_[tenant];
    if (!e) e = std::make_unique<Entry>();
    e->id = id;
    e->log_end.store(log_end, std::memory_order_release);
    return e.get();
  }

 private:
  mutable std::shared_mutex mu_;
  StringMap<std::unique_ptr<Entry>> by_name_;  // guarded by mu_
};

}  // namespace cairn::storage
