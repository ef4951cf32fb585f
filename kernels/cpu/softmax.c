/* Softmax, log-softmax and cross-entropy over rows, the CPU reference. Rows
 * are independent, so they are the unit of OpenMP parallelism; each row is
 * reduced with the online (max, sum) pair of kernels/common/ag_softmax.h in
 * one pass and normalised in a second. */
#include "kernels/common/ag_kernels.h"
#include "kernels/common/ag_softmax.h"
#include "cpu_dtype.h"

/* Normaliser of scale * x[base .. base + n). */
static ag_online_max_sum row_max_sum(ag_dtype dt, const void *x, int64_t base, int64_t n,
                                     float scale) {
  ag_online_max_sum acc = ag_online_empty();
  for (int64_t c = 0; c < n; c++) acc = ag_online_push(acc, scale * ag_cpu_load(dt, x, base + c));
  return acc;
}

/* sum_c a[base + c] * b[base + c], or sum_c a[base + c] when b is NULL. */
static float row_dot(ag_dtype dt, const void *a, const void *b, int64_t base, int64_t n) {
  float s = 0.0f;
  for (int64_t c = 0; c < n; c++)
    s += ag_cpu_load(dt, a, base + c) * (b ? ag_cpu_load(dt, b, base + c) : 1.0f);
  return s;
}

ag_status ag_cpu_softmax_rows(ag_dtype dt, const void *x, void *y, int64_t rows, int64_t cols,
                              float scale, int64_t causal_t, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("softmax_rows", dt);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t base = r * cols, kept = ag_softmax_kept_cols(r, cols, causal_t);
    ag_online_max_sum acc = row_max_sum(dt, x, base, kept, scale);
    float inv = 1.0f / acc.sum;
    for (int64_t c = 0; c < kept; c++)
      ag_cpu_store(dt, y, base + c, expf(scale * ag_cpu_load(dt, x, base + c) - acc.max) * inv);
    for (int64_t c = kept; c < cols; c++) ag_cpu_store(dt, y, base + c, 0.0f);
  }
  return AG_OK;
}

ag_status ag_cpu_softmax_rows_backward(ag_dtype dt, const void *y, const void *dy, void *dx,
                                       int64_t rows, int64_t cols, float scale, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("softmax_rows_backward", dt);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t base = r * cols;
    float s = row_dot(dt, dy, y, base, cols);
    for (int64_t c = 0; c < cols; c++) {
      float yc = ag_cpu_load(dt, y, base + c);
      ag_cpu_store(dt, dx, base + c, scale * yc * (ag_cpu_load(dt, dy, base + c) - s));
    }
  }
  return AG_OK;
}

ag_status ag_cpu_log_softmax_rows(ag_dtype dt, const void *x, void *y, int64_t rows, int64_t cols,
                                  void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("log_softmax_rows", dt);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t base = r * cols;
    float lse = ag_online_logsumexp(row_max_sum(dt, x, base, cols, 1.0f));
    for (int64_t c = 0; c < cols; c++)
      ag_cpu_store(dt, y, base + c, ag_cpu_load(dt, x, base + c) - lse);
  }
  return AG_OK;
}

ag_status ag_cpu_log_softmax_rows_backward(ag_dtype dt, const void *y, const void *dy, void *dx,
                                           int64_t rows, int64_t cols, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("log_softmax_rows_backward", dt);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t base = r * cols;
    float s = row_dot(dt, dy, NULL, base, cols);
    for (int64_t c = 0; c < cols; c++)
      ag_cpu_store(dt, dx, base + c,
                   ag_cpu_load(dt, dy, base + c) - expf(ag_cpu_load(dt, y, base + c)) * s);
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
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t base = r * classes, t = targets[r];
    lse[r] = ag_online_logsumexp(row_max_sum(dt, logits, base, classes, 1.0f));
    if (ce_ignored(t, has_ignore, ignore_index)) {
      losses[r] = 0.0f;
    } else if (!ag_ce_target_valid(t, classes)) {
      losses[r] = NAN;
    } else {
      float sum = smoothing != 0.0f ? row_dot(dt, logits, NULL, base, classes) : 0.0f;
      losses[r] = ag_ce_loss(lse[r], ag_cpu_load(dt, logits, base + t), sum, classes, smoothing);
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
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    int64_t base = r * classes, t = targets[r];
    int ignored = ce_ignored(t, has_ignore, ignore_index);
    float gl = ignored ? 0.0f : ag_ce_target_valid(t, classes) ? dloss[r] : NAN;
    float gz = dlse ? dlse[r] : 0.0f;
    for (int64_t c = 0; c < classes; c++) {
      float p = expf(ag_cpu_load(dt, logits, base + c) - lse[r]);
      float q = ag_ce_target_prob(c, t, classes, smoothing);
      ag_cpu_store(dt, dlogits, base + c, (p - q) * gl + p * gz);
    }
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
