#pragma once

// The real cairnd, started as a child process on 127.0.0.1 port 0, and a
// small blocking HTTP/1.1 client for it. No mocks: what the tests see is
// what a client sees.

#include <sys/types.h>

#include <chrono>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace cairn::testing {

class CairndProcess {
 public:
  // Starts cairnd --dev --listen 127.0.0.1:0 --data-dir DIR plus `flags`,
  // and waits (at most 30 s) for its "listening" log line.
  CairndProcess(const std::string& data_dir,
                const std::vector<std::string>& flags = {});
  ~CairndProcess();  // kill -9 if still running
  CairndProcess(const CairndProcess&) = delete;
  CairndProcess& operator=(const CairndProcess&) = delete;

  uint16_t port() const { return port_; }
  pid_t pid() const { return pid_; }

  // SIGTERM, then waits (at most 30 s); returns the exit code, or -1.
  int Stop();
  // SIGKILL, then reaps.
  void Kill9();
  // Everything the server wrote to stderr so far.
  std::string Log() const;

 private:
  int Wait(std::chrono::seconds limit);

  pid_t pid_ = -1;
  uint16_t port_ = 0;
  int stderr_fd_ = -1;
  std::thread drain_;
  mutable std::mutex mu_;
  std::string log_;  // guarded by mu_
};

struct HttpResult {
  int status = 0;
  std::map<std::string, std::string> headers;  // names in lower case
  std::string body;                            // de-chunked

  std::string Header(const std::string& name) const {
    auto it = headers.find(name);
    return it == headers.end() ? "" : it->second;
  }
};

// One keep-alive connection; reconnects when the server closed it.
// Every read is bounded (30 s).
class HttpClient {
 public:
  explicit HttpClient(uint16_t port) : port_(port) {}
  ~HttpClient();

  HttpResult Request(const std::string& method, const std::string& target,
                     const std::string& body = "",
                     const std::map<std::string, std::string>& headers = {});
  HttpResult Get(const std::string& target,
                 const std::map<std::string, std::string>& headers = {}) {
    return Request("GET", target, "", headers);
  }
  HttpResult PostJson(const std::string& target, const std::string& body,
                      const std::map<std::string, std::string>& headers = {});

  // Sends raw bytes on a fresh connection and returns all that comes back
  // until the server closes (or 10 s pass).
  static std::string SendRaw(uint16_t port, const std::string& bytes);

 private:
  bool Connect();
  void Close();

  uint16_t port_;
  int fd_ = -1;
  std::string buffered_;
};

}  // namespace cairn::testing
