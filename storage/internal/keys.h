#pragma once

// The exact bytes of every key and small value Cairn stores. The layout is
// documented in storage/FORMAT.md; change both together.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "protocol/ids.h"
#include "protocol/uuid.h"
#include "storage/event_store.h"
#include "storage/projection_store.h"

namespace cairn::storage::keys {

// Column families.
inline constexpr char kDirectoryFamily[] = "directory";
inline constexpr char kEventsFamily[] = "events";
inline constexpr char kStreamsFamily[] = "streams";
inline constexpr char kHeadsFamily[] = "heads";
inline constexpr char kEventIdsFamily[] = "event_ids";
// One family per projection: this prefix, then the projection's name.
// They, and the projections' checkpoints and aliases, are in the read
// models' own instance (the data directory's projections/).
inline constexpr char kProjectionFamilyPrefix[] = "projection.";

// The format this version writes, in the directory's "Mformat" entry
// (storage/FORMAT.md, "Versions"). A store without the entry was written
// by a version before 2; its data is valid in every later version.
inline constexpr uint32_t kFormatVersion = 3;

// Fixed-width big-endian integers, so that byte order is numeric order.
void PutBigEndian32(std::string* out, uint32_t v);
void PutBigEndian64(std::string* out, uint64_t v);
uint32_t GetBigEndian32(const char* p);
uint64_t GetBigEndian64(const char* p);

// --- directory family ---
// 'T' name -> u32 tenant id
std::string TenantNameKey(std::string_view tenant);
// 'S' tenant(4) name -> u64 stream id; ordered by name within a tenant
std::string StreamNameKey(TenantId tenant, std::string_view stream);
// 'L' tenant(4) -> u64 the tenant's next position
std::string LogEndKey(TenantId tenant);
inline constexpr char kFormatKey[] = "Mformat";                // -> u32
inline constexpr char kNextStreamIdKey[] = "Mnext_stream_id";  // -> u64
inline constexpr size_t kStreamNameKeyPrefixBytes = 5;

// --- the read models' default family: projection checkpoints, aliases ---
// 'P' u32 length, physical name, u32 tenant -> ProjectionCheckpoint; one
// physical name's keys share ProjectionCheckpointPrefix.
std::string ProjectionCheckpointPrefix(std::string_view physical);
std::string ProjectionCheckpointKey(std::string_view physical, TenantId tenant);
inline constexpr char kProjectionCheckpointTag[] = "P";
struct ProjectionCheckpointKeyParts {
  std::string_view physical;
  uint32_t tenant;
};
std::optional<ProjectionCheckpointKeyParts> DecodeProjectionCheckpointKey(
    std::string_view key);
// u64 next position, u32 version
std::string EncodeProjectionCheckpoint(uint64_t next_position,
                                       uint32_t version);
std::optional<ProjectionCheckpoint> DecodeProjectionCheckpoint(
    std::string_view v);
// 'A' projection name -> physical name
std::string ProjectionAliasKey(std::string_view projection);
inline constexpr char kProjectionAliasTag[] = "A";

// --- events family: tenant(4) position(8) -> EventRecord ---
std::string EventKey(TenantId tenant, GlobalPosition position);
inline constexpr size_t kEventKeyBytes = 12;
GlobalPosition EventKeyPosition(std::string_view key);

// --- streams family: tenant(4) stream(8) first revision(8) -> IndexRun ---
std::string StreamIndexKey(TenantId tenant, StreamId stream,
                           StreamRevision revision);
inline constexpr size_t kStreamIndexKeyBytes = 20;
inline constexpr size_t kStreamIndexPrefixBytes = 12;  // tenant + stream
StreamRevision StreamIndexKeyRevision(std::string_view key);

// One entry of the stream index: `count` revisions of a stream from
// `first_revision` (its key's), at as many consecutive positions from
// `position`. An append writes one run per stream it touches, so a
// 1,000-event batch is one entry, not 1,000.
struct IndexRun {
  uint64_t first_revision = 0;
  uint64_t position = 0;
  uint32_t count = 0;

  uint64_t end_revision() const { return first_revision + count; }
  bool Contains(uint64_t revision) const {
    return revision >= first_revision && revision < end_revision();
  }
  uint64_t PositionOf(uint64_t revision) const {
    return position + (revision - first_revision);
  }
};
inline constexpr size_t kIndexRunBytes = 12;   // u64 position, u32 count
inline constexpr size_t kIndexRunBytesV1 = 8;  // u64 position: a run of 1
std::string EncodeIndexRun(uint64_t position, uint32_t count);
// A run from its key and value: nullopt when the value is neither size,
// the count is 0, or the run's revisions or positions pass 2^64.
std::optional<IndexRun> DecodeIndexRun(std::string_view key,
                                       std::string_view value);

// --- heads family: tenant(4) stream(8) -> StreamHead ---
std::string HeadKey(TenantId tenant, StreamId stream);

// The smallest key greater than every key with this prefix (the end of a
// prefix scan or a range delete); empty when there is none (all 0xff).
std::string PrefixEnd(std::string prefix);

// --- event_ids family: tenant(4) uuid(16) -> EventIdEntry, one id;
// tenant(4) uuid hi(8) -> EventIdLogRun (or, before format 3, EventIdRun),
// ids the server made together ---
std::string EventIdKey(TenantId tenant, const Uuid& id);
std::string EventIdRunKey(TenantId tenant, uint64_t hi);
inline constexpr size_t kEventIdKeyBytes = 20;
inline constexpr size_t kEventIdRunKeyBytes = 12;

// Where an event id was appended, for idempotent retries.
struct EventIdEntry {
  StreamId stream;
  StreamRevision revision;
  GlobalPosition position;
};
std::string EncodeEventIdEntry(const EventIdEntry& e);
std::optional<EventIdEntry> DecodeEventIdEntry(std::string_view v);

// The ids {hi, first_lo + k}, k < count, that the server gave to the
// events at `count` consecutive positions of a tenant's log from
// `first_position`, in one commit (Uuid::NextInRun): one entry instead of
// `count` (the key holds hi). Their streams and revisions are the events'.
struct EventIdLogRun {
  uint64_t first_lo = 0;
  uint32_t count = 0;
  GlobalPosition first_position;

  bool Contains(uint64_t lo) const {
    return lo >= first_lo && lo - first_lo < count;
  }
  GlobalPosition PositionOf(uint64_t lo) const {
    return GlobalPosition(first_position.value() + (lo - first_lo));
  }
};
inline constexpr size_t kEventIdLogRunBytes = 20;
std::string EncodeEventIdLogRun(const EventIdLogRun& run);
// nullopt when not 20 bytes, the count is 0, or the run's ids or
// positions pass 2^64.
std::optional<EventIdLogRun> DecodeEventIdLogRun(std::string_view v);

// Format 2's runs, still read: the ids {hi, first_lo + k}, k < count, of
// `count` events the server gave ids to in one append, at revisions and
// positions from `first`'s.
struct EventIdRun {
  uint64_t first_lo = 0;
  uint32_t count = 0;
  EventIdEntry first;

  bool Contains(uint64_t lo) const {
    return lo >= first_lo && lo - first_lo < count;
  }
  EventIdEntry EntryOf(uint64_t lo) const {
    const uint64_t k = lo - first_lo;
    return {first.stream, StreamRevision(first.revision.value() + k),
            GlobalPosition(first.position.value() + k)};
  }
};
inline constexpr size_t kEventIdRunBytes = 36;
std::string EncodeEventIdRun(const EventIdRun& run);
// nullopt when not 36 bytes, the count is below 2, or the run's ids,
// revisions or positions pass 2^64.
std::optional<EventIdRun> DecodeEventIdRun(std::string_view v);

// The state of one stream. Its tip (next_revision, last_position) is
// stored as of the head's last write: appends leave a head as it is and
// write only their index runs, from whose last one readers take the tip
// (stream_heads.h, FORMAT.md "heads").
struct StreamHead {
  // Revisions below this are deleted (soft delete keeps counting after).
  uint64_t first_revision = 0;
  // Revision count: the last revision is next_revision - 1.
  uint64_t next_revision = 0;
  GlobalPosition last_position;
  int64_t created_us = 0;
  bool deleted = false;
  bool tombstoned = false;
  StreamMetadata metadata;

  bool has_events() const { return next_revision > 0; }
  // The last revision a reader or writer sees: none when there is no
  // event or the stream is deleted.
  std::optional<uint64_t> visible_last_revision() const {
    if (deleted || next_revision == first_revision) return std::nullopt;
    return next_revision - 1;
  }
  // Equal but for the tip: an append changes only the tip, so the
  // sequencer writes a head again only when this is false.
  bool SameButTip(const StreamHead& o) const {
    return first_revision == o.first_revision && created_us == o.created_us &&
           deleted == o.deleted && tombstoned == o.tombstoned &&
           metadata == o.metadata;
  }
};
std::string EncodeStreamHead(const StreamHead& head);
std::optional<StreamHead> DecodeStreamHead(std::string_view v);

}  // namespace cairn::storage::keys
