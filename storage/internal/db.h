#pragma once

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

// The RocksDB instance and its column families. Thread-safe (RocksDB's DB
// is); the handles live as long as this object.
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
  // Every family, for what must cover them all (a flush).
  std::vector<rocksdb::ColumnFamilyHandle*> families() const;

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

  // The write options that give the configured durability.
  const rocksdb::WriteOptions& write_options() const { return write_options_; }

 private:
  Db() = default;

  std::unique_ptr<rocksdb::DB> db_;
  // default, directory, events, streams, heads, event_ids (in this order);
  // fixed once open.
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocksdb::WriteOptions write_options_;
  rocksdb::ColumnFamilyOptions projection_options_;
  mutable std::mutex mu_;
  std::map<std::string, rocksdb::ColumnFamilyHandle*, std::less<>>
      projections_;                                    // guarded by mu_
  std::vector<rocksdb::ColumnFamilyHandle*> retired_;  // guarded by mu_
  // A secondary instance's own directory (read-only opens); empty otherwise.
  std::string secondary_dir_;
};

}  // namespace cairn::storage
