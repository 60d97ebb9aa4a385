#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "protocol/ids.h"
#include "protocol/result.h"
#include "protocol/uuid.h"

namespace cairn {

inline constexpr uint16_t kEventRecordFormatVersion = 1;

// What a client's event becomes before the sequencer assigns its revision
// and commit time. The JSON texts must already be validated and compact.
struct NewEventRecord {
  Uuid id;
  std::string_view stream;
  std::string_view type;
  std::string_view data;
  std::string_view metadata;
  std::string_view context;
};

// Encodes a record with revision 0 and time 0 (and the id as given),
// ready for PatchEventRecord.
// Done on the request's thread so that the single writer only patches.
std::string EncodeEventRecord(const NewEventRecord& event);

// Sets id, revision and commit time in place (the sequencer gives the
// ids the client did not choose, storage/FORMAT.md "event_ids").
// REQUIRES: record was produced by EncodeEventRecord.
void PatchEventRecord(std::string* record, const Uuid& id,
                      StreamRevision revision, int64_t time_us);

// A verified record; the views point into the bytes it was decoded from.
struct EventView {
  std::string_view raw;  // the whole record
  uint16_t format_version = 0;
  Uuid id;
  StreamRevision revision;
  int64_t time_us = 0;
  std::string_view stream;
  std::string_view type;
  std::string_view data;
  std::string_view metadata;
  std::string_view context;
};

// Verifies untrusted bytes (from disk) with the FlatBuffers verifier and
// returns views into them; Corruption when they are not a valid record.
// REQUIRES: bytes are 8-byte aligned (a heap std::string's are).
Result<EventView> DecodeEventRecord(std::string_view bytes);

}  // namespace cairn
