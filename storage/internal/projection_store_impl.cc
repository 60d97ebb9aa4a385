#include "storage/internal/projection_store_impl.h"

#include <rocksdb/utilities/write_batch_with_index.h>

#include "storage/internal/keys.h"
#include "storage/internal/rocksdb_status.h"

namespace cairn::storage {
namespace {

// A tenant's keys in a projection's family: its id, then the key.
std::string StateKey(TenantId tenant, std::string_view key) {
  std::string out;
  keys::PutBigEndian32(&out, tenant.value());
  out.append(key);
  return out;
}

// The checkpoints of a projection, in the directory family.
std::string CheckpointPrefix(std::string_view projection) {
  std::string out = "P";
  keys::PutBigEndian32(&out, static_cast<uint32_t>(projection.size()));
  out.append(projection);
  return out;
}

std::string CheckpointKey(std::string_view projection, TenantId tenant) {
  std::string out = CheckpointPrefix(projection);
  keys::PutBigEndian32(&out, tenant.value());
  return out;
}

// The smallest key greater than every key with this prefix; empty when
// there is none (all bytes 0xff).
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

// Walks `it` down from just below `upper` (from the last key when empty)
// over the keys starting with `prefix`, stripping the first `strip` bytes.
Status ScanDown(rocksdb::Iterator* it, const std::string& prefix,
                const std::string& upper, size_t strip,
                const KeyValueVisitor& visit) {
  if (upper.empty()) {
    it->SeekToLast();
  } else {
    it->SeekForPrev(upper);
    if (it->Valid() && it->key().compare(upper) >= 0) it->Prev();
  }
  for (; it->Valid() && it->key().starts_with(prefix); it->Prev()) {
    const std::string_view key = it->key().ToStringView();
    if (!visit(key.substr(strip), it->value().ToStringView())) break;
  }
  return FromRocksDb(it->status());
}

class Write final : public ProjectionWrite {
 public:
  Write(Db* db, rocksdb::ColumnFamilyHandle* family, std::string projection,
        TenantId tenant)
      : db_(db),
        family_(family),
        projection_(std::move(projection)),
        tenant_(tenant),
        batch_(rocksdb::BytewiseComparator(), 0, /*overwrite_key=*/true) {}

  Result<std::optional<std::string>> Get(std::string_view key) override {
    std::string value;
    auto s = batch_.GetFromBatchAndDB(db_->db(), rocksdb::ReadOptions(),
                                      family_, StateKey(tenant_, key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromRocksDb(s);
    return std::optional<std::string>(std::move(value));
  }
  void Put(std::string_view key, std::string_view value) override {
    batch_.Put(family_, StateKey(tenant_, key), value).PermitUncheckedError();
  }
  void Delete(std::string_view key) override {
    batch_.Delete(family_, StateKey(tenant_, key)).PermitUncheckedError();
  }
  Status ScanBackward(std::string_view prefix, std::string_view before,
                      const KeyValueVisitor& visit) override {
    const std::string full = StateKey(tenant_, prefix);
    const std::string upper =
        before.empty() ? PrefixEnd(full) : StateKey(tenant_, before);
    std::unique_ptr<rocksdb::Iterator> it(batch_.NewIteratorWithBase(
        family_, db_->db()->NewIterator(rocksdb::ReadOptions(), family_)));
    return ScanDown(it.get(), full, upper, 4, visit);
  }

  // Adds the checkpoint and writes everything.
  Status Commit(const ProjectionCheckpoint& c) {
    std::string value;
    keys::PutBigEndian64(&value, c.next_position);
    keys::PutBigEndian32(&value, c.version);
    batch_.Put(db_->directory(), CheckpointKey(projection_, tenant_), value)
        .PermitUncheckedError();
    // Projections are rebuilt from the log, and their checkpoint commits
    // with their state: they need no sync of their own.
    rocksdb::WriteOptions options = db_->write_options();
    options.sync = false;
    auto s = db_->db()->Write(options, batch_.GetWriteBatch());
    batch_.Clear();
    return FromRocksDb(s);
  }

 private:
  Db* const db_;
  rocksdb::ColumnFamilyHandle* const family_;
  const std::string projection_;
  const TenantId tenant_;
  rocksdb::WriteBatchWithIndex batch_;
};

class ProjectionStoreImpl final : public ProjectionStore {
 public:
  ProjectionStoreImpl(Db* db, TenantDirectory* tenants)
      : db_(db), tenants_(tenants) {}

  Status Open(std::string_view projection) override {
    auto family = db_->ProjectionFamily(projection, /*create=*/true);
    return family.has_value() ? Status::Ok() : family.error();
  }

  Status Drop(std::string_view projection) override {
    if (Status s = db_->DropProjectionFamily(projection); !s.ok()) return s;
    const std::string begin = CheckpointPrefix(projection);
    const std::string end = PrefixEnd(begin);
    rocksdb::WriteOptions options = db_->write_options();
    return FromRocksDb(
        db_->db()->DeleteRange(options, db_->directory(), begin, end));
  }

  Result<ProjectionCheckpoint> Checkpoint(std::string_view projection,
                                          std::string_view tenant) override {
    const auto* t = tenants_->Find(tenant);
    if (t == nullptr) return ProjectionCheckpoint{};
    std::string value;
    auto s = db_->db()->Get(rocksdb::ReadOptions(), db_->directory(),
                            CheckpointKey(projection, t->id), &value);
    if (s.IsNotFound()) return ProjectionCheckpoint{};
    if (!s.ok()) return FromRocksDb(s);
    if (value.size() != 12) return Status::Corruption("bad checkpoint");
    return ProjectionCheckpoint{keys::GetBigEndian64(value.data()),
                                keys::GetBigEndian32(value.data() + 8)};
  }

  Result<std::unique_ptr<ProjectionWrite>> Begin(
      std::string_view projection, std::string_view tenant) override {
    const auto* t = tenants_->Find(tenant);
    if (t == nullptr) return Status::NotFound("no events for this tenant");
    auto family = Family(projection);
    if (!family.has_value()) return family.error();
    return std::unique_ptr<ProjectionWrite>(
        std::make_unique<Write>(db_, *family, std::string(projection), t->id));
  }

  Status Commit(ProjectionWrite& write,
                const ProjectionCheckpoint& checkpoint) override {
    return static_cast<Write&>(write).Commit(checkpoint);
  }

  Result<std::optional<std::string>> Get(std::string_view projection,
                                         std::string_view tenant,
                                         std::string_view key) override {
    const auto* t = tenants_->Find(tenant);
    if (t == nullptr) return std::optional<std::string>();
    auto family = Family(projection);
    if (!family.has_value()) return family.error();
    std::string value;
    auto s = db_->db()->Get(rocksdb::ReadOptions(), *family,
                            StateKey(t->id, key), &value);
    if (s.IsNotFound()) return std::optional<std::string>();
    if (!s.ok()) return FromRocksDb(s);
    return std::optional<std::string>(std::move(value));
  }

  Status ScanBackward(std::string_view projection, std::string_view tenant,
                      std::string_view prefix, std::string_view before,
                      const KeyValueVisitor& visit) override {
    const auto* t = tenants_->Find(tenant);
    if (t == nullptr) return Status::Ok();
    auto family = Family(projection);
    if (!family.has_value()) return family.error();
    const std::string full = StateKey(t->id, prefix);
    const std::string upper =
        before.empty() ? PrefixEnd(full) : StateKey(t->id, before);
    std::unique_ptr<rocksdb::Iterator> it(
        db_->db()->NewIterator(rocksdb::ReadOptions(), *family));
    return ScanDown(it.get(), full, upper, 4, visit);
  }

 private:
  Result<rocksdb::ColumnFamilyHandle*> Family(std::string_view projection) {
    auto family = db_->ProjectionFamily(projection, /*create=*/false);
    if (!family.has_value()) return family.error();
    if (*family == nullptr) {
      return Status::NotFound("no projection " + std::string(projection));
    }
    return *family;
  }

  Db* const db_;
  TenantDirectory* const tenants_;
};

}  // namespace

std::unique_ptr<ProjectionStore> NewProjectionStore(Db* db,
                                                    TenantDirectory* tenants) {
  return std::make_unique<ProjectionStoreImpl>(db, tenants);
}

}  // namespace cairn::storage
