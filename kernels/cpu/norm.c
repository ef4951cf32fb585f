/* Normalisation kernels, the reference. Rows (row norms), row ranges (the
 * LayerNorm affine gradients) or channels (batchnorm, GroupNorm affine
 * gradients) are independent and are the unit of parallelism.
 *
 * Statistics use the shifted one-pass formula of kernels/common/ag_norm.h:
 * f32 sums of x - k and (x - k)^2 with k the first value of the row or
 * channel, so var = s2/n - (s1/n)^2 cancels only O(1) digits whatever |mean|
 * is. Every sum over a row or channel is taken in NORM_LANES interleaved f32
 * partial sums (vector lanes; the order is the same on every ISA), added
 * pairwise at the end: each rounding chain is n / NORM_LANES long, so the
 * error grows like n / 32 + 5 ulps instead of n, well inside what bf16 or f16
 * outputs can show and what the backends' comparison allows (ag_norm.h
 * explains why this beats Welford here).
 *
 * Hot loops are written once, dtype-generic, as static inline functions
 * that take the dtype as their first argument; AG_CPU_BY_DTYPE calls them with
 * a constant dtype inside AG_CPU_SIMD functions (cpu_simd.h), so each dtype
 * gets its own vectorised copy with the conversion done in registers. */
#include <stdlib.h>

#include "kernels/common/ag_kernels.h"
#include "kernels/common/ag_norm.h"
#include "cpu_dtype.h"
#include "cpu_simd.h"

/* Partial sums per reduction: two AVX-512 vectors of f32, enough independent
 * chains to hide the latency of the additions. */
#define NORM_LANES 32

/* Most row ranges the LayerNorm affine gradients are split into: each range
 * keeps its own column sums, added in range order at the end, so the result
 * depends on the number of rows only, never on the thread count. */
#define NORM_PARTS 32

/* The sum of the partial sums, by pairwise halves (s is overwritten). */
AG_CPU_INLINE float lanes_total(float s[NORM_LANES]) {
  for (int half = NORM_LANES / 2; half > 0; half /= 2)
    for (int l = 0; l < half; l++) s[l] += s[l + half];
  return s[0];
}

/* Adds to *s1 and *s2 the sums of d = x - shift and d^2 over x[base, base + n). */
AG_CPU_INLINE void shifted_sums(ag_dtype dt, const void *x, int64_t base, int64_t n, float shift,
                           float *s1, float *s2) {
  float a1[NORM_LANES] = {0}, a2[NORM_LANES] = {0};
  int64_t c = 0;
  for (; c + NORM_LANES <= n; c += NORM_LANES)
    for (int l = 0; l < NORM_LANES; l++) {
      float d = ag_cpu_load(dt, x, base + c + l) - shift;
      a1[l] += d;
      a2[l] += d * d;
    }
  for (int l = 0; c + l < n; l++) {
    float d = ag_cpu_load(dt, x, base + c + l) - shift;
    a1[l] += d;
    a2[l] += d * d;
  }
  *s1 += lanes_total(a1);
  *s2 += lanes_total(a2);
}

/* Adds to *s_gw and *s_gwx the sums of gw = dy * w and gw * xhat over
 * [base, base + n), with xhat = (x - mu) * rs and w[c] the weight of element
 * base + c, or one weight w[0] for all when w_step is 0. */
AG_CPU_INLINE void grad_sums(ag_dtype dt, const void *x, const void *dy, int64_t base, int64_t n,
                        float mu, float rs, const float *w, int w_step, float *s_gw, float *s_gwx) {
  float a1[NORM_LANES] = {0}, a2[NORM_LANES] = {0};
  int64_t c = 0;
  for (; c + NORM_LANES <= n; c += NORM_LANES)
    for (int l = 0; l < NORM_LANES; l++) {
      float gw = ag_cpu_load(dt, dy, base + c + l) * w[(c + l) * w_step];
      a1[l] += gw;
      a2[l] += gw * (ag_cpu_load(dt, x, base + c + l) - mu) * rs;
    }
  for (int l = 0; c + l < n; l++) {
    float gw = ag_cpu_load(dt, dy, base + c + l) * w[(c + l) * w_step];
    a1[l] += gw;
    a2[l] += gw * (ag_cpu_load(dt, x, base + c + l) - mu) * rs;
  }
  *s_gw += lanes_total(a1);
  *s_gwx += lanes_total(a2);
}

/* y = (x - mu) * rs * w + b over [base, base + n), with w[c * step] and
 * b[c * step] the affine parameters of element base + c (step 0: one pair for
 * the whole run). */
AG_CPU_INLINE void normalize(ag_dtype dt, const void *x, void *y, int64_t base, int64_t n, float mu,
                        float rs, const float *w, const float *b, int step) {
  for (int64_t c = 0; c < n; c++) {
    float v = (ag_cpu_load(dt, x, base + c) - mu) * rs;
    ag_cpu_store(dt, y, base + c, v * w[c * step] + b[c * step]);
  }
}

/* dx over [base, base + n) from the means of gw and gw * xhat over the
 * normalised set; w as in grad_sums. */
AG_CPU_INLINE void input_grad(ag_dtype dt, const void *x, const void *dy, void *dx, int64_t base,
                         int64_t n, float mu, float rs, const float *w, int w_step, float mean_gw,
                         float mean_gwx) {
  for (int64_t c = 0; c < n; c++) {
    float gw = ag_cpu_load(dt, dy, base + c) * w[c * w_step];
    float xhat = (ag_cpu_load(dt, x, base + c) - mu) * rs;
    ag_cpu_store(dt, dx, base + c, ag_norm_dx(gw, xhat, rs, mean_gw, mean_gwx));
  }
}

/* w and b as f32 [2, channels]: the weights, then the biases; 1 and 0 where
 * the op has none. NULL when out of memory. */
static float *affine_f32(ag_dtype dt, const void *w, const void *b, int64_t channels) {
  float *a = malloc((size_t)(channels > 0 ? 2 * channels : 1) * sizeof *a);
  if (!a) return NULL;
  for (int64_t c = 0; c < channels; c++) {
    a[c] = w ? ag_cpu_load(dt, w, c) : 1.0f;
    a[channels + c] = b ? ag_cpu_load(dt, b, c) : 0.0f;
  }
  return a;
}

static ag_status no_memory(const char *kernel, int64_t floats) {
  return ag_set_error(AG_ERR_OOM, "cpu kernel %s: no memory for %lld f32 values", kernel,
                      (long long)floats);
}

/* A norm_rows call (kernels/common/ag_k_norm.h) as its rows see it. Row r is
 * cols / spatial runs of spatial values; run k has the affine channel
 * ag_norm_channel(r, 0, ...) + k. */
typedef struct norm_rows_job {
  const void *x;
  void *y;
  const float *w, *b; /* f32 per channel (affine_f32) */
  float *mean, *rstd; /* mean NULL: RMSNorm */
  int64_t cols, groups, spatial;
  float eps;
} norm_rows_job;

/* Row r of norm_rows: its statistics, then y: in one go when every value
 * has its own channel (spatial 1), else a run (one channel) at a time. */
AG_CPU_INLINE void norm_row(ag_dtype dt, const norm_rows_job *j, int64_t r) {
  const int64_t base = r * j->cols, runs = j->cols / j->spatial;
  const int64_t ch = ag_norm_channel(r, 0, j->cols, j->groups, j->spatial);
  const int centered = j->mean != NULL;
  const float shift = centered ? ag_cpu_load(dt, j->x, base) : 0.0f;
  float s1 = 0.0f, s2 = 0.0f, mu, var;
  shifted_sums(dt, j->x, base, j->cols, shift, &s1, &s2);
  ag_norm_moments((float)j->cols, s1, s2, shift, centered, &mu, &var);
  const float rs = ag_norm_rstd(var, j->eps);
  if (centered) j->mean[r] = mu;
  j->rstd[r] = rs;
  if (j->spatial == 1)
    normalize(dt, j->x, j->y, base, j->cols, mu, rs, j->w + ch, j->b + ch, 1);
  else
    for (int64_t k = 0; k < runs; k++)
      normalize(dt, j->x, j->y, base + k * j->spatial, j->spatial, mu, rs, j->w + ch + k,
                j->b + ch + k, 0);
}

AG_CPU_SIMD
static void norm_row_simd(ag_dtype dt, const norm_rows_job *j, int64_t r) {
  AG_CPU_BY_DTYPE(dt, norm_row, j, r);
}

ag_status ag_cpu_norm_rows(ag_dtype dt, const void *x, const void *w, const void *b, void *y,
                           float *mean, float *rstd, int64_t rows, int64_t cols, int64_t groups,
                           int64_t spatial, float eps, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("norm_rows", dt);
  const int64_t channels = groups * (cols / spatial);
  float *affine = affine_f32(dt, w, b, channels);
  if (!affine) return no_memory("norm_rows", 2 * channels);
  const norm_rows_job j = {x, y, affine, affine + channels, mean, rstd, cols, groups, spatial, eps};
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) norm_row_simd(dt, &j, r);
  free(affine);
  return AG_OK;
}

/* A norm_rows_backward call, laid out as norm_rows_job. */
typedef struct norm_grad_job {
  const void *x, *dy;
  void *dx;
  const float *w; /* f32 per channel (affine_f32) */
  const float *mean, *rstd;
  int64_t cols, groups, spatial;
} norm_grad_job;

/* Row r of norm_rows_backward: the row's sums of gw and gw * xhat, then dx. */
AG_CPU_INLINE void norm_row_backward(ag_dtype dt, const norm_grad_job *j, int64_t r) {
  const int64_t base = r * j->cols, runs = j->cols / j->spatial;
  const int64_t ch = ag_norm_channel(r, 0, j->cols, j->groups, j->spatial);
  const float mu = j->mean ? j->mean[r] : 0.0f, rs = j->rstd[r];
  float s_gw = 0.0f, s_gwx = 0.0f;
  if (j->spatial == 1)
    grad_sums(dt, j->x, j->dy, base, j->cols, mu, rs, j->w + ch, 1, &s_gw, &s_gwx);
  else
    for (int64_t k = 0; k < runs; k++)
      grad_sums(dt, j->x, j->dy, base + k * j->spatial, j->spatial, mu, rs, j->w + ch + k, 0, &s_gw,
                &s_gwx);
  const float mean_gw = j->mean ? s_gw / (float)j->cols : 0.0f;
  const float mean_gwx = s_gwx / (float)j->cols;
  if (j->spatial == 1)
    input_grad(dt, j->x, j->dy, j->dx, base, j->cols, mu, rs, j->w + ch, 1, mean_gw, mean_gwx);
  else
    for (int64_t k = 0; k < runs; k++)
      input_grad(dt, j->x, j->dy, j->dx, base + k * j->spatial, j->spatial, mu, rs, j->w + ch + k,
                 0, mean_gw, mean_gwx);
}

AG_CPU_SIMD
static void norm_row_backward_simd(ag_dtype dt, const norm_grad_job *j, int64_t r) {
  AG_CPU_BY_DTYPE(dt, norm_row_backward, j, r);
}

ag_status ag_cpu_norm_rows_backward(ag_dtype dt, const void *x, const void *w, const void *dy,
                                    const float *mean, const float *rstd, void *dx, int64_t rows,
                                    int64_t cols, int64_t groups, int64_t spatial, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("norm_rows_backward", dt);
  const int64_t channels = groups * (cols / spatial);
  float *affine = affine_f32(dt, w, NULL, channels);
  if (!affine) return no_memory("norm_rows_backward", 2 * channels);
  const norm_grad_job j = {x, dy, dx, affine, mean, rstd, cols, groups, spatial};
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) norm_row_backward_simd(dt, &j, r);
  free(affine);
  return AG_OK;
}

/* The affine gradients' view: x and dy [n, channels, spatial], statistics
 * [n, groups]. */
typedef struct affine_job {
  const void *x, *dy;
  const float *mean, *rstd;
  int64_t n, channels, spatial, groups;
} affine_job;

/* Adds the terms of rows [i0, i1) (spatial 1) to the column sums of the
 * weight and bias gradients: sum_w[c] += dy * xhat, sum_b[c] += dy. */
AG_CPU_INLINE void column_sums(ag_dtype dt, const affine_job *j, int64_t i0, int64_t i1, float *sum_w,
                          float *sum_b) {
  const int64_t per_group = j->channels / j->groups;
  for (int64_t i = i0; i < i1; i++)
    for (int64_t g = 0; g < j->groups; g++) {
      const int64_t st = i * j->groups + g, base = i * j->channels + g * per_group;
      const float mu = j->mean ? j->mean[st] : 0.0f, rs = j->rstd[st];
      float *sw = sum_w + g * per_group, *sb = sum_b + g * per_group;
      for (int64_t c = 0; c < per_group; c++) {
        const float d = ag_cpu_load(dt, j->dy, base + c);
        sw[c] += d * (ag_cpu_load(dt, j->x, base + c) - mu) * rs;
        sb[c] += d;
      }
    }
}

AG_CPU_SIMD
static void column_sums_simd(ag_dtype dt, const affine_job *j, int64_t i0, int64_t i1,
                             float *sum_w, float *sum_b) {
  AG_CPU_BY_DTYPE(dt, column_sums, j, i0, i1, sum_w, sum_b);
}

/* Affine gradients with spatial 1 (LayerNorm; GroupNorm of [N, C]): each of
 * up to NORM_PARTS row ranges sums its columns into its own [2, channels]
 * part, and the parts are added in order. */
static ag_status affine_grads_by_rows(ag_dtype dt, const affine_job *j, void *dw, void *db) {
  const int64_t rows_per_part = (j->n + NORM_PARTS - 1) / NORM_PARTS;
  const int64_t parts = rows_per_part > 0 ? (j->n + rows_per_part - 1) / rows_per_part : 0;
  const int64_t width = 2 * j->channels;
  float *sums = calloc((size_t)(parts * width > 0 ? parts * width : 1), sizeof *sums);
  if (!sums) return no_memory("norm_affine_backward", parts * width);
#pragma omp parallel for schedule(static)
  for (int64_t p = 0; p < parts; p++) {
    const int64_t i1 = (p + 1) * rows_per_part;
    float *part = sums + p * width;
    column_sums_simd(dt, j, p * rows_per_part, i1 < j->n ? i1 : j->n, part, part + j->channels);
  }
  for (int64_t c = 0; c < j->channels; c++) {
    float s_w = 0.0f, s_b = 0.0f;
    for (int64_t p = 0; p < parts; p++) {
      s_w += sums[p * width + c];
      s_b += sums[p * width + j->channels + c];
    }
    if (dw) ag_cpu_store(dt, dw, c, s_w);
    if (db) ag_cpu_store(dt, db, c, s_b);
  }
  free(sums);
  return AG_OK;
}

/* Channel ch's sums of dy * xhat and dy over its n runs of spatial values:
 * grad_sums with a unit weight, whose gw is then dy. */
AG_CPU_INLINE void channel_sums(ag_dtype dt, const affine_job *j, int64_t ch, float *s_w, float *s_b) {
  const int64_t per_group = j->channels / j->groups;
  const float one = 1.0f;
  for (int64_t i = 0; i < j->n; i++) {
    const int64_t st = i * j->groups + ch / per_group;
    const float mu = j->mean ? j->mean[st] : 0.0f, rs = j->rstd[st];
    grad_sums(dt, j->x, j->dy, (i * j->channels + ch) * j->spatial, j->spatial, mu, rs, &one, 0,
              s_b, s_w);
  }
}

AG_CPU_SIMD
static void channel_sums_simd(ag_dtype dt, const affine_job *j, int64_t ch, float *s_w,
                              float *s_b) {
  AG_CPU_BY_DTYPE(dt, channel_sums, j, ch, s_w, s_b);
}

ag_status ag_cpu_norm_affine_backward(ag_dtype dt, const void *x, const void *dy,
                                      const float *mean, const float *rstd, void *dw, void *db,
                                      int64_t n, int64_t channels, int64_t spatial,
                                      int64_t groups, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("norm_affine_backward", dt);
  const affine_job j = {x, dy, mean, rstd, n, channels, spatial, groups};
  if (spatial == 1) return affine_grads_by_rows(dt, &j, dw, db);
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < channels; ch++) {
    float s_w = 0.0f, s_b = 0.0f;
    channel_sums_simd(dt, &j, ch, &s_w, &s_b);
    if (dw) ag_cpu_store(dt, dw, ch, s_w);
    if (db) ag_cpu_store(dt, db, ch, s_b);
  }
  return AG_OK;
}

/* A batchnorm call: x, y, dy and dx [n, channels, spatial], per-channel
 * statistics over the n runs of spatial values of a channel. */
typedef struct batchnorm_job {
  const void *x, *w, *b, *dy;
  void *out; /* y, or dx in the backward (NULL: not wanted) */
  int64_t n, channels, spatial;
} batchnorm_job;

static inline int64_t run_start(const batchnorm_job *j, int64_t i, int64_t ch) {
  return (i * j->channels + ch) * j->spatial;
}

/* Batch mean and variance of channel ch. */
AG_CPU_INLINE void batch_moments(ag_dtype dt, const batchnorm_job *j, int64_t ch, float *mean,
                            float *var) {
  const float shift = ag_cpu_load(dt, j->x, run_start(j, 0, ch));
  float s1 = 0.0f, s2 = 0.0f;
  for (int64_t i = 0; i < j->n; i++)
    shifted_sums(dt, j->x, run_start(j, i, ch), j->spatial, shift, &s1, &s2);
  ag_norm_moments((float)(j->n * j->spatial), s1, s2, shift, 1, mean, var);
}

/* y of channel ch from its mean and rstd. */
AG_CPU_INLINE void batchnorm_channel(ag_dtype dt, const batchnorm_job *j, int64_t ch, float mu,
                                float rs) {
  const float wc = ag_cpu_load(dt, j->w, ch), bc = ag_cpu_load(dt, j->b, ch);
  for (int64_t i = 0; i < j->n; i++)
    normalize(dt, j->x, j->out, run_start(j, i, ch), j->spatial, mu, rs, &wc, &bc, 0);
}

AG_CPU_SIMD
static void batch_moments_simd(ag_dtype dt, const batchnorm_job *j, int64_t ch, float *mean,
                               float *var) {
  AG_CPU_BY_DTYPE(dt, batch_moments, j, ch, mean, var);
}

AG_CPU_SIMD
static void batchnorm_channel_simd(ag_dtype dt, const batchnorm_job *j, int64_t ch, float mu,
                                   float rs) {
  AG_CPU_BY_DTYPE(dt, batchnorm_channel, j, ch, mu, rs);
}

ag_status ag_cpu_batchnorm(ag_dtype dt, const void *x, const void *w, const void *b,
                           const float *run_mean, const float *run_var, void *y, float *save_mean,
                           float *save_invstd, float *new_mean, float *new_var, int64_t n,
                           int64_t channels, int64_t spatial, int training, float eps,
                           float momentum, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("batchnorm", dt);
  const batchnorm_job j = {x, w, b, NULL, y, n, channels, spatial};
  const int64_t m = n * spatial;
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < channels; ch++) {
    float mu = run_mean[ch], var = run_var[ch];
    float next_mean = run_mean[ch], next_var = run_var[ch];
    if (training) {
      batch_moments_simd(dt, &j, ch, &mu, &var);
      next_mean = ag_norm_running(run_mean[ch], mu, momentum);
      next_var = ag_norm_running(run_var[ch], var * (float)m / (float)(m - 1), momentum);
    }
    const float rs = ag_norm_rstd(var, eps);
    new_mean[ch] = next_mean;
    new_var[ch] = next_var;
    save_mean[ch] = mu;
    save_invstd[ch] = rs;
    batchnorm_channel_simd(dt, &j, ch, mu, rs);
  }
  return AG_OK;
}

/* Channel ch of batchnorm_backward: its sums of dy and dy * xhat (the bias
 * and weight gradients), then dx unless dx is NULL. Eval mode normalises
 * with constants, so there dx is a plain scale of dy. */
AG_CPU_INLINE void batchnorm_channel_backward(ag_dtype dt, const batchnorm_job *j, int64_t ch, float mu,
                                         float rs, int training, void *dw, void *db) {
  const float one = 1.0f, wc = ag_cpu_load(dt, j->w, ch), m = (float)(j->n * j->spatial);
  float s_g = 0.0f, s_gx = 0.0f;
  for (int64_t i = 0; i < j->n; i++)
    grad_sums(dt, j->x, j->dy, run_start(j, i, ch), j->spatial, mu, rs, &one, 0, &s_g, &s_gx);
  if (dw) ag_cpu_store(dt, dw, ch, s_gx);
  if (db) ag_cpu_store(dt, db, ch, s_g);
  if (!j->out) return;
  const float mean_g = training ? wc * s_g / m : 0.0f;
  const float mean_gx = training ? wc * s_gx / m : 0.0f;
  for (int64_t i = 0; i < j->n; i++)
    input_grad(dt, j->x, j->dy, j->out, run_start(j, i, ch), j->spatial, mu, rs, &wc, 0, mean_g,
               mean_gx);
}

AG_CPU_SIMD
static void batchnorm_channel_backward_simd(ag_dtype dt, const batchnorm_job *j, int64_t ch,
                                            float mu, float rs, int training, void *dw, void *db) {
  AG_CPU_BY_DTYPE(dt, batchnorm_channel_backward, j, ch, mu, rs, training, dw, db);
}

ag_status ag_cpu_batchnorm_backward(ag_dtype dt, const void *x, const void *w, const void *dy,
                                    const float *save_mean, const float *save_invstd, void *dx,
                                    void *dw, void *db, int64_t n, int64_t channels,
                                    int64_t spatial, int training, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("batchnorm_backward", dt);
  const batchnorm_job j = {x, w, NULL, dy, dx, n, channels, spatial};
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < channels; ch++)
    batchnorm_channel_backward_simd(dt, &j, ch, save_mean[ch], save_invstd[ch], training, dw, db);
  return AG_OK;
}

const ag_norm_kernels ag_cpu_norm_kernels = {
    .norm_rows = ag_cpu_norm_rows,
    .norm_rows_backward = ag_cpu_norm_rows_backward,
    .norm_affine_backward = ag_cpu_norm_affine_backward,
    .batchnorm = ag_cpu_batchnorm,
    .batchnorm_backward = ag_cpu_batchnorm_backward,
};
