/* A plugin built for an ABI version cairnd does not take: refused. */
#include <stddef.h>

#include "projections/plugin_abi.h"

static int Apply(const struct cairn_event* event,
                 const struct cairn_state* state, const char** error) {
  (void)event;
  (void)state;
  (void)error;
  return CAIRN_APPLIED;
}

static const struct cairn_projection kProjection = {99, "from-the-future", 1,
                                                    NULL, Apply};

const struct cairn_projection* cairn_projection_entry(void) {
  return &kProjection;
}
