#pragma once

#include <rocksdb/cache.h>
#include <rocksdb/db.h>

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "protocol/result.h"
#include "storage/event_store.h"

namespace cairn::storage {

// The store's two RocksDB instances and their column families: the events'
// (the directory's own files) and the read models' (its projections/
// subdirectory). Read models have an instance of their own so that their
// writes, large and frequent, never queue in the events' write path nor
// add their bytes to the events' WAL syncs (docs/ARCHITECTURE.md,
// "Projections"). Thread-safe (RocksDB's DB is); the handles live as long
// as this object.
class Db {
 public:
  // A null env is RocksDB's default. With options.read_only, opens a
  // RocksDB secondary instance (its info log in a private temporary
  // directory, removed when this object ends), caught up with the primary
  // once: it reads beside a running cairnd, sees what was committed when it
  // opened, and creates nothing in `dir`. NotFound when `dir` holds no Cairn
  // store.
  static Result<std::unique_ptr<Db>> Open(const Options& options,
                                          const std::string& dir,
                                          rocksdb::Env* env = nullptr);
  ~Db();

  rocksdb::DB* db() const { return db_.get(); }
  rocksdb::ColumnFamilyHandle* directory() const { return handles_[1]; }
  rocksdb::ColumnFamilyHandle* events() const { return handles_[2]; }
  rocksdb::ColumnFamilyHandle* streams() const { return handles_[3]; }
  rocksdb::ColumnFamilyHandle* heads() const { return handles_[4]; }
  rocksdb::ColumnFamilyHandle* event_ids() const { return handles_[5]; }
  // Every family of the events' instance, for what must cover them all (a
  // flush).
  std::vector<rocksdb::ColumnFamilyHandle*> families() const;

  // The read models' instance. Its default family holds the projections'
  // checkpoints and aliases (storage/FORMAT.md, "projections/").
  rocksdb::DB* projection_db() const { return projection_db_.get(); }
  rocksdb::ColumnFamilyHandle* projection_meta() const {
    return projection_meta_;
  }
  // Every family of the read models' instance.
  std::vector<rocksdb::ColumnFamilyHandle*> projection_families() const;

  // The family of a projection's read model ("projection.NAME"), created
  // when `create` and absent; null when absent otherwise. Thread-safe; the
  // handle lives until DropProjectionFamily or the end of this object.
  Result<rocksdb::ColumnFamilyHandle*> ProjectionFamily(std::string_view name,
                                                        bool create);
  // Drops a projection's family and everything in it (a rebuild from 0).
  // REQUIRES: nobody uses its handle.
  Status DropProjectionFamily(std::string_view name);
  // Drops it while readers may still hold its handle: the handle stays
  // valid (and its data readable) until this object ends.
  Status RetireProjectionFamily(std::string_view name);

  // Where the read models' instance lives, inside the data directory.
  static constexpr char kProjectionsDir[] = "projections";

  // The write options that give the configured durability.
  const rocksdb::WriteOptions& write_options() const { return write_options_; }
  // The read models' writes: logged (unless the durability is memory),
  // never synced: they are rebuilt from the log from their checkpoint.
  const rocksdb::WriteOptions& projection_write_options() const {
    return projection_write_options_;
  }

 private:
  Db() = default;
  Status OpenProjections(const Options& options, const std::string& dir,
                         rocksdb::DBOptions db_options,
                         const std::shared_ptr<rocksdb::Cache>& cache);
  Status CheckFormat(bool read_only);
  Status MoveProjections();
  Status DropReadModelsAheadOfLog();

  std::unique_ptr<rocksdb::DB> db_;
  // default, directory, events, streams, heads, event_ids (in this order);
  // fixed once open.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::WriteOptions write_options_;
  std::unique_ptr<rocksdb::DB> projection_db_;
  rocksdb::ColumnFamilyHandle* projection_meta_ = nullptr;
  rocksdb::WriteOptions projection_write_options_;
  rocksdb::ColumnFamilyOptions projection_options_;
  mutable std::mutex mu_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>>
      projections_;  // guarded by mu_
  // Dropped projection families that readers may still hold.
  std::vector<rocksdb::ColumnFamilyHandle*> retired_;  // guarded by mu_
  // Projection families of the events' instance, from before the read
  // models had their own; fixed once open, empty once moved.
  std::vector<rocksdb::ColumnFamilyHandle*> legacy_;
  // A secondary instance's own directory (read-only opens); empty otherwise.
  std::string secondary_dir_;
};

}  // namespace cairn::storage
