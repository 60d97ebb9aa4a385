#include "projections/indexes/event_index.h"

#include <algorithm>

#include "projections/key_encoding.h"
#include "protocol/names.h"

namespace cairn::projections::indexes {
namespace {

constexpr char kTypeTag = 't';
constexpr char kCategoryTag = 'c';
constexpr int kBlockBits = 12;  // 4,096 positions a block
constexpr uint64_t kOffsetMask = (uint64_t{1} << kBlockBits) - 1;
constexpr int kBlockBytes = 8;
constexpr int kOffsetBytes = 2;

// The keys of one name: tag, name, '\0'; a block number follows.
std::string NamePrefix(char tag, std::string_view name) {
  std::string key(1, tag);
  key.append(name);
  key.push_back('\0');
  return key;
}

std::string BlockKey(char tag, std::string_view name, uint64_t position) {
  std::string key = NamePrefix(tag, name);
  PutBigEndian(&key, position >> kBlockBits, kBlockBytes);
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
          EventIndex::kName, tenant, prefix, BlockKey(tag, name, from),
          [&](std::string_view key, std::string_view block) {
            if (key.size() != prefix.size() + kBlockBytes) return true;
            const uint64_t base =
                GetBigEndian(key.substr(prefix.size()), kBlockBytes)
                << kBlockBits;
            for (size_t i = 0; i + kOffsetBytes <= block.size();
                 i += kOffsetBytes) {
              const uint64_t position =
                  base | GetBigEndian(block.substr(i), kOffsetBytes);
              if (position < from) continue;
              if (position >= out.indexed_until) return false;
              out.positions.push_back(position);
              if (++taken == limit) return false;
            }
            return true;
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
  const uint64_t position = event.position.value();
  Add(state, BlockKey(kTypeTag, event.type, position), position);
  Add(state, BlockKey(kCategoryTag, CategoryOf(event.stream), position),
      position);
  return Applied::kApplied;
}

void EventIndex::Add(State& state, std::string key, uint64_t position) {
  auto it = blocks_.find(key);
  if (it == blocks_.end()) {
    it = blocks_.emplace(key, state.Get(key).value_or("")).first;
  }
  std::string& block = it->second;
  const uint64_t offset = position & kOffsetMask;
  // Positions only grow; an offset not above the block's last is there.
  if (block.size() < kOffsetBytes ||
      GetBigEndian(std::string_view(block).substr(block.size() - kOffsetBytes),
                   kOffsetBytes) < offset) {
    PutBigEndian(&block, offset, kOffsetBytes);
  }
  if (!batching_) {
    state.Put(it->first, block);
    blocks_.erase(it);
  }
}

Status EventIndex::EndBatch(State& state) {
  for (const auto& [key, block] : blocks_) state.Put(key, block);
  AbortBatch();
  return Status::Ok();
}

void EventIndex::AbortBatch() {
  blocks_.clear();
  batching_ = false;
}

std::unique_ptr<storage::LogIndex> NewEventIndexReader(
    storage::ProjectionStore* store) {
  return std::make_unique<EventIndexReader>(store);
}

}  // namespace cairn::projections::indexes
