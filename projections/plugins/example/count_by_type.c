/* An example projection plugin, in C against projections/plugin_abi.h:
 * `count-by-type` counts a tenant's events per type. Its read model's key
 * is the event type; its document, the count as a JSON number.
 *
 *   cairnd --projection-plugin
 * build/projections/plugins/example/libcairn_count_by_type.so curl
 * http://127.0.0.1:8642/v1/read-models/count-by-type/AttemptSubmitted
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "projections/plugin_abi.h"

static int Apply(const struct cairn_event* event,
                 const struct cairn_state* state, const char** error) {
  struct cairn_bytes value;
  unsigned long long count = 0;
  switch (state->get(state->context, event->type, &value)) {
    case 1: {
      char digits[32];
      if (value.size == 0 || value.size >= sizeof digits) {
        *error = "a stored count is malformed";
        return -1;
      }
      memcpy(digits, value.data, value.size);
      digits[value.size] = '\0';
      count = strtoull(digits, NULL, 10);
      break;
    }
    case 0:
      break;
    default:
      *error = "the state could not be read";
      return -1;
  }
  char text[32];
  const int n = snprintf(text, sizeof text, "%llu", count + 1);
  struct cairn_bytes out = {text, (size_t)n};
  state->put(state->context, event->type, out);
  return CAIRN_APPLIED;
}

static const struct cairn_projection kProjection = {
    CAIRN_PROJECTION_ABI_VERSION, "count-by-type", 1, NULL, Apply};

const struct cairn_projection* cairn_projection_entry(void) {
  return &kProjection;
}
