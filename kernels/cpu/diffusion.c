/* Diffusion sampler kernels on the CPU: forward noising, the fused sampler
 * step and the guidance combine, with the shared math of
 * kernels/common/ag_diffusion.h. Images are independent, so work is split
 * over images (and over elements for the elementwise passes); the result
 * does not depend on the thread count. */
#include <stdlib.h>

#include "kernels/common/ag_kernels.h"
#include "cpu_dtype.h"
#include "kernels/common/ag_diffusion.h"

static ag_status check_sizes(const char *name, ag_dtype dt, int64_t batch, int64_t n) {
  if (!ag_cpu_is_float(dt)) return ag_cpu_float_only(name, dt);
  if (batch < 0 || n < 0)
    return ag_set_error(AG_ERR_INVALID, "cpu kernel %s: negative size %lld x %lld", name,
                        (long long)batch, (long long)n);
  return AG_OK;
}

ag_status ag_cpu_diffusion_noise(ag_dtype dt, const void *x0, const int32_t *t,
                                 const float *alphas_cumprod, int64_t train_steps, void *x_t,
                                 void *target, int64_t batch, int64_t image_numel,
                                 ag_diffusion_prediction prediction, uint64_t seed,
                                 uint64_t first, void *stream) {
  (void)stream;
  AG_TRY(check_sizes("diffusion_noise", dt, batch, image_numel));
  const int64_t total = batch * image_numel;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; i++) {
    const int64_t b = i / image_numel;
    int64_t ti = t[b];
    ti = ti < 0 ? 0 : (ti >= train_steps ? train_steps - 1 : ti);
    const float ab = alphas_cumprod[ti], sa = sqrtf(ab), sb = sqrtf(1.0f - ab);
    const float eps = ag_diffusion_noise_at(seed, (first + (uint64_t)b) * (uint64_t)image_numel +
                                                      (uint64_t)(i - b * image_numel));
    const float v = ag_cpu_load(dt, x0, i);
    ag_cpu_store(dt, x_t, i, ag_diffusion_noised(v, eps, sa, sb));
    ag_cpu_store(dt, target, i, ag_diffusion_target(prediction, v, eps, sa, sb));
  }
  return AG_OK;
}

/* The (guided) model output of element e of image b. */
static float model_value(ag_dtype dt, const void *m, int64_t batch, int64_t n, int guided,
                         float g, int64_t b, int64_t e) {
  const float c = ag_cpu_load(dt, m, b * n + e);
  return guided ? ag_diffusion_cfg(c, ag_cpu_load(dt, m, (batch + b) * n + e), g) : c;
}

static void swap_f(float *a, float *b) {
  const float t = *a;
  *a = *b;
  *b = t;
}

/* Rearranges v[0, n) so that v[k] is its k-th smallest value, everything
 * before it <= v[k] and everything after >= v[k] (Hoare's selection, with
 * a median-of-three pivot). */
static void select_kth(float *v, int64_t n, int64_t k) {
  int64_t lo = 0, hi = n - 1;
  while (hi > lo) {
    const int64_t mid = lo + (hi - lo) / 2;
    if (v[mid] < v[lo]) swap_f(&v[mid], &v[lo]);
    if (v[hi] < v[lo]) swap_f(&v[hi], &v[lo]);
    if (v[hi] < v[mid]) swap_f(&v[hi], &v[mid]);
    const float pivot = v[mid];
    int64_t i = lo, j = hi;
    while (i <= j) {
      while (v[i] < pivot) i++;
      while (v[j] > pivot) j--;
      if (i <= j) swap_f(&v[i++], &v[j--]);
    }
    if (k <= j)
      hi = j;
    else if (k >= i)
      lo = i;
    else
      return;
  }
}

/* torch.quantile(|x0|, ratio) of one image, clamped to [1, sample_max]. */
static float threshold_scale(float *absx0, int64_t n, float ratio, float sample_max) {
  int64_t k;
  double w;
  ag_diffusion_quantile_rank(ratio, n, &k, &w);
  select_kth(absx0, n, k);
  float above = absx0[k];
  if (k + 1 < n) {
    above = absx0[k + 1];
    for (int64_t j = k + 2; j < n; j++) above = absx0[j] < above ? absx0[j] : above;
  }
  const float q = absx0[k] + (float)w * (above - absx0[k]);
  return ag_diffusion_threshold_scale(q, sample_max);
}

/* Elements [e0, e1) of image b, x0 given its final scale r. */
static void step_range(ag_dtype dt, const void *x, const void *m, const void *prev, void *x_next,
                       void *x0, int64_t batch, int64_t n, int guided,
                       const ag_diffusion_step_args *a, ag_diffusion_fcoefs k, float r, int64_t b,
                       int64_t e0, int64_t e1) {
  for (int64_t e = e0; e < e1; e++) {
    const int64_t i = b * n + e;
    const float xv = ag_cpu_load(dt, x, i);
    const float mv = model_value(dt, m, batch, n, guided, a->guidance, b, e);
    const float x0v = ag_diffusion_x0_final(a->x0_mode, ag_diffusion_x0_raw(k, xv, mv), r);
    const float pv = k.c1 != 0.0f ? ag_cpu_load(dt, prev, i) : 0.0f;
    const float nv = k.cn != 0.0f ? ag_diffusion_noise_at(a->seed, (a->first + (uint64_t)b) *
                                                                       (uint64_t)n + (uint64_t)e)
                                  : 0.0f;
    ag_cpu_store(dt, x0, i, x0v);
    ag_cpu_store(dt, x_next, i, ag_diffusion_update(k, xv, mv, x0v, pv, nv));
  }
}

/* Dynamic thresholding needs each image's quantile first: one image per
 * task, with its |x0| in a scratch row. */
static ag_status step_thresholded(ag_dtype dt, const void *x, const void *m, const void *prev,
                                  void *x_next, void *x0, int64_t batch, int64_t n, int guided,
                                  const ag_diffusion_step_args *a, ag_diffusion_fcoefs k) {
  int failed = 0;
#pragma omp parallel
  {
    float *row = malloc((size_t)n * sizeof *row);
    if (!row) {
#pragma omp atomic write
      failed = 1;
    }
#pragma omp for schedule(static)
    for (int64_t b = 0; b < batch; b++) {
      if (!row) continue;
      for (int64_t e = 0; e < n; e++) {
        const float mv = model_value(dt, m, batch, n, guided, a->guidance, b, e);
        row[e] = fabsf(ag_diffusion_x0_raw(k, ag_cpu_load(dt, x, b * n + e), mv));
      }
      const float s = threshold_scale(row, n, a->threshold_ratio, a->sample_max);
      step_range(dt, x, m, prev, x_next, x0, batch, n, guided, a, k, s, b, 0, n);
    }
    free(row);
  }
  if (failed)
    return ag_set_error(AG_ERR_OOM, "cpu kernel diffusion_step: no memory for a %lld-value row",
                        (long long)n);
  return AG_OK;
}

ag_status ag_cpu_diffusion_step(ag_dtype dt, const void *x, const void *model_out,
                                const void *x0_prev, void *x_next, void *x0, int64_t batch,
                                int64_t image_numel, int guided, const ag_diffusion_step_args *a,
                                void *stream) {
  (void)stream;
  AG_TRY(check_sizes("diffusion_step", dt, batch, image_numel));
  const ag_diffusion_fcoefs k = ag_diffusion_fcoefs_of(a->k);
  const int64_t n = image_numel;
  if (a->x0_mode == AG_X0_THRESHOLD && n > 0)
    return step_thresholded(dt, x, model_out, x0_prev, x_next, x0, batch, n, guided, a, k);
  const int64_t chunk = 4096, chunks = n > 0 ? (n + chunk - 1) / chunk : 0;
#pragma omp parallel for schedule(static)
  for (int64_t j = 0; j < batch * chunks; j++) {
    const int64_t b = j / chunks, e0 = (j % chunks) * chunk;
    const int64_t e1 = e0 + chunk < n ? e0 + chunk : n;
    step_range(dt, x, model_out, x0_prev, x_next, x0, batch, n, guided, a, k, a->clip_range, b,
               e0, e1);
  }
  return AG_OK;
}

ag_status ag_cpu_cfg_combine(ag_dtype dt, const void *x, void *y, int64_t batch,
                             int64_t image_numel, float guidance, void *stream) {
  (void)stream;
  AG_TRY(check_sizes("cfg_combine", dt, batch, image_numel));
  const int64_t total = batch * image_numel;
#pragma omp parallel for schedule(static)
  for (int64_t i = 0; i < total; i++)
    ag_cpu_store(dt, y, i,
                 ag_diffusion_cfg(ag_cpu_load(dt, x, i), ag_cpu_load(dt, x, total + i), guidance));
  return AG_OK;
}

const ag_diffusion_kernels ag_cpu_diffusion_kernels = {
    .diffusion_noise = ag_cpu_diffusion_noise,
    .diffusion_step = ag_cpu_diffusion_step,
    .cfg_combine = ag_cpu_cfg_combine,
};
