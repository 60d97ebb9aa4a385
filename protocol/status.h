#pragma once

#include <string>
#include <string_view>
#include <utility>

namespace cairn {

// The outcome of an operation across a module boundary: a code and a message,
// leveldb-style. Cheap to copy when ok (no allocation).
class [[nodiscard]] Status {
 public:
  enum class Code {
    kOk = 0,
    kNotFound,
    kWrongExpectedVersion,  // an expected revision or append condition failed
    kStreamDeleted,         // the stream is tombstoned: closed for good
    kAlreadyExists,         // an event id was reused other than in a retry
    kInvalidArgument,
    kTooLarge,
    kCorruption,
    kIOError,
    kBusy,
    kUnavailable,       // not ready, or shutting down
    kUnauthenticated,   // no valid credentials
    kPermissionDenied,  // valid credentials without the right
    kInternal,
  };

  Status() = default;

  static Status Ok() { return Status(); }
  static Status NotFound(std::string msg) { return {Code::kNotFound, msg}; }
  static Status WrongExpectedVersion(std::string msg) {
    return {Code::kWrongExpectedVersion, std::move(msg)};
  }
  static Status StreamDeleted(std::string msg) {
    return {Code::kStreamDeleted, std::move(msg)};
  }
  static Status AlreadyExists(std::string msg) {
    return {Code::kAlreadyExists, std::move(msg)};
  }
  static Status InvalidArgument(std::string msg) {
    return {Code::kInvalidArgument, std::move(msg)};
  }
  static Status TooLarge(std::string msg) {
    return {Code::kTooLarge, std::move(msg)};
  }
  static Status Corruption(std::string msg) {
    return {Code::kCorruption, std::move(msg)};
  }
  static Status IOError(std::string msg) {
    return {Code::kIOError, std::move(msg)};
  }
  static Status Busy(std::string msg) { return {Code::kBusy, std::move(msg)}; }
  static Status Unavailable(std::string msg) {
    return {Code::kUnavailable, std::move(msg)};
  }
  static Status Unauthenticated(std::string msg) {
    return {Code::kUnauthenticated, std::move(msg)};
  }
  static Status PermissionDenied(std::string msg) {
    return {Code::kPermissionDenied, std::move(msg)};
  }
  static Status Internal(std::string msg) {
    return {Code::kInternal, std::move(msg)};
  }

  bool ok() const { return code_ == Code::kOk; }
  bool IsNotFound() const { return code_ == Code::kNotFound; }
  bool IsWrongExpectedVersion() const {
    return code_ == Code::kWrongExpectedVersion;
  }
  bool IsStreamDeleted() const { return code_ == Code::kStreamDeleted; }
  bool IsAlreadyExists() const { return code_ == Code::kAlreadyExists; }
  bool IsInvalidArgument() const { return code_ == Code::kInvalidArgument; }
  bool IsCorruption() const { return code_ == Code::kCorruption; }
  bool IsUnavailable() const { return code_ == Code::kUnavailable; }
  bool IsUnauthenticated() const { return code_ == Code::kUnauthenticated; }
  bool IsPermissionDenied() const { return code_ == Code::kPermissionDenied; }

  Code code() const { return code_; }
  const std::string& message() const { return message_; }

  // "NotFound: no such stream"; "OK" when ok.
  std::string ToString() const;

  // Marks a deliberately ignored status; say why at the call site.
  void IgnoreError() const {}

 private:
  Status(Code code, std::string msg) : code_(code), message_(std::move(msg)) {}

  Code code_ = Code::kOk;
  std::string message_;
};

std::string_view CodeName(Status::Code code);

}  // namespace cairn
