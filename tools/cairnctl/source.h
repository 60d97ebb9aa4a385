#pragma once

// Where cairnctl's read commands read: a running cairnd over HTTP, or a
// data directory opened read-only. Either answers with the very JSON body
// the HTTP API gives (docs/API.md), so `--json` prints the same bytes from
// both and the tables are drawn from one shape.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "tools/cairnctl/server_client.h"

namespace cairn::cairnctl {

struct StreamListQuery {
  std::string prefix;
  std::string after;
  uint64_t limit = 100;
};

struct StreamReadQuery {
  std::optional<uint64_t> from;  // a revision; default: start (end backward)
  uint64_t limit = 100;
  bool backward = false;
};

struct LogQuery {
  uint64_t from = 0;
  std::vector<std::string> types;
  std::vector<std::string> categories;
  bool follow = false;  // go on live (a server only)
};

// One NDJSON line, without its newline.
using LineVisitor = std::function<void(std::string_view line)>;

// Each call throws CommandError: kExitFailed when the answer is an error
// (an unknown stream, a refused token: the message says which), or
// kExitUnreachable.
class Source {
 public:
  virtual ~Source() = default;

  // GET /v1/streams
  virtual std::string ListStreams(const StreamListQuery& query) = 0;
  // GET /v1/streams/{stream}
  virtual std::string StreamInfo(std::string_view stream) = 0;
  // GET /v1/streams/{stream}/events
  virtual std::string ReadStream(std::string_view stream,
                                 const StreamReadQuery& query) = 0;
  // GET /v1/events as NDJSON: each event from `query.from` to the end of
  // the log as it was when read (with `follow`, on live until the user
  // interrupts), one line each; heartbeat lines are not passed on.
  virtual void ReadLogLines(const LogQuery& query,
                            const LineVisitor& visit) = 0;
  // The position the tenant's next event will take.
  virtual uint64_t LogEnd() = 0;
  // GET /v1/projections. From a data directory, without the fields only a
  // running server knows (status, skipped events, last error).
  virtual std::string Projections() = 0;
};

// `client` outlives the source.
std::unique_ptr<Source> ServerSource(ServerClient* client);

// Opens `data_dir` read-only (beside a running cairnd or not) for `tenant`.
std::unique_ptr<Source> DataDirSource(const std::string& data_dir,
                                      const std::string& tenant);

// The body of a successful reply; otherwise throws CommandError naming the
// status and the problem's title and detail.
std::string BodyOrThrow(const HttpReply& reply);

// Percent-encodes `text` for a path segment or a query value (everything
// but RFC 3986's unreserved characters).
std::string PercentEncode(std::string_view text);

}  // namespace cairn::cairnctl
