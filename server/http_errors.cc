#include "server/http_errors.h"

#include "server/json_writer.h"

namespace cairn::server {
namespace {

std::string_view TitleOf(unsigned status) {
  switch (status) {
    case 400:
      return "Bad Request";
    case 401:
      return "Unauthorized";
    case 403:
      return "Forbidden";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 409:
      return "Conflict";
    case 410:
      return "Gone";
    case 413:
      return "Content Too Large";
    case 415:
      return "Unsupported Media Type";
    case 429:
      return "Too Many Requests";
    case 431:
      return "Request Header Fields Too Large";
    case 503:
      return "Service Unavailable";
    default:
      return status >= 500 ? "Internal Server Error" : "Error";
  }
}

}  // namespace

unsigned HttpStatusOf(const Status& status) {
  switch (status.code()) {
    case Status::Code::kOk:
      return 200;
    case Status::Code::kNotFound:
      return 404;
    case Status::Code::kWrongExpectedVersion:
    case Status::Code::kAlreadyExists:
      return 409;
    case Status::Code::kStreamDeleted:
      return 410;
    case Status::Code::kInvalidArgument:
      return 400;
    case Status::Code::kTooLarge:
      return 413;
    case Status::Code::kUnauthenticated:
      return 401;
    case Status::Code::kPermissionDenied:
      return 403;
    case Status::Code::kBusy:
    // Not ready, shutting down, and a write refused on a full disk
    // (storage/internal/sequencer.cc): nothing stored, the client may retry.
    case Status::Code::kUnavailable:
      return 503;
    case Status::Code::kCorruption:
    // Storage errors other than a full disk: an I/O error stops the store's
    // writes until a restart.
    case Status::Code::kIOError:
    case Status::Code::kInternal:
      return 500;
  }
  return 500;
}

HttpResponse Problem(unsigned status, std::string_view detail,
                     std::string_view trace_id, std::string_view extra) {
  HttpResponse r;
  r.status = status;
  r.content_type = "application/problem+json";
  std::string& b = r.body;
  b.append("{\"type\":\"about:blank\",\"title\":");
  AppendJsonString(&b, TitleOf(status));
  b.append(",\"status\":");
  AppendUint(&b, status);
  b.append(",\"detail\":");
  AppendJsonString(&b, detail);
  b.append(",\"traceId\":");
  AppendJsonString(&b, trace_id);
  b.append(extra);
  b.push_back('}');
  return r;
}

HttpResponse ProblemFromStatus(const Status& status, std::string_view trace_id,
                               std::string_view extra) {
  return Problem(HttpStatusOf(status), status.message(), trace_id, extra);
}

}  // namespace cairn::server
