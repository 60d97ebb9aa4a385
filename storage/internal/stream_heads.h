#pragma once

#include <rocksdb/db.h>

#include <memory>
#include <optional>

#include "protocol/ids.h"
#include "protocol/result.h"
#include "storage/internal/db.h"
#include "storage/internal/keys.h"

namespace cairn::storage {

// Streams' heads as readers and the sequencer see them: the `heads` entry,
// brought up to the tip of the stream index. An append writes its index
// run but not the head, whose tip is then as of its last write (a new
// stream, a delete, new metadata): writing the head again at every append
// was a quarter of the sequencer's CPU for single-event appends at 64
// clients (docs/BENCHMARKS.md). The index's last run holds the stream's
// last revision and its position (storage/FORMAT.md, "heads").
//
// Reads what is committed when each head is read; one object may read
// many streams (a listing) with one iterator. Not thread-safe.
class StreamHeads {
 public:
  StreamHeads(const Db* db, const rocksdb::ReadOptions& ro);

  // None when the stream has no head; Corruption when the head or the
  // index's last run does not decode.
  Result<std::optional<keys::StreamHead>> Read(TenantId tenant,
                                               StreamId stream);

 private:
  const Db* const db_;
  rocksdb::ReadOptions ro_;
  std::unique_ptr<rocksdb::Iterator> index_;  // made at the first Read
};

}  // namespace cairn::storage
