#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

namespace cairn::storage {

// Zeros written, and synced, ahead of a WAL's end by a thread of its own,
// as PostgreSQL fills its WAL segments before use. An fdatasync of a file
// that grows also writes its inode (size, block map); one of bytes already
// allocated and synced writes only the data. Appends then overwrite zeros,
// and each commit's fdatasync is cheaper and shorter: 8 clients gained
// about a sixth in appends/s (docs/BENCHMARKS.md, "sixth session").
//
// Why zeros are safe: RocksDB's WAL reader skips a block whose next header
// is all zeros (record type 0, "reserved for preallocated files"), so a
// crash that leaves zeros past the last record replays exactly what a file
// that ends there would. The zeros never reach what was appended: an append
// that goes past `fence_` waits while a chunk is being written, and a chunk
// always starts at or past the end of what was appended.
//
// Best effort: a file that cannot be opened or a write that fails (a full
// disk) stops the filling, and the WAL grows as any file would.
class WalPrefill {
 public:
  // Zeros are written and synced a chunk at a time.
  static constexpr uint64_t kChunkBytes = uint64_t{1} << 20;

  // Keeps `ahead_bytes` of zeros past the end of the file at `path` (just
  // created, empty, and written by RocksDB from offset 0), or none when it
  // cannot be opened.
  static std::unique_ptr<WalPrefill> Start(const std::string& path,
                                           uint64_t ahead_bytes);
  ~WalPrefill();  // stops the filling
  WalPrefill(const WalPrefill&) = delete;
  WalPrefill& operator=(const WalPrefill&) = delete;

  // Around every write of the WAL's writer that ends at `end`: Before
  // returns the lock to hold while writing, when the write may reach zeros
  // being written; After records the end (whether the write succeeded or
  // not: a failed write may have reached the file in part).
  std::optional<std::unique_lock<std::mutex>> Before(uint64_t end);
  void After(uint64_t end);

  // The end of what was appended: the file's length as its writer sees it.
  uint64_t appended() const {
    return appended_.load(std::memory_order_acquire);
  }

  // Once the writer closed the file: stops the filling and cuts the zeros
  // past what was appended, so a closed WAL is as long as its records.
  void Finish();

 private:
  WalPrefill(int fd, uint64_t ahead_bytes);
  void Run();
  void Stop();

  const int fd_;
  const uint64_t ahead_bytes_;
  std::mutex mu_;
  std::condition_variable wake_;
  bool stop_ = false;                  // guarded by mu_
  std::atomic<uint64_t> appended_{0};  // the end of what was appended
  // Writes that end at or before it need no lock: no zeros will be written
  // below it. It only grows.
  std::atomic<uint64_t> fence_{0};
  uint64_t filled_ = 0;  // zeros written up to here; guarded by mu_
  std::thread thread_;
};

}  // namespace cairn::storage
