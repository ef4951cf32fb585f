/* ag_smoke.h - a backend health check: a random fill, an elementwise add, a
 * gelu, a row reduction and a strided copy run on a backend and timed, with
 * the bandwidth each achieves. Behind `aigc demo` and `aigc-bench smoke`. */
#ifndef AG_SMOKE_H
#define AG_SMOKE_H

#include "runtime/backends/ag_backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_smoke_row {
  char op[32];    /* the op timed, e.g. "gelu" */
  char dtype[8];
  char shape[48]; /* of its input, e.g. "f32[4096,1024]" */
  double ms;      /* median time per run */
  double bytes;   /* bytes each run moves at minimum (inputs + outputs once) */
  double gbps;    /* bytes / time */
} ag_smoke_row;

/* The number of checks, one row each. */
#define AG_SMOKE_ROWS 5

/* Runs every check on `be` over `n` >= 1024 f32 elements (rounded down to
 * whole rows of 1024), the median of `reps` runs after a warm-up each. */
ag_status ag_smoke_run(ag_backend *be, int64_t n, int reps, ag_smoke_row rows[AG_SMOKE_ROWS]);

#ifdef __cplusplus
}
#endif

#endif
