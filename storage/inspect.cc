#include "storage/inspect.h"

#include <rocksdb/db.h>

#include <algorithm>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <unordered_set>
#include <utility>
#include <vector>

#include "protocol/event_record.h"
#include "protocol/ids.h"
#include "protocol/uuid.h"
#include "storage/event_store.h"
#include "storage/internal/db.h"
#include "storage/internal/keys.h"
#include "storage/internal/rocksdb_status.h"

namespace cairn::storage {
namespace {

// Records, heads and index entries are looked up this many at a time, one
// MultiGet each.
constexpr size_t kBatch = 512;

// What a tenant's check remembers of the problems it found, at most: a
// store broken beyond this is reported without the passes that need it.
constexpr size_t kMaxTracked = size_t{1} << 20;

std::string BigEndian32(uint32_t v) {
  std::string s;
  keys::PutBigEndian32(&s, v);
  return s;
}

// Bytes of a key as text, with what is not printable ASCII escaped.
std::string Printable(std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out;
  for (const char ch : bytes) {
    const auto c = static_cast<unsigned char>(ch);
    if (c >= 0x20 && c < 0x7f && c != '\\') {
      out.push_back(ch);
    } else {
      out += "\\x";
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 0xf]);
    }
  }
  return out;
}

// The stream index's keys of one stream start with its head's key: tenant,
// stream id.
std::string IndexPrefix(TenantId tenant, uint64_t stream) {
  return keys::HeadKey(tenant, StreamId(stream));
}

// "position 7" or "positions 7-9".
std::string PositionRange(uint64_t first, uint64_t last) {
  if (first == last) return "position " + std::to_string(first);
  return "positions " + std::to_string(first) + "-" + std::to_string(last);
}

// A forward scan of the keys of a family that start with `prefix` (every
// key when it is empty), in total order.
class Scan {
 public:
  Scan(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* family, std::string prefix)
      : prefix_(std::move(prefix)),
        upper_(keys::PrefixEnd(prefix_)),
        upper_slice_(upper_) {
    rocksdb::ReadOptions ro;
    // One pass over everything would only push out what lookups reuse.
    ro.fill_cache = false;
    ro.total_order_seek = true;  // across the index's per-stream prefixes
    if (!upper_.empty()) ro.iterate_upper_bound = &upper_slice_;
    it_.reset(db->NewIterator(ro, family));
  }
  Scan(const Scan&) = delete;
  Scan& operator=(const Scan&) = delete;

  void SeekToStart() { it_->Seek(prefix_); }
  rocksdb::Iterator* operator->() const { return it_.get(); }

 private:
  const std::string prefix_;
  const std::string upper_;
  const rocksdb::Slice upper_slice_;
  std::unique_ptr<rocksdb::Iterator> it_;
};

struct TenantInfo {
  std::string name;
  TenantId id;
  uint64_t log_end = 0;
  uint64_t streams = 0;
  std::vector<uint64_t> stream_ids;  // with verify: the directory's, sorted

  bool HasStream(uint64_t id) const {
    return std::binary_search(stream_ids.begin(), stream_ids.end(), id);
  }
};

// Positions as ascending, disjoint [first, last] runs.
class PositionRuns {
 public:
  // REQUIRES: first is above every position added before.
  void Add(uint64_t first, uint64_t last) {
    if (!runs_.empty() && runs_.back().second + 1 == first) {
      runs_.back().second = last;
    } else {
      runs_.emplace_back(first, last);
    }
  }
  bool Contains(uint64_t position) const {
    auto it = std::upper_bound(
        runs_.begin(), runs_.end(), position,
        [](uint64_t p, const auto& run) { return p < run.first; });
    return it != runs_.begin() && position <= std::prev(it)->second;
  }
  // The parts of [first, last] among these positions, in order.
  std::vector<std::pair<uint64_t, uint64_t>> Within(uint64_t first,
                                                    uint64_t last) const {
    std::vector<std::pair<uint64_t, uint64_t>> parts;
    auto it = std::upper_bound(
        runs_.begin(), runs_.end(), first,
        [](uint64_t p, const auto& run) { return p < run.first; });
    if (it != runs_.begin()) --it;
    for (; it != runs_.end() && it->first <= last; ++it) {
      if (it->second < first) continue;
      parts.emplace_back(std::max(first, it->first),
                         std::min(last, it->second));
    }
    return parts;
  }

 private:
  std::vector<std::pair<uint64_t, uint64_t>> runs_;
};

// A 'P' entry of the read models' instance.
struct RawCheckpoint {
  std::string physical;
  uint32_t tenant = 0;
  uint64_t position = 0;
  uint32_t version = 0;
};

// What the check of one tenant has found so far, for the passes after.
//
// The stream index and the event ids are checked from the events' side
// (each event finds its entries, pointing back at it) while the log is
// read in order; each entry is counted once while its family is scanned.
// When every entry is accounted for (found by its event, or already
// reported), no entry can point at the wrong event, and the point lookups
// of every entry's event, which a log of tens of millions of events makes
// slow, are skipped; otherwise they run to name the entries that do.
struct TenantCheck {
  explicit TenantCheck(const TenantInfo& t) : tenant(t) {}

  // Whether there is room to remember one more problem.
  bool Track() {
    if (tracked == kMaxTracked) return false;
    ++tracked;
    return true;
  }

  const TenantInfo& tenant;
  bool failed = false;  // a read failed: the counts below are incomplete
  size_t tracked = 0;   // problems remembered below
  PositionRuns holes;   // the log's missing positions
  // Positions whose record fails the verifier (reported once, there).
  PositionRuns unreadable;
  // Entries already reported from the event's side.
  std::set<std::pair<uint64_t, uint64_t>> index_reported;  // stream, revision
  std::set<Uuid> ids_reported;
  uint64_t index_entries = 0;  // of the directory's streams
  uint64_t index_accounted = 0;
  uint64_t id_entries = 0;
  uint64_t id_accounted = 0;
};

class Inspector {
 public:
  Inspector(Db* db, const InspectOptions& options)
      : db_(db), options_(options) {}

  Result<InspectReport> Run() {
    if (Status s = ReadDirectory(); !s.ok()) return s;
    ReportFamilies();
    ReportCheckpoints();
    if (options_.verify) {
      for (const TenantInfo& t : tenants_) VerifyTenant(t);
      VerifyForeignTenants();
      report_.verified = complete_;
    }
    for (const TenantInfo& t : tenants_) {
      report_.tenants.push_back({t.name, t.streams, t.log_end});
    }
    return std::move(report_);
  }

 private:
  // Only a check reports problems.
  void Problem(std::string text) {
    if (!options_.verify) return;
    ++report_.problems_found;
    if (Listing()) report_.problems.push_back(std::move(text));
  }
  // Whether the next problem is listed: worth extra reads to describe it.
  bool Listing() const {
    return report_.problems.size() < options_.max_problems;
  }
  void ReadFailed(TenantCheck* c, std::string_view what,
                  const rocksdb::Status& s) {
    Problem("cannot read " + std::string(what) + ": " + s.ToString());
    complete_ = false;
    if (c != nullptr) c->failed = true;
  }
  static std::string Where(const TenantInfo& t) {
    return "tenant " + t.name + ": ";
  }

  Status ReadDirectory();
  // The projections' checkpoints and aliases.
  Status ReadProjectionMeta();
  void ReportFamilies();
  void ReportCheckpoints();

  void VerifyTenant(const TenantInfo& t);
  void CheckEvents(TenantCheck& c);
  void CheckEventBatch(TenantCheck& c,
                       std::vector<std::pair<uint64_t, std::string>>& batch);
  void CheckStreams(TenantCheck& c);
  void CheckStream(TenantCheck& c, rocksdb::Iterator* index,
                   const std::string& name, uint64_t id,
                   const std::optional<std::string>& head_value);
  void CheckRunPositions(TenantCheck& c, const std::string& where, uint64_t id,
                         const keys::IndexRun& run);
  void CheckHeads(TenantCheck& c);
  void CheckIndexOrphans(TenantCheck& c);
  void CheckEventIds(TenantCheck& c);
  void CheckEventIdRun(TenantCheck& c, uint64_t hi, std::string_view value);
  void CheckIndexRecords(TenantCheck& c);
  void CheckEventIdRecords(TenantCheck& c);
  void VerifyForeignTenants();

  // Looks `keys` up in `family`: each value, or none when absent. False
  // (reported) when a read fails.
  bool Lookup(TenantCheck* c, rocksdb::ColumnFamilyHandle* family,
              const std::vector<std::string>& keys,
              std::vector<std::optional<std::string>>* values);
  // The stream index entry holding a revision of stream `stream` of
  // `c`'s tenant, through `index` (an iterator of the streams family):
  // false (reported) when the read fails.
  struct RunLookup {
    bool found = false;  // `run` holds the revision
    // The entry where the revision's run would be does not decode
    // (reported by CheckStream).
    bool undecodable = false;
    keys::IndexRun run;
  };
  bool FindRun(TenantCheck* c, rocksdb::Iterator* index, uint64_t stream,
               uint64_t revision, RunLookup* out);
  // What is at a position a stray entry names, for its problem.
  std::string DescribeAt(const TenantInfo& t, uint64_t position);

  Db* const db_;
  const InspectOptions options_;
  InspectReport report_;
  bool complete_ = true;
  std::vector<TenantInfo> tenants_;  // in name order
  std::unordered_map<uint32_t, size_t> by_id_;
  std::map<std::string, std::string> aliases_;  // 'A': name -> physical
  // The events' directory still holds projection entries ('P', 'A').
  bool legacy_projections_ = false;
  std::vector<RawCheckpoint> checkpoints_;
  std::optional<uint64_t> next_stream_id_;
  std::unordered_set<uint64_t> shared_stream_ids_;  // given to two streams
};

Status Inspector::ReadDirectory() {
  std::vector<std::pair<std::string, uint32_t>> named;  // 'T', in name order
  std::map<uint32_t, uint64_t> log_ends;
  struct Streams {
    uint64_t count = 0;
    std::vector<uint64_t> ids;
  };
  std::map<uint32_t, Streams> streams;

  Scan scan(db_->db(), db_->directory(), "");
  for (scan.SeekToStart(); scan->Valid(); scan->Next()) {
    const std::string_view key = scan->key().ToStringView();
    const std::string_view value = scan->value().ToStringView();
    const auto bad = [key] {
      return "directory: entry " + Printable(key) + ": ";
    };
    switch (key.empty() ? '\0' : key[0]) {
      case 'T':
        if (value.size() != 4) {
          Problem(bad() + "a tenant id is 4 bytes, not " +
                  std::to_string(value.size()));
          break;
        }
        named.emplace_back(std::string(key.substr(1)),
                           keys::GetBigEndian32(value.data()));
        break;
      case 'S': {
        if (key.size() < keys::kStreamNameKeyPrefixBytes) {
          Problem(bad() + "too short for a stream");
          break;
        }
        Streams& s = streams[keys::GetBigEndian32(key.data() + 1)];
        ++s.count;
        if (value.size() != 8) {
          Problem(bad() + "a stream id is 8 bytes, not " +
                  std::to_string(value.size()));
          break;
        }
        if (options_.verify) {
          s.ids.push_back(keys::GetBigEndian64(value.data()));
        }
        break;
      }
      case 'L':
        if (key.size() != 5 || value.size() != 8) {
          Problem(bad() + "a log end is a u32 tenant and a u64 position");
          break;
        }
        log_ends[keys::GetBigEndian32(key.data() + 1)] =
            keys::GetBigEndian64(value.data());
        break;
      case 'M':
        if (key == keys::kNextStreamIdKey && value.size() == 8) {
          next_stream_id_ = keys::GetBigEndian64(value.data());
        } else if (key == keys::kFormatKey && value.size() == 4 &&
                   keys::GetBigEndian32(value.data()) >= 1 &&
                   keys::GetBigEndian32(value.data()) <= keys::kFormatVersion) {
          // A format this version reads (a later one does not open).
        } else {
          Problem(bad() + "not a known counter, or not of its size");
        }
        break;
      case 'P':
      case 'A':
        // cairnd moves them into the read models' instance when it next
        // opens the store (storage/FORMAT.md, "projections/").
        if (!legacy_projections_) {
          Problem(
              "directory: projection checkpoints or aliases of the "
              "layout before projections/ (entry " +
              Printable(key) +
              "): cairnd moves them when it next opens the store");
        }
        legacy_projections_ = true;
        break;
      default:
        Problem("directory: unknown entry " + Printable(key));
    }
  }
  // Without the directory there is nothing to report.
  if (!scan->status().ok()) return FromRocksDb(scan->status());
  if (Status st = ReadProjectionMeta(); !st.ok()) return st;

  for (auto& [name, id] : named) {
    if (id == 0) Problem("directory: tenant " + name + " has id 0");
    auto [it, inserted] = by_id_.try_emplace(id, tenants_.size());
    if (!inserted) {
      Problem("directory: tenants " + tenants_[it->second].name + " and " +
              name + " have the same id " + std::to_string(id));
      continue;
    }
    TenantInfo t;
    t.name = name;
    t.id = TenantId(id);
    if (auto end = log_ends.find(id); end != log_ends.end()) {
      t.log_end = end->second;
      log_ends.erase(end);
    } else {
      Problem("directory: tenant " + name + " has no log end entry");
    }
    if (auto s = streams.find(id); s != streams.end()) {
      t.streams = s->second.count;
      t.stream_ids = std::move(s->second.ids);
      std::sort(t.stream_ids.begin(), t.stream_ids.end());
      streams.erase(s);
    }
    tenants_.push_back(std::move(t));
  }
  for (const auto& [id, end] : log_ends) {
    Problem("directory: a log end of tenant id " + std::to_string(id) +
            ", which no tenant has");
  }
  for (const auto& [id, s] : streams) {
    Problem("directory: " + std::to_string(s.count) + " streams of tenant id " +
            std::to_string(id) + ", which no tenant has");
  }

  if (!options_.verify) return Status::Ok();
  // Stream ids are unique across tenants.
  std::vector<uint64_t> all;
  for (const TenantInfo& t : tenants_) {
    all.insert(all.end(), t.stream_ids.begin(), t.stream_ids.end());
  }
  std::sort(all.begin(), all.end());
  for (size_t i = 1; i < all.size(); ++i) {
    if (all[i] == all[i - 1]) shared_stream_ids_.insert(all[i]);
  }
  if (!all.empty() && !next_stream_id_) {
    Problem("directory: there are streams, but no next stream id entry");
  }
  return Status::Ok();
}

Status Inspector::ReadProjectionMeta() {
  Scan scan(db_->projection_db(), db_->projection_meta(), "");
  for (scan.SeekToStart(); scan->Valid(); scan->Next()) {
    const std::string_view key = scan->key().ToStringView();
    const std::string_view value = scan->value().ToStringView();
    if (key.starts_with(keys::kProjectionAliasTag)) {
      aliases_[std::string(key.substr(1))] = std::string(value);
      continue;
    }
    const auto checkpoint = keys::DecodeProjectionCheckpointKey(key);
    const auto at = keys::DecodeProjectionCheckpoint(value);
    if (!checkpoint || !at) {
      Problem("projections: entry " + Printable(key) +
              ": not a projection checkpoint or alias");
      continue;
    }
    checkpoints_.push_back({std::string(checkpoint->physical),
                            checkpoint->tenant, at->next_position,
                            at->version});
  }
  return FromRocksDb(scan->status());
}

void Inspector::ReportFamilies() {
  using P = rocksdb::DB::Properties;
  const auto report = [this](rocksdb::DB* db, rocksdb::ColumnFamilyHandle* h) {
    if (h->GetName() == rocksdb::kDefaultColumnFamilyName) return;
    FamilyReport f;
    f.family = h->GetName();
    uint64_t v = 0;
    if (db->GetIntProperty(h, P::kLiveSstFilesSize, &v)) f.bytes += v;
    if (db->GetIntProperty(h, P::kCurSizeAllMemTables, &v)) f.bytes += v;
    if (db->GetIntProperty(h, P::kEstimateNumKeys, &v)) f.keys = v;
    report_.families.push_back(std::move(f));
  };
  for (rocksdb::ColumnFamilyHandle* h : db_->families()) report(db_->db(), h);
  for (rocksdb::ColumnFamilyHandle* h : db_->projection_families()) {
    report(db_->projection_db(), h);
  }
}

void Inspector::ReportCheckpoints() {
  // An alias names the physical family of a rebuild: NAME#G.
  for (const auto& [name, physical] : aliases_) {
    const std::string_view generation = std::string_view(physical).substr(
        std::min(physical.size(), name.size() + 1));
    if (name.empty() || physical.compare(0, name.size() + 1, name + "#") != 0 ||
        generation.empty() ||
        generation.find_first_not_of("0123456789") != std::string::npos) {
      Problem("projections: projection " + name + ": its alias names " +
              Printable(physical) + ", not " + name + "#GENERATION");
    }
  }
  for (const RawCheckpoint& c : checkpoints_) {
    const std::string name = c.physical.substr(0, c.physical.find('#'));
    auto alias = aliases_.find(name);
    const bool live =
        c.physical == (alias != aliases_.end() ? alias->second : name);
    const std::string projection =
        live ? "projection " + name
             : "projection " + name + " (rebuild " + c.physical + ")";
    auto t = by_id_.find(c.tenant);
    if (t == by_id_.end()) {
      Problem(projection + ": a checkpoint of tenant id " +
              std::to_string(c.tenant) + ", which the directory does not name");
      continue;
    }
    const TenantInfo& tenant = tenants_[t->second];
    if (c.position > tenant.log_end) {
      Problem(Where(tenant) + projection + ": checkpoint at position " +
              std::to_string(c.position) + " is ahead of the log end " +
              std::to_string(tenant.log_end));
    }
    if (!live) continue;
    // Its state would be created empty, while the checkpoint says it holds
    // every event below it.
    auto family = db_->ProjectionFamily(c.physical, /*create=*/false);
    if (family.has_value() && *family == nullptr) {
      Problem(Where(tenant) + projection + ": checkpoint at position " +
              std::to_string(c.position) + ", but there is no family " +
              keys::kProjectionFamilyPrefix + c.physical);
    }
    report_.checkpoints.push_back({name, tenant.name, c.position, c.version});
  }
  std::sort(report_.checkpoints.begin(), report_.checkpoints.end(),
            [](const CheckpointReport& a, const CheckpointReport& b) {
              return std::tie(a.projection, a.tenant) <
                     std::tie(b.projection, b.tenant);
            });
}

bool Inspector::Lookup(TenantCheck* c, rocksdb::ColumnFamilyHandle* family,
                       const std::vector<std::string>& keys,
                       std::vector<std::optional<std::string>>* values) {
  values->assign(keys.size(), std::nullopt);
  if (keys.empty()) return true;
  std::vector<rocksdb::Slice> slices(keys.begin(), keys.end());
  std::vector<rocksdb::PinnableSlice> found(keys.size());
  std::vector<rocksdb::Status> statuses(keys.size());
  db_->db()->MultiGet(rocksdb::ReadOptions(), family, slices.size(),
                      slices.data(), found.data(), statuses.data());
  for (size_t i = 0; i < keys.size(); ++i) {
    if (statuses[i].ok()) {
      // A copy: records must be aligned for the verifier.
      (*values)[i] = found[i].ToString();
    } else if (!statuses[i].IsNotFound()) {
      ReadFailed(c, family->GetName(), statuses[i]);
      return false;
    }
  }
  return true;
}

bool Inspector::FindRun(TenantCheck* c, rocksdb::Iterator* index,
                        uint64_t stream, uint64_t revision, RunLookup* out) {
  const TenantInfo& t = c->tenant;
  *out = RunLookup();
  const std::string prefix = IndexPrefix(t.id, stream);
  index->SeekForPrev(
      keys::StreamIndexKey(t.id, StreamId(stream), StreamRevision(revision)));
  if (!index->status().ok()) {
    ReadFailed(c, "tenant " + t.name + "'s stream index", index->status());
    return false;
  }
  if (!index->Valid() || !index->key().starts_with(prefix)) return true;
  const auto run = keys::DecodeIndexRun(index->key().ToStringView(),
                                        index->value().ToStringView());
  if (!run) {
    out->undecodable = true;
  } else if (run->Contains(revision)) {
    out->found = true;
    out->run = *run;
  }
  return true;
}

std::string Inspector::DescribeAt(const TenantInfo& t, uint64_t position) {
  if (position >= t.log_end) {
    return "at or past the log end " + std::to_string(t.log_end);
  }
  if (!Listing()) return "";  // the problem is only counted
  std::string record;
  auto s =
      db_->db()->Get(rocksdb::ReadOptions(), db_->events(),
                     keys::EventKey(t.id, GlobalPosition(position)), &record);
  if (s.IsNotFound()) return "where there is no event";
  if (!s.ok()) return "which cannot be read (" + s.ToString() + ")";
  auto event = DecodeEventRecord(record);
  if (!event.has_value()) return "whose record fails the FlatBuffers verifier";
  return "the event there is stream " + std::string(event->stream) +
         " revision " + std::to_string(event->revision.value());
}

void Inspector::VerifyTenant(const TenantInfo& t) {
  TenantCheck c(t);
  CheckEvents(c);
  CheckStreams(c);
  CheckHeads(c);
  CheckIndexOrphans(c);
  CheckEventIds(c);
  // The counts are incomplete, or what was reported is not all known.
  if (c.failed || c.tracked == kMaxTracked) return;
  if (c.index_entries > c.index_accounted) CheckIndexRecords(c);
  if (c.id_entries > c.id_accounted) CheckEventIdRecords(c);
}

// The tenant's log in order: keys exactly 0..L-1, every record verified,
// and each event's stream index and event id entries pointing back at it.
void Inspector::CheckEvents(TenantCheck& c) {
  const TenantInfo& t = c.tenant;
  const uint64_t end = t.log_end;
  std::vector<std::pair<uint64_t, std::string>> batch;
  const auto missing = [&](uint64_t first, uint64_t last) {
    CheckEventBatch(c, batch);  // problems in position order
    if (c.Track()) c.holes.Add(first, last);
    Problem(Where(t) + PositionRange(first, last) +
            (first == last ? " is" : " are") + " missing (log end " +
            std::to_string(end) + ")");
  };
  // Keys at or past the log end, as runs of consecutive positions.
  std::optional<std::pair<uint64_t, uint64_t>> past;
  const auto flush_past = [&] {
    if (!past) return;
    Problem(Where(t) + PositionRange(past->first, past->second) +
            (past->first == past->second ? " is" : " are") +
            " at or past the log end " + std::to_string(end));
    past.reset();
  };

  uint64_t expected = 0;  // the next position, if there is no hole
  Scan scan(db_->db(), db_->events(), BigEndian32(t.id.value()));
  std::string record;
  for (scan.SeekToStart(); scan->Valid() && !c.failed; scan->Next()) {
    const std::string_view key = scan->key().ToStringView();
    if (key.size() != keys::kEventKeyBytes) {
      Problem(Where(t) + "events key " + Printable(key) + " is not " +
              std::to_string(keys::kEventKeyBytes) + " bytes");
      continue;
    }
    const uint64_t p = keys::EventKeyPosition(key).value();
    if (p > expected && expected < end) missing(expected, std::min(p, end) - 1);
    expected = std::max(expected, p == UINT64_MAX ? p : p + 1);
    if (p < end) {
      batch.emplace_back(p, scan->value().ToString());
      if (batch.size() == kBatch) CheckEventBatch(c, batch);
      continue;
    }
    // Past the end readers do not look; the record is still verified.
    if (past && past->second + 1 == p) {
      past->second = p;
    } else {
      flush_past();
      past.emplace(p, p);
    }
    record.assign(scan->value().data(), scan->value().size());
    ++report_.records_verified;
    if (!DecodeEventRecord(record).has_value()) {
      Problem(Where(t) + "position " + std::to_string(p) +
              ": record fails the FlatBuffers verifier");
    }
  }
  if (!c.failed) CheckEventBatch(c, batch);
  flush_past();
  if (!scan->status().ok()) {
    ReadFailed(&c, "tenant " + t.name + "'s events", scan->status());
  }
  if (c.failed) return;  // what was not read is not missing
  if (expected < end) missing(expected, end - 1);
}

void Inspector::CheckEventBatch(
    TenantCheck& c, std::vector<std::pair<uint64_t, std::string>>& batch) {
  if (batch.empty()) return;
  const TenantInfo& t = c.tenant;
  struct Item {
    uint64_t position;
    EventView event;
    size_t name_slot;
    std::optional<uint64_t> stream;
  };
  std::vector<Item> items;
  std::vector<std::string> name_keys;  // one per distinct stream
  std::unordered_map<std::string_view, size_t> slots;
  for (const auto& [p, record] : batch) {
    ++report_.records_verified;
    auto event = DecodeEventRecord(record);
    if (!event.has_value()) {
      Problem(Where(t) + "position " + std::to_string(p) +
              ": record fails the FlatBuffers verifier");
      if (c.Track()) c.unreadable.Add(p, p);
      // Its entries are presumably among those its key no longer finds.
      ++c.index_accounted;
      ++c.id_accounted;
      continue;
    }
    if (event->format_version != kEventRecordFormatVersion) {
      Problem(Where(t) + "position " + std::to_string(p) +
              ": record has format version " +
              std::to_string(event->format_version) + ", not " +
              std::to_string(kEventRecordFormatVersion));
    }
    auto [slot, inserted] = slots.try_emplace(event->stream, name_keys.size());
    if (inserted) {
      name_keys.push_back(keys::StreamNameKey(t.id, event->stream));
    }
    items.push_back({p, *event, slot->second, std::nullopt});
  }

  std::vector<std::optional<std::string>> stream_ids;
  if (!Lookup(&c, db_->directory(), name_keys, &stream_ids)) {
    batch.clear();
    return;
  }
  std::vector<std::string> id_keys;
  for (Item& item : items) {
    const auto& id = stream_ids[item.name_slot];
    if (!id) {
      Problem(Where(t) + "position " + std::to_string(item.position) +
              ": stream " + std::string(item.event.stream) + " (revision " +
              std::to_string(item.event.revision.value()) +
              ") is not in the directory");
      continue;
    }
    if (id->size() != 8) continue;  // reported with the directory
    item.stream = keys::GetBigEndian64(id->data());
    id_keys.push_back(keys::EventIdKey(t.id, item.event.id));
  }
  std::vector<std::optional<std::string>> id_values;
  if (!Lookup(&c, db_->event_ids(), id_keys, &id_values)) {
    batch.clear();
    return;
  }
  // The ids without an entry of their own: in a run the server made?
  std::vector<std::string> run_keys;
  std::unordered_map<uint64_t, size_t> run_slots;  // by the ids' first half
  {
    size_t k = 0;
    for (const Item& item : items) {
      if (!item.stream) continue;
      if (!id_values[k++] &&
          run_slots.try_emplace(item.event.id.hi, run_keys.size()).second) {
        run_keys.push_back(keys::EventIdRunKey(t.id, item.event.id.hi));
      }
    }
  }
  std::vector<std::optional<std::string>> run_values;
  if (!Lookup(&c, db_->event_ids(), run_keys, &run_values)) {
    batch.clear();
    return;
  }

  rocksdb::ReadOptions ro;
  ro.prefix_same_as_start = true;  // one stream per seek, by its bloom filter
  std::unique_ptr<rocksdb::Iterator> index(
      db_->db()->NewIterator(ro, db_->streams()));
  // The run each stream's last event was found in: a batch's events are
  // mostly runs of one stream.
  std::unordered_map<uint64_t, keys::IndexRun> last_runs;
  size_t k = 0;
  for (const Item& item : items) {
    if (!item.stream) continue;
    const auto& id = id_values[k];
    ++k;
    const uint64_t p = item.position;
    const uint64_t revision = item.event.revision.value();
    const std::string what = "stream " + std::string(item.event.stream) +
                             " revision " + std::to_string(revision);
    RunLookup run;
    if (auto it = last_runs.find(*item.stream);
        it != last_runs.end() && it->second.Contains(revision)) {
      run.found = true;
      run.run = it->second;
    } else if (!FindRun(&c, index.get(), *item.stream, revision, &run)) {
      batch.clear();
      return;
    } else if (run.found) {
      last_runs[*item.stream] = run.run;
    }
    if (!run.found && !run.undecodable) {
      Problem(Where(t) + what + " (position " + std::to_string(p) +
              "): no stream index entry");
    } else if (run.found) {  // an undecodable entry: reported by CheckStreams
      const uint64_t q = run.run.PositionOf(revision);
      ++c.index_accounted;
      if (q != p) {
        if (c.Track()) c.index_reported.emplace(*item.stream, revision);
        Problem(Where(t) + what + ": index points at position " +
                std::to_string(q) + ", " + DescribeAt(t, q) +
                "; the event is at position " + std::to_string(p));
      }
    }
    const std::string event_id = item.event.id.ToString();
    std::optional<keys::EventIdEntry> entry;
    if (id) {
      entry = keys::DecodeEventIdEntry(*id);
      if (!entry) continue;  // reported by CheckEventIds
    } else if (const auto& run = run_values[run_slots.at(item.event.id.hi)]) {
      if (const auto log_run = keys::DecodeEventIdLogRun(*run)) {
        // It names positions only: the event is its stream and revision.
        if (log_run->Contains(item.event.id.lo)) {
          entry = {StreamId(*item.stream), StreamRevision(revision),
                   log_run->PositionOf(item.event.id.lo)};
        }
      } else if (const auto decoded = keys::DecodeEventIdRun(*run)) {
        if (decoded->Contains(item.event.id.lo)) {
          entry = decoded->EntryOf(item.event.id.lo);
        }
      } else {
        continue;  // reported by CheckEventIds
      }
    }
    if (!entry) {
      Problem(Where(t) + "position " + std::to_string(p) + " (" + what +
              "): event id " + event_id + " has no event_ids entry");
      continue;
    }
    ++c.id_accounted;
    if (entry->stream.value() != *item.stream ||
        entry->revision.value() != revision || entry->position.value() != p) {
      if (c.Track()) c.ids_reported.insert(item.event.id);
      Problem(Where(t) + "position " + std::to_string(p) + " (" + what +
              "): the event_ids entry of its id " + event_id +
              " names stream id " + std::to_string(entry->stream.value()) +
              " revision " + std::to_string(entry->revision.value()) +
              " position " + std::to_string(entry->position.value()) +
              (entry->stream.value() == *item.stream
                   ? std::string()
                   : " (this stream's id is " + std::to_string(*item.stream) +
                         ")"));
    }
  }
  batch.clear();
}

// Every stream of the directory: its head, and its index entries (revisions
// 0..next-1, positions rising and in the log) agreeing with the head.
void Inspector::CheckStreams(TenantCheck& c) {
  const TenantInfo& t = c.tenant;
  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.prefix_same_as_start = true;  // one stream per seek, by its bloom filter
  std::unique_ptr<rocksdb::Iterator> index(
      db_->db()->NewIterator(ro, db_->streams()));

  std::vector<std::pair<std::string, uint64_t>> batch;  // name, id
  const auto check_batch = [&] {
    std::vector<std::string> head_keys;
    for (const auto& [name, id] : batch) {
      head_keys.push_back(keys::HeadKey(t.id, StreamId(id)));
    }
    std::vector<std::optional<std::string>> heads;
    if (Lookup(&c, db_->heads(), head_keys, &heads)) {
      for (size_t i = 0; i < batch.size() && !c.failed; ++i) {
        CheckStream(c, index.get(), batch[i].first, batch[i].second, heads[i]);
      }
    }
    batch.clear();
  };
  const std::string prefix = keys::StreamNameKey(t.id, "");
  Scan scan(db_->db(), db_->directory(), prefix);
  for (scan.SeekToStart(); scan->Valid() && !c.failed; scan->Next()) {
    if (scan->value().size() != 8) continue;  // reported with the directory
    batch.emplace_back(scan->key().ToString().substr(prefix.size()),
                       keys::GetBigEndian64(scan->value().data()));
    if (batch.size() == kBatch) check_batch();
  }
  if (!c.failed) check_batch();
  if (!scan->status().ok()) {
    ReadFailed(&c, "tenant " + t.name + "'s streams", scan->status());
  }
}

void Inspector::CheckStream(TenantCheck& c, rocksdb::Iterator* index,
                            const std::string& name, uint64_t id,
                            const std::optional<std::string>& head_value) {
  const TenantInfo& t = c.tenant;
  const std::string where = Where(t) + "stream " + name;
  if (id == 0 || (next_stream_id_ && id >= *next_stream_id_)) {
    Problem(where + ": stream id " + std::to_string(id) +
            " is not below the next stream id " +
            std::to_string(next_stream_id_.value_or(0)) + " (ids start at 1)");
  }
  if (shared_stream_ids_.count(id) > 0) {
    Problem(where + ": stream id " + std::to_string(id) +
            " is another stream's too");
  }
  std::optional<keys::StreamHead> head;
  if (head_value) head = keys::DecodeStreamHead(*head_value);
  if (!head_value) {
    Problem(where + " has no head");
  } else if (!head) {
    Problem(where + ": head does not decode");
  } else {
    if (head->tombstoned && !head->deleted) {
      Problem(where + ": head is tombstoned but not deleted");
    }
    if (head->deleted && head->first_revision != head->next_revision) {
      Problem(where + ": head is deleted, but its first revision " +
              std::to_string(head->first_revision) +
              " is not its next revision " +
              std::to_string(head->next_revision));
    }
  }

  const std::string prefix = IndexPrefix(t.id, id);
  uint64_t next = 0;  // the revision the next entry should have
  std::optional<std::pair<uint64_t, uint64_t>> previous;  // revision, position
  std::optional<uint64_t> last_position;  // of the head's last revision
  for (index->Seek(prefix); index->Valid() && index->key().starts_with(prefix);
       index->Next()) {
    const std::string_view key = index->key().ToStringView();
    if (key.size() != keys::kStreamIndexKeyBytes) {
      Problem(where + ": index key " + Printable(key) + " is not " +
              std::to_string(keys::kStreamIndexKeyBytes) + " bytes");
      continue;
    }
    const uint64_t revision = keys::StreamIndexKeyRevision(key).value();
    const std::string at = where + " revision " + std::to_string(revision);
    if (revision > next) {
      Problem(where + (revision - 1 == next
                           ? " revision " + std::to_string(next) +
                                 ": no stream index entry"
                           : " revisions " + std::to_string(next) + "-" +
                                 std::to_string(revision - 1) +
                                 ": no stream index entries"));
    }
    const auto run = keys::DecodeIndexRun(key, index->value().ToStringView());
    if (!run) {
      ++c.index_entries;
      ++c.index_accounted;
      next = std::max(next, revision + 1);
      Problem(at + ": index entry of " + std::to_string(index->value().size()) +
              " bytes is not a run (12 bytes, or 8 before format 2, with "
              "a count from 1 that stays below 2^64)");
      continue;
    }
    if (revision < next) {
      Problem(at +
              ": index entry overlaps the one before, which reaches "
              "revision " +
              std::to_string(next - 1));
    }
    c.index_entries += run->count;
    next = std::max(next, run->end_revision());
    const uint64_t first_position = run->position;
    const uint64_t last = run->position + run->count - 1;
    CheckRunPositions(c, where, id, *run);
    if (previous && first_position <= previous->second) {
      Problem(at + ": index points at position " +
              std::to_string(first_position) + ", not after revision " +
              std::to_string(previous->first) + "'s position " +
              std::to_string(previous->second));
    }
    previous.emplace(run->end_revision() - 1, last);
    if (head && head->next_revision > 0 &&
        run->Contains(head->next_revision - 1)) {
      last_position = run->PositionOf(head->next_revision - 1);
    }
  }
  if (!index->status().ok()) {
    ReadFailed(&c, "tenant " + t.name + "'s stream index", index->status());
    return;
  }
  if (!head) return;
  // A head's tip is as of its last write, which appends since have not
  // repeated (their runs carry the tip, storage/FORMAT.md "heads"); a
  // deleted head's has no append since, or the append would have revived
  // it.
  if (head->next_revision > next ||
      (head->deleted && head->next_revision != next)) {
    Problem(where + ": head says next revision " +
            std::to_string(head->next_revision) +
            (next == 0
                 ? ", the index holds no revision"
                 : ", the index ends at revision " + std::to_string(next - 1)));
  } else if (last_position && *last_position != head->last_position.value()) {
    Problem(where + ": head says last position " +
            std::to_string(head->last_position.value()) +
            ", the index puts revision " +
            std::to_string(head->next_revision - 1) + " at position " +
            std::to_string(*last_position));
  }
}

// A run of the server's ids, of either format: the positions of its ids,
// and the stream a format 2 run names (format 3's name none).
struct AnyIdRun {
  keys::EventIdLogRun run;
  std::optional<StreamId> stream;
};
std::optional<AnyIdRun> DecodeAnyIdRun(std::string_view value) {
  if (auto run = keys::DecodeEventIdLogRun(value)) {
    return AnyIdRun{*run, std::nullopt};
  }
  if (auto old = keys::DecodeEventIdRun(value)) {
    return AnyIdRun{{old->first_lo, old->count, old->first.position},
                    old->first.stream};
  }
  return std::nullopt;
}

// Of positions first..last, those with no event (at or past the log end,
// or in a hole) less those `reported` already from the events' side (few:
// at most kMaxTracked): how many, and the first of them.
struct Strays {
  uint64_t count = 0;
  std::optional<uint64_t> first;
};
Strays FindStrays(const TenantCheck& c, uint64_t first, uint64_t last,
                  const std::vector<uint64_t>& reported) {
  const uint64_t end = c.tenant.log_end;
  std::vector<std::pair<uint64_t, uint64_t>> stray;
  if (first < end) stray = c.holes.Within(first, std::min(last, end - 1));
  if (last >= end) stray.emplace_back(std::max(first, end), last);
  const auto is_reported = [&](uint64_t p) {
    return std::find(reported.begin(), reported.end(), p) != reported.end();
  };
  Strays out;
  for (const auto& [a, b] : stray) {
    out.count += b - a + 1;
    for (uint64_t p = a; !out.first && p <= b; ++p) {
      if (!is_reported(p)) out.first = p;
    }
  }
  for (uint64_t p : reported) {
    if (p >= first && p <= last && (p >= end || c.holes.Contains(p))) {
      --out.count;
    }
  }
  return out;
}

// The positions of a stream index run where there is no event (at or past
// the log end, or in a hole) and that its events did not report already:
// counted as accounted for, and named by the first of them.
void Inspector::CheckRunPositions(TenantCheck& c, const std::string& where,
                                  uint64_t id, const keys::IndexRun& run) {
  const TenantInfo& t = c.tenant;
  const auto revision_at = [&](uint64_t p) {
    return run.first_revision + (p - run.position);
  };
  std::vector<uint64_t> reported;
  for (auto it = c.index_reported.lower_bound({id, run.first_revision});
       it != c.index_reported.end() && it->first == id &&
       it->second < run.end_revision();
       ++it) {
    reported.push_back(run.PositionOf(it->second));
  }
  const auto [count, first] =
      FindStrays(c, run.position, run.position + run.count - 1, reported);
  if (count == 0) return;
  c.index_accounted += count;
  Problem(where + " revision " + std::to_string(revision_at(*first)) +
          ": index points at position " + std::to_string(*first) + ", " +
          (*first >= t.log_end
               ? "at or past the log end " + std::to_string(t.log_end)
               : std::string("where there is no event")) +
          (count > 1 ? " (and " + std::to_string(count - 1) +
                           " more of its run's revisions " +
                           std::to_string(run.first_revision) + "-" +
                           std::to_string(run.end_revision() - 1) + ")"
                     : std::string()));
}

// Heads of streams the directory does not name.
void Inspector::CheckHeads(TenantCheck& c) {
  const TenantInfo& t = c.tenant;
  Scan scan(db_->db(), db_->heads(), BigEndian32(t.id.value()));
  for (scan.SeekToStart(); scan->Valid(); scan->Next()) {
    const std::string_view key = scan->key().ToStringView();
    if (key.size() != 12) {
      Problem(Where(t) + "heads key " + Printable(key) + " is not 12 bytes");
      continue;
    }
    const uint64_t id = keys::GetBigEndian64(key.data() + 4);
    if (!t.HasStream(id)) {
      Problem(Where(t) + "a head of stream id " + std::to_string(id) +
              ", which the directory does not name");
    }
  }
  if (!scan->status().ok()) {
    ReadFailed(&c, "tenant " + t.name + "'s heads", scan->status());
  }
}

// Index entries of streams the directory does not name: one seek per
// stream, not a read of every entry.
void Inspector::CheckIndexOrphans(TenantCheck& c) {
  const TenantInfo& t = c.tenant;
  Scan scan(db_->db(), db_->streams(), BigEndian32(t.id.value()));
  scan.SeekToStart();
  while (scan->Valid()) {
    const std::string_view key = scan->key().ToStringView();
    if (key.size() < keys::kStreamIndexPrefixBytes) {
      Problem(Where(t) + "stream index key " + Printable(key) +
              " is too short");
      scan->Next();
      continue;
    }
    const uint64_t id = keys::GetBigEndian64(key.data() + 4);
    if (!t.HasStream(id)) {
      Problem(Where(t) + "stream index entries of stream id " +
              std::to_string(id) + ", which the directory does not name");
    }
    if (id == UINT64_MAX) break;
    scan->Seek(IndexPrefix(t.id, id + 1));
  }
  if (!scan->status().ok()) {
    ReadFailed(&c, "tenant " + t.name + "'s stream index", scan->status());
  }
}

// Every event id entry: well-formed, of a directory stream, naming an
// event of the log.
void Inspector::CheckEventIds(TenantCheck& c) {
  const TenantInfo& t = c.tenant;
  Scan scan(db_->db(), db_->event_ids(), BigEndian32(t.id.value()));
  for (scan.SeekToStart(); scan->Valid(); scan->Next()) {
    const std::string_view key = scan->key().ToStringView();
    if (key.size() == keys::kEventIdRunKeyBytes) {
      CheckEventIdRun(c, keys::GetBigEndian64(key.data() + 4),
                      scan->value().ToStringView());
      continue;
    }
    if (key.size() != keys::kEventIdKeyBytes) {
      Problem(Where(t) + "event_ids key " + Printable(key) +
              " is neither 20 nor 12 bytes");
      continue;
    }
    ++c.id_entries;
    const Uuid uuid{keys::GetBigEndian64(key.data() + 4),
                    keys::GetBigEndian64(key.data() + 12)};
    const std::string where = Where(t) + "event id " + uuid.ToString();
    const auto entry = keys::DecodeEventIdEntry(scan->value().ToStringView());
    if (!entry) {
      ++c.id_accounted;
      Problem(where + ": entry is not 24 bytes");
      continue;
    }
    if (c.ids_reported.count(uuid) > 0) continue;
    const uint64_t p = entry->position.value();
    if (!t.HasStream(entry->stream.value())) {
      ++c.id_accounted;
      Problem(where + ": entry names stream id " +
              std::to_string(entry->stream.value()) +
              ", which the directory does not name");
    } else if (p >= t.log_end) {
      ++c.id_accounted;
      Problem(where + ": entry names position " + std::to_string(p) +
              ", at or past the log end " + std::to_string(t.log_end));
    } else if (c.holes.Contains(p)) {
      ++c.id_accounted;
      Problem(where + ": entry names position " + std::to_string(p) +
              ", where there is no event");
    }
  }
  if (!scan->status().ok()) {
    ReadFailed(&c, "tenant " + t.name + "'s event ids", scan->status());
  }
}

// A run of event ids the server made (its key's first half `hi`): at
// positions that hold events (and, for format 2's runs, of a directory
// stream); the positions with none that its events did not report are
// counted and named by the first.
void Inspector::CheckEventIdRun(TenantCheck& c, uint64_t hi,
                                std::string_view value) {
  const TenantInfo& t = c.tenant;
  const auto decoded = DecodeAnyIdRun(value);
  // Named by its first id, or by their common first half when the rest
  // cannot be told.
  const std::string name =
      "event id run " + (decoded ? Uuid{hi, decoded->run.first_lo}.ToString()
                                 : Uuid{hi, 0}.ToString().substr(0, 18) + "-…");
  const std::string where = Where(t) + name;
  if (!decoded) {
    ++c.id_entries;
    ++c.id_accounted;
    Problem(where + ": entry of " + std::to_string(value.size()) +
            " bytes is not a run (20 bytes with a count from 1, or 36 from "
            "format 2 with a count from 2, that stays below 2^64)");
    return;
  }
  // The run's ids {hi, first_lo + k} are at positions first + k.
  const keys::EventIdLogRun& run = decoded->run;
  c.id_entries += run.count;
  const uint64_t first = run.first_position.value();
  const uint64_t last = first + run.count - 1;
  const auto id_at = [&](uint64_t p) {
    return Uuid{hi, run.first_lo + (p - first)};
  };
  // The run's ids already reported from their events' side (few: at most
  // kMaxTracked), by position.
  std::vector<uint64_t> reported;
  for (auto it = c.ids_reported.lower_bound(Uuid{hi, run.first_lo});
       it != c.ids_reported.end() && it->hi == hi && run.Contains(it->lo);
       ++it) {
    reported.push_back(first + (it->lo - run.first_lo));
  }
  if (decoded->stream && !t.HasStream(decoded->stream->value())) {
    c.id_accounted += run.count - reported.size();
    Problem(where + " (" + std::to_string(run.count) +
            " ids): entry names stream id " +
            std::to_string(decoded->stream->value()) +
            ", which the directory does not name");
    return;
  }
  const auto [count, named] = FindStrays(c, first, last, reported);
  if (count == 0) return;
  c.id_accounted += count;
  Problem(Where(t) + "event id " + id_at(*named).ToString() + " (" + name +
          " of " + std::to_string(run.count) + "): entry names position " +
          std::to_string(*named) + ", " +
          (*named >= t.log_end
               ? "at or past the log end " + std::to_string(t.log_end)
               : std::string("where there is no event")) +
          (count > 1
               ? " (and " + std::to_string(count - 1) + " more ids of the run)"
               : std::string()));
}

// Index entries that no event found: each one's event, by point lookup.
void Inspector::CheckIndexRecords(TenantCheck& c) {
  const TenantInfo& t = c.tenant;
  struct Entry {
    std::string stream;
    uint64_t revision;
    uint64_t position;
  };
  std::vector<Entry> batch;
  const auto check_batch = [&] {
    std::vector<std::string> event_keys;
    for (const Entry& e : batch) {
      event_keys.push_back(keys::EventKey(t.id, GlobalPosition(e.position)));
    }
    std::vector<std::optional<std::string>> records;
    if (!Lookup(&c, db_->events(), event_keys, &records)) return;
    for (size_t i = 0; i < batch.size(); ++i) {
      const Entry& e = batch[i];
      if (!records[i]) continue;  // a hole, reported
      auto event = DecodeEventRecord(*records[i]);
      if (!event.has_value()) continue;  // reported
      if (event->stream == e.stream && event->revision.value() == e.revision) {
        continue;
      }
      Problem(Where(t) + "stream " + e.stream + " revision " +
              std::to_string(e.revision) + ": index points at position " +
              std::to_string(e.position) + ", the event there is stream " +
              std::string(event->stream) + " revision " +
              std::to_string(event->revision.value()));
    }
    batch.clear();
  };

  rocksdb::ReadOptions ro;
  ro.fill_cache = false;
  ro.prefix_same_as_start = true;
  std::unique_ptr<rocksdb::Iterator> index(
      db_->db()->NewIterator(ro, db_->streams()));
  const std::string prefix = keys::StreamNameKey(t.id, "");
  Scan scan(db_->db(), db_->directory(), prefix);
  for (scan.SeekToStart(); scan->Valid() && !c.failed; scan->Next()) {
    if (scan->value().size() != 8) continue;
    const std::string name = scan->key().ToString().substr(prefix.size());
    const uint64_t id = keys::GetBigEndian64(scan->value().data());
    const std::string stream_prefix = IndexPrefix(t.id, id);
    for (index->Seek(stream_prefix);
         index->Valid() && index->key().starts_with(stream_prefix);
         index->Next()) {
      const auto run = keys::DecodeIndexRun(index->key().ToStringView(),
                                            index->value().ToStringView());
      if (!run || run->position >= t.log_end) continue;  // reported
      // Positions at or past the log end are reported.
      const uint64_t end = std::min(run->position + run->count, t.log_end);
      for (uint64_t p = run->position; p < end && !c.failed; ++p) {
        const uint64_t revision = run->first_revision + (p - run->position);
        if (c.holes.Contains(p) || c.unreadable.Contains(p) ||
            c.index_reported.count({id, revision}) > 0) {
          continue;
        }
        batch.push_back({name, revision, p});
        if (batch.size() == kBatch) check_batch();
      }
    }
    if (!index->status().ok()) {
      ReadFailed(&c, "tenant " + t.name + "'s stream index", index->status());
    }
  }
  if (!c.failed) check_batch();
  if (!scan->status().ok()) {
    ReadFailed(&c, "tenant " + t.name + "'s streams", scan->status());
  }
}

// Event id entries that no event found: each one's event, by point lookup.
void Inspector::CheckEventIdRecords(TenantCheck& c) {
  const TenantInfo& t = c.tenant;
  std::vector<std::pair<Uuid, uint64_t>> batch;  // id, position
  const auto check_batch = [&] {
    std::vector<std::string> event_keys;
    for (const auto& [id, p] : batch) {
      event_keys.push_back(keys::EventKey(t.id, GlobalPosition(p)));
    }
    std::vector<std::optional<std::string>> records;
    if (!Lookup(&c, db_->events(), event_keys, &records)) return;
    for (size_t i = 0; i < batch.size(); ++i) {
      if (!records[i]) continue;
      auto event = DecodeEventRecord(*records[i]);
      if (!event.has_value() || event->id == batch[i].first) continue;
      Problem(Where(t) + "event id " + batch[i].first.ToString() +
              ": entry names position " + std::to_string(batch[i].second) +
              ", the event there has id " + event->id.ToString());
    }
    batch.clear();
  };
  Scan scan(db_->db(), db_->event_ids(), BigEndian32(t.id.value()));
  // A format 3 run names no stream (`stream` none).
  const auto check = [&](const Uuid& uuid, std::optional<StreamId> stream,
                         GlobalPosition position) {
    const uint64_t p = position.value();
    if ((stream && !t.HasStream(stream->value())) || p >= t.log_end ||
        c.holes.Contains(p) || c.unreadable.Contains(p) ||
        c.ids_reported.count(uuid) > 0) {
      return;
    }
    batch.emplace_back(uuid, p);
    if (batch.size() == kBatch) check_batch();
  };
  for (scan.SeekToStart(); scan->Valid() && !c.failed; scan->Next()) {
    const std::string_view key = scan->key().ToStringView();
    const uint64_t hi =
        key.size() >= 12 ? keys::GetBigEndian64(key.data() + 4) : 0;
    if (key.size() == keys::kEventIdRunKeyBytes) {
      const auto decoded = DecodeAnyIdRun(scan->value().ToStringView());
      if (!decoded) continue;  // reported
      const keys::EventIdLogRun& run = decoded->run;
      const uint64_t first = run.first_position.value();
      // Positions at or past the log end are reported.
      const uint64_t n = first >= t.log_end
                             ? 0
                             : std::min<uint64_t>(run.count, t.log_end - first);
      for (uint64_t k = 0; k < n && !c.failed; ++k) {
        check(Uuid{hi, run.first_lo + k}, decoded->stream,
              GlobalPosition(first + k));
      }
      continue;
    }
    if (key.size() != keys::kEventIdKeyBytes) continue;
    const auto entry = keys::DecodeEventIdEntry(scan->value().ToStringView());
    if (!entry) continue;
    check(Uuid{hi, keys::GetBigEndian64(key.data() + 12)}, entry->stream,
          entry->position);
  }
  if (!c.failed) check_batch();
  if (!scan->status().ok()) {
    ReadFailed(&c, "tenant " + t.name + "'s event ids", scan->status());
  }
}

// Entries of tenant ids the directory does not name, in every family keyed
// by tenant: one seek per tenant id.
void Inspector::VerifyForeignTenants() {
  std::vector<std::pair<rocksdb::DB*, rocksdb::ColumnFamilyHandle*>> families;
  for (rocksdb::ColumnFamilyHandle* h :
       {db_->events(), db_->streams(), db_->heads(), db_->event_ids()}) {
    families.emplace_back(db_->db(), h);
  }
  for (rocksdb::ColumnFamilyHandle* h : db_->projection_families()) {
    if (h != db_->projection_meta()) {
      families.emplace_back(db_->projection_db(), h);
    }
  }
  for (const auto& [db, family] : families) {
    const std::string& name = family->GetName();
    Scan scan(db, family, "");
    scan.SeekToStart();
    while (scan->Valid()) {
      const std::string_view key = scan->key().ToStringView();
      if (key.size() < 4) {
        Problem(name + ": key " + Printable(key) + " has no tenant id");
        scan->Next();
        continue;
      }
      const uint32_t id = keys::GetBigEndian32(key.data());
      if (by_id_.count(id) == 0) {
        Problem(name + ": entries of tenant id " + std::to_string(id) +
                ", which the directory does not name");
      }
      if (id == UINT32_MAX) break;
      scan->Seek(BigEndian32(id + 1));
    }
    if (!scan->status().ok()) ReadFailed(nullptr, name, scan->status());
  }
}

}  // namespace

Result<InspectReport> Inspect(const std::string& dir,
                              const InspectOptions& options) {
  Options db_options;
  db_options.read_only = true;
  db_options.block_cache_bytes = size_t{64} << 20;
  auto db = Db::Open(db_options, dir);
  if (!db.has_value()) return db.error();
  Inspector inspector(db->get(), options);
  return inspector.Run();
}

}  // namespace cairn::storage
