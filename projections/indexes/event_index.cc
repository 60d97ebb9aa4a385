#include "projections/indexes/event_index.h"

#include <algorithm>

#include "projections/key_encoding.h"
#include "protocol/names.h"

namespace cairn::projections::indexes {
namespace {

constexpr char kTypeTag = 't';
constexpr char kCategoryTag = 'c';
constexpr int kPositionBytes = 8;

// The keys of one name: tag, name, '\0'; a position follows.
std::string NamePrefix(char tag, std::string_view name) {
  std::string key(1, tag);
  key.append(name);
  key.push_back('\0');
  return key;
}

std::string PositionKey(char tag, std::string_view name, uint64_t position) {
  std::string key = NamePrefix(tag, name);
  PutBigEndian(&key, position, kPositionBytes);
  return key;
}

class EventIndexReader final : public storage::LogIndex {
 public:
  explicit EventIndexReader(storage::ProjectionStore* store) : store_(store) {}

  bool Covers(const storage::EventFilter& filter) const override {
    return !filter.types.empty() || !filter.categories.empty();
  }

  Result<storage::IndexedPositions> Find(std::string_view tenant,
                                         const storage::EventFilter& filter,
                                         uint64_t from, size_t limit) override {
    // The checkpoint first: every entry below it is committed by then, so
    // what the scans find below it is complete (later entries are cut).
    auto checkpoint = store_->Checkpoint(EventIndex::kName, tenant);
    if (!checkpoint.has_value()) return checkpoint.error();
    storage::IndexedPositions out;
    out.indexed_until = checkpoint->next_position;
    if (from >= out.indexed_until) return out;

    // Types narrow best (a few of many); else categories. The other lists
    // of the filter are checked against each record by storage.
    const bool by_type = !filter.types.empty();
    const char tag = by_type ? kTypeTag : kCategoryTag;
    const std::vector<std::string>& names =
        by_type ? filter.types : filter.categories;
    // The `limit` smallest positions of each name hold the `limit`
    // smallest of their union.
    for (const std::string& name : names) {
      const std::string prefix = NamePrefix(tag, name);
      size_t taken = 0;
      Status s = store_->ScanForward(
          EventIndex::kName, tenant, prefix, PositionKey(tag, name, from),
          [&](std::string_view key, std::string_view) {
            if (key.size() != prefix.size() + kPositionBytes) return true;
            const uint64_t position =
                GetBigEndian(key.substr(prefix.size()), kPositionBytes);
            if (position >= out.indexed_until) return false;
            out.positions.push_back(position);
            return ++taken < limit;
          });
      if (!s.ok()) return s;
    }
    if (names.size() > 1) {
      std::sort(out.positions.begin(), out.positions.end());
      out.positions.erase(
          std::unique(out.positions.begin(), out.positions.end()),
          out.positions.end());
      if (out.positions.size() > limit) out.positions.resize(limit);
    }
    return out;
  }

 private:
  storage::ProjectionStore* const store_;
};

}  // namespace

Result<Applied> EventIndex::Apply(const Event& event, State& state) {
  state.Put(PositionKey(kTypeTag, event.type, event.position.value()), "");
  state.Put(PositionKey(kCategoryTag, CategoryOf(event.stream),
                        event.position.value()),
            "");
  return Applied::kApplied;
}

std::unique_ptr<storage::LogIndex> NewEventIndexReader(
    storage::ProjectionStore* store) {
  return std::make_unique<EventIndexReader>(store);
}

}  // namespace cairn::projections::indexes
