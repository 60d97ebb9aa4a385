#include "tests/support/cairnd_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>
#include <string_view>

#include "tests/support/child_process.h"

#ifndef CAIRND_PATH
#error "CAIRND_PATH must name the cairnd binary (a compile definition)"
#endif

namespace cairn::testing {
namespace {

using Clock = std::chrono::steady_clock;

// What the log keeps at most: the tail, so a chatty server cannot grow the
// test's memory without bound.
constexpr size_t kMaxLogBytes = size_t{4} << 20;

int MillisLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return left.count() < 0 ? 0 : static_cast<int>(left.count());
}

// The port of a complete "listening" log line, or 0.
uint16_t PortOfListeningLine(std::string_view line) {
  if (line.find("\"msg\":\"listening\"") == std::string_view::npos) return 0;
  constexpr std::string_view kKey = "\"address\":\"";
  const size_t at = line.find(kKey);
  if (at == std::string_view::npos) return 0;
  const size_t start = at + kKey.size();
  const size_t end = line.find('"', start);
  if (end == std::string_view::npos) return 0;
  const std::string_view address = line.substr(start, end - start);
  const size_t colon = address.rfind(':');
  if (colon == std::string_view::npos) return 0;
  unsigned port = 0;
  for (char c : address.substr(colon + 1)) {
    if (c < '0' || c > '9') return 0;
    port = port * 10 + static_cast<unsigned>(c - '0');
    if (port > 65535) return 0;
  }
  return static_cast<uint16_t>(port);
}

}  // namespace

const char* CairndProcess::BinaryPath() { return CAIRND_PATH; }

CairndProcess::CairndProcess(std::vector<std::string> flags)
    : own_dir_(std::make_unique<TempDir>()),
      data_dir_(own_dir_->path()),
      flags_(std::move(flags)) {}

CairndProcess::CairndProcess(std::filesystem::path data_dir,
                             std::vector<std::string> flags)
    : data_dir_(std::move(data_dir)), flags_(std::move(flags)) {}

CairndProcess::~CairndProcess() { Kill9(); }

void CairndProcess::Start(std::chrono::seconds timeout) {
  if (running()) throw std::logic_error("cairnd is already running");
  {
    std::lock_guard lock(mu_);
    log_.clear();
  }
  port_ = 0;

  // Everything the child needs is built before fork: between fork and exec
  // only async-signal-safe calls are allowed (this process has threads).
  std::vector<std::string> args = {BinaryPath(), "--listen", "127.0.0.1:0",
                                   "--data-dir", data_dir_.string()};
  if (dev_) args.insert(args.begin() + 1, "--dev");
  if (projection_nice_) {
    args.insert(args.end(),
                {"--projection-nice", std::to_string(*projection_nice_)});
  }
  args.insert(args.end(), flags_.begin(), flags_.end());
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) throw std::runtime_error("pipe2 failed");
  const pid_t parent = getpid();
  const pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    throw std::runtime_error("fork failed");
  }
  if (pid == 0) {
    // Dies with the test (a ctest timeout kills the test binary with -9).
    // The signal follows the forking thread; tests start servers from the
    // test's own thread.
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(126);
    const int devnull = open("/dev/null", O_RDONLY);
    if (devnull >= 0) dup2(devnull, STDIN_FILENO);
    dup2(fds[1], STDOUT_FILENO);
    dup2(fds[1], STDERR_FILENO);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(fds[1]);
  pid_ = pid;
  stderr_fd_ = fds[0];

  // Read lines until "listening", end of file (it exited) or the deadline.
  const auto deadline = Clock::now() + timeout;
  std::string seen;
  size_t scanned = 0;  // seen[0, scanned) holds no listening line
  bool eof = false;
  while (port_ == 0 && !eof) {
    const int left = MillisLeft(deadline);
    if (left == 0) break;
    pollfd p{stderr_fd_, POLLIN, 0};
    const int ready = poll(&p, 1, left);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) break;
    char buf[4096];
    const ssize_t n = read(stderr_fd_, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof = true;
      break;
    }
    seen.append(buf, static_cast<size_t>(n));
    for (size_t eol; (eol = seen.find('\n', scanned)) != std::string::npos;
         scanned = eol + 1) {
      port_ = PortOfListeningLine(
          std::string_view(seen).substr(scanned, eol - scanned));
      if (port_ != 0) break;
    }
  }
  {
    std::lock_guard lock(mu_);
    log_ = seen;
  }
  if (port_ == 0) {
    Kill9();
    throw std::runtime_error(std::string("cairnd did not report listening ") +
                             (eof ? "(it exited)" : "in time") +
                             "; its output:\n" + seen);
  }

  // From now on a thread drains the pipe, so that the server never blocks
  // on a full one; it ends at end of file, when the server has exited.
  drain_ = std::thread([this, fd = stderr_fd_] {
    char buf[4096];
    for (;;) {
      const ssize_t n = read(fd, buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return;
      {
        std::lock_guard lock(mu_);
        log_.append(buf, static_cast<size_t>(n));
        if (log_.size() > kMaxLogBytes) {
          log_.erase(0, log_.size() - kMaxLogBytes / 2);
        }
      }
      log_grew_.notify_all();
    }
  });
}

int CairndProcess::WaitExit(std::chrono::milliseconds timeout) {
  return WaitForExit(pid_, timeout);
}

void CairndProcess::JoinDrain() {
  if (drain_.joinable()) drain_.join();
  if (stderr_fd_ >= 0) close(stderr_fd_);
  stderr_fd_ = -1;
}

int CairndProcess::Stop(int signal, std::chrono::seconds timeout) {
  if (!running()) return -1;
  kill(pid_, signal);
  const int status = WaitExit(timeout);
  if (status == -1) {
    Kill9();
    return -1;
  }
  pid_ = -1;
  JoinDrain();
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

void CairndProcess::Kill9() {
  if (running()) {
    kill(pid_, SIGKILL);
    int status = 0;
    while (waitpid(pid_, &status, 0) < 0 && errno == EINTR) {
    }
    pid_ = -1;
  }
  JoinDrain();
}

std::string CairndProcess::Log() const {
  std::lock_guard lock(mu_);
  return log_;
}

bool CairndProcess::WaitForLog(std::string_view needle,
                               std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return log_grew_.wait_for(
      lock, timeout, [&] { return log_.find(needle) != std::string::npos; });
}

}  // namespace cairn::testing
