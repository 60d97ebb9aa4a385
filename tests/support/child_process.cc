#include "tests/support/child_process.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <stdexcept>

extern char** environ;

namespace cairn::testing {
namespace {

using Clock = std::chrono::steady_clock;

int MillisLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - Clock::now());
  return left.count() > 0 ? static_cast<int>(left.count()) : 0;
}

}  // namespace

ChildProcess::ChildProcess(std::vector<std::string> argv,
                           const std::map<std::string, std::string>& env,
                           std::string input) {
  // Everything the child needs is built before fork: between fork and exec
  // only async-signal-safe calls are allowed (this process has threads).
  std::vector<std::string> env_text;
  for (char** e = environ; *e != nullptr; ++e) {
    if (std::string_view(*e).rfind("CAIRN_", 0) != 0) env_text.emplace_back(*e);
  }
  for (const auto& [k, v] : env) env_text.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_text) envp.push_back(e.data());
  envp.push_back(nullptr);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);

  int out[2], err[2], in[2];
  if (pipe2(out, O_CLOEXEC) != 0 || pipe2(err, O_CLOEXEC) != 0 ||
      pipe2(in, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe2 failed");
  }
  const pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);  // dies with the test
    if (getppid() != parent) _exit(126);
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    dup2(err[1], STDERR_FILENO);
    execve(args[0], args.data(), envp.data());
    _exit(127);
  }
  close(out[1]);
  close(err[1]);
  close(in[0]);
  out_thread_ =
      std::thread([this, fd = out[0]] { Drain(fd, &out_, &out_closed_); });
  err_thread_ =
      std::thread([this, fd = err[0]] { Drain(fd, &err_, &err_closed_); });
  in_thread_ = std::thread([fd = in[1], input = std::move(input)] {
    size_t at = 0;
    while (at < input.size()) {
      const ssize_t n = write(fd, input.data() + at, input.size() - at);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the child closed its stdin
      at += static_cast<size_t>(n);
    }
    close(fd);
  });
}

ChildProcess::~ChildProcess() {
  if (pid_ > 0) Wait(std::chrono::milliseconds(0));
  if (in_thread_.joinable()) in_thread_.join();
  if (out_thread_.joinable()) out_thread_.join();
  if (err_thread_.joinable()) err_thread_.join();
}

void ChildProcess::Drain(int fd, std::string* into, bool* closed) {
  char buf[4096];
  for (;;) {
    const ssize_t n = read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    std::lock_guard lock(mu_);
    if (n <= 0) {
      *closed = true;
      grew_.notify_all();
      break;
    }
    into->append(buf, static_cast<size_t>(n));
    grew_.notify_all();
  }
  close(fd);
}

int ChildProcess::Wait(std::chrono::milliseconds timeout) {
  if (pid_ <= 0) return -1;
  int status = WaitForExit(pid_, timeout);
  const bool exited = status != -1;
  if (!exited) {
    kill(pid_, SIGKILL);
    waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  if (in_thread_.joinable()) in_thread_.join();
  if (out_thread_.joinable()) out_thread_.join();
  if (err_thread_.joinable()) err_thread_.join();
  if (!exited) return -1;
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  return 128 + WTERMSIG(status);
}

void ChildProcess::Signal(int signal) {
  if (pid_ > 0) kill(pid_, signal);
}

bool ChildProcess::WaitForStdout(std::string_view needle,
                                 std::chrono::milliseconds timeout,
                                 size_t from) {
  std::unique_lock lock(mu_);
  return grew_.wait_for(lock, timeout, [&] {
    return out_.find(needle, from) != std::string::npos || out_closed_;
  }) && out_.find(needle, from) != std::string::npos;
}

std::string ChildProcess::Stdout() const {
  std::lock_guard lock(mu_);
  return out_;
}

std::string ChildProcess::Stderr() const {
  std::lock_guard lock(mu_);
  return err_;
}

int WaitForExit(pid_t pid, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  int status = 0;
  // A pidfd becomes readable when the child exits: wait on it.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  if (pidfd >= 0) {
    for (;;) {
      pollfd p{pidfd, POLLIN, 0};
      const int ready = poll(&p, 1, MillisLeft(deadline));
      if (ready < 0 && errno == EINTR) continue;
      break;
    }
    close(pidfd);
    if (waitpid(pid, &status, WNOHANG) != pid) return -1;
    return status;
  }
  // No pidfd (an old kernel): look at it every few milliseconds.
  for (;;) {
    const pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) return status;
    if (r < 0 || MillisLeft(deadline) == 0) return -1;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
}

CommandOutcome RunCommand(std::vector<std::string> argv,
                          const std::map<std::string, std::string>& env,
                          std::string input,
                          std::chrono::milliseconds timeout) {
  ChildProcess child(std::move(argv), env, std::move(input));
  CommandOutcome outcome;
  outcome.exit_code = child.Wait(timeout);
  outcome.out = child.Stdout();
  outcome.err = child.Stderr();
  return outcome;
}

}  // namespace cairn::testing
