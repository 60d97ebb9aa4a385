#include "storage/internal/projection_store_impl.h"

#include <rocksdb/utilities/write_batch_with_index.h>
#include <rocksdb/write_batch.h>

#include <map>
#include <memory>
#include <mutex>

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
    auto s =
        batch_.GetFromBatchAndDB(db_->projection_db(), rocksdb::ReadOptions(),
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
        before.empty() ? keys::PrefixEnd(full) : StateKey(tenant_, before);
    std::unique_ptr<rocksdb::Iterator> it(batch_.NewIteratorWithBase(
        family_,
        db_->projection_db()->NewIterator(rocksdb::ReadOptions(), family_)));
    return ScanDown(it.get(), full, upper, 4, visit);
  }

  // Adds the checkpoint and writes everything.
  Status Commit(const ProjectionCheckpoint& c) {
    const std::string value =
        keys::EncodeProjectionCheckpoint(c.next_position, c.version);
    batch_
        .Put(db_->projection_meta(),
             keys::ProjectionCheckpointKey(projection_, tenant_), value)
        .PermitUncheckedError();
    // Projections are rebuilt from the log, and their checkpoint commits
    // with their state: they need no sync of their own. (Aliases and drops
    // below do: a family must never go before the alias that replaces it.)
    auto s = db_->projection_db()->Write(db_->projection_write_options(),
                                         batch_.GetWriteBatch());
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

// A projection's state lives in a family named after its physical name:
// the projection's name, or after a rebuild "NAME#G" (generation G). The
// 'A' entry maps the name to the physical name in use, so a
// rebuild swaps in with one write.
class ProjectionStoreImpl final : public ProjectionStore {
 public:
  ProjectionStoreImpl(Db* db, TenantDirectory* tenants)
      : db_(db), tenants_(tenants) {}

  Status Open(std::string_view projection) override {
    auto physical = Physical(projection, Target::kLive);
    if (!physical.has_value()) return physical.error();
    auto family = db_->ProjectionFamily(*physical, /*create=*/true);
    return family.has_value() ? Status::Ok() : family.error();
  }

  Status Drop(std::string_view projection) override {
    auto physical = Physical(projection, Target::kLive);
    if (!physical.has_value()) return physical.error();
    if (Status s = DropPhysical(*physical, /*retire=*/false); !s.ok()) {
      return s;
    }
    std::lock_guard lock(mu_);
    active_.erase(std::string(projection));
    return FromRocksDb(db_->projection_db()->Delete(
        db_->write_options(), db_->projection_meta(),
        keys::ProjectionAliasKey(projection)));
  }

  Result<ProjectionCheckpoint> Checkpoint(std::string_view projection,
                                          std::string_view tenant,
                                          Target target) override {
    const auto* t = tenants_->Find(tenant);
    if (t == nullptr) return ProjectionCheckpoint{};
    auto physical = Physical(projection, target);
    if (!physical.has_value()) return physical.error();
    std::string value;
    auto s = db_->projection_db()->Get(
        rocksdb::ReadOptions(), db_->projection_meta(),
        keys::ProjectionCheckpointKey(*physical, t->id), &value);
    if (s.IsNotFound()) return ProjectionCheckpoint{};
    if (!s.ok()) return FromRocksDb(s);
    auto checkpoint = keys::DecodeProjectionCheckpoint(value);
    if (!checkpoint) return Status::Corruption("bad checkpoint");
    return *checkpoint;
  }

  Result<std::unique_ptr<ProjectionWrite>> Begin(std::string_view projection,
                                                 std::string_view tenant,
                                                 Target target) override {
    const auto* t = tenants_->Find(tenant);
    if (t == nullptr) return Status::NotFound("no events for this tenant");
    auto physical = Physical(projection, target);
    if (!physical.has_value()) return physical.error();
    auto family = Family(*physical);
    if (!family.has_value()) return family.error();
    return std::unique_ptr<ProjectionWrite>(
        std::make_unique<Write>(db_, *family, *physical, t->id));
  }

  Status Commit(ProjectionWrite& write,
                const ProjectionCheckpoint& checkpoint) override {
    return static_cast<Write&>(write).Commit(checkpoint);
  }

  Status StartRebuild(std::string_view projection) override {
    auto live = Physical(projection, Target::kLive);
    if (!live.has_value()) return live.error();
    const size_t hash = live->rfind('#');
    const uint64_t generation =
        hash == std::string::npos ? 0 : std::stoull(live->substr(hash + 1));
    const std::string shadow =
        std::string(projection) + "#" + std::to_string(generation + 1);
    if (Status s = DropPhysical(shadow, /*retire=*/false); !s.ok()) return s;
    auto family = db_->ProjectionFamily(shadow, /*create=*/true);
    if (!family.has_value()) return family.error();
    std::lock_guard lock(mu_);
    shadows_[std::string(projection)] = shadow;
    return Status::Ok();
  }

  Status FinishRebuild(std::string_view projection) override {
    auto live = Physical(projection, Target::kLive);
    if (!live.has_value()) return live.error();
    auto shadow = Physical(projection, Target::kShadow);
    if (!shadow.has_value()) return shadow.error();
    auto s = db_->projection_db()->Put(
        db_->write_options(), db_->projection_meta(),
        keys::ProjectionAliasKey(projection), *shadow);
    if (!s.ok()) return FromRocksDb(s);
    {
      std::lock_guard lock(mu_);
      active_[std::string(projection)] = *shadow;
      shadows_.erase(std::string(projection));
    }
    // Readers that took the old family before the swap finish with it.
    return DropPhysical(*live, /*retire=*/true);
  }

  Status FinishRebuild(std::string_view projection,
                       std::string_view tenant) override {
    const auto* t = tenants_->Find(tenant);
    if (t == nullptr) return Status::NotFound("no events for this tenant");
    auto live = Physical(projection, Target::kLive);
    if (!live.has_value()) return live.error();
    auto shadow = Physical(projection, Target::kShadow);
    if (!shadow.has_value()) return shadow.error();
    auto live_family = Family(*live);
    if (!live_family.has_value()) return live_family.error();
    auto shadow_family = Family(*shadow);
    if (!shadow_family.has_value()) return shadow_family.error();

    // The tenant's live keys go, the shadow's come, in one batch: the
    // range tombstone is older than the puts after it.
    const std::string begin = StateKey(t->id, "");
    const std::string end = keys::PrefixEnd(begin);
    rocksdb::WriteBatch batch;
    batch.DeleteRange(*live_family, begin, end).PermitUncheckedError();
    rocksdb::ReadOptions ro;
    rocksdb::Slice upper(end);
    ro.iterate_upper_bound = &upper;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->projection_db()->NewIterator(ro, *shadow_family));
    for (it->Seek(begin); it->Valid(); it->Next()) {
      batch.Put(*live_family, it->key(), it->value()).PermitUncheckedError();
    }
    if (!it->status().ok()) return FromRocksDb(it->status());
    std::string checkpoint;
    auto s = db_->projection_db()->Get(
        rocksdb::ReadOptions(), db_->projection_meta(),
        keys::ProjectionCheckpointKey(*shadow, t->id), &checkpoint);
    if (s.IsNotFound()) {
      batch
          .Delete(db_->projection_meta(),
                  keys::ProjectionCheckpointKey(*live, t->id))
          .PermitUncheckedError();
    } else if (s.ok()) {
      batch
          .Put(db_->projection_meta(),
               keys::ProjectionCheckpointKey(*live, t->id), checkpoint)
          .PermitUncheckedError();
    } else {
      return FromRocksDb(s);
    }
    it.reset();
    if (s = db_->projection_db()->Write(db_->write_options(), &batch);
        !s.ok()) {
      return FromRocksDb(s);
    }
    {
      std::lock_guard lock(mu_);
      shadows_.erase(std::string(projection));
    }
    return DropPhysical(*shadow, /*retire=*/false);
  }

  Result<std::optional<std::string>> Get(std::string_view projection,
                                         std::string_view tenant,
                                         std::string_view key) override {
    const auto* t = tenants_->Find(tenant);
    if (t == nullptr) return std::optional<std::string>();
    auto family = LiveFamily(projection);
    if (!family.has_value()) return family.error();
    std::string value;
    auto s = db_->projection_db()->Get(rocksdb::ReadOptions(), *family,
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
    auto family = LiveFamily(projection);
    if (!family.has_value()) return family.error();
    const std::string full = StateKey(t->id, prefix);
    const std::string upper =
        before.empty() ? keys::PrefixEnd(full) : StateKey(t->id, before);
    std::unique_ptr<rocksdb::Iterator> it(
        db_->projection_db()->NewIterator(rocksdb::ReadOptions(), *family));
    return ScanDown(it.get(), full, upper, 4, visit);
  }

  Status ScanForward(std::string_view projection, std::string_view tenant,
                     std::string_view prefix, std::string_view from,
                     const KeyValueVisitor& visit) override {
    const auto* t = tenants_->Find(tenant);
    if (t == nullptr) return Status::Ok();
    auto family = LiveFamily(projection);
    if (!family.has_value()) return family.error();
    const std::string full = StateKey(t->id, prefix);
    const std::string upper = keys::PrefixEnd(full);
    rocksdb::Slice upper_slice(upper);
    rocksdb::ReadOptions ro;
    if (!upper.empty()) ro.iterate_upper_bound = &upper_slice;
    std::unique_ptr<rocksdb::Iterator> it(
        db_->projection_db()->NewIterator(ro, *family));
    for (it->Seek(from.empty() ? full : std::max(full, StateKey(t->id, from)));
         it->Valid() && it->key().starts_with(full); it->Next()) {
      const std::string_view key = it->key().ToStringView();
      if (!visit(key.substr(4), it->value().ToStringView())) break;
    }
    return FromRocksDb(it->status());
  }

 private:
  // The physical name of the live state or of the shadow.
  Result<std::string> Physical(std::string_view projection, Target target) {
    std::lock_guard lock(mu_);
    if (target == Target::kShadow) {
      auto it = shadows_.find(projection);
      if (it == shadows_.end()) {
        return Status::NotFound("no rebuild of " + std::string(projection));
      }
      return it->second;
    }
    auto it = active_.find(projection);
    if (it != active_.end()) return it->second;
    std::string physical;
    auto s = db_->projection_db()->Get(
        rocksdb::ReadOptions(), db_->projection_meta(),
        keys::ProjectionAliasKey(projection), &physical);
    if (s.IsNotFound()) {
      physical = std::string(projection);
    } else if (!s.ok()) {
      return FromRocksDb(s);
    }
    active_.emplace(std::string(projection), physical);
    return physical;
  }

  // Drops a physical family and its checkpoints. The checkpoints go first,
  // and, when nobody reads the family any more, in one batch with all its
  // keys: a crash before the drop then leaves an empty family without
  // checkpoints, rebuilt from position 0 as meant, never checkpoints that
  // vouch for state the family no longer holds (a read model silently
  // missing events), nor state without its checkpoints (events applied
  // twice). A retired family is still read until readers let go; its
  // checkpoints are no longer consulted (the alias names its successor).
  Status DropPhysical(const std::string& physical, bool retire) {
    rocksdb::WriteBatch batch;
    const std::string begin = keys::ProjectionCheckpointPrefix(physical);
    auto s = batch.DeleteRange(db_->projection_meta(), begin,
                               keys::PrefixEnd(begin));
    if (!s.ok()) return FromRocksDb(s);
    if (!retire) {
      auto family = db_->ProjectionFamily(physical, /*create=*/false);
      if (!family.has_value()) return family.error();
      if (*family != nullptr) {
        std::unique_ptr<rocksdb::Iterator> it(
            db_->projection_db()->NewIterator(rocksdb::ReadOptions(), *family));
        it->SeekToLast();
        if (!it->status().ok()) return FromRocksDb(it->status());
        if (it->Valid()) {
          std::string end = it->key().ToString();
          end.push_back('\0');  // just past the last key
          s = batch.DeleteRange(*family, "", end);
          if (!s.ok()) return FromRocksDb(s);
        }
      }
    }
    s = db_->projection_db()->Write(db_->write_options(), &batch);
    if (!s.ok()) return FromRocksDb(s);
    return retire ? db_->RetireProjectionFamily(physical)
                  : db_->DropProjectionFamily(physical);
  }

  // The live family; a read that raced a swap looks the name up again.
  Result<rocksdb::ColumnFamilyHandle*> LiveFamily(std::string_view projection) {
    for (int attempt = 0;; ++attempt) {
      auto physical = Physical(projection, Target::kLive);
      if (!physical.has_value()) return physical.error();
      auto family = Family(*physical);
      if (family.has_value() || attempt == 1) return family;
    }
  }

  Result<rocksdb::ColumnFamilyHandle*> Family(const std::string& physical) {
    auto family = db_->ProjectionFamily(physical, /*create=*/false);
    if (!family.has_value()) return family.error();
    if (*family == nullptr) {
      return Status::NotFound("no projection " + physical);
    }
    return *family;
  }

  Db* const db_;
  TenantDirectory* const tenants_;
  std::mutex mu_;
  // Logical name -> physical name: in use, and being rebuilt.
  std::map<std::string, std::string, std::less<>> active_;   // guarded by mu_
  std::map<std::string, std::string, std::less<>> shadows_;  // guarded by mu_
};

}  // namespace

std::unique_ptr<ProjectionStore> NewProjectionStore(Db* db,
                                                    TenantDirectory* tenants) {
  return std::make_unique<ProjectionStoreImpl>(db, tenants);
}

}  // namespace cairn::storage
