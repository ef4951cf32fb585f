/* ag_bench.h - timing ops on a backend. Times are medians of repeated runs
 * after a warm-up, with the device synchronised around each run. */
#ifndef AG_BENCH_H
#define AG_BENCH_H

#include "runtime/ag_backend.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_bench_row {
  char op[32];
  char shape[48];
  double ms;      /* median time per run */
  double gbps;    /* bytes moved / time */
  double bytes;   /* bytes each run must move at minimum */
} ag_bench_row;

/* Runs the kernel smoke set (fills, elementwise, activation, reduction,
 * strided copy) on `be` with `n` f32 elements; writes up to `max` rows. */
ag_status ag_bench_smoke(ag_backend *be, int64_t n, int reps, ag_bench_row *rows, int max,
                         int *count);

#ifdef __cplusplus
}
#endif

#endif
