#pragma once

// A read-only look at a data directory, and a check of its integrity: what
// `cairnctl inspect [--verify]` reports. The invariants it checks are listed
// in storage/FORMAT.md ("Invariants").

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "protocol/result.h"

namespace cairn::storage {

struct TenantReport {
  std::string tenant;
  uint64_t streams = 0;  // streams in the directory, deleted ones included
  uint64_t events = 0;   // the tenant's log end (its 'L' entry)
};

struct FamilyReport {
  // The RocksDB column family ("events", "projection.dashboard", ...).
  std::string family;
  uint64_t bytes = 0;  // live SST bytes + memtable bytes
  uint64_t keys = 0;   // rocksdb.estimate-num-keys
};

// The checkpoint of a projection's live state for a tenant (those of a
// rebuild in progress are checked, not listed).
struct CheckpointReport {
  // The projection's name (not the physical family name).
  std::string projection;
  std::string tenant;
  uint64_t position = 0;  // the next position it will apply
  uint32_t version = 0;
};

struct InspectOptions {
  // Check every invariant, reading every record. Default: false.
  bool verify = false;
  // Stop listing (not checking counts) after this many. Default: 100.
  size_t max_problems = 100;
};

struct InspectReport {
  std::vector<TenantReport> tenants;          // in tenant-name order
  std::vector<FamilyReport> families;         // every family but "default"
  std::vector<CheckpointReport> checkpoints;  // by projection, then tenant
  bool verified = false;  // options.verify was set and the check ran to the end
  uint64_t records_verified = 0;  // event records read and verified
  uint64_t problems_found = 0;    // every problem, also past max_problems
  // One line each, naming what is wrong and where, e.g.
  // "tenant acme: position 17 is missing (log end 40)",
  // "tenant acme: position 3: record fails the FlatBuffers verifier",
  // "tenant acme: stream attempt-1 revision 2: index points at position 9,
  // the event there is stream x revision 0". A read that fails (RocksDB
  // reports corruption or an I/O error) is a problem too, and leaves
  // `verified` false. Without options.verify: none.
  std::vector<std::string> problems;
};

// Opens `dir` read-only (beside a running cairnd or not; see
// Options::read_only) and reports on it; with options.verify, checks every
// invariant of storage/FORMAT.md. Everything is read from one committed
// state: what commits after the open is not seen. Memory grows with the
// streams (8 bytes each) and the problems found, not with the events.
//
// An error only when the directory cannot be opened or read at all (NotFound
// when it holds no store); what is wrong with the data goes in `problems`.
Result<InspectReport> Inspect(const std::string& dir,
                              const InspectOptions& options);

}  // namespace cairn::storage
