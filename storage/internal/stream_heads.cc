#include "storage/internal/stream_heads.h"

#include <cstdint>
#include <string>

#include "storage/internal/rocksdb_status.h"

namespace cairn::storage {

StreamHeads::StreamHeads(const Db* db, const rocksdb::ReadOptions& ro)
    : db_(db), ro_(ro) {
  ro_.prefix_same_as_start = true;  // one stream per seek, by its bloom filter
}

Result<std::optional<keys::StreamHead>> StreamHeads::Read(TenantId tenant,
                                                          StreamId stream) {
  std::string value;
  auto s =
      db_->db()->Get(ro_, db_->heads(), keys::HeadKey(tenant, stream), &value);
  if (s.IsNotFound()) return std::optional<keys::StreamHead>();
  if (!s.ok()) return FromRocksDb(s);
  auto head = keys::DecodeStreamHead(value);
  if (!head) return Status::Corruption("bad stream head");

  // The tip: the stream's last run, the last entry at or before its
  // greatest key.
  if (!index_) index_.reset(db_->db()->NewIterator(ro_, db_->streams()));
  const std::string last =
      keys::StreamIndexKey(tenant, stream, StreamRevision(UINT64_MAX));
  index_->SeekForPrev(last);
  if (!index_->status().ok()) return FromRocksDb(index_->status());
  if (!index_->Valid() || !index_->key().starts_with(rocksdb::Slice(
                              last.data(), keys::kStreamIndexPrefixBytes))) {
    return head;  // no event yet
  }
  const auto run = keys::DecodeIndexRun(index_->key().ToStringView(),
                                        index_->value().ToStringView());
  if (!run) return Status::Corruption("bad index entry");
  // The later of the two: an iterator made for an earlier Read may be
  // older than this head.
  if (run->end_revision() > head->next_revision) {
    head->next_revision = run->end_revision();
    head->last_position =
        GlobalPosition(run->PositionOf(run->end_revision() - 1));
  }
  return head;
}

}  // namespace cairn::storage
