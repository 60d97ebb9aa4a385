/* The C ABI of projection plugins (--projection-plugin FILE).
 *
 * A plugin is a shared library that exports
 *
 *   const struct cairn_projection* cairn_projection_entry(void);
 *
 * returning a description with `abi_version` set to
 * CAIRN_PROJECTION_ABI_VERSION. cairnd refuses a library built for another
 * version. The projection's rules are those of projections/projection.h:
 * events come one tenant at a time, in position order; `apply` must be
 * deterministic; it writes only through `state`, whose changes commit with
 * the projection's checkpoint. Strings are not NUL-terminated unless said.
 */
#ifndef CAIRN_PROJECTIONS_PLUGIN_ABI_H_
#define CAIRN_PROJECTIONS_PLUGIN_ABI_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define CAIRN_PROJECTION_ABI_VERSION 1

struct cairn_bytes {
  const char* data;
  size_t size;
};

struct cairn_event {
  uint64_t position; /* in the tenant's log */
  struct cairn_bytes stream;
  struct cairn_bytes type;
  struct cairn_bytes data;     /* compact JSON */
  struct cairn_bytes metadata; /* compact JSON */
  int64_t time_us;             /* commit time */
};

/* The projection's keys and values for the event's tenant. */
struct cairn_state {
  void* context;
  /* 1 and `*value` (valid until the next call on this state) when the key
   * has a value, 0 when not, -1 on a storage error. */
  int (*get)(void* context, struct cairn_bytes key, struct cairn_bytes* value);
  void (*put)(void* context, struct cairn_bytes key, struct cairn_bytes value);
  void (*remove)(void* context, struct cairn_bytes key);
};

enum cairn_applied {
  CAIRN_APPLIED = 0,
  CAIRN_IGNORED = 1,
  CAIRN_SKIPPED = 2 /* missing or ill-typed fields: counted, not fatal */
};

struct cairn_projection {
  uint32_t abi_version; /* CAIRN_PROJECTION_ABI_VERSION */
  const char* name;     /* NUL-terminated */
  uint32_t version;     /* a new version is rebuilt from position 0 */
  /* The event types it uses, NULL-terminated; NULL for every type. */
  const char* const* types;
  /* A cairn_applied, or -1 with `*error` set to a NUL-terminated message
   * that stays valid (the projection is then faulted at this event). */
  int (*apply)(const struct cairn_event* event, const struct cairn_state* state,
               const char** error);
};

typedef const struct cairn_projection* (*cairn_projection_entry_fn)(void);
#define CAIRN_PROJECTION_ENTRY "cairn_projection_entry"

#ifdef __cplusplus
}
#endif

#endif /* CAIRN_PROJECTIONS_PLUGIN_ABI_H_ */
