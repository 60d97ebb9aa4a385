#pragma once

#include <stdexcept>
#include <string>

namespace cairn::cairnctl {

// cairnctl's exit codes (docs/OPERATIONS.md, "cairnctl"): 0 only on success.
enum ExitCode : int {
  kExitOk = 0,
  kExitFailed = 1,       // the operation failed: the server or the data said no
  kExitUsage = 2,        // the command line is wrong
  kExitUnreachable = 3,  // no answer from the server
};

// Ends a command: main() prints "cairnctl: <what>" on stderr, one line, and
// exits with `code`. Thrown only up to main; no library sees it.
class CommandError : public std::runtime_error {
 public:
  CommandError(ExitCode code, const std::string& what)
      : std::runtime_error(what), code_(code) {}
  ExitCode code() const { return code_; }

 private:
  ExitCode code_;
};

}  // namespace cairn::cairnctl
