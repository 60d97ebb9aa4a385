#include "storage/internal/log_scanner.h"

#include <algorithm>
#include <string>
#include <vector>

#include "protocol/event_record.h"
#include "storage/internal/keys.h"
#include "storage/internal/rocksdb_status.h"

namespace cairn::storage {
namespace {

// Candidates asked of the index at a time: one MultiGet of records each.
constexpr size_t kIndexChunk = 1024;

}  // namespace

Result<std::optional<uint64_t>> LogScanner::Scan(
    TenantId id, std::string_view tenant, uint64_t end,
    const LogReadOptions& options, const EventVisitor& visit) const {
  uint64_t from = options.from;
  if (options.limit == 0 || from >= end) return std::optional<uint64_t>();
  const bool filtered = !options.filter.empty();
  size_t visited = 0;
  if (LogIndex* index = index_.load(std::memory_order_acquire);
      index != nullptr && filtered && index->Covers(options.filter)) {
    Status s =
        ScanIndexed(*index, id, tenant, end, options, visit, &from, &visited);
    if (!s.ok()) return s;
    if (visited == options.limit || from >= end) {
      return from < end ? std::optional<uint64_t>(from) : std::nullopt;
    }
  }

  // What the index does not cover: scan the log from `from` to `end`.
  rocksdb::ReadOptions ro;
  const std::string upper = keys::EventKey(id, GlobalPosition(end));
  rocksdb::Slice upper_slice(upper);
  ro.iterate_upper_bound = &upper_slice;
  // A long scan would only churn the block cache for the hot data.
  ro.fill_cache = !options.long_scan && options.limit < 10'000;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db()->NewIterator(ro, db_->events()));
  size_t scanned = 0;
  // One aligned buffer for every record (the verifier needs alignment that
  // RocksDB's value slices do not promise); it grows to the largest record.
  std::string record;
  for (it->Seek(keys::EventKey(id, GlobalPosition(from))); it->Valid();
       it->Next()) {
    const GlobalPosition position =
        keys::EventKeyPosition(it->key().ToStringView());
    if (visited == options.limit || (filtered && scanned == options.max_scan)) {
      return std::optional<uint64_t>(position.value());
    }
    ++scanned;
    record.assign(it->value().data(), it->value().size());
    auto event = DecodeEventRecord(record);
    if (!event.has_value()) return event.error();
    if (filtered && !options.filter.Matches(event->stream, event->type)) {
      continue;
    }
    visit(position, *event);
    ++visited;
  }
  if (!it->status().ok()) return FromRocksDb(it->status());
  return std::optional<uint64_t>();
}

Status LogScanner::ScanIndexed(LogIndex& index, TenantId id,
                               std::string_view tenant, uint64_t end,
                               const LogReadOptions& options,
                               const EventVisitor& visit, uint64_t* from,
                               size_t* visited) const {
  std::vector<std::string> event_keys;
  std::string record;
  while (*from < end) {
    const size_t want = std::min(kIndexChunk, options.limit - *visited);
    auto found = index.Find(tenant, options.filter, *from, want);
    if (!found.has_value()) return found.error();
    std::vector<uint64_t>& positions = found->positions;
    // The index may cover more than this read may see.
    const auto past_end =
        std::lower_bound(positions.begin(), positions.end(), end);
    const bool complete =
        positions.size() < want || past_end != positions.end();
    positions.erase(past_end, positions.end());

    event_keys.clear();
    for (uint64_t p : positions) {
      event_keys.push_back(keys::EventKey(id, GlobalPosition(p)));
    }
    std::vector<rocksdb::Slice> slices(event_keys.begin(), event_keys.end());
    std::vector<rocksdb::PinnableSlice> values(slices.size());
    std::vector<rocksdb::Status> statuses(slices.size());
    db_->db()->MultiGet(rocksdb::ReadOptions(), db_->events(), slices.size(),
                        slices.data(), values.data(), statuses.data(),
                        /*sorted_input=*/true);
    for (size_t i = 0; i < positions.size(); ++i) {
      // An event the index names but the log no longer holds was
      // reclaimed: it is no longer part of the log.
      if (statuses[i].IsNotFound()) continue;
      if (!statuses[i].ok()) return FromRocksDb(statuses[i]);
      record.assign(values[i].data(), values[i].size());
      auto event = DecodeEventRecord(record);
      if (!event.has_value()) return event.error();
      if (!options.filter.Matches(event->stream, event->type)) continue;
      visit(GlobalPosition(positions[i]), *event);
      if (++*visited == options.limit) {
        *from = positions[i] + 1;
        return Status::Ok();
      }
    }
    if (complete) {
      *from = std::max(*from, std::min(found->indexed_until, end));
      break;
    }
    *from = positions.back() + 1;
  }
  return Status::Ok();
}

}  // namespace cairn::storage
