#pragma once

// projections::State on storage's ProjectionStore: over a write being
// built (the runner), or over committed state (readers). Storage errors
// throw std::runtime_error: the runner turns them into a fault.

#include <cstddef>
#include <functional>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>

#include "projections/projection.h"
#include "storage/projection_store.h"

namespace cairn::projections {

// What one projection's state held at its last commit for one tenant, for
// the keys it reads: kept by the runner from one live batch to the next, so
// that a key read at almost every batch (a learner's state) comes from
// memory rather than from a RocksDB lookup each time, which cost a live
// batch more than the projection's own work (docs/BENCHMARKS.md, "Issue
// 7"). Only the runner's thread uses it.
class CommittedCache {
 public:
  // The value at the last commit (none: absent), or null when not cached.
  const std::optional<std::string>* Find(std::string_view key) const {
    auto it = values_.find(key);
    return it == values_.end() ? nullptr : &it->second;
  }
  bool Contains(std::string_view key) const { return Find(key) != nullptr; }
  void Set(std::string_view key, const std::optional<std::string>& value) {
    auto [it, added] = values_.try_emplace(std::string(key));
    if (added) bytes_ += key.size() + kEntryBytes;
    bytes_ -= it->second.value_or("").size();
    it->second = value;
    bytes_ += it->second.value_or("").size();
  }
  void Clear() {
    values_.clear();
    bytes_ = 0;
  }
  // About what it holds in memory.
  size_t bytes() const { return bytes_; }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const noexcept {
      return std::hash<std::string_view>()(s);
    }
  };
  static constexpr size_t kEntryBytes = 96;  // node, strings, bucket
  std::unordered_map<std::string, std::optional<std::string>, Hash,
                     std::equal_to<>>
      values_;
  size_t bytes_ = 0;
};

// Over a write being built. Values read or written are kept in memory for
// the batch and reach the write once, at Flush: a batch touches the same
// learner many times, and each RocksDB lookup and insert costs more than
// the projection's own work. With a CommittedCache, reads are answered
// from it first, and Committed brings it up to date.
class WriteState final : public State {
 public:
  explicit WriteState(storage::ProjectionWrite& write,
                      CommittedCache* committed = nullptr)
      : write_(write), committed_(committed) {}
  std::optional<std::string> Get(std::string_view key) override {
    auto it = cache_.find(key);
    if (it != cache_.end()) return it->second.value;
    std::optional<std::string> value;
    if (const auto* known = committed_ ? committed_->Find(key) : nullptr) {
      value = *known;
    } else {
      // Not staged (a staged key is in cache_): what is committed.
      auto v = write_.Get(key);
      if (!v.has_value()) throw std::runtime_error(v.error().ToString());
      value = std::move(*v);
    }
    cache_.emplace(std::string(key), Entry{value, false, true});
    return value;
  }
  void Put(std::string_view key, std::string_view value) override {
    Stage(key, std::string(value));
  }
  void Delete(std::string_view key) override { Stage(key, std::nullopt); }
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
  // After the write committed: the committed cache learns the values of
  // the keys read, and of the keys it holds that were written. (Keys only
  // written, such as feed items, are not worth the memory.)
  void Committed() {
    if (committed_ == nullptr) return;
    for (const auto& [key, entry] : cache_) {
      if (entry.read || committed_->Contains(key)) {
        committed_->Set(key, entry.value);
      }
    }
  }

 private:
  struct Entry {
    std::optional<std::string> value;  // none: absent or deleted
    bool dirty = false;
    bool read = false;  // by Get, in this batch
  };
  void Stage(std::string_view key, std::optional<std::string> value) {
    auto [it, added] = cache_.try_emplace(std::string(key));
    it->second.value = std::move(value);
    it->second.dirty = true;
  }
  storage::ProjectionWrite& write_;
  CommittedCache* const committed_;
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
