/* Random fills from the Philox4x32-10 counter stream (kernels/common/ag_philox.h).
 * Philox blocks are generated RNG_LANES at a time, one per vector lane, and
 * each batch of 4 * RNG_LANES stream values is transformed by the header's
 * per-word functions, so every value is the header's bit for bit. Only the
 * values inside [offset, offset + n) are stored: the first and last batch
 * may be partial. Blocks depend only on (seed, block index), so batches
 * parallelise with no shared state and the result does not depend on the
 * thread count. */
#include <string.h>

#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"
#include "cpu_simd.h"
#include "kernels/common/ag_philox.h"

typedef enum ag_rng_kind { AG_RNG_UNIFORM, AG_RNG_NORMAL } ag_rng_kind;

/* Philox blocks computed side by side: 32 blocks, 128 values per batch. */
#define RNG_LANES 32
#define RNG_BATCH (4 * RNG_LANES)

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

/* One fill: what every batch needs besides its index. */
typedef struct ag_rng_job {
  ag_rng_kind kind;
  ag_dtype dt;
  void *y;
  int64_t n;
  uint64_t seed, offset;
  float a, b; /* lo, hi or mean, std */
} ag_rng_job;

/* w[k][l] = word k of block first + l: ag_philox_block for RNG_LANES blocks
 * at once. The rounds are ag_philox_round's, with each 32-bit word kept in a
 * 64-bit lane (its high half zero) so that the 32 x 32 -> 64-bit products
 * become vector multiplies. */
AG_CPU_SIMD
static void philox_lanes(uint64_t seed, uint64_t first, uint32_t w[4][RNG_LANES]) {
  const uint64_t lo32 = 0xffffffffu;
  uint64_t k0 = seed & lo32, k1 = seed >> 32;
  uint64_t x0[RNG_LANES], x1[RNG_LANES], x2[RNG_LANES], x3[RNG_LANES];
  for (int l = 0; l < RNG_LANES; l++) {
    const uint64_t g = first + (uint64_t)l;
    x0[l] = g & lo32;
    x1[l] = g >> 32;
    x2[l] = 0;
    x3[l] = 0;
  }
  for (int r = 0; r < 10; r++) {
    for (int l = 0; l < RNG_LANES; l++) {
      const uint64_t p0 = AG_PHILOX_M0 * x0[l], p1 = AG_PHILOX_M1 * x2[l];
      x0[l] = (p1 >> 32) ^ x1[l] ^ k0;
      x1[l] = p1 & lo32;
      x2[l] = (p0 >> 32) ^ x3[l] ^ k1;
      x3[l] = p0 & lo32;
    }
    k0 = (k0 + AG_PHILOX_W0) & lo32;
    k1 = (k1 + AG_PHILOX_W1) & lo32;
  }
  for (int l = 0; l < RNG_LANES; l++) {
    w[0][l] = (uint32_t)x0[l];
    w[1][l] = (uint32_t)x1[l];
    w[2][l] = (uint32_t)x2[l];
    w[3][l] = (uint32_t)x3[l];
  }
}

/* ag_philox_uniform4 on every block of the batch; v in stream order. The
 * clamp target below hi is the same for every word, so it is found once. */
AG_CPU_SIMD
static void uniform_lanes(const uint32_t w[4][RNG_LANES], float lo, float hi, float v[RNG_BATCH]) {
  const float d = AG_PX_SUB(hi, lo), below_hi = ag_philox_float_below(hi);
  const int clamp = lo < hi;
  for (int k = 0; k < 4; k++)
    for (int l = 0; l < RNG_LANES; l++) {
      const float y = AG_PX_FMA(d, ag_philox_u01(w[k][l]), lo);
      v[4 * l + k] = (clamp & (y >= hi)) ? below_hi : y;
    }
}

/* ag_philox_normal4 on every block of the batch; v in stream order. */
AG_CPU_SIMD
static void normal_lanes(const uint32_t w[4][RNG_LANES], float mean, float std,
                         float v[RNG_BATCH]) {
  for (int l = 0; l < RNG_LANES; l++) {
    ag_philox_box_muller(w[0][l], w[1][l], mean, std, &v[4 * l], &v[4 * l + 1]);
    ag_philox_box_muller(w[2][l], w[3][l], mean, std, &v[4 * l + 2], &v[4 * l + 3]);
  }
}

/* y[i .. i + count) = v[0 .. count) rounded to dt. */
AG_CPU_SIMD
static void store_values(ag_dtype dt, void *y, int64_t i, const float *v, int count) {
  switch (dt) {
  case AG_BF16:
    for (int k = 0; k < count; k++) ((uint16_t *)y)[i + k] = ag_f32_to_bf16(v[k]);
    break;
  case AG_F16:
    for (int k = 0; k < count; k++) ((uint16_t *)y)[i + k] = ag_f32_to_f16(v[k]);
    break;
  default: memcpy((float *)y + i, v, (size_t)count * sizeof *v); break;
  }
}

/* Batches [b0, b1). Batch b starts at block offset / 4 + b * RNG_LANES,
 * whose first value is element 4 * block - offset, in [-3, n) for every
 * batch that holds an element; the values before element 0 (head of the
 * first batch) and from element n on (tail of the last) are dropped. Each
 * step of a batch is its own AG_CPU_SIMD function, vectorised on its own. */
static void ag_rng_batches(const ag_rng_job *job, int64_t b0, int64_t b1) {
  for (int64_t b = b0; b < b1; b++) {
    const uint64_t first = (job->offset >> 2) + (uint64_t)b * RNG_LANES;
    uint32_t w[4][RNG_LANES];
    float v[RNG_BATCH];
    philox_lanes(job->seed, first, w);
    if (job->kind == AG_RNG_UNIFORM)
      uniform_lanes(w, job->a, job->b, v);
    else
      normal_lanes(w, job->a, job->b, v);
    const int64_t i0 = (int64_t)(first * 4u - job->offset);
    const int64_t j0 = i0 < 0 ? -i0 : 0;
    const int64_t j1 = job->n - i0 < RNG_BATCH ? job->n - i0 : RNG_BATCH;
    store_values(job->dt, job->y, i0 + j0, v + j0, (int)(j1 - j0));
  }
}

static ag_status ag_rng_fill(const char *name, ag_rng_kind kind, ag_dtype dt, void *y, int64_t n,
                             uint64_t seed, uint64_t offset, float a, float b) {
  AG_TRY(ag_rng_check(name, dt, y, n, offset));
  const ag_rng_job job = {kind, dt, y, n, seed, offset, a, b};
  const int64_t batches = (ag_philox_groups(n, offset) + RNG_LANES - 1) / RNG_LANES;
  const int64_t per_task = AG_CPU_CHUNK / RNG_BATCH; /* amortises the dispatch */
  const int64_t tasks = (batches + per_task - 1) / per_task;
#pragma omp parallel for schedule(static)
  for (int64_t t = 0; t < tasks; t++) {
    const int64_t b1 = (t + 1) * per_task;
    ag_rng_batches(&job, t * per_task, b1 < batches ? b1 : batches);
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
