// The stored-record decoder (protocol/event_record.h): the input as the
// bytes of a value of the `events` column family, as read from disk.
//
// A record that decodes has its views inside its bytes, and re-encoding
// what it holds gives a record that decodes to the same fields; encoding is
// deterministic, so a second round trip gives the same bytes.

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "protocol/event_record.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

using cairn::EventView;
using cairn::Result;

bool Within(std::string_view part, std::string_view whole) {
  if (part.empty()) return true;
  return part.data() >= whole.data() &&
         part.data() + part.size() <= whole.data() + whole.size();
}

std::string Reencode(const EventView& v) {
  std::string record = cairn::EncodeEventRecord(
      {v.id, v.stream, v.type, v.data, v.metadata, v.context});
  cairn::PatchEventRecord(&record, v.id, v.revision, v.time_us);
  return record;
}

void CheckSameFields(const EventView& a, const EventView& b) {
  FUZZ_CHECK(a.id == b.id);
  FUZZ_CHECK(a.revision == b.revision);
  FUZZ_CHECK(a.time_us == b.time_us);
  FUZZ_CHECK(a.stream == b.stream);
  FUZZ_CHECK(a.type == b.type);
  FUZZ_CHECK(a.data == b.data);
  FUZZ_CHECK(a.metadata == b.metadata);
  FUZZ_CHECK(a.context == b.context);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // Copied, as storage reads values into strings: DecodeEventRecord wants
  // 8-byte aligned bytes, which a std::string's are, inline or on the heap.
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  FUZZ_CHECK(reinterpret_cast<uintptr_t>(bytes.data()) % 8 == 0);
  const Result<EventView> view = cairn::DecodeEventRecord(bytes);
  if (!view.has_value()) {
    FUZZ_CHECK(view.error().IsCorruption());
    return 0;
  }
  FUZZ_CHECK(view->raw.data() == bytes.data() &&
             view->raw.size() == bytes.size());
  for (std::string_view part :
       {view->stream, view->type, view->data, view->metadata, view->context}) {
    FUZZ_CHECK(Within(part, bytes));
  }

  const std::string once = Reencode(*view);
  const Result<EventView> decoded = cairn::DecodeEventRecord(once);
  FUZZ_CHECK(decoded.has_value());
  FUZZ_CHECK(decoded->format_version == cairn::kEventRecordFormatVersion);
  CheckSameFields(*view, *decoded);
  FUZZ_CHECK(Reencode(*decoded) == once);
  return 0;
}
