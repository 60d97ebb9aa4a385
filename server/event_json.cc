#include "server/event_json.h"

#include "protocol/event_record.h"
#include "server/json_writer.h"

namespace cairn::server {

void AppendEventJson(std::string* out, GlobalPosition position,
                     const EventView& e) {
  out->append("{\"id\":\"");
  const size_t at = out->size();
  out->resize(at + 36);
  e.id.FormatTo(out->data() + at);
  out->append("\",\"stream\":");
  AppendJsonString(out, e.stream);
  out->append(",\"type\":");
  AppendJsonString(out, e.type);
  out->append(",\"revision\":");
  AppendUint(out, e.revision.value());
  out->append(",\"position\":");
  AppendUint(out, position.value());
  out->append(",\"time\":");
  AppendTimestamp(out, e.time_us);
  out->append(",\"data\":");
  out->append(e.data);
  out->append(",\"metadata\":");
  out->append(e.metadata);
  out->append(",\"context\":");
  out->append(e.context);
  out->push_back('}');
}

Status AppendEventJson(std::string* out, const storage::StoredEvent& event) {
  auto decoded = DecodeEventRecord(event.record);
  if (!decoded.has_value()) return decoded.error();
  AppendEventJson(out, event.position, *decoded);
  return Status::Ok();
}

Status AppendEventPageJson(std::string* out,
                           const std::vector<storage::StoredEvent>& events,
                           std::optional<uint64_t> next) {
  out->append("{\"events\":[");
  for (size_t i = 0; i < events.size(); ++i) {
    if (i > 0) out->push_back(',');
    if (Status s = AppendEventJson(out, events[i]); !s.ok()) return s;
  }
  out->append("],\"next\":");
  AppendOptionalUint(out, next);
  out->push_back('}');
  return Status::Ok();
}

Status AppendEventLines(std::string* out,
                        const std::vector<storage::StoredEvent>& events) {
  for (const auto& e : events) {
    if (Status s = AppendEventJson(out, e); !s.ok()) return s;
    out->push_back('\n');
  }
  return Status::Ok();
}

void AppendAppendResultJson(std::string* out,
                            const storage::StreamAppendResult& r) {
  out->append("{\"stream\":");
  AppendJsonString(out, r.stream);
  out->append(",\"firstRevision\":");
  AppendUint(out, r.first_revision.value());
  out->append(",\"lastRevision\":");
  AppendUint(out, r.last_revision.value());
  out->append(",\"firstPosition\":");
  AppendUint(out, r.first_position.value());
  out->append(",\"lastPosition\":");
  AppendUint(out, r.last_position.value());
  out->push_back('}');
}

std::string StreamMetadataJson(const storage::StreamMetadata& m) {
  std::string out = "{\"maxCount\":";
  AppendOptionalUint(&out, m.max_count);
  out.append(",\"maxAgeSeconds\":");
  AppendOptionalUint(&out, m.max_age_seconds);
  out.push_back('}');
  return out;
}

std::string StreamInfoJson(const storage::StreamInfo& info) {
  std::string out = "{\"stream\":";
  AppendJsonString(&out, info.stream);
  out.append(",\"lastRevision\":");
  AppendOptionalUint(&out, info.last_revision
                               ? std::optional(info.last_revision->value())
                               : std::nullopt);
  out.append(",\"lastPosition\":");
  AppendOptionalUint(&out, info.last_position
                               ? std::optional(info.last_position->value())
                               : std::nullopt);
  out.append(",\"created\":");
  AppendTimestamp(&out, info.created_us);
  out.append(",\"deleted\":");
  out.append(info.deleted ? "true" : "false");
  out.append(",\"metadata\":");
  out.append(StreamMetadataJson(info.metadata));
  out.push_back('}');
  return out;
}

std::string StreamListingJson(const storage::StreamListing& listing) {
  std::string out = "{\"streams\":[";
  for (size_t i = 0; i < listing.streams.size(); ++i) {
    const auto& s = listing.streams[i];
    if (i > 0) out.push_back(',');
    out.append("{\"stream\":");
    AppendJsonString(&out, s.stream);
    out.append(",\"lastRevision\":");
    AppendUint(&out, s.last_revision->value());
    out.append(",\"lastPosition\":");
    AppendUint(&out, s.last_position->value());
    out.push_back('}');
  }
  out.append("],\"next\":");
  if (listing.next) {
    AppendJsonString(&out, *listing.next);
  } else {
    out.append("null");
  }
  out.push_back('}');
  return out;
}

}  // namespace cairn::server
