#pragma once

// The real cairnd as a child process, for integration tests: started with
// --dev --listen 127.0.0.1:0 on a data directory, its stderr read through a
// pipe until the "listening" log line names the port. No sleeps: every wait
// is bounded and wakes on the event it waits for (poll on the pipe, on a
// pidfd for the exit).

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "tests/support/temp_dir.h"

namespace cairn::testing {

class CairndProcess {
 public:
  // The path of the cairnd binary built with the tests.
  static const char* BinaryPath();

  // On a fresh TempDir, removed with this object.
  explicit CairndProcess(std::vector<std::string> flags = {});
  // On `data_dir`, which outlives this object (restart on the same data).
  CairndProcess(std::filesystem::path data_dir,
                std::vector<std::string> flags = {});
  // kill -9 if still running.
  ~CairndProcess();
  CairndProcess(const CairndProcess&) = delete;
  CairndProcess& operator=(const CairndProcess&) = delete;

  // Off: Start passes no --dev (then FLAGS must configure a JWT key).
  // Default: on.
  void set_dev(bool dev) { dev_ = dev; }

  // The --projection-nice Start passes; none: cairnd's default (19).
  // Default: 0. Tests run two at a time on two cores (ctest -j 2), and a
  // projector at nice 19 gets next to no CPU while the other test keeps
  // both busy: waits on read models would run into their timeouts.
  void set_projection_nice(std::optional<unsigned> nice) {
    projection_nice_ = nice;
  }

  // Starts cairnd --dev --listen 127.0.0.1:0 --data-dir DIR FLAGS... and
  // waits (at most `timeout`) for its "listening" line. Throws
  // std::runtime_error with what cairnd wrote when it does not come. May be
  // called again after Stop or Kill9: same data dir, a new port.
  void Start(std::chrono::seconds timeout = std::chrono::seconds(20));

  // Sends `signal` (SIGTERM by default) and waits for the exit, at most
  // `timeout`; then kill -9. Returns the exit code, 128 + the signal when a
  // signal ended it, or -1 when it did not exit in time (or was not
  // running).
  int Stop(int signal = 15,
           std::chrono::seconds timeout = std::chrono::seconds(30));

  // SIGKILL, then reaps. No-op when not running.
  void Kill9();

  bool running() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  uint16_t port() const { return port_; }
  const std::filesystem::path& data_dir() const { return data_dir_; }

  // Everything cairnd wrote to stderr (and stdout) since the last Start,
  // for failure messages.
  std::string Log() const;

  // Waits (at most `timeout`) until the log holds `needle`; false if it
  // does not by then.
  bool WaitForLog(std::string_view needle, std::chrono::milliseconds timeout);

 private:
  // Waits for the child to exit, at most `timeout`; reaps it. The raw wait
  // status, or -1 when it is still running.
  int WaitExit(std::chrono::milliseconds timeout);
  void JoinDrain();

  std::unique_ptr<TempDir> own_dir_;
  std::filesystem::path data_dir_;
  std::vector<std::string> flags_;
  bool dev_ = true;
  std::optional<unsigned> projection_nice_ = 0;
  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int stderr_fd_ = -1;
  std::thread drain_;
  mutable std::mutex mu_;
  std::condition_variable log_grew_;
  std::string log_;  // guarded by mu_
};

}  // namespace cairn::testing
