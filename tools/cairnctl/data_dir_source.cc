// Reads of a data directory, answered with the JSON of the HTTP API: the
// server's own writers (server/event_json.h) draw it from the same storage
// calls the server makes, so a stopped store reads as a running one does.

#include "protocol/json_text.h"
#include "server/event_json.h"
#include "server/json_writer.h"
#include "storage/event_store.h"
#include "storage/inspect.h"
#include "tools/cairnctl/source.h"

namespace cairn::cairnctl {
namespace {

// Events read from the log at a time, as the server's NDJSON reads do.
constexpr size_t kLogPage = 1000;

class DataDir final : public Source {
 public:
  DataDir(std::string dir, std::string tenant)
      : dir_(std::move(dir)), tenant_(std::move(tenant)) {
    storage::Options options;
    options.read_only = true;
    auto store = storage::EventStore::Open(options, dir_);
    if (!store) {
      throw CommandError(kExitFailed, "cannot open the data directory " + dir_ +
                                          ": " + store.error().message());
    }
    store_ = *std::move(store);
  }

  std::string ListStreams(const StreamListQuery& q) override {
    return server::StreamListingJson(
        Check(store_->ListStreams(tenant_, q.prefix, q.after, q.limit)));
  }

  std::string StreamInfo(std::string_view stream) override {
    return server::StreamInfoJson(
        Check(store_->GetStreamInfo(tenant_, stream), stream));
  }

  std::string ReadStream(std::string_view stream,
                         const StreamReadQuery& q) override {
    storage::StreamReadOptions options;
    options.from = q.from;
    options.limit = q.limit;
    options.direction = q.backward ? storage::Direction::kBackward
                                   : storage::Direction::kForward;
    const storage::StreamPage page =
        Check(store_->ReadStream(tenant_, stream, options), stream);
    return EventPage(page.events, page.next);
  }

  void ReadLogLines(const LogQuery& q, const LineVisitor& visit) override {
    if (q.follow) {
      throw CommandError(kExitUsage,
                         "--follow needs a server (--server): a data "
                         "directory is read as it was when opened");
    }
    storage::LogReadOptions options;
    options.from = q.from;
    options.limit = kLogPage;
    options.filter.types = q.types;
    options.filter.categories = q.categories;
    for (;;) {
      const storage::LogPage page = Check(store_->ReadLog(tenant_, options));
      std::string lines;
      if (Status s = server::AppendEventLines(&lines, page.events); !s.ok()) {
        throw CommandError(kExitFailed, s.message());
      }
      size_t at = 0;
      for (size_t nl; (nl = lines.find('\n', at)) != std::string::npos;
           at = nl + 1) {
        visit(std::string_view(lines).substr(at, nl - at));
      }
      if (!page.next) return;
      options.from = *page.next;
    }
  }

  uint64_t LogEnd() override { return store_->LogEnd(tenant_).value(); }

  // The checkpoints the directory holds for the tenant; what only a running
  // server knows (status, skipped events, last error) is left out.
  std::string Projections() override {
    const uint64_t end = LogEnd();
    const storage::InspectReport report =
        Check(storage::Inspect(dir_, storage::InspectOptions{}));
    std::string out = R"({"projections":[)";
    bool first = true;
    for (const storage::CheckpointReport& cp : report.checkpoints) {
      if (cp.tenant != tenant_) continue;
      if (!first) out += ',';
      first = false;
      out += R"({"name":)";
      AppendJsonString(&out, cp.projection);
      out += R"(,"version":)";
      server::AppendUint(&out, cp.version);
      out += R"(,"checkpoint":)";
      server::AppendOptionalUint(&out, cp.position > 0
                                           ? std::optional(cp.position - 1)
                                           : std::nullopt);
      out += R"(,"lag":)";
      server::AppendUint(&out, end > cp.position ? end - cp.position : 0);
      out += '}';
    }
    out += "]}";
    return out;
  }

 private:
  template <typename T>
  static T Check(Result<T> result, std::string_view stream = {}) {
    if (result.has_value()) return *std::move(result);
    const Status& s = result.error();
    std::string what = stream.empty() ? "" : "stream " + std::string(stream);
    if (s.IsNotFound() && !stream.empty()) {
      what += ": not found";
    } else if (s.IsStreamDeleted()) {
      what += ": tombstoned (deleted for good)";
    } else {
      what += (what.empty() ? "" : ": ") + s.message();
    }
    throw CommandError(kExitFailed, what);
  }

  static std::string EventPage(const std::vector<storage::StoredEvent>& events,
                               std::optional<uint64_t> next) {
    std::string out;
    const Status s = server::AppendEventPageJson(&out, events, next);
    if (!s.ok()) throw CommandError(kExitFailed, s.message());
    return out;
  }

  std::string dir_;
  std::string tenant_;
  std::unique_ptr<storage::EventStore> store_;
};

}  // namespace

std::unique_ptr<Source> DataDirSource(const std::string& data_dir,
                                      const std::string& tenant) {
  return std::make_unique<DataDir>(data_dir, tenant);
}

}  // namespace cairn::cairnctl
