#include "projections/read_models.h"

#include <exception>

#include "projections/indexes/event_index.h"
#include "projections/learning/dashboard.h"
#include "projections/learning/progress_feed.h"
#include "projections/store_state.h"
#include "storage/projection_store.h"

namespace cairn::projections {

Result<ReadModelDocument> ReadDocument(storage::EventStore& store,
                                       std::string_view projection,
                                       std::string_view tenant,
                                       std::string_view key,
                                       const ReadModelOptions& options) {
  // The index serves storage's filtered reads; it has no documents.
  if (projection == indexes::EventIndex::kName) {
    return Status::NotFound("$event-index has no read-model documents");
  }
  auto cp = store.Projections().Checkpoint(projection, tenant);
  if (!cp.has_value()) return cp.error();
  ReadModelDocument out;
  if (cp->next_position > 0) out.position = cp->next_position - 1;
  CommittedState state(store.Projections(), projection, tenant);
  try {
    if (projection == "progress-feed") {
      auto page = learning::ProgressFeed::Page(state, key, options.before,
                                               options.limit);
      if (!page.has_value()) return page.error();
      out.document = std::move(*page);
    } else if (projection == "dashboard") {
      out.document = learning::Dashboard::Document(state, key);
    } else {
      out.document = state.Get(key);  // a plugin's document, as stored
    }
  } catch (const std::exception& e) {
    return Status::IOError(e.what());
  }
  return out;
}

}  // namespace cairn::projections
