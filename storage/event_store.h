#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/event_record.h"
#include "protocol/ids.h"
#include "protocol/result.h"
#include "protocol/status.h"
#include "protocol/uuid.h"
#include "storage/backup.h"

namespace cairn::storage {

class LiveLog;
class LogIndex;
class ProjectionStore;

// When an append may be acknowledged.
enum class Durability {
  kFsync,   // the write-ahead log is fsynced first (one fsync per group)
  kWal,     // written to the WAL, not synced: survives a process crash only
  kMemory,  // no WAL: survives nothing until the next memtable flush
};

struct Options {
  // Default: kFsync.
  Durability durability = Durability::kFsync;
  // The block cache shared by every column family. Default: 256 MiB.
  size_t block_cache_bytes = size_t{256} << 20;
  // The most record bytes the sequencer puts in one write batch; a larger
  // queue waits for the next group. Default: 32 MiB.
  size_t max_group_bytes = size_t{32} << 20;
  // Stream heads the sequencer keeps in memory; past this it forgets them
  // all and reloads on demand (they are on disk). Default: 1,000,000.
  size_t max_cached_streams = 1'000'000;
  // Under kFsync, zeros written and synced this far ahead of the end of
  // the events' WAL, so that each commit's sync writes only data
  // (storage/internal/wal_prefill.h). 0: none. Default: 4 MiB.
  uint64_t wal_prefill_bytes = uint64_t{4} << 20;
  // Makes the first of each run of ids the server gives events. Tests
  // replace it to repeat an id, as a wall clock set back would. Default:
  // Uuid::NewV7.
  Uuid (*new_run_id)() = &Uuid::NewV7;
  // Open without writing (for inspection), also beside a running cairnd on
  // the same directory: reads see what was committed when the store opened
  // (nothing later; of a writer under kMemory, only what it flushed), and
  // writes fail with Unavailable. Creates nothing: NotFound when the
  // directory holds no store. Default: false.
  bool read_only = false;
};

// The expectation a writer states about a stream's last revision.
struct ExpectedRevision {
  enum class Kind { kAny, kNoStream, kExists, kExact };
  Kind kind = Kind::kAny;
  uint64_t revision = 0;  // for kExact

  static ExpectedRevision Any() { return {Kind::kAny, 0}; }
  static ExpectedRevision NoStream() { return {Kind::kNoStream, 0}; }
  static ExpectedRevision Exists() { return {Kind::kExists, 0}; }
  static ExpectedRevision Exact(uint64_t r) { return {Kind::kExact, r}; }
  bool operator==(const ExpectedRevision&) const = default;
};

// One event, encoded by EncodeEventRecord (protocol/event_record.h); the
// sequencer fills in revision and time, and the id unless the client chose
// it.
struct ProposedEvent {
  Uuid id;  // when client_id; else the sequencer sets it at commit
  // Only ids the client chose are looked up for idempotent retries; the
  // server's own v7 ids are new by construction.
  bool client_id = false;
  std::string record;
};

struct StreamAppend {
  std::string stream;
  ExpectedRevision expected;
  std::vector<ProposedEvent> events;  // REQUIRES: not empty
};

// Matches an event when it matches every non-empty list, and any entry of a
// list. An empty filter matches every event.
struct EventFilter {
  std::vector<std::string> types;
  std::vector<std::string> categories;
  std::vector<std::string> streams;

  bool empty() const {
    return types.empty() && categories.empty() && streams.empty();
  }
  bool Matches(std::string_view stream, std::string_view type) const;
};

// Fail the append if an event matching the filter has a position greater
// than `after` (any position at all when absent).
struct AppendCondition {
  EventFilter fail_if_events_match;
  std::optional<GlobalPosition> after;
};

// All streams commit atomically, or none do.
struct AppendRequest {
  std::string tenant;
  std::vector<StreamAppend> streams;  // REQUIRES: not empty, distinct names
  std::optional<AppendCondition> condition;
};

struct StreamAppendResult {
  std::string stream;
  StreamRevision first_revision;
  StreamRevision last_revision;
  GlobalPosition first_position;
  GlobalPosition last_position;
};

struct RevisionConflict {
  std::string stream;
  ExpectedRevision expected;
  std::optional<uint64_t> actual_revision;  // none: the stream does not exist
};

struct StreamMetadata {
  std::optional<uint64_t> max_count;
  std::optional<uint64_t> max_age_seconds;
  bool operator==(const StreamMetadata&) const = default;
};

// The outcome of any write. On success (or duplicate), `streams` and the
// positions describe what is stored.
struct WriteOutcome {
  Status status;
  // An exact retry of an earlier append: nothing was written, `streams`
  // holds the original result.
  bool duplicate = false;
  std::vector<StreamAppendResult> streams;  // one per StreamAppend, in order
  GlobalPosition first_position;
  GlobalPosition last_position;
  // With kWrongExpectedVersion from expected revisions: every failed stream.
  std::vector<RevisionConflict> conflicts;
  // With kWrongExpectedVersion from an AppendCondition: the first match.
  std::optional<GlobalPosition> conflict_position;
  // After SetStreamMetadata: the stream's metadata as stored.
  StreamMetadata metadata;
};

// Runs on the sequencer's thread: it must be quick and must not block
// (post the result elsewhere).
using WriteCallback = std::function<void(WriteOutcome)>;

struct DeleteRequest {
  std::string tenant;
  std::string stream;
  ExpectedRevision expected;
  bool tombstone = false;  // closed for good, rather than soft-deleted
};

struct MetadataRequest {
  std::string tenant;
  std::string stream;
  StreamMetadata metadata;  // replaces the stream's metadata
};

enum class Direction { kForward, kBackward };

// A stored event: its position and its verified record bytes (decode with
// protocol's DecodeEventRecord).
struct StoredEvent {
  GlobalPosition position;
  std::string record;
};

struct StreamReadOptions {
  std::optional<uint64_t> from;  // a revision; default: start or end
  size_t limit = 100;
  Direction direction = Direction::kForward;
};

struct StreamPage {
  std::vector<StoredEvent> events;
  std::optional<uint64_t> next;  // the `from` of the next page; none at end
};

struct LogReadOptions {
  uint64_t from = 0;
  size_t limit = 1000;
  // Stop before this position (exclusive); default: the end of the log.
  std::optional<uint64_t> until;
  EventFilter filter;
  // A filtered read gives up after scanning this many events that the log
  // index does not cover (UseLogIndex), and answers with what it found and
  // a `next`. Default: 100,000.
  size_t max_scan = 100'000;
  // Part of a read of much of the log (a streamed NDJSON read): its blocks
  // stay out of the block cache, where they would only push out the hot
  // ones. Reads of fewer than 10,000 events fill it unless this is set.
  bool long_scan = false;
};

// Called once per event of a scan, in position order. The view's bytes are
// valid only during the call.
using EventVisitor =
    std::function<void(GlobalPosition position, const EventView& event)>;

struct LogPage {
  std::vector<StoredEvent> events;
  std::optional<uint64_t> next;  // the `from` of the next page; none at end
};

struct StreamInfo {
  std::string stream;
  std::optional<StreamRevision> last_revision;  // none: no event yet
  std::optional<GlobalPosition> last_position;
  int64_t created_us = 0;
  bool deleted = false;
  StreamMetadata metadata;
};

struct StreamListing {
  std::vector<StreamInfo> streams;
  std::optional<std::string> next;  // the `after` cursor of the next page
};

// Figures of the write path and of RocksDB, for monitoring (/metrics).
struct StoreStats {
  // Group commit: how many write requests each committed group held.
  // group_sizes[i] counts the groups of at most kGroupSizeBounds[i]
  // requests (and more than the bound before it); the last slot, the larger
  // ones.
  static constexpr std::array<uint64_t, 11> kGroupSizeBounds = {
      1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024};
  std::array<uint64_t, kGroupSizeBounds.size() + 1> group_sizes{};
  uint64_t groups = 0;
  uint64_t grouped_requests = 0;  // the sum of the groups' sizes
  // RocksDB, summed over the column families where a figure is per family,
  // and over both instances (the events' and the read models').
  uint64_t memtable_bytes = 0;  // rocksdb.cur-size-all-mem-tables
  uint64_t pending_compaction_bytes =
      0;                        // ...estimate-pending-compaction-bytes
  uint64_t live_sst_bytes = 0;  // rocksdb.live-sst-files-size
  // Write stalls of the events' instance: writes stopped until compaction
  // catches up, or slowed to this many bytes per second (0: not slowed).
  bool writes_stopped = false;      // rocksdb.is-write-stopped
  uint64_t delayed_write_rate = 0;  // rocksdb.actual-delayed-write-rate
};

// An event store: per-tenant logs of events in streams, on RocksDB.
//
// Thread-safe. Writes are queued to one sequencer thread, which checks them
// against the stream heads in memory, assigns gapless per-tenant positions
// and commits a whole group of requests in one write batch and one WAL sync
// (group commit). Reads run on the caller's thread against committed data.
class EventStore {
 public:
  // Opens (creating if absent) the store in `dir`. Loads per-tenant state
  // only: the time to open does not grow with the number of events.
  static Result<std::unique_ptr<EventStore>> Open(const Options& options,
                                                  const std::string& dir);

  EventStore() = default;
  EventStore(const EventStore&) = delete;
  EventStore& operator=(const EventStore&) = delete;
  // Completes queued writes, then closes.
  virtual ~EventStore() = default;

  // Queues an append; `done` is called once it is durable (per Options) or
  // failed: WrongExpectedVersion (with conflicts or conflict_position),
  // AlreadyExists (an event id reused other than in an exact retry),
  // StreamDeleted (tombstoned), IOError, Unavailable (closing).
  virtual void Append(AppendRequest request, WriteCallback done) = 0;

  // Soft-deletes or tombstones a stream. NotFound when it has no head or is
  // already soft-deleted (and not asked to tombstone), StreamDeleted when
  // tombstoned, WrongExpectedVersion.
  virtual void Delete(DeleteRequest request, WriteCallback done) = 0;

  // Replaces a stream's metadata; allowed before its first event.
  // StreamDeleted when tombstoned.
  virtual void SetMetadata(MetadataRequest request, WriteCallback done) = 0;

  // Events of a stream, honouring deletion, maxCount and maxAgeSeconds.
  // NotFound when the stream has no head or is soft-deleted, StreamDeleted
  // when tombstoned.
  virtual Result<StreamPage> ReadStream(std::string_view tenant,
                                        std::string_view stream,
                                        const StreamReadOptions& options) = 0;

  // The tenant's log in position order. Unknown tenants have an empty log.
  virtual Result<LogPage> ReadLog(std::string_view tenant,
                                  const LogReadOptions& options) = 0;

  // ReadLog without a copy per event: each event is verified, decoded once
  // and visited. Returns the page's `next` (none at the end). For readers
  // that write events out at once (NDJSON, JSON pages).
  virtual Result<std::optional<uint64_t>> ScanLog(
      std::string_view tenant, const LogReadOptions& options,
      const EventVisitor& visit) = 0;

  // NotFound when there is no head; StreamDeleted when tombstoned. A
  // soft-deleted stream answers with deleted = true.
  virtual Result<StreamInfo> GetStreamInfo(std::string_view tenant,
                                           std::string_view stream) = 0;

  // Live streams (with at least one event, not deleted) whose id starts
  // with `prefix` and sorts after `after`, in byte order.
  virtual Result<StreamListing> ListStreams(std::string_view tenant,
                                            std::string_view prefix,
                                            std::string_view after,
                                            size_t limit) = 0;

  // The position the tenant's next event will take (0 for a new tenant).
  virtual GlobalPosition LogEnd(std::string_view tenant) = 0;

  // The tenants that have events, in no particular order.
  virtual std::vector<std::string> Tenants() = 0;

  // Committed events as they commit, for subscribers (storage/live_log.h).
  virtual LiveLog& Live() = 0;

  // Read models' state and checkpoints (storage/projection_store.h).
  virtual ProjectionStore& Projections() = 0;

  // From now on, filtered log reads and append conditions find their
  // events through `index` where it covers them, and scan the log only
  // past it (storage/log_index.h); without one, they scan. The store owns
  // the index. REQUIRES: called at most once.
  virtual void UseLogIndex(std::unique_ptr<LogIndex> index) = 0;

  // The write path's and RocksDB's figures now. Cheap: a few property
  // reads, no I/O.
  virtual StoreStats Stats() = 0;

  // Takes a consistent backup of the whole store (every tenant, every
  // column family, projections' included) into `backup_dir` (created if
  // absent) while writes go on; incremental: files already backed up are
  // shared (storage/backup.h). Every write acknowledged before the call is
  // in it. Backups are taken one at a time: a second call waits for the
  // first; Busy when another store or process is writing to the same
  // directory. Unavailable once Close has begun (Close stops a backup in
  // progress, which leaves nothing behind). IOError when the directory
  // cannot be created or written. Works on a store opened read-only too.
  // Blocks for the copy: call it off the I/O threads.
  virtual Result<BackupInfo> CreateBackup(const std::string& backup_dir) = 0;

  // Stops taking writes (they fail with Unavailable), commits what is
  // queued, flushes and closes. Idempotent; the destructor calls it.
  virtual void Close() = 0;
};

}  // namespace cairn::storage
