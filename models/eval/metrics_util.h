/* metrics_util.h - what the metrics files share (private to models/eval):
 * a seeded generator for the resamplings, row gathers and the spread of
 * repeated estimates. */
#ifndef AG_METRICS_UTIL_H
#define AG_METRICS_UTIL_H

#include <stdint.h>

#include "ag_metrics.h"

/* splitmix64: each resampling owns its state, so results depend only on the
 * seed given. */
typedef struct ag_rng64 {
  uint64_t s;
} ag_rng64;

static inline uint64_t ag_rng64_next(ag_rng64 *r) {
  uint64_t z = (r->s += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

/* Uniform in [0, n). */
static inline int64_t ag_rng64_below(ag_rng64 *r, int64_t n) {
  return (int64_t)(((unsigned __int128)ag_rng64_next(r) * (uint64_t)n) >> 64);
}

/* m distinct indices of [0, n) in random order (partial Fisher-Yates over
 * `perm`, n entries of scratch the caller keeps between draws). */
void ag_draw_without_replacement(ag_rng64 *r, int64_t n, int64_t m, int64_t *perm, int64_t *out);
/* m indices of [0, n) drawn with replacement. */
void ag_draw_with_replacement(ag_rng64 *r, int64_t n, int64_t m, int64_t *out);

/* Rows idx[0..m) of f copied into `rows` (m * f->d floats). */
void ag_gather_rows(const ag_feats *f, const int64_t *idx, int64_t m, float *rows);

/* Standard deviation of n values with `ddof` degrees of freedom removed;
 * 0 when n <= ddof. */
double ag_spread(const double *v, int64_t n, int ddof);

#endif
