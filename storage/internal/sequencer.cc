#include "storage/internal/sequencer.h"

#include <pthread.h>
#include <rocksdb/write_batch.h>

#include <algorithm>
#include <chrono>
#include <unordered_map>
#include <unordered_set>
#include <utility>

#include "protocol/event_record.h"
#include "storage/internal/rocksdb_status.h"
#include "storage/internal/stream_heads.h"

namespace cairn::storage {
namespace {

int64_t NowMicros() {
  return std::chrono::duration_cast<std::chrono::microseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string BigEndian64(uint64_t v) {
  std::string s;
  keys::PutBigEndian64(&s, v);
  return s;
}

bool Satisfies(const ExpectedRevision& e, std::optional<uint64_t> actual) {
  switch (e.kind) {
    case ExpectedRevision::Kind::kAny:
      return true;
    case ExpectedRevision::Kind::kNoStream:
      return !actual.has_value();
    case ExpectedRevision::Kind::kExists:
      return actual.has_value();
    case ExpectedRevision::Kind::kExact:
      return actual.has_value() && *actual == e.revision;
  }
  return false;
}

// The outcome of a group's batch for its writes. A full disk is the one
// failure that passes by itself: RocksDB stops taking writes, and its
// SstFileManager resumes them once it sees space again (it looks every few
// seconds, and wants room for a memtable flush: 64 MiB). Unavailable (503):
// nothing of the write was stored, and the client may retry. Past recovery
// (severity fatal or worse; storage/event_store.cc says when), only a
// restart takes writes again.
Status WriteStatus(const rocksdb::Status& s) {
  if (!s.IsNoSpace()) return FromRocksDb(s);
  if (s.severity() >= rocksdb::Status::Severity::kFatalError) {
    return Status::Unavailable(
        "the data directory's disk is full and the store has stopped taking "
        "writes: nothing of this write was stored; free space, then restart "
        "cairnd (" +
        s.ToString() + ")");
  }
  return Status::Unavailable(
      "the data directory's disk is full: nothing of this write was stored; "
      "writes resume once space is freed (" +
      s.ToString() + ")");
}

size_t RequestBytes(const Sequencer::Request& r) {
  const auto* a = std::get_if<AppendRequest>(&r);
  if (a == nullptr) return 64;
  size_t n = 0;
  for (const auto& s : a->streams) {
    for (const auto& e : s.events) n += e.record.size();
  }
  return n;
}

}  // namespace

// What one group changes, staged until its batch is written. Pointers into
// tenants_ are stable: unordered_map nodes do not move, and the stream cache
// is only trimmed between groups.
struct Sequencer::Group {
  struct TenantChange {
    TenantId id;
    uint64_t next_position = 0;
    bool is_new = false;
    // Events this group adds to the tenant, for append conditions and the
    // live log. The pointers are into the group's requests.
    struct Added {
      uint64_t position;
      const std::string* stream;
      const std::string* record;
    };
    std::vector<Added> records;
    // The ids the server gives this group's events of the tenant: runs
    // over consecutive positions, each written as one event_ids entry
    // keyed by its ids' first half.
    struct IdRun {
      uint64_t hi;
      keys::EventIdLogRun run;
    };
    std::vector<IdRun> id_runs;
  };
  struct StreamChange {
    TenantId tenant;
    StreamId id;
    keys::StreamHead head;
  };
  struct IdKey {
    const TenantState* tenant;
    Uuid id;
    bool operator==(const IdKey&) const = default;
  };
  struct IdKeyHash {
    size_t operator()(const IdKey& k) const noexcept {
      return std::hash<const void*>()(k.tenant) ^ (k.id.hi * 31) ^ k.id.lo;
    }
  };

  Db* db = nullptr;
  Uuid (*new_run_id)() = nullptr;
  int64_t now_us = 0;
  uint32_t next_tenant_id = 0;
  uint64_t next_stream_id = 0;
  bool stream_ids_used = false;
  rocksdb::WriteBatch batch;
  std::unordered_map<TenantState*, TenantChange> tenants;
  std::unordered_map<StreamState*, StreamChange> streams;
  // The client-chosen event ids this group appends.
  std::unordered_map<IdKey, keys::EventIdEntry, IdKeyHash> ids;
  // The keys of the event id runs it writes.
  std::unordered_set<std::string> id_run_keys;
  // Set when staging failed past the point where a request could fail
  // alone: nothing of the group is written.
  Status failed = Status::Ok();

  // The head a check must see: this group's staged one, else the stored one.
  const keys::StreamHead* Head(StreamState* s) const {
    auto it = streams.find(s);
    if (it != streams.end()) return &it->second.head;
    return s->head ? &*s->head : nullptr;
  }
  std::optional<StreamId> IdOf(StreamState* s) const {
    auto it = streams.find(s);
    if (it != streams.end()) return it->second.id;
    return s->id;
  }

  // The id the server gives the event at `position` of the tenant: the
  // next of the group's run when the position follows it, else the first
  // of a new run (storage/FORMAT.md, "event_ids"). A failed read fails
  // the group (`failed`): the events before this one are staged already.
  Uuid ServerEventId(TenantChange& tc, GlobalPosition position) {
    if (!tc.id_runs.empty()) {
      auto& [hi, run] = tc.id_runs.back();
      if (run.count < UINT32_MAX &&
          run.first_position.value() + run.count == position.value()) {
        return Uuid{hi, run.first_lo + run.count++};
      }
    }
    // A run's key is its ids' first half, made anew for each run
    // (Uuid::NewV7 counts up within a process); only a wall clock set back
    // between two processes could give one again, and then another is
    // drawn.
    for (;;) {
      const Uuid first = new_run_id();
      std::string key = keys::EventIdRunKey(tc.id, first.hi);
      if (id_run_keys.count(key) > 0) continue;
      std::string value;
      auto s =
          db->db()->Get(rocksdb::ReadOptions(), db->event_ids(), key, &value);
      if (s.ok()) continue;
      if (!s.IsNotFound()) failed = FromRocksDb(s);
      id_run_keys.insert(std::move(key));
      tc.id_runs.push_back({first.hi, {first.lo, 1, position}});
      return first;
    }
  }

  // Stages a change of the tenant, giving it an id on its first write.
  TenantChange& StageTenant(TenantState* t) {
    auto [it, inserted] = tenants.try_emplace(t);
    TenantChange& tc = it->second;
    if (inserted) {
      tc.next_position = t->next_position;
      if (t->id) {
        tc.id = *t->id;
      } else {
        tc.id = TenantId(next_tenant_id++);
        tc.is_new = true;
        std::string v;
        keys::PutBigEndian32(&v, tc.id.value());
        batch.Put(db->directory(), keys::TenantNameKey(t->name), v);
      }
    }
    return tc;
  }

  // Stages a change of the stream's head (a new head if it has none),
  // giving the stream an id on its first write.
  StreamChange& StageStream(TenantChange& tc, StreamState* s,
                            const std::string& name) {
    auto [it, inserted] = streams.try_emplace(s);
    StreamChange& sc = it->second;
    if (inserted) {
      sc.tenant = tc.id;
      if (s->id) {
        sc.id = *s->id;
      } else {
        sc.id = StreamId(next_stream_id++);
        stream_ids_used = true;
        batch.Put(db->directory(), keys::StreamNameKey(tc.id, name),
                  BigEndian64(sc.id.value()));
      }
      if (s->head) {
        sc.head = *s->head;
      } else {
        sc.head.created_us = now_us;
      }
    }
    return sc;
  }
};

Sequencer::Sequencer(Db* db, const Options& options, TenantDirectory* tenants,
                     LiveLog* live, const LogScanner* log)
    : db_(db),
      options_(options),
      tenants_dir_(tenants),
      live_(live),
      log_(log) {}

Sequencer::~Sequencer() { Close(); }

Status Sequencer::Start() {
  rocksdb::ReadOptions ro;
  std::string value;
  auto s = db_->db()->Get(ro, db_->directory(), keys::kNextStreamIdKey, &value);
  if (s.ok() && value.size() == 8) {
    next_stream_id_ = keys::GetBigEndian64(value.data());
  } else if (!s.IsNotFound()) {
    return s.ok() ? Status::Corruption("bad next stream id") : FromRocksDb(s);
  }

  // Tenants ('T' name -> id) and their log ends ('L' id -> next position):
  // one entry each, however many events there are.
  std::unordered_map<uint32_t, uint64_t> log_ends;
  std::unique_ptr<rocksdb::Iterator> it(
      db_->db()->NewIterator(ro, db_->directory()));
  for (it->Seek("L"); it->Valid() && it->key().starts_with("L"); it->Next()) {
    if (it->key().size() != 5 || it->value().size() != 8) {
      return Status::Corruption("bad log end entry");
    }
    log_ends[keys::GetBigEndian32(it->key().data() + 1)] =
        keys::GetBigEndian64(it->value().data());
  }
  for (it->Seek("T"); it->Valid() && it->key().starts_with("T"); it->Next()) {
    if (it->value().size() != 4) return Status::Corruption("bad tenant entry");
    const uint32_t id = keys::GetBigEndian32(it->value().data());
    std::string name = it->key().ToString().substr(1);
    TenantState& t = tenants_[name];
    t.name = name;
    t.id = TenantId(id);
    t.next_position = log_ends[id];
    tenants_dir_->Add(name, TenantId(id), t.next_position);
    next_tenant_id_ = std::max(next_tenant_id_, id + 1);
  }
  if (!it->status().ok()) return FromRocksDb(it->status());

  thread_ = std::thread([this] { Run(); });
  return Status::Ok();
}

void Sequencer::Submit(Request request, WriteCallback done) {
  auto op = std::make_unique<Op>();
  op->bytes = RequestBytes(request);
  op->request = std::move(request);
  op->done = std::move(done);
  {
    std::lock_guard lock(mu_);
    if (!closing_) {
      queue_.push_back(std::move(op));
      cv_.notify_one();
      return;
    }
  }
  op->outcome.status = Status::Unavailable("the store is closing");
  op->done(std::move(op->outcome));
}

void Sequencer::Close() {
  {
    std::lock_guard lock(mu_);
    closing_ = true;
    cv_.notify_one();
  }
  if (thread_.joinable()) thread_.join();
}

void Sequencer::Run() {
  pthread_setname_np(pthread_self(), "cairn-sequencer");
  std::vector<std::unique_ptr<Op>> group;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return closing_ || !queue_.empty(); });
      if (queue_.empty()) return;  // closing, and everything is committed
      // Take what has queued, up to the byte cap: the longer the last
      // commit took, the larger this group.
      size_t bytes = 0;
      while (!queue_.empty() &&
             (group.empty() ||
              bytes + queue_.front()->bytes <= options_.max_group_bytes)) {
        bytes += queue_.front()->bytes;
        group.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    CommitGroup(group);
    group.clear();
  }
}

void Sequencer::CountGroup(size_t requests) {
  const auto& bounds = StoreStats::kGroupSizeBounds;
  const size_t bucket =
      std::lower_bound(bounds.begin(), bounds.end(), requests) - bounds.begin();
  group_sizes_[bucket].fetch_add(1, std::memory_order_relaxed);
  grouped_requests_.fetch_add(requests, std::memory_order_relaxed);
}

void Sequencer::GroupStats(StoreStats* stats) const {
  stats->groups = 0;
  for (size_t i = 0; i < group_sizes_.size(); ++i) {
    stats->group_sizes[i] = group_sizes_[i].load(std::memory_order_relaxed);
    stats->groups += stats->group_sizes[i];
  }
  stats->grouped_requests = grouped_requests_.load(std::memory_order_relaxed);
}

void Sequencer::CommitGroup(std::vector<std::unique_ptr<Op>>& ops) {
  Group g;
  g.db = db_;
  g.new_run_id = options_.new_run_id;
  g.now_us = NowMicros();
  g.next_tenant_id = next_tenant_id_;
  g.next_stream_id = next_stream_id_;

  for (auto& op : ops) {
    std::visit(
        [&](auto& req) {
          using T = std::decay_t<decltype(req)>;
          if constexpr (std::is_same_v<T, AppendRequest>) {
            ApplyAppend(g, req, op->outcome);
          } else if constexpr (std::is_same_v<T, DeleteRequest>) {
            ApplyDelete(g, req, op->outcome);
          } else {
            ApplyMetadata(g, req, op->outcome);
          }
        },
        op->request);
  }

  Status written = Status::Ok();
  if (!g.tenants.empty()) {
    // Heads once per group, and only those that changed in more than
    // their tip, which readers take from the index (StreamHeads); log ends
    // once per group, however many writes touched them.
    for (const auto& [state, sc] : g.streams) {
      if (state->head && state->head->SameButTip(sc.head)) continue;
      g.batch.Put(db_->heads(), keys::HeadKey(sc.tenant, sc.id),
                  keys::EncodeStreamHead(sc.head));
    }
    for (const auto& [state, tc] : g.tenants) {
      g.batch.Put(db_->directory(), keys::LogEndKey(tc.id),
                  BigEndian64(tc.next_position));
      for (const auto& [hi, run] : tc.id_runs) {
        g.batch.Put(db_->event_ids(), keys::EventIdRunKey(tc.id, hi),
                    keys::EncodeEventIdLogRun(run));
      }
    }
    if (g.stream_ids_used) {
      g.batch.Put(db_->directory(), keys::kNextStreamIdKey,
                  BigEndian64(g.next_stream_id));
    }
    written =
        g.failed.ok()
            ? WriteStatus(db_->db()->Write(db_->write_options(), &g.batch))
            : g.failed;
  }

  if (written.ok()) {
    for (auto& [state, sc] : g.streams) {
      state->id = sc.id;
      state->head = std::move(sc.head);
    }
    for (auto& [state, tc] : g.tenants) {
      state->id = tc.id;
      state->next_position = tc.next_position;
      // Readers may now read everything below the new end.
      tenants_dir_->Add(state->name, tc.id, tc.next_position);
      if (tc.records.empty()) continue;
      // Subscribers next: the events are readable now.
      live_->Publish(state->name, [&records = tc.records] {
        auto commit = std::make_shared<CommittedEvents>();
        commit->events.reserve(records.size());
        for (const auto& r : records) {
          commit->events.push_back(
              {GlobalPosition(r.position), *r.stream, *r.record});
        }
        return commit;
      });
    }
    next_tenant_id_ = g.next_tenant_id;
    next_stream_id_ = g.next_stream_id;
    if (!g.tenants.empty()) CountGroup(ops.size());
  } else {
    // The whole group fails; the heads in memory stay as they were, so the
    // next group sees exactly what is on disk.
    for (auto& op : ops) {
      if (op->outcome.status.ok() && !op->outcome.duplicate) {
        op->outcome = WriteOutcome{};
        op->outcome.status = written;
      }
    }
  }

  for (auto& op : ops) op->done(std::move(op->outcome));

  if (cached_streams_ > options_.max_cached_streams) {
    // Everything is on disk; forget the cache rather than track recency.
    for (auto& [name, t] : tenants_) t.streams.clear();
    cached_streams_ = 0;
  }
}

Sequencer::TenantState& Sequencer::ResolveTenant(const std::string& name) {
  auto it = tenants_.find(name);
  if (it != tenants_.end()) return it->second;
  TenantState& t = tenants_[name];
  t.name = name;
  return t;
}

Result<Sequencer::StreamState*> Sequencer::ResolveStream(
    TenantState& tenant, const std::string& stream) {
  auto it = tenant.streams.find(stream);
  if (it != tenant.streams.end()) return &it->second;
  StreamState loaded;
  if (tenant.id) {
    rocksdb::ReadOptions ro;
    std::string value;
    auto s = db_->db()->Get(ro, db_->directory(),
                            keys::StreamNameKey(*tenant.id, stream), &value);
    if (s.ok()) {
      if (value.size() != 8) return Status::Corruption("bad stream id entry");
      loaded.id = StreamId(keys::GetBigEndian64(value.data()));
      auto head = StreamHeads(db_, ro).Read(*tenant.id, *loaded.id);
      if (!head.has_value()) return head.error();
      loaded.head = std::move(*head);
    } else if (!s.IsNotFound()) {
      return FromRocksDb(s);
    }
  }
  ++cached_streams_;
  return &(tenant.streams[stream] = std::move(loaded));
}

void Sequencer::ApplyAppend(Group& g, AppendRequest& req, WriteOutcome& out) {
  TenantState& tenant = ResolveTenant(req.tenant);
  std::vector<StreamState*> streams;
  streams.reserve(req.streams.size());
  for (const auto& sa : req.streams) {
    auto s = ResolveStream(tenant, sa.stream);
    if (!s.has_value()) {
      out.status = s.error();
      return;
    }
    const keys::StreamHead* head = g.Head(*s);
    if (head != nullptr && head->tombstoned) {
      out.status =
          Status::StreamDeleted("stream " + sa.stream + " is tombstoned");
      return;
    }
    streams.push_back(*s);
  }

  // Retries are recognised before expected revisions: a retry of a write
  // that succeeded would otherwise fail its own expectation.
  out.status = CheckRetry(g, tenant, streams, req, out);
  if (!out.status.ok() || out.duplicate) return;

  for (size_t i = 0; i < req.streams.size(); ++i) {
    const keys::StreamHead* head = g.Head(streams[i]);
    const auto actual = head ? head->visible_last_revision() : std::nullopt;
    if (!Satisfies(req.streams[i].expected, actual)) {
      out.conflicts.push_back(
          {req.streams[i].stream, req.streams[i].expected, actual});
    }
  }
  if (!out.conflicts.empty()) {
    out.status = Status::WrongExpectedVersion(
        out.conflicts.size() == 1
            ? "stream " + out.conflicts[0].stream +
                  " is not at the expected revision"
            : std::to_string(out.conflicts.size()) +
                  " streams are not at their expected revisions");
    return;
  }

  if (req.condition) {
    auto conflict = FindConditionConflict(g, tenant, *req.condition);
    if (!conflict.has_value()) {
      out.status = conflict.error();
      return;
    }
    if (conflict->has_value()) {
      out.conflict_position = **conflict;
      out.status = Status::WrongExpectedVersion(
          "an event matching the append condition was appended after the "
          "given position");
      return;
    }
  }

  // Every check passed: take positions and stage the writes.
  Group::TenantChange& tc = g.StageTenant(&tenant);
  out.first_position = GlobalPosition(tc.next_position);
  for (size_t i = 0; i < req.streams.size(); ++i) {
    StreamAppend& sa = req.streams[i];
    Group::StreamChange& sc = g.StageStream(tc, streams[i], sa.stream);
    keys::StreamHead& head = sc.head;
    head.deleted = false;  // an append revives a soft-deleted stream
    StreamAppendResult result{
        sa.stream, StreamRevision(head.next_revision), StreamRevision(0),
        GlobalPosition(tc.next_position), GlobalPosition(0)};
    for (ProposedEvent& ev : sa.events) {
      const StreamRevision revision(head.next_revision++);
      const GlobalPosition position(tc.next_position++);
      if (!ev.client_id) ev.id = g.ServerEventId(tc, position);
      PatchEventRecord(&ev.record, ev.id, revision, g.now_us);
      g.batch.Put(db_->events(), keys::EventKey(tc.id, position), ev.record);
      // For the retries of later requests in this group. An id the server
      // made cannot be among them: a client learns it only from a read,
      // which sees committed groups alone.
      if (ev.client_id) {
        g.ids[{&tenant, ev.id}] = keys::EventIdEntry{sc.id, revision, position};
      }
      tc.records.push_back({position.value(), &sa.stream, &ev.record});
      result.last_revision = revision;
      result.last_position = position;
    }
    // The stream's new revisions are at consecutive positions: one index
    // entry covers them all (more only past a run's 2^32 - 1 events).
    for (uint64_t done = 0; done < sa.events.size();) {
      const auto count = static_cast<uint32_t>(
          std::min<uint64_t>(sa.events.size() - done, UINT32_MAX));
      g.batch.Put(
          db_->streams(),
          keys::StreamIndexKey(
              tc.id, sc.id,
              StreamRevision(result.first_revision.value() + done)),
          keys::EncodeIndexRun(result.first_position.value() + done, count));
      done += count;
    }
    PutClientEventIds(g, tc.id, sc.id, sa.events, result.first_revision,
                      result.first_position);
    head.last_position = result.last_position;
    out.streams.push_back(std::move(result));
  }
  out.last_position = GlobalPosition(tc.next_position - 1);
}

void Sequencer::PutClientEventIds(Group& g, TenantId tenant, StreamId stream,
                                  const std::vector<ProposedEvent>& events,
                                  StreamRevision first_revision,
                                  GlobalPosition first_position) {
  for (size_t k = 0; k < events.size(); ++k) {
    if (!events[k].client_id) continue;
    g.batch.Put(db_->event_ids(), keys::EventIdKey(tenant, events[k].id),
                keys::EncodeEventIdEntry(
                    {stream, StreamRevision(first_revision.value() + k),
                     GlobalPosition(first_position.value() + k)}));
  }
}

Result<keys::EventIdEntry> Sequencer::EntryOfServerId(TenantState& tenant,
                                                      const Uuid& id,
                                                      GlobalPosition position) {
  std::string record;
  auto s = db_->db()->Get(rocksdb::ReadOptions(), db_->events(),
                          keys::EventKey(*tenant.id, position), &record);
  if (s.IsNotFound()) return Status::Corruption("event id run past the log");
  if (!s.ok()) return FromRocksDb(s);
  auto event = DecodeEventRecord(record);
  if (!event.has_value()) return event.error();
  if (event->id != id) {
    return Status::Corruption("event id run names an event of another id");
  }
  auto stream = ResolveStream(tenant, std::string(event->stream));
  if (!stream.has_value()) return stream.error();
  if (!(*stream)->id) return Status::Corruption("event of an unknown stream");
  return keys::EventIdEntry{*(*stream)->id, event->revision, position};
}

Status Sequencer::CheckRetry(Group& g, TenantState& tenant,
                             const std::vector<StreamState*>& streams,
                             const AppendRequest& req, WriteOutcome& out) {
  // Look up every id the client chose: this group's first, then the store.
  std::vector<std::optional<keys::EventIdEntry>> found;
  std::vector<std::string> lookup_keys;
  std::vector<size_t> lookup_index;  // into found, one per pair of keys
  std::vector<Uuid> lookup_ids;      // one per pair of keys
  bool any_client_id = false;
  for (const auto& sa : req.streams) {
    for (const auto& ev : sa.events) {
      found.emplace_back();
      if (!ev.client_id) continue;
      any_client_id = true;
      auto it = g.ids.find({&tenant, ev.id});
      if (it != g.ids.end()) {
        found.back() = it->second;
      } else if (tenant.id) {
        // Its own entry, or that of a run the server made (FORMAT.md).
        lookup_keys.push_back(keys::EventIdKey(*tenant.id, ev.id));
        lookup_keys.push_back(keys::EventIdRunKey(*tenant.id, ev.id.hi));
        lookup_index.push_back(found.size() - 1);
        lookup_ids.push_back(ev.id);
      }
    }
  }
  if (!any_client_id) return Status::Ok();
  if (!lookup_keys.empty()) {
    std::vector<rocksdb::Slice> slices(lookup_keys.begin(), lookup_keys.end());
    std::vector<rocksdb::PinnableSlice> values(slices.size());
    std::vector<rocksdb::Status> statuses(slices.size());
    db_->db()->MultiGet(rocksdb::ReadOptions(), db_->event_ids(), slices.size(),
                        slices.data(), values.data(), statuses.data());
    for (size_t k = 0; k < slices.size(); ++k) {
      if (statuses[k].IsNotFound()) continue;
      if (!statuses[k].ok()) return FromRocksDb(statuses[k]);
      const size_t i = k / 2;
      if (k % 2 == 0) {
        auto entry = keys::DecodeEventIdEntry(values[k].ToStringView());
        if (!entry) return Status::Corruption("bad event id entry");
        found[lookup_index[i]] = *entry;
      } else if (auto run =
                     keys::DecodeEventIdLogRun(values[k].ToStringView())) {
        if (!run->Contains(lookup_ids[i].lo)) continue;
        // The event says which stream and revision (rare: a client that
        // reuses an id the server made).
        auto entry = EntryOfServerId(tenant, lookup_ids[i],
                                     run->PositionOf(lookup_ids[i].lo));
        if (!entry.has_value()) return entry.error();
        found[lookup_index[i]] = *entry;
      } else {
        auto old = keys::DecodeEventIdRun(values[k].ToStringView());
        if (!old) return Status::Corruption("bad event id run");
        if (old->Contains(lookup_ids[i].lo)) {
          found[lookup_index[i]] = old->EntryOf(lookup_ids[i].lo);
        }
      }
    }
  }

  // Each stream's events are new, an exact earlier run, or neither.
  size_t next = 0;
  size_t duplicates = 0;
  bool any_found = false;
  std::vector<StreamAppendResult> original;
  for (size_t i = 0; i < req.streams.size(); ++i) {
    const auto& events = req.streams[i].events;
    const std::optional<StreamId> stream_id = g.IdOf(streams[i]);
    bool exact = true;
    for (size_t j = 0; j < events.size(); ++j) {
      const auto& f = found[next + j];
      any_found |= f.has_value();
      exact = exact && f && stream_id && f->stream == *stream_id &&
              f->revision.value() == found[next]->revision.value() + j;
    }
    if (exact) {
      ++duplicates;
      const auto& first = *found[next];
      const auto& last = *found[next + events.size() - 1];
      original.push_back({req.streams[i].stream, first.revision, last.revision,
                          first.position, last.position});
    }
    next += events.size();
  }
  if (!any_found) return Status::Ok();
  if (duplicates != req.streams.size()) {
    return Status::AlreadyExists(
        "an event id was appended before, but not as this exact request");
  }
  out.duplicate = true;
  out.first_position = original.front().first_position;
  out.last_position = original.front().last_position;
  for (const auto& r : original) {
    out.first_position = std::min(out.first_position, r.first_position);
    out.last_position = std::max(out.last_position, r.last_position);
  }
  out.streams = std::move(original);
  return Status::Ok();
}

Result<std::optional<GlobalPosition>> Sequencer::FindConditionConflict(
    Group& g, TenantState& tenant, const AppendCondition& condition) {
  // No position is greater than the largest (and start would wrap to 0).
  if (condition.after && condition.after->value() == UINT64_MAX) {
    return std::optional<GlobalPosition>();
  }
  const uint64_t start = condition.after ? condition.after->value() + 1 : 0;
  const EventFilter& filter = condition.fail_if_events_match;
  // Committed events first (lower positions), then this group's.
  if (tenant.id && start < tenant.next_position) {
    LogReadOptions first_match;
    first_match.from = start;
    first_match.limit = 1;
    first_match.filter = filter;
    first_match.max_scan = SIZE_MAX;  // the answer must be exact
    std::optional<GlobalPosition> found;
    auto scanned =
        log_->Scan(*tenant.id, tenant.name, tenant.next_position, first_match,
                   [&found](GlobalPosition position, const EventView&) {
                     found = position;
                   });
    if (!scanned.has_value()) return scanned.error();
    if (found) return found;
  }
  auto tc = g.tenants.find(&tenant);
  if (tc != g.tenants.end()) {
    for (const auto& [position, stream, record] : tc->second.records) {
      if (position < start) continue;
      auto ev = DecodeEventRecord(*record);
      if (ev.has_value() && filter.Matches(ev->stream, ev->type)) {
        return std::optional<GlobalPosition>(GlobalPosition(position));
      }
    }
  }
  return std::optional<GlobalPosition>();
}

void Sequencer::ApplyDelete(Group& g, const DeleteRequest& req,
                            WriteOutcome& out) {
  TenantState& tenant = ResolveTenant(req.tenant);
  auto s = ResolveStream(tenant, req.stream);
  if (!s.has_value()) {
    out.status = s.error();
    return;
  }
  const keys::StreamHead* head = g.Head(*s);
  // A tombstoned head is also marked deleted: check it first, so that any
  // delete of a tombstoned stream is StreamDeleted, not NotFound.
  if (head != nullptr && head->tombstoned) {
    out.status =
        Status::StreamDeleted("stream " + req.stream + " is tombstoned");
    return;
  }
  if (head == nullptr || (head->deleted && !req.tombstone)) {
    out.status = Status::NotFound("no stream " + req.stream);
    return;
  }
  const auto actual = head->visible_last_revision();
  if (!Satisfies(req.expected, actual)) {
    out.conflicts.push_back({req.stream, req.expected, actual});
    out.status = Status::WrongExpectedVersion(
        "stream " + req.stream + " is not at the expected revision");
    return;
  }
  Group::TenantChange& tc = g.StageTenant(&tenant);
  keys::StreamHead& staged = g.StageStream(tc, *s, req.stream).head;
  staged.deleted = true;
  staged.tombstoned = req.tombstone;
  staged.first_revision = staged.next_revision;
}

void Sequencer::ApplyMetadata(Group& g, const MetadataRequest& req,
                              WriteOutcome& out) {
  TenantState& tenant = ResolveTenant(req.tenant);
  auto s = ResolveStream(tenant, req.stream);
  if (!s.has_value()) {
    out.status = s.error();
    return;
  }
  const keys::StreamHead* head = g.Head(*s);
  if (head != nullptr && head->tombstoned) {
    out.status =
        Status::StreamDeleted("stream " + req.stream + " is tombstoned");
    return;
  }
  Group::TenantChange& tc = g.StageTenant(&tenant);
  g.StageStream(tc, *s, req.stream).head.metadata = req.metadata;
  out.metadata = req.metadata;
}

}  // namespace cairn::storage
