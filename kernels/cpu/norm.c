/* Normalisation kernels, the reference. Rows (row norms) or channels
 * (batchnorm, affine gradients) are independent and are the unit of
 * parallelism; every sum is an f32 accumulation and statistics use the
 * shifted one-pass formula of kernels/common/ag_norm.h. */
#include "kernels/common/ag_kernels.h"
#include "kernels/common/ag_norm.h"
#include "cpu_dtype.h"

/* One row's mean and rstd; mean is NULL for RMSNorm. */
static void row_stats(ag_dtype dt, const void *x, int64_t base, int64_t cols, int centered,
                      float eps, float *mean, float *rstd) {
  float shift = centered ? ag_cpu_load(dt, x, base) : 0.0f, s1 = 0.0f, s2 = 0.0f, var;
  for (int64_t c = 0; c < cols; c++) {
    float d = ag_cpu_load(dt, x, base + c) - shift;
    s1 += d;
    s2 += d * d;
  }
  ag_norm_moments((float)cols, s1, s2, shift, centered, mean, &var);
  *rstd = ag_norm_rstd(var, eps);
}

static float load_or(ag_dtype dt, const void *p, int64_t i, float absent) {
  return p ? ag_cpu_load(dt, p, i) : absent;
}

ag_status ag_cpu_norm_rows(ag_dtype dt, const void *x, const void *w, const void *b, void *y,
                           float *mean, float *rstd, int64_t rows, int64_t cols, int64_t groups,
                           int64_t spatial, float eps, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("norm_rows", dt);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    float mu, rs;
    row_stats(dt, x, r * cols, cols, mean != NULL, eps, &mu, &rs);
    if (mean) mean[r] = mu;
    rstd[r] = rs;
    for (int64_t c = 0; c < cols; c++) {
      int64_t ch = ag_norm_channel(r, c, cols, groups, spatial);
      float v = (ag_cpu_load(dt, x, r * cols + c) - mu) * rs;
      ag_cpu_store(dt, y, r * cols + c, v * load_or(dt, w, ch, 1.0f) + load_or(dt, b, ch, 0.0f));
    }
  }
  return AG_OK;
}

ag_status ag_cpu_norm_rows_backward(ag_dtype dt, const void *x, const void *w, const void *dy,
                                    const float *mean, const float *rstd, void *dx, int64_t rows,
                                    int64_t cols, int64_t groups, int64_t spatial, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("norm_rows_backward", dt);
#pragma omp parallel for schedule(static)
  for (int64_t r = 0; r < rows; r++) {
    float mu = mean ? mean[r] : 0.0f, rs = rstd[r], s_gw = 0.0f, s_gwx = 0.0f;
    for (int64_t c = 0; c < cols; c++) {
      int64_t i = r * cols + c, ch = ag_norm_channel(r, c, cols, groups, spatial);
      float gw = ag_cpu_load(dt, dy, i) * load_or(dt, w, ch, 1.0f);
      s_gw += gw;
      s_gwx += gw * (ag_cpu_load(dt, x, i) - mu) * rs;
    }
    float mean_gw = mean ? s_gw / (float)cols : 0.0f, mean_gwx = s_gwx / (float)cols;
    for (int64_t c = 0; c < cols; c++) {
      int64_t i = r * cols + c, ch = ag_norm_channel(r, c, cols, groups, spatial);
      float gw = ag_cpu_load(dt, dy, i) * load_or(dt, w, ch, 1.0f);
      float xhat = (ag_cpu_load(dt, x, i) - mu) * rs;
      ag_cpu_store(dt, dx, i, ag_norm_dx(gw, xhat, rs, mean_gw, mean_gwx));
    }
  }
  return AG_OK;
}

ag_status ag_cpu_norm_affine_backward(ag_dtype dt, const void *x, const void *dy,
                                      const float *mean, const float *rstd, void *dw, void *db,
                                      int64_t n, int64_t channels, int64_t spatial,
                                      int64_t groups, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("norm_affine_backward", dt);
  int64_t per_group = channels / groups;
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < channels; ch++) {
    float s_w = 0.0f, s_b = 0.0f;
    for (int64_t i = 0; i < n; i++) {
      int64_t st = i * groups + ch / per_group;
      float mu = mean ? mean[st] : 0.0f, rs = rstd[st];
      for (int64_t s = 0; s < spatial; s++) {
        int64_t k = (i * channels + ch) * spatial + s;
        float g = ag_cpu_load(dt, dy, k);
        s_w += g * (ag_cpu_load(dt, x, k) - mu) * rs;
        s_b += g;
      }
    }
    if (dw) ag_cpu_store(dt, dw, ch, s_w);
    if (db) ag_cpu_store(dt, db, ch, s_b);
  }
  return AG_OK;
}

/* Flat index of the j-th of the n * spatial values of channel ch. */
static int64_t channel_elem(int64_t j, int64_t ch, int64_t channels, int64_t spatial) {
  int64_t i = j / spatial;
  return (i * channels + ch) * spatial + (j - i * spatial);
}

/* Batch statistics of one channel, and its running-statistic update. */
static void batch_stats(ag_dtype dt, const void *x, int64_t ch, int64_t m, int64_t channels,
                        int64_t spatial, float momentum, float old_mean, float old_var,
                        float *mean, float *var, float *new_mean, float *new_var) {
  float shift = ag_cpu_load(dt, x, channel_elem(0, ch, channels, spatial)), s1 = 0.0f, s2 = 0.0f;
  for (int64_t j = 0; j < m; j++) {
    float d = ag_cpu_load(dt, x, channel_elem(j, ch, channels, spatial)) - shift;
    s1 += d;
    s2 += d * d;
  }
  ag_norm_moments((float)m, s1, s2, shift, 1, mean, var);
  *new_mean = ag_norm_running(old_mean, *mean, momentum);
  *new_var = ag_norm_running(old_var, *var * (float)m / (float)(m - 1), momentum);
}

ag_status ag_cpu_batchnorm(ag_dtype dt, const void *x, const void *w, const void *b,
                           const float *run_mean, const float *run_var, void *y, float *save_mean,
                           float *save_invstd, float *new_mean, float *new_var, int64_t n,
                           int64_t channels, int64_t spatial, int training, float eps,
                           float momentum, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("batchnorm", dt);
  int64_t m = n * spatial;
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < channels; ch++) {
    float mu = run_mean[ch], var = run_var[ch];
    new_mean[ch] = run_mean[ch];
    new_var[ch] = run_var[ch];
    if (training)
      batch_stats(dt, x, ch, m, channels, spatial, momentum, run_mean[ch], run_var[ch], &mu, &var,
                  &new_mean[ch], &new_var[ch]);
    float rs = ag_norm_rstd(var, eps), wc = ag_cpu_load(dt, w, ch), bc = ag_cpu_load(dt, b, ch);
    save_mean[ch] = mu;
    save_invstd[ch] = rs;
    for (int64_t j = 0; j < m; j++) {
      int64_t k = channel_elem(j, ch, channels, spatial);
      ag_cpu_store(dt, y, k, (ag_cpu_load(dt, x, k) - mu) * rs * wc + bc);
    }
  }
  return AG_OK;
}

ag_status ag_cpu_batchnorm_backward(ag_dtype dt, const void *x, const void *w, const void *dy,
                                    const float *save_mean, const float *save_invstd, void *dx,
                                    void *dw, void *db, int64_t n, int64_t channels,
                                    int64_t spatial, int training, void *stream) {
  (void)stream;
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only("batchnorm_backward", dt);
  int64_t m = n * spatial;
#pragma omp parallel for schedule(static)
  for (int64_t ch = 0; ch < channels; ch++) {
    float mu = save_mean[ch], rs = save_invstd[ch], wc = ag_cpu_load(dt, w, ch);
    float s_g = 0.0f, s_gx = 0.0f;
    for (int64_t j = 0; j < m; j++) {
      int64_t k = channel_elem(j, ch, channels, spatial);
      float g = ag_cpu_load(dt, dy, k);
      s_g += g;
      s_gx += g * (ag_cpu_load(dt, x, k) - mu) * rs;
    }
    if (dw) ag_cpu_store(dt, dw, ch, s_gx);
    if (db) ag_cpu_store(dt, db, ch, s_g);
    if (!dx) continue;
    /* Eval mode normalises with constants: the gradient is a plain scale. */
    float mean_g = training ? wc * s_g / (float)m : 0.0f;
    float mean_gx = training ? wc * s_gx / (float)m : 0.0f;
    for (int64_t j = 0; j < m; j++) {
      int64_t k = channel_elem(j, ch, channels, spatial);
      float xhat = (ag_cpu_load(dt, x, k) - mu) * rs;
      ag_cpu_store(dt, dx, k, ag_norm_dx(ag_cpu_load(dt, dy, k) * wc, xhat, rs, mean_g, mean_gx));
    }
  }
  return AG_OK;
}

const ag_norm_kernels ag_cpu_norm_kernels = {
    .norm_rows = ag_cpu_norm_rows,
    .norm_rows_backward = ag_cpu_norm_rows_backward,
    .norm_affine_backward = ag_cpu_norm_affine_backward,
    .batchnorm = ag_cpu_batchnorm,
    .batchnorm_backward = ag_cpu_batchnorm_backward,
};
