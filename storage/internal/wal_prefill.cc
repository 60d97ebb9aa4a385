#include "storage/internal/wal_prefill.h"

#include <fcntl.h>
#include <pthread.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

namespace cairn::storage {
namespace {

// Writes all of `n` bytes at `offset`; false on an error.
bool WriteAll(int fd, const char* data, uint64_t n, uint64_t offset) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, data, n, static_cast<off_t>(offset));
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    data += w;
    n -= static_cast<uint64_t>(w);
    offset += static_cast<uint64_t>(w);
  }
  return true;
}

}  // namespace

std::unique_ptr<WalPrefill> WalPrefill::Start(const std::string& path,
                                              uint64_t ahead_bytes) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return nullptr;
  return std::unique_ptr<WalPrefill>(new WalPrefill(fd, ahead_bytes));
}

WalPrefill::WalPrefill(int fd, uint64_t ahead_bytes)
    : fd_(fd), ahead_bytes_(ahead_bytes), thread_([this] { Run(); }) {}

WalPrefill::~WalPrefill() {
  Stop();
  ::close(fd_);
}

std::optional<std::unique_lock<std::mutex>> WalPrefill::Before(uint64_t end) {
  if (end <= fence_.load(std::memory_order_acquire)) return std::nullopt;
  return std::unique_lock(mu_);
}

void WalPrefill::After(uint64_t end) {
  if (end > appended_.load(std::memory_order_relaxed)) {
    appended_.store(end, std::memory_order_release);
  }
  // Less than the whole lead is left: the filler has work.
  if (end + ahead_bytes_ >
      fence_.load(std::memory_order_acquire) + kChunkBytes) {
    wake_.notify_one();
  }
}

void WalPrefill::Finish() {
  Stop();
  // Not synced: a crash may leave the zeros, which read as the end.
  [[maybe_unused]] const int ignored =
      ::ftruncate(fd_, static_cast<off_t>(appended_.load()));
}

void WalPrefill::Stop() {
  {
    std::lock_guard lock(mu_);
    if (stop_) return;
    stop_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

void WalPrefill::Run() {
  pthread_setname_np(pthread_self(), "cairn-walfill");
  static const std::vector<char> zeros(kChunkBytes, 0);
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] {
      return stop_ ||
             appended_.load(std::memory_order_acquire) + ahead_bytes_ > filled_;
    });
    if (stop_) return;
    // Never below what was appended. A writer that overtook the zeros gets
    // a chunk's lead, rather than zeros that its next sync would write.
    const uint64_t appended = appended_.load(std::memory_order_acquire);
    const uint64_t start = appended <= filled_
                               ? filled_
                               : (appended / kChunkBytes + 2) * kChunkBytes;
    // Writes past `start` wait for the lock, held until the chunk is in.
    fence_.store(start, std::memory_order_release);
    const bool written = WriteAll(fd_, zeros.data(), kChunkBytes, start);
    filled_ = start + kChunkBytes;
    fence_.store(filled_, std::memory_order_release);
    lock.unlock();
    const bool synced = written && ::fdatasync(fd_) == 0;
    lock.lock();
    if (!synced) return;  // a full disk, say: the WAL grows as any file
  }
}

}  // namespace cairn::storage
