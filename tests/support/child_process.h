#pragma once

// Any program as a child process, for tests of command-line tools: its
// stdout and stderr captured through pipes (drained by threads, so the child
// never blocks on a full pipe), every wait bounded, no sleeps.

#include <sys/types.h>

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace cairn::testing {

class ChildProcess {
 public:
  // Starts argv[0] with the arguments after it. The environment is this
  // process's without any CAIRN_* variable, plus `env`; stdin is `input`
  // (then closed). Throws std::runtime_error when it cannot start.
  explicit ChildProcess(std::vector<std::string> argv,
                        const std::map<std::string, std::string>& env = {},
                        std::string input = "");
  // kill -9 if still running.
  ~ChildProcess();
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;

  // Waits (at most `timeout`) for the exit. The exit code, 128 + the signal
  // when a signal ended it, or -1 when it did not end in time (it is then
  // killed).
  int Wait(std::chrono::milliseconds timeout = std::chrono::seconds(60));

  // Sends `signal` now.
  void Signal(int signal);

  // Waits (at most `timeout`) until stdout holds `needle` at or after
  // byte `from`; false if it does not by then or the output ended first.
  bool WaitForStdout(std::string_view needle, std::chrono::milliseconds timeout,
                     size_t from = 0);

  std::string Stdout() const;
  std::string Stderr() const;

 private:
  void Drain(int fd, std::string* into, bool* closed);

  pid_t pid_ = -1;
  std::thread out_thread_;
  std::thread err_thread_;
  std::thread in_thread_;
  mutable std::mutex mu_;
  std::condition_variable grew_;
  std::string out_;          // guarded by mu_
  std::string err_;          // guarded by mu_
  bool out_closed_ = false;  // guarded by mu_
  bool err_closed_ = false;  // guarded by mu_
};

// Waits (at most `timeout`) for child `pid` to exit, and reaps it: the raw
// wait status, or -1 when it is still running then. Wakes on the exit
// itself (a pidfd), not on a poll interval.
int WaitForExit(pid_t pid, std::chrono::milliseconds timeout);

// What a command printed and how it ended.
struct CommandOutcome {
  int exit_code = -1;  // -1: did not end in time
  std::string out;
  std::string err;
};

// Runs a command to its end (at most `timeout`).
CommandOutcome RunCommand(
    std::vector<std::string> argv,
    const std::map<std::string, std::string>& env = {}, std::string input = "",
    std::chrono::milliseconds timeout = std::chrono::seconds(60));

}  // namespace cairn::testing
