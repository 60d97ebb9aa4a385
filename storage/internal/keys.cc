#include "storage/internal/keys.h"

namespace cairn::storage::keys {
namespace {

constexpr uint8_t kHeadVersion = 1;
constexpr uint8_t kDeleted = 1 << 0;
constexpr uint8_t kTombstoned = 1 << 1;
constexpr uint8_t kHasMaxCount = 1 << 2;
constexpr uint8_t kHasMaxAge = 1 << 3;
// version(1) flags(1) first_revision(8) next_revision(8) last_position(8)
// created_us(8) max_count(8) max_age_seconds(8)
constexpr size_t kHeadBytes = 2 + 6 * 8;

}  // namespace

void PutBigEndian32(std::string* out, uint32_t v) {
  char b[4];
  for (int i = 3; i >= 0; --i, v >>= 8) b[i] = static_cast<char>(v & 0xFF);
  out->append(b, 4);
}

void PutBigEndian64(std::string* out, uint64_t v) {
  char b[8];
  for (int i = 7; i >= 0; --i, v >>= 8) b[i] = static_cast<char>(v & 0xFF);
  out->append(b, 8);
}

uint32_t GetBigEndian32(const char* p) {
  uint32_t v = 0;
  for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

uint64_t GetBigEndian64(const char* p) {
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(p[i]);
  return v;
}

std::string TenantNameKey(std::string_view tenant) {
  std::string k;
  k.reserve(1 + tenant.size());
  k.push_back('T');
  k.append(tenant);
  return k;
}

std::string StreamNameKey(TenantId tenant, std::string_view stream) {
  std::string k;
  k.reserve(kStreamNameKeyPrefixBytes + stream.size());
  k.push_back('S');
  PutBigEndian32(&k, tenant.value());
  k.append(stream);
  return k;
}

std::string ProjectionCheckpointPrefix(std::string_view physical) {
  std::string out = kProjectionCheckpointTag;
  PutBigEndian32(&out, static_cast<uint32_t>(physical.size()));
  out.append(physical);
  return out;
}

std::string ProjectionCheckpointKey(std::string_view physical,
                                    TenantId tenant) {
  std::string out = ProjectionCheckpointPrefix(physical);
  PutBigEndian32(&out, tenant.value());
  return out;
}

std::optional<ProjectionCheckpointKeyParts> DecodeProjectionCheckpointKey(
    std::string_view key) {
  if (key.size() < 9 || key[0] != kProjectionCheckpointTag[0]) {
    return std::nullopt;
  }
  const uint32_t length = GetBigEndian32(key.data() + 1);
  if (key.size() - 9 != length) return std::nullopt;
  return ProjectionCheckpointKeyParts{key.substr(5, length),
                                      GetBigEndian32(key.data() + 5 + length)};
}

std::string EncodeProjectionCheckpoint(uint64_t next_position,
                                       uint32_t version) {
  std::string out;
  PutBigEndian64(&out, next_position);
  PutBigEndian32(&out, version);
  return out;
}

std::optional<ProjectionCheckpoint> DecodeProjectionCheckpoint(
    std::string_view v) {
  if (v.size() != 12) return std::nullopt;
  return ProjectionCheckpoint{GetBigEndian64(v.data()),
                              GetBigEndian32(v.data() + 8)};
}

std::string ProjectionAliasKey(std::string_view projection) {
  return kProjectionAliasTag + std::string(projection);
}

std::string LogEndKey(TenantId tenant) {
  std::string k;
  k.push_back('L');
  PutBigEndian32(&k, tenant.value());
  return k;
}

std::string EventKey(TenantId tenant, GlobalPosition position) {
  std::string k;
  k.reserve(kEventKeyBytes);
  PutBigEndian32(&k, tenant.value());
  PutBigEndian64(&k, position.value());
  return k;
}

GlobalPosition EventKeyPosition(std::string_view key) {
  return GlobalPosition(GetBigEndian64(key.data() + 4));
}

std::string StreamIndexKey(TenantId tenant, StreamId stream,
                           StreamRevision revision) {
  std::string k;
  k.reserve(kStreamIndexKeyBytes);
  PutBigEndian32(&k, tenant.value());
  PutBigEndian64(&k, stream.value());
  PutBigEndian64(&k, revision.value());
  return k;
}

StreamRevision StreamIndexKeyRevision(std::string_view key) {
  return StreamRevision(GetBigEndian64(key.data() + kStreamIndexPrefixBytes));
}

std::string EncodeIndexRun(uint64_t position, uint32_t count) {
  std::string v;
  v.reserve(kIndexRunBytes);
  PutBigEndian64(&v, position);
  PutBigEndian32(&v, count);
  return v;
}

std::optional<IndexRun> DecodeIndexRun(std::string_view key,
                                       std::string_view value) {
  if (key.size() != kStreamIndexKeyBytes) return std::nullopt;
  IndexRun run;
  run.first_revision = StreamIndexKeyRevision(key).value();
  if (value.size() == kIndexRunBytes) {
    run.count = GetBigEndian32(value.data() + 8);
  } else if (value.size() == kIndexRunBytesV1) {
    run.count = 1;
  } else {
    return std::nullopt;
  }
  run.position = GetBigEndian64(value.data());
  if (run.count == 0 || run.first_revision > UINT64_MAX - run.count ||
      run.position > UINT64_MAX - run.count) {
    return std::nullopt;
  }
  return run;
}

std::string HeadKey(TenantId tenant, StreamId stream) {
  std::string k;
  k.reserve(12);
  PutBigEndian32(&k, tenant.value());
  PutBigEndian64(&k, stream.value());
  return k;
}

std::string EventIdKey(TenantId tenant, const Uuid& id) {
  std::string k;
  k.reserve(kEventIdKeyBytes);
  PutBigEndian32(&k, tenant.value());
  PutBigEndian64(&k, id.hi);
  PutBigEndian64(&k, id.lo);
  return k;
}

std::string EventIdRunKey(TenantId tenant, uint64_t hi) {
  std::string k;
  k.reserve(kEventIdRunKeyBytes);
  PutBigEndian32(&k, tenant.value());
  PutBigEndian64(&k, hi);
  return k;
}

std::string EncodeEventIdEntry(const EventIdEntry& e) {
  std::string v;
  v.reserve(24);
  PutBigEndian64(&v, e.stream.value());
  PutBigEndian64(&v, e.revision.value());
  PutBigEndian64(&v, e.position.value());
  return v;
}

std::optional<EventIdEntry> DecodeEventIdEntry(std::string_view v) {
  if (v.size() != 24) return std::nullopt;
  return EventIdEntry{StreamId(GetBigEndian64(v.data())),
                      StreamRevision(GetBigEndian64(v.data() + 8)),
                      GlobalPosition(GetBigEndian64(v.data() + 16))};
}

std::string EncodeEventIdRun(const EventIdRun& run) {
  std::string v;
  v.reserve(kEventIdRunBytes);
  PutBigEndian64(&v, run.first_lo);
  PutBigEndian32(&v, run.count);
  v.append(EncodeEventIdEntry(run.first));
  return v;
}

std::string EncodeEventIdLogRun(const EventIdLogRun& run) {
  std::string v;
  v.reserve(kEventIdLogRunBytes);
  PutBigEndian64(&v, run.first_lo);
  PutBigEndian32(&v, run.count);
  PutBigEndian64(&v, run.first_position.value());
  return v;
}

std::optional<EventIdLogRun> DecodeEventIdLogRun(std::string_view v) {
  if (v.size() != kEventIdLogRunBytes) return std::nullopt;
  EventIdLogRun run;
  run.first_lo = GetBigEndian64(v.data());
  run.count = GetBigEndian32(v.data() + 8);
  run.first_position = GlobalPosition(GetBigEndian64(v.data() + 12));
  const uint64_t room = UINT64_MAX - run.count;
  if (run.count == 0 || run.first_lo > room ||
      run.first_position.value() > room) {
    return std::nullopt;
  }
  return run;
}

std::optional<EventIdRun> DecodeEventIdRun(std::string_view v) {
  if (v.size() != kEventIdRunBytes) return std::nullopt;
  EventIdRun run;
  run.first_lo = GetBigEndian64(v.data());
  run.count = GetBigEndian32(v.data() + 8);
  run.first = *DecodeEventIdEntry(v.substr(12));
  const uint64_t room = UINT64_MAX - run.count;
  if (run.count < 2 || run.first_lo > room ||
      run.first.revision.value() > room || run.first.position.value() > room) {
    return std::nullopt;
  }
  return run;
}

std::string EncodeStreamHead(const StreamHead& h) {
  std::string v;
  v.reserve(kHeadBytes);
  v.push_back(static_cast<char>(kHeadVersion));
  uint8_t flags = 0;
  if (h.deleted) flags |= kDeleted;
  if (h.tombstoned) flags |= kTombstoned;
  if (h.metadata.max_count) flags |= kHasMaxCount;
  if (h.metadata.max_age_seconds) flags |= kHasMaxAge;
  v.push_back(static_cast<char>(flags));
  PutBigEndian64(&v, h.first_revision);
  PutBigEndian64(&v, h.next_revision);
  PutBigEndian64(&v, h.last_position.value());
  PutBigEndian64(&v, static_cast<uint64_t>(h.created_us));
  PutBigEndian64(&v, h.metadata.max_count.value_or(0));
  PutBigEndian64(&v, h.metadata.max_age_seconds.value_or(0));
  return v;
}

std::optional<StreamHead> DecodeStreamHead(std::string_view v) {
  if (v.size() != kHeadBytes || static_cast<uint8_t>(v[0]) != kHeadVersion) {
    return std::nullopt;
  }
  const auto flags = static_cast<uint8_t>(v[1]);
  const char* p = v.data() + 2;
  StreamHead h;
  h.deleted = flags & kDeleted;
  h.tombstoned = flags & kTombstoned;
  h.first_revision = GetBigEndian64(p);
  h.next_revision = GetBigEndian64(p + 8);
  h.last_position = GlobalPosition(GetBigEndian64(p + 16));
  h.created_us = static_cast<int64_t>(GetBigEndian64(p + 24));
  if (flags & kHasMaxCount) h.metadata.max_count = GetBigEndian64(p + 32);
  if (flags & kHasMaxAge) h.metadata.max_age_seconds = GetBigEndian64(p + 40);
  if (h.first_revision > h.next_revision) return std::nullopt;
  return h;
}

std::string PrefixEnd(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) != 0xff) {
      prefix.back() = static_cast<char>(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return prefix;
}

}  // namespace cairn::storage::keys
