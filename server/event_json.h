#pragma once

#include <optional>
#include <string>
#include <vector>

#include "protocol/status.h"
#include "storage/event_store.h"

namespace cairn::server {

// The JSON the API returns, written straight from stored records: data,
// metadata and context are copied as stored, never re-serialised.

// One event object, from a decoded record.
void AppendEventJson(std::string* out, GlobalPosition position,
                     const EventView& event);

// One event object. Corruption when the record does not decode (records
// from storage were verified when read, so this does not happen).
Status AppendEventJson(std::string* out, const storage::StoredEvent& event);

// {"events":[…],"next":N|null}
Status AppendEventPageJson(std::string* out,
                           const std::vector<storage::StoredEvent>& events,
                           std::optional<uint64_t> next);

// One event a line, for application/x-ndjson.
Status AppendEventLines(std::string* out,
                        const std::vector<storage::StoredEvent>& events);

// {"stream","firstRevision","lastRevision","firstPosition","lastPosition"}
void AppendAppendResultJson(std::string* out,
                            const storage::StreamAppendResult& r);

std::string StreamInfoJson(const storage::StreamInfo& info);
std::string StreamListingJson(const storage::StreamListing& listing);
std::string StreamMetadataJson(const storage::StreamMetadata& metadata);

}  // namespace cairn::server
