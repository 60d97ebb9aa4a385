#include "protocol/event_record.h"

#include <cassert>

#include "protocol/event_record_generated.h"

namespace cairn {
namespace {

std::string_view View(const flatbuffers::String* s) {
  return s == nullptr ? std::string_view()
                      : std::string_view(s->c_str(), s->size());
}

}  // namespace

std::string EncodeEventRecord(const NewEventRecord& event) {
  flatbuffers::FlatBufferBuilder fbb(
      256 + event.data.size() + event.metadata.size() + event.context.size());
  // Every scalar is written, even at its default, so that revision and time
  // can be patched in place at commit.
  fbb.ForceDefaults(true);
  const auto stream =
      fbb.CreateString(event.stream.data(), event.stream.size());
  const auto type = fbb.CreateString(event.type.data(), event.type.size());
  const auto data = fbb.CreateString(event.data.data(), event.data.size());
  const auto metadata =
      fbb.CreateString(event.metadata.data(), event.metadata.size());
  const auto context =
      fbb.CreateString(event.context.data(), event.context.size());
  const protocol::fb::Uuid id(event.id.hi, event.id.lo);
  protocol::fb::EventRecordBuilder b(fbb);
  b.add_format_version(kEventRecordFormatVersion);
  b.add_id(&id);
  b.add_revision(0);
  b.add_time_us(0);
  b.add_stream(stream);
  b.add_type(type);
  b.add_data(data);
  b.add_metadata(metadata);
  b.add_context(context);
  fbb.Finish(b.Finish());
  return std::string(reinterpret_cast<const char*>(fbb.GetBufferPointer()),
                     fbb.GetSize());
}

void PatchEventRecord(std::string* record, const Uuid& id,
                      StreamRevision revision, int64_t time_us) {
  auto* root = protocol::fb::GetMutableEventRecord(record->data());
  auto* stored_id = root->mutable_id();
  assert(stored_id != nullptr);
  stored_id->mutate_hi(id.hi);
  stored_id->mutate_lo(id.lo);
  [[maybe_unused]] const bool ok =
      root->mutate_revision(revision.value()) && root->mutate_time_us(time_us);
  assert(ok);
}

Result<EventView> DecodeEventRecord(std::string_view bytes) {
  const auto* p = reinterpret_cast<const uint8_t*>(bytes.data());
  flatbuffers::Verifier verifier(p, bytes.size());
  if (!protocol::fb::VerifyEventRecordBuffer(verifier)) {
    return Status::Corruption("event record fails verification");
  }
  const auto* r = protocol::fb::GetEventRecord(p);
  if (r->id() == nullptr || r->stream() == nullptr || r->type() == nullptr) {
    return Status::Corruption("event record lacks id, stream or type");
  }
  EventView v;
  v.raw = bytes;
  v.format_version = r->format_version();
  v.id = Uuid{r->id()->hi(), r->id()->lo()};
  v.revision = StreamRevision(r->revision());
  v.time_us = r->time_us();
  v.stream = View(r->stream());
  v.type = View(r->type());
  v.data = View(r->data());
  v.metadata = View(r->metadata());
  v.context = View(r->context());
  return v;
}

}  // namespace cairn
