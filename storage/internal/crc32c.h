#pragma once

// RocksDB's CRC32C, computed with SSE4.2's crc32 instruction.
//
// Every WAL record RocksDB writes or replays carries a CRC32C
// (Castagnoli): the writer takes the payload's and combines it with the
// header's (Crc32cCombine), per record. Debian's librocksdb is built
// portable, without SSE4.2, so its own CRC32C (util/crc32c.cc) runs a
// byte at a time: 21% of the sequencer's CPU in 1,000-event batches.
// With this one the sequencer took 1.63-1.70 instead of 1.96-2.06 µs an
// event, and the batches ran at 290,000-303,000 instead of 273,000-285,000
// events/s (docs/BENCHMARKS.md).
//
// crc32c.cc defines the three functions of that file, so that the static
// link takes these and never pulls RocksDB's object: should a RocksDB
// upgrade change them, the link fails with a duplicate or a missing
// symbol rather than mixing the two. Binaries that use RocksDB without
// storage's Db (two of the test binaries) keep RocksDB's own, which gives
// the same values. On a CPU without SSE4.2 this one uses a table.

#include <cstddef>
#include <cstdint>
#include <string>

namespace rocksdb::crc32c {

// The declarations of RocksDB's util/crc32c.h, which Debian does not
// install; the definitions are in crc32c.cc.

// What RocksDB logs at open ("Fast CRC32 supported: ...").
std::string IsFastCrc32Supported();
// The CRC32C of A followed by data[0, n), where init_crc is A's CRC32C.
uint32_t Extend(uint32_t init_crc, const char* data, size_t n);
// The CRC32C of A followed by B, from A's CRC32C, B's and B's length.
uint32_t Crc32cCombine(uint32_t crc1, uint32_t crc2, size_t crc2len);

}  // namespace rocksdb::crc32c

namespace cairn::storage {

// Whether the CRC32C in use gives CRC-32C's (iSCSI's) check value, that
// of "123456789": 0xE3069283. Db::Open refuses to
// open a store when not: every WAL record would be unreadable. Calling it
// is also what links crc32c.cc's definitions in before RocksDB's.
bool Crc32cChecks();

// The CRC32C of data[0, n) by the table, as computed without SSE4.2: for
// tests, on machines that have it.
uint32_t Crc32cByTable(const char* data, size_t n);

}  // namespace cairn::storage
