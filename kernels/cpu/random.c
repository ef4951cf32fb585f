/* Random fills from the Philox4x32-10 counter stream (kernels/common/ag_philox.h).
 * Each iteration computes one Philox block (4 stream values) and stores the
 * ones that fall inside [offset, offset + n); the first and last block may be
 * partial when offset or offset + n is not a multiple of 4. Blocks depend only
 * on (seed, block index), so the loop parallelises with no shared state and
 * the result does not depend on the thread count. */
#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"
#include "kernels/common/ag_philox.h"

typedef enum ag_rng_kind { AG_RNG_UNIFORM, AG_RNG_NORMAL } ag_rng_kind;

static ag_status ag_rng_check(const char *name, ag_dtype dt, const void *y, int64_t n,
                              uint64_t offset) {
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(name, dt);
  if (n < 0) return ag_set_error(AG_ERR_INVALID, "cpu kernel %s: negative size %lld", name, (long long)n);
  if (n > 0 && !y) return ag_set_error(AG_ERR_INVALID, "cpu kernel %s: null output", name);
  /* stream positions offset .. offset + n - 1 must not wrap around 2^64 */
  if (n > 0 && (uint64_t)n - 1u > UINT64_MAX - offset)
    return ag_set_error(AG_ERR_INVALID, "cpu kernel %s: offset %llu + size %lld overflows 2^64",
                        name, (unsigned long long)offset, (long long)n);
  return AG_OK;
}

/* One fill: what every block needs besides its index. */
typedef struct ag_rng_job {
  ag_rng_kind kind;
  ag_dtype dt;
  void *y;
  int64_t n;
  uint64_t seed, offset;
  float a, b; /* lo, hi or mean, std */
} ag_rng_job;

/* On x86-64 GCC, ag_rng_blocks is also compiled for CPUs with FMA and picked at
 * load time: fmaf then becomes one instruction instead of a libm call (about
 * 3x faster). Both versions give the same bits, fmaf being exact either way. */
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__)
#define AG_RNG_CLONES __attribute__((target_clones("fma", "default")))
#else
#define AG_RNG_CLONES
#endif

/* Blocks first + t for t in [t0, t1). Block g holds elements 4g - offset ..
 * 4g - offset + 3, of which those outside [0, n) (head of the first block,
 * tail of the last) are skipped. */
AG_RNG_CLONES
static void ag_rng_blocks(const ag_rng_job *job, int64_t t0, int64_t t1) {
  const uint64_t first = job->offset >> 2;
  for (int64_t t = t0; t < t1; t++) {
    const uint64_t g = first + (uint64_t)t;
    float v[4];
    if (job->kind == AG_RNG_UNIFORM)
      ag_philox_uniform4(job->seed, g, job->a, job->b, v);
    else
      ag_philox_normal4(job->seed, g, job->a, job->b, v);
    const int64_t i0 = (int64_t)(g * 4u - job->offset); /* in [-3, n) */
    for (int w = 0; w < 4; w++) {
      const int64_t i = i0 + w;
      if (i >= 0 && i < job->n) ag_cpu_store(job->dt, job->y, i, v[w]);
    }
  }
}

static ag_status ag_rng_fill(const char *name, ag_rng_kind kind, ag_dtype dt, void *y, int64_t n,
                             uint64_t seed, uint64_t offset, float a, float b) {
  AG_TRY(ag_rng_check(name, dt, y, n, offset));
  const ag_rng_job job = {kind, dt, y, n, seed, offset, a, b};
  const int64_t groups = ag_philox_groups(n, offset);
  const int64_t chunk = 2048; /* blocks per task: amortises the dispatch */
  const int64_t chunks = (groups + chunk - 1) / chunk;
#pragma omp parallel for schedule(static)
  for (int64_t c = 0; c < chunks; c++) {
    const int64_t t1 = (c + 1) * chunk;
    ag_rng_blocks(&job, c * chunk, t1 < groups ? t1 : groups);
  }
  return AG_OK;
}

ag_status ag_cpu_fill_uniform(ag_dtype dt, void *y, int64_t n, uint64_t seed, uint64_t offset,
                              float lo, float hi, void *stream) {
  (void)stream;
  return ag_rng_fill("fill_uniform", AG_RNG_UNIFORM, dt, y, n, seed, offset, lo, hi);
}

ag_status ag_cpu_fill_normal(ag_dtype dt, void *y, int64_t n, uint64_t seed, uint64_t offset,
                             float mean, float std, void *stream) {
  (void)stream;
  return ag_rng_fill("fill_normal", AG_RNG_NORMAL, dt, y, n, seed, offset, mean, std);
}

const ag_random_kernels ag_cpu_random_kernels = {
    .fill_uniform = ag_cpu_fill_uniform,
    .fill_normal = ag_cpu_fill_normal,
};
