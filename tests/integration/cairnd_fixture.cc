#include "tests/integration/cairnd_fixture.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <regex>
#include <stdexcept>

namespace cairn::testing {
namespace {

void SetTimeouts(int fd, int seconds) {
  timeval tv{seconds, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

int ConnectTo(uint16_t port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  SetTimeouts(fd, 30);
  return fd;
}

bool SendAll(int fd, const std::string& data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t n = send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

}  // namespace

CairndProcess::CairndProcess(const std::string& data_dir,
                             const std::vector<std::string>& flags) {
  int pipe_fds[2];
  if (pipe(pipe_fds) != 0) throw std::runtime_error("pipe failed");
  std::vector<std::string> args = {CAIRND_PATH,   "--dev",      "--listen",
                                   "127.0.0.1:0", "--data-dir", data_dir};
  args.insert(args.end(), flags.begin(), flags.end());
  pid_ = fork();
  if (pid_ == 0) {
    dup2(pipe_fds[1], STDERR_FILENO);
    close(pipe_fds[0]);
    close(pipe_fds[1]);
    std::vector<char*> argv;
    for (auto& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(pipe_fds[1]);
  stderr_fd_ = pipe_fds[0];

  // Read until the listening line (bounded), then keep draining so that
  // the server never blocks on a full pipe.
  const std::regex listening(
      R"re("msg":"listening","address":"[^"]*:(\d+)")re");
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::seconds(30);
  std::string seen;
  while (port_ == 0 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{stderr_fd_, POLLIN, 0};
    if (poll(&p, 1, 1000) <= 0) continue;
    char buf[4096];
    ssize_t n = read(stderr_fd_, buf, sizeof buf);
    if (n <= 0) break;
    seen.append(buf, static_cast<size_t>(n));
    std::smatch m;
    if (std::regex_search(seen, m, listening)) {
      port_ = static_cast<uint16_t>(std::stoi(m[1]));
    }
  }
  {
    std::lock_guard lock(mu_);
    log_ = seen;
  }
  drain_ = std::thread([this] {
    char buf[4096];
    for (;;) {
      ssize_t n = read(stderr_fd_, buf, sizeof buf);
      if (n <= 0) return;
      std::lock_guard lock(mu_);
      log_.append(buf, static_cast<size_t>(n));
    }
  });
  if (port_ == 0) {
    Kill9();
    throw std::runtime_error("cairnd did not start: " + seen);
  }
}

CairndProcess::~CairndProcess() {
  if (pid_ > 0) Kill9();
  if (drain_.joinable()) drain_.join();
  if (stderr_fd_ >= 0) close(stderr_fd_);
}

int CairndProcess::Wait(std::chrono::seconds limit) {
  // A pidfd becomes readable when the child exits: wait on it, bounded.
  const int pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
  if (pidfd >= 0) {
    pollfd p{pidfd, POLLIN, 0};
    poll(&p, 1, static_cast<int>(limit.count() * 1000));
    close(pidfd);
  }
  int status = 0;
  if (waitpid(pid_, &status, WNOHANG) != pid_) return -1;
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

int CairndProcess::Stop() {
  if (pid_ <= 0) return -1;
  kill(pid_, SIGTERM);
  const int code = Wait(std::chrono::seconds(30));
  if (pid_ > 0) Kill9();
  if (drain_.joinable()) drain_.join();
  return code;
}

void CairndProcess::Kill9() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  int status = 0;
  waitpid(pid_, &status, 0);
  pid_ = -1;
  if (drain_.joinable()) drain_.join();
}

std::string CairndProcess::Log() const {
  std::lock_guard lock(mu_);
  return log_;
}

HttpClient::~HttpClient() { Close(); }

bool HttpClient::Connect() {
  if (fd_ >= 0) return true;
  fd_ = ConnectTo(port_);
  buffered_.clear();
  return fd_ >= 0;
}

void HttpClient::Close() {
  if (fd_ >= 0) close(fd_);
  fd_ = -1;
  buffered_.clear();
}

HttpResult HttpClient::PostJson(const std::string& target,
                                const std::string& body,
                                const std::map<std::string, std::string>& h) {
  auto headers = h;
  headers.emplace("Content-Type", "application/json");
  return Request("POST", target, body, headers);
}

HttpResult HttpClient::Request(const std::string& method,
                               const std::string& target,
                               const std::string& body,
                               const std::map<std::string, std::string>& h) {
  std::string req = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : h) req += k + ": " + v + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    req += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  req += "\r\n" + body;

  HttpResult result;
  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!Connect()) return result;
    if (!SendAll(fd_, req)) {
      Close();
      continue;
    }
    // Reads more bytes into buffered_; false on close or timeout.
    const auto fill = [this]() {
      char buf[65536];
      ssize_t n = recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) return false;
      buffered_.append(buf, static_cast<size_t>(n));
      return true;
    };
    size_t header_end;
    bool closed = false;
    while ((header_end = buffered_.find("\r\n\r\n")) == std::string::npos) {
      if (!fill()) {
        closed = true;
        break;
      }
    }
    if (closed) {
      // A keep-alive connection the server had closed: retry once.
      Close();
      continue;
    }
    const std::string head = buffered_.substr(0, header_end);
    buffered_.erase(0, header_end + 4);
    result.status = std::stoi(head.substr(9, 3));
    size_t line = head.find("\r\n");
    while (line != std::string::npos) {
      const size_t next = head.find("\r\n", line + 2);
      const std::string field = head.substr(line + 2, next - line - 2);
      const size_t colon = field.find(':');
      if (colon != std::string::npos) {
        std::string name = field.substr(0, colon);
        for (auto& c : name) c = static_cast<char>(std::tolower(c));
        std::string value = field.substr(colon + 1);
        while (!value.empty() && value.front() == ' ') value.erase(0, 1);
        result.headers[name] = value;
      }
      line = next;
    }
    if (result.Header("transfer-encoding") == "chunked") {
      for (;;) {
        size_t eol;
        while ((eol = buffered_.find("\r\n")) == std::string::npos) {
          if (!fill()) return result;
        }
        const size_t size = std::stoul(buffered_.substr(0, eol), nullptr, 16);
        while (buffered_.size() < eol + 2 + size + 2) {
          if (!fill()) return result;
        }
        result.body.append(buffered_, eol + 2, size);
        buffered_.erase(0, eol + 2 + size + 2);
        if (size == 0) break;
      }
    } else if (!result.Header("content-length").empty()) {
      const size_t size = std::stoul(result.Header("content-length"));
      while (buffered_.size() < size) {
        if (!fill()) return result;
      }
      result.body = buffered_.substr(0, size);
      buffered_.erase(0, size);
    }
    if (result.Header("connection") == "close") Close();
    return result;
  }
  return result;
}

std::string HttpClient::SendRaw(uint16_t port, const std::string& bytes) {
  int fd = ConnectTo(port);
  if (fd < 0) return "";
  SetTimeouts(fd, 10);
  SendAll(fd, bytes);
  shutdown(fd, SHUT_WR);
  std::string out;
  char buf[4096];
  ssize_t n;
  while ((n = recv(fd, buf, sizeof buf, 0)) > 0) {
    out.append(buf, static_cast<size_t>(n));
  }
  close(fd);
  return out;
}

}  // namespace cairn::testing
