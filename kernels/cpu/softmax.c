/* Softmax, log-softmax and cross-entropy over rows, the CPU reference. Rows
 * are independent and are the unit of OpenMP parallelism.
 *
 * A row is read in its dtype and widened in registers, by loops compiled
 * per dtype (AG_CPU_BY_DTYPE), and reduced in f32 over AG_SM_LANES
 * interleaved partial sums or maxima (the vector lanes; a fixed count, so
 * every ISA adds in the same order). It stays in L1/L2 between its passes,
 * so it is read from memory once however many passes there are. Softmax
 * finds the row's max, then sums exp(x - max) keeping the exps, then scales
 * them: one exp per element, where the online (max, sum) pair of
 * kernels/common/ag_softmax.h needs two (every new maximum rescales the
 * sum) and does not vectorise. */
#include <omp.h>
#include <stdlib.h>

#include "kernels/common/ag_kernels.h"
#include "kernels/common/ag_softmax.h"
#include "cpu_dtype.h"
#include "cpu_simd.h"
#include "cpu_vmath.h"

/* 32: a bf16 row's 16-bit lanes fill an AVX-512 register. */
#define AG_SM_LANES 32

AG_CPU_INLINE float lanes_sum(const float *v) {
  float s = 0.0f;
  for (int l = 0; l < AG_SM_LANES; l++) s += v[l];
  return s;
}

/* max over c < n of scale * x[c]; NaNs are skipped here and caught by the
 * sum of exps, which they make NaN. */
AG_CPU_INLINE float row_max_t(ag_dtype dt, const void *x, int64_t n, float scale) {
  float m[AG_SM_LANES];
  for (int l = 0; l < AG_SM_LANES; l++) m[l] = -INFINITY;
  int64_t c = 0;
  for (; c + AG_SM_LANES <= n; c += AG_SM_LANES)
#pragma omp simd
    for (int l = 0; l < AG_SM_LANES; l++) {
      float v = scale * ag_cpu_load(dt, x, c + l);
      m[l] = v > m[l] ? v : m[l];
    }
  for (int l = 0; c + l < n; l++) {
    float v = scale * ag_cpu_load(dt, x, c + l);
    m[l] = v > m[l] ? v : m[l];
  }
  float r = m[0];
  for (int l = 1; l < AG_SM_LANES; l++) r = m[l] > r ? m[l] : r;
  return r;
}

/* sum over c < n of exp(scale x[c] - max), each term kept in e[c] if
 * `keep` (a constant at every call). max is the row's max, so the exps'
 * arguments are <= 0 (or NaN). */
AG_CPU_INLINE float row_exp_t(ag_dtype dt, const void *x, int64_t n, float scale, float max,
                              float *e, int keep) {
  float s[AG_SM_LANES] = {0};
  int64_t c = 0;
  for (; c + AG_SM_LANES <= n; c += AG_SM_LANES)
#pragma omp simd
    for (int l = 0; l < AG_SM_LANES; l++) {
      float v = ag_vexp_neg(scale * ag_cpu_load(dt, x, c + l) - max);
      if (keep) e[c + l] = v;
      s[l] += v;
    }
  for (int l = 0; c + l < n; l++) {
    float v = ag_vexp_neg(scale * ag_cpu_load(dt, x, c + l) - max);
    if (keep) e[c + l] = v;
    s[l] += v;
  }
  return lanes_sum(s);
}

/* sum over c < n of a[c] * b[c], or of a[c] alone unless `weighted` (a
 * constant at every call). */
AG_CPU_INLINE float row_dot_t(ag_dtype dt, const void *a, const void *b, int64_t n, int weighted) {
  float s[AG_SM_LANES] = {0};
  int64_t c = 0;
  for (; c + AG_SM_LANES <= n; c += AG_SM_LANES)
#pragma omp simd
    for (int l = 0; l < AG_SM_LANES; l++)
      s[l] += ag_cpu_load(dt, a, c + l) * (weighted ? ag_cpu_load(dt, b, c + l) : 1.0f);
  for (int l = 0; c + l < n; l++)
    s[l] += ag_cpu_load(dt, a, c + l) * (weighted ? ag_cpu_load(dt, b, c + l) : 1.0f);
  return lanes_sum(s);
}

/* scale is a runtime value here even when it is 1: multiplied, the bf16
 * values go to vmaxps; unmultiplied, GCC folds the widening into a chain of
 * compares and masked shifts that runs at half the speed. */
AG_CPU_SIMD static float row_max(ag_dtype dt, const void *x, int64_t n, float scale) {
  return AG_CPU_BY_DTYPE(dt, row_max_t, x, n, scale);
}

/* sum over the row of exp(scale x - max), keeping the exps in e; a scale of
 * 1, the common case, is made a constant so that its multiply folds away. */
AG_CPU_SIMD static float row_exp(ag_dtype dt, const void *x, int64_t n, float scale, float max,
                                 float *e) {
  return scale == 1.0f ? AG_CPU_BY_DTYPE(dt, row_exp_t, x, n, 1.0f, max, e, 1)
                       : AG_CPU_BY_DTYPE(dt, row_exp_t, x, n, scale, max, e, 1);
}

/* sum over the row of exp(x - max). */
AG_CPU_SIMD static float row_sum_exp(ag_dtype dt, const void *x, int64_t n, float max) {
  return AG_CPU_BY_DTYPE(dt, row_exp_t, x, n, 1.0f, max, NULL, 0);
}

/* log sum_c exp(x[c]) of one row. */
static float row_logsumexp(ag_dtype dt, const void *x, int64_t n) {
  float max = row_max(dt, x, n, 1.0f);
  return max + logf(row_sum_exp(dt, x, n, max));
}

AG_CPU_SIMD static float row_dot(ag_dtype dt, const void *a, const void *b, int64_t n) {
  return AG_CPU_BY_DTYPE(dt, row_dot_t, a, b, n, 1);
}

AG_CPU_SIMD static float row_sum(ag_dtype dt, const void *a, int64_t n) {
  return AG_CPU_BY_DTYPE(dt, row_dot_t, a, NULL, n, 0);
}

/* y[c] = e[c] * inv over the kept columns, 0 over the masked rest; e may
 * be y itself (f32). */
AG_CPU_INLINE void softmax_write_t(ag_dtype dt, const float *e, float inv, void *y, int64_t kept,
                                   int64_t cols) {
  for (int64_t c = 0; c < kept; c++) ag_cpu_store(dt, y, c, e[c] * inv);
  for (int64_t c = kept; c < cols; c++) ag_cpu_store(dt, y, c, 0.0f);
}

AG_CPU_INLINE void softmax_grad_write_t(ag_dtype dt, const void *y, const void *dy, void *dx,
                                        int64_t n, float scale, float dot) {
  for (int64_t c = 0; c < n; c++) {
    float yc = ag_cpu_load(dt, y, c);
    ag_cpu_store(dt, dx, c, scale * yc * (ag_cpu_load(dt, dy, c) - dot));
  }
}

AG_CPU_INLINE void log_softmax_write_t(ag_dtype dt, const void *x, void *y, int64_t n, float lse) {
  for (int64_t c = 0; c < n; c++) ag_cpu_store(dt, y, c, ag_cpu_load(dt, x, c) - lse);
}

AG_CPU_INLINE void log_softmax_grad_write_t(ag_dtype dt, const void *y, const void *dy, void *dx,
                                            int64_t n, float sum) {
  for (int64_t c = 0; c < n; c++)
    ag_cpu_store(dt, dx, c, ag_cpu_load(dt, dy, c) - ag_vexp(ag_cpu_load(dt, y, c)) * sum);
}

/* dx[c] = (p_c - q) gl + p_c gz with p_c = exp(x[c] - lse) and q the
 * target probability of every class but the target, which the caller
 * rewrites. */
AG_CPU_INLINE void ce_grad_write_t(ag_dtype dt, const void *x, void *dx, int64_t n, float lse,
                                   float q, float gl, float gz) {
  for (int64_t c = 0; c < n; c++) {
    float p = ag_vexp(ag_cpu_load(dt, x, c) - lse);
    ag_cpu_store(dt, dx, c, (p - q) * gl + p * gz);
  }
}

AG_CPU_SIMD static void softmax_write(ag_dtype dt, const float *e, float inv, void *y, int64_t kept,
                                      int64_t cols) {
  AG_CPU_BY_DTYPE(dt, softmax_write_t, e, inv, y, kept, cols);
}

AG_CPU_SIMD static void softmax_grad_write(ag_dtype dt, const void *y, const void *dy, void *dx,
                                           int64_t n, float scale, float dot) {
  AG_CPU_BY_DTYPE(dt, softmax_grad_write_t, y, dy, dx, n, scale, dot);
}

AG_CPU_SIMD static void log_softmax_write(ag_dtype dt, const void *x, void *y, int64_t n,
                                          float lse) {
  AG_CPU_BY_DTYPE(dt, log_softmax_write_t, x, y, n, lse);
}

AG_CPU_SIMD static void log_softmax_grad_write(ag_dtype dt, const void *y, const void *dy, void *dx,
                                               int64_t n, float sum) {
  AG_CPU_BY_DTYPE(dt, log_softmax_grad_write_t, y, dy, dx, n, sum);
}

AG_CPU_SIMD static void ce_grad_write(ag_dtype dt, const void *x, void *dx, int64_t n, float lse,
                                      float q, float gl, float gz) {
  AG_CPU_BY_DTYPE(dt, ce_grad_write_t, x, dx, n, lse, q, gl, gz);
}

/* Row r of a [rows, cols] array of dtype dt. */
static const void *row_in(const void *p, ag_dtype dt, int64_t r, int64_t cols) {
  return (const char *)p + r * cols * (int64_t)ag_dtype_size(dt);
}

static void *row_out(void *p, ag_dtype dt, int64_t r, int64_t cols) {
  return (char *)p + r * cols * (int64_t)ag_dtype_size(dt);
}

ag_status ag_cpu_softmax_rows(ag_dtype dt, const void *x, void *y, int64_t rows, int64_t cols,
                              float scale, int64_t causal_t, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("softmax_rows", dt);
  /* The exps are kept in y itself in f32, else in one f32 row per thread. */
  float *scratch = NULL;
  if (dt != AG_F32) {
    scratch = malloc((size_t)omp_get_max_threads() * (size_t)(cols > 0 ? cols : 1) * sizeof(float));
    if (!scratch)
      return ag_set_error(AG_ERR_OOM, "cpu kernel softmax_rows: no memory for rows of %lld floats",
                          (long long)cols);
  }
#pragma omp parallel for schedule(static) if (rows * cols > AG_CPU_CHUNK)
  for (int64_t r = 0; r < rows; r++) {
    const void *xr = row_in(x, dt, r, cols);
    void *yr = row_out(y, dt, r, cols);
    float *e = scratch ? scratch + omp_get_thread_num() * cols : yr;
    int64_t kept = ag_softmax_kept_cols(r, cols, causal_t);
    float max = row_max(dt, xr, kept, scale);
    float inv = 1.0f / row_exp(dt, xr, kept, scale, max, e);
    softmax_write(dt, e, inv, yr, kept, cols);
  }
  free(scratch);
  return AG_OK;
}

ag_status ag_cpu_softmax_rows_backward(ag_dtype dt, const void *y, const void *dy, void *dx,
                                       int64_t rows, int64_t cols, float scale, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("softmax_rows_backward", dt);
#pragma omp parallel for schedule(static) if (rows * cols > AG_CPU_CHUNK)
  for (int64_t r = 0; r < rows; r++) {
    const void *yr = row_in(y, dt, r, cols), *dyr = row_in(dy, dt, r, cols);
    softmax_grad_write(dt, yr, dyr, row_out(dx, dt, r, cols), cols, scale,
                       row_dot(dt, dyr, yr, cols));
  }
  return AG_OK;
}

ag_status ag_cpu_log_softmax_rows(ag_dtype dt, const void *x, void *y, int64_t rows, int64_t cols,
                                  void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("log_softmax_rows", dt);
#pragma omp parallel for schedule(static) if (rows * cols > AG_CPU_CHUNK)
  for (int64_t r = 0; r < rows; r++) {
    const void *xr = row_in(x, dt, r, cols);
    log_softmax_write(dt, xr, row_out(y, dt, r, cols), cols, row_logsumexp(dt, xr, cols));
  }
  return AG_OK;
}

ag_status ag_cpu_log_softmax_rows_backward(ag_dtype dt, const void *y, const void *dy, void *dx,
                                           int64_t rows, int64_t cols, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("log_softmax_rows_backward", dt);
#pragma omp parallel for schedule(static) if (rows * cols > AG_CPU_CHUNK)
  for (int64_t r = 0; r < rows; r++) {
    const void *dyr = row_in(dy, dt, r, cols);
    log_softmax_grad_write(dt, row_in(y, dt, r, cols), dyr, row_out(dx, dt, r, cols), cols,
                           row_sum(dt, dyr, cols));
  }
  return AG_OK;
}

static int ce_ignored(int64_t target, int has_ignore, int64_t ignore_index) {
  return has_ignore && target == ignore_index;
}

ag_status ag_cpu_cross_entropy(ag_dtype dt, const void *logits, const int32_t *targets,
                               float *losses, float *lse, int64_t rows, int64_t classes,
                               int has_ignore, int64_t ignore_index, float smoothing,
                               void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("cross_entropy", dt);
#pragma omp parallel for schedule(static) if (rows * classes > AG_CPU_CHUNK)
  for (int64_t r = 0; r < rows; r++) {
    const void *xr = row_in(logits, dt, r, classes);
    int64_t t = targets[r];
    lse[r] = row_logsumexp(dt, xr, classes);
    if (ce_ignored(t, has_ignore, ignore_index)) {
      losses[r] = 0.0f;
    } else if (!ag_ce_target_valid(t, classes)) {
      losses[r] = NAN;
    } else {
      float sum = smoothing != 0.0f ? row_sum(dt, xr, classes) : 0.0f;
      losses[r] = ag_ce_loss(lse[r], ag_cpu_load(dt, xr, t), sum, classes, smoothing);
    }
  }
  return AG_OK;
}

ag_status ag_cpu_cross_entropy_backward(ag_dtype dt, const void *logits, const int32_t *targets,
                                        const float *lse, const float *dloss, const float *dlse,
                                        void *dlogits, int64_t rows, int64_t classes,
                                        int has_ignore, int64_t ignore_index, float smoothing,
                                        void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("cross_entropy_backward", dt);
  /* the target probability of every class c but the target (c != t) */
  const float q = ag_ce_target_prob(-1, 0, classes, smoothing);
#pragma omp parallel for schedule(static) if (rows * classes > AG_CPU_CHUNK)
  for (int64_t r = 0; r < rows; r++) {
    const void *xr = row_in(logits, dt, r, classes);
    void *dxr = row_out(dlogits, dt, r, classes);
    int64_t t = targets[r];
    int valid = ag_ce_target_valid(t, classes);
    float gl = ce_ignored(t, has_ignore, ignore_index) ? 0.0f : valid ? dloss[r] : NAN;
    float gz = dlse ? dlse[r] : 0.0f;
    /* the target's logit is read first, so that dlogits may be logits */
    float pt = valid ? ag_vexp(ag_cpu_load(dt, xr, t) - lse[r]) : 0.0f;
    ce_grad_write(dt, xr, dxr, classes, lse[r], q, gl, gz);
    if (valid)
      ag_cpu_store(dt, dxr, t, (pt - ag_ce_target_prob(t, t, classes, smoothing)) * gl + pt * gz);
  }
  return AG_OK;
}

const ag_softmax_kernels ag_cpu_softmax_kernels = {
    .softmax_rows = ag_cpu_softmax_rows,
    .softmax_rows_backward = ag_cpu_softmax_rows_backward,
    .log_softmax_rows = ag_cpu_log_softmax_rows,
    .log_softmax_rows_backward = ag_cpu_log_softmax_rows_backward,
    .cross_entropy = ag_cpu_cross_entropy,
    .cross_entropy_backward = ag_cpu_cross_entropy_backward,
    .mse_loss = ag_cpu_mse_loss,
    .mse_loss_backward = ag_cpu_mse_loss_backward,
    .huber_loss = ag_cpu_huber_loss,
    .huber_loss_backward = ag_cpu_huber_loss_backward,
};
