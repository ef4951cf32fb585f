/* The samplers' steps. One function per sampler turns step i into the
 * linear coefficients of kernels/common/ag_diffusion.h, in double, with
 * diffusers' formulas; the fused op (ag_sampler_step) and the double host
 * path (ag_sampler_step_f64) both apply exactly those coefficients. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "runtime/ops/ag_ops.h"
#include "scheduler_internal.h"

/* x0 = px x + pm m for x = alpha x0 + sigma eps (a variance-preserving
 * alpha, sigma: DDPM, DDIM, DPM-Solver++). */
static void vp_x0(ag_diffusion_prediction p, double alpha, double sigma, ag_diffusion_coefs *k) {
  switch (p) {
  case AG_PRED_EPSILON: k->px = 1 / alpha, k->pm = -sigma / alpha; break;
  case AG_PRED_V: k->px = alpha, k->pm = -sigma; break;
  case AG_PRED_SAMPLE: k->px = 0, k->pm = 1; break;
  }
}

/* DDPMScheduler (variance_type fixed_small): the posterior mean of
 * q(x_prev | x_t, x0) plus its standard deviation times noise, drawn only
 * while t > 0. As in diffusers (previous_timestep without custom
 * timesteps), the previous timestep is t - T / steps whatever the spacing,
 * with alpha_cumprod 1 before 0. */
static ag_diffusion_coefs ddpm_coefs(const ag_sampler *s, int64_t i) {
  const int64_t t = (int64_t)s->timesteps[i];
  const int64_t prev = t - s->n.train_timesteps / s->steps;
  const double ab = s->alphas_cumprod[t], abp = prev >= 0 ? s->alphas_cumprod[prev] : 1.0;
  const double bt = 1 - ab, btp = 1 - abp, alpha = ab / abp, beta = 1 - alpha;
  ag_diffusion_coefs k = {0};
  vp_x0(s->n.prediction, sqrt(ab), sqrt(bt), &k);
  k.c0 = sqrt(abp) * beta / bt;
  k.cx = sqrt(alpha) * btp / bt;
  const double var = btp / bt * beta;
  k.cn = t > 0 ? sqrt(var > 1e-20 ? var : 1e-20) : 0.0;
  return k;
}

/* DDIMScheduler: x_prev = sqrt(ab_prev) x0 + sqrt(1 - ab_prev - std^2) eps
 * + std noise, std = eta sqrt(variance), with eps read from the unclipped
 * prediction (eps = ex x + em m); the previous timestep is always
 * t - T / steps, and before 0 the final alpha_cumprod. */
static ag_diffusion_coefs ddim_coefs(const ag_sampler *s, int64_t i) {
  const int64_t T = s->n.train_timesteps, t = (int64_t)s->timesteps[i];
  const int64_t prev = t - T / s->steps;
  const double final_ab = s->c.set_alpha_to_one ? 1.0 : s->alphas_cumprod[0];
  const double ab = s->alphas_cumprod[t], abp = prev >= 0 ? s->alphas_cumprod[prev] : final_ab;
  const double bt = 1 - ab;
  ag_diffusion_coefs k = {0};
  vp_x0(s->n.prediction, sqrt(ab), sqrt(bt), &k);
  double ex = 0, em = 1;
  if (s->n.prediction == AG_PRED_SAMPLE) ex = 1 / sqrt(bt), em = -sqrt(ab) / sqrt(bt);
  if (s->n.prediction == AG_PRED_V) ex = sqrt(bt), em = sqrt(ab);
  const double var = (1 - abp) / bt * (1 - ab / abp), std = s->c.eta * sqrt(var);
  const double d = sqrt(1 - abp - std * std);
  k.cx = d * ex, k.cm = d * em, k.c0 = sqrt(abp);
  k.cn = s->c.eta > 0 ? std : 0.0;
  return k;
}

/* The Euler samplers' x0 from sigma: x = x0 + sigma eps. */
static void ve_x0(ag_diffusion_prediction p, double sigma, ag_diffusion_coefs *k) {
  switch (p) {
  case AG_PRED_EPSILON: k->px = 1, k->pm = -sigma; break;
  case AG_PRED_V: k->px = 1 / (sigma * sigma + 1), k->pm = -sigma / sqrt(sigma * sigma + 1); break;
  case AG_PRED_SAMPLE: k->px = 0, k->pm = 1; break;
  }
}

/* EulerDiscreteScheduler (s_churn 0): x + (x - x0) / sigma * (sigma_next - sigma). */
static ag_diffusion_coefs euler_coefs(const ag_sampler *s, int64_t i) {
  const double sigma = s->sigmas[i], dt = s->sigmas[i + 1] - sigma;
  ag_diffusion_coefs k = {0};
  ve_x0(s->n.prediction, sigma, &k);
  k.cx = 1 + dt / sigma, k.c0 = -dt / sigma;
  return k;
}

/* EulerAncestralDiscreteScheduler: an Euler step to sigma_down plus
 * sigma_up noise, sigma_up^2 + sigma_down^2 = sigma_next^2. */
static ag_diffusion_coefs euler_ancestral_coefs(const ag_sampler *s, int64_t i) {
  const double from = s->sigmas[i], to = s->sigmas[i + 1];
  const double up = sqrt(to * to * (from * from - to * to) / (from * from));
  const double down = sqrt(to * to - up * up), dt = down - from;
  ag_diffusion_coefs k = {0};
  ve_x0(s->n.prediction, from, &k);
  k.cx = 1 + dt / from, k.c0 = -dt / from, k.cn = up;
  return k;
}

/* alpha_t, sigma_t and lambda_t = log alpha_t - log sigma_t of sigma. */
static void dpm_point(double sigma, double *alpha, double *sig, double *lambda) {
  *alpha = 1 / sqrt(sigma * sigma + 1);
  *sig = sigma * *alpha;
  *lambda = log(*alpha) - log(*sig);
}

/* DPMSolverMultistepScheduler, dpmsolver++, solver_order 2, midpoint:
 * first order at step 0 and at a lower-order final step, else the 2M
 * update from this x0 (D0) and the previous one. */
static ag_diffusion_coefs dpm_coefs(const ag_sampler *s, int64_t i) {
  double a_t, s_t, l_t, a_0, s_0, l_0;
  dpm_point(s->sigmas[i + 1], &a_t, &s_t, &l_t);
  dpm_point(s->sigmas[i], &a_0, &s_0, &l_0);
  const double h = l_t - l_0, e = a_t * (exp(-h) - 1.0);
  const int lower_final = i == s->steps - 1 && ((s->c.lower_order_final && s->steps < 15) ||
                                                 s->c.final_sigmas_zero);
  ag_diffusion_coefs k = {0};
  vp_x0(s->n.prediction, a_0, s_0, &k);
  k.cx = s_t / s_0;
  if (i == 0 || lower_final) {
    k.c0 = -e;
    return k;
  }
  double a_1, s_1, l_1;
  dpm_point(s->sigmas[i - 1], &a_1, &s_1, &l_1);
  const double r0 = (l_0 - l_1) / h;
  k.c0 = -e - 0.5 * e / r0;
  k.c1 = 0.5 * e / r0;
  return k;
}

static ag_diffusion_coefs step_coefs(const ag_sampler *s, int64_t i) {
  switch (s->c.kind) {
  case AG_SAMPLER_DDPM: return ddpm_coefs(s, i);
  case AG_SAMPLER_DDIM: return ddim_coefs(s, i);
  case AG_SAMPLER_EULER: return euler_coefs(s, i);
  case AG_SAMPLER_EULER_ANCESTRAL: return euler_ancestral_coefs(s, i);
  case AG_SAMPLER_DPMPP_2M: return dpm_coefs(s, i);
  }
  return (ag_diffusion_coefs){0};
}

/* Thresholding precedes clipping where a class has both (DDPM, DDIM);
 * DPM-Solver++ only thresholds, the Euler samplers do neither. */
static ag_diffusion_x0_mode x0_mode(const ag_sampler *s) {
  const ag_sampler_kind kind = s->c.kind;
  if (kind == AG_SAMPLER_EULER || kind == AG_SAMPLER_EULER_ANCESTRAL) return AG_X0_RAW;
  if (s->c.thresholding) return AG_X0_THRESHOLD;
  if (s->c.clip_sample && kind != AG_SAMPLER_DPMPP_2M) return AG_X0_CLIP;
  return AG_X0_RAW;
}

uint64_t ag_sampler_noise_seed(uint64_t seed, int64_t i) {
  return ag_diffusion_step_seed(seed, (uint64_t)i);
}

void ag_sampler_draw_noise(uint64_t seed, int64_t i, int64_t first, int64_t images,
                           int64_t image_numel, double *out) {
  const uint64_t ps = ag_sampler_noise_seed(seed, i);
  for (int64_t j = 0; j < images * image_numel; j++)
    out[j] = ag_diffusion_noise_at(ps, (uint64_t)first * (uint64_t)image_numel + (uint64_t)j);
}

ag_status ag_sampler_init_noise(const ag_sampler *s, ag_tensor *x, uint64_t seed, int64_t first) {
  if (!x || x->ndim < 1 || first < 0)
    return ag_set_error(AG_ERR_INVALID, "sampler init noise: x needs a batch dim and first >= 0");
  const int64_t n = x->shape[0] ? ag_tensor_numel(x) / x->shape[0] : 0;
  return ag_eager_fill_normal(x, ag_sampler_noise_seed(seed, -1), (uint64_t)(first * n), 0.0f,
                              (float)s->init_sigma);
}

static ag_status check_step(const ag_sampler *s, int64_t i) {
  if (i < 0 || i >= s->steps)
    return ag_set_error(AG_ERR_INVALID, "sampler step %lld: outside 0 .. %lld", (long long)i,
                        (long long)(s->steps - 1));
  return AG_OK;
}

ag_status ag_sampler_step_args(const ag_sampler *s, int64_t i, float guidance, uint64_t seed,
                               int64_t first, ag_diffusion_step_args *out) {
  AG_TRY(check_step(s, i));
  if (first < 0)
    return ag_set_error(AG_ERR_INVALID, "sampler step %lld: first image %lld must be >= 0",
                        (long long)i, (long long)first);
  *out = (ag_diffusion_step_args){
      .k = step_coefs(s, i),
      .x0_mode = x0_mode(s),
      .clip_range = (float)s->c.clip_sample_range,
      .threshold_ratio = (float)s->c.dynamic_thresholding_ratio,
      .sample_max = (float)s->c.sample_max_value,
      .guidance = guidance,
      .seed = ag_sampler_noise_seed(seed, i),
      .first = (uint64_t)first,
  };
  return AG_OK;
}

static ag_status history_error(int64_t i) {
  return ag_set_error(AG_ERR_INVALID, "sampler step %lld needs the x0 of step %lld: run the steps in order",
                      (long long)i, (long long)(i - 1));
}

/* Two x0 tensors like x on x's backend (step i writes x0[i % 2]); new ones
 * when x changes shape, dtype or backend. */
static ag_status ensure_history(ag_sampler *s, const ag_tensor *x) {
  const ag_tensor *h = s->x0[0];
  if (h && ag_tensor_backend(h) == ag_tensor_backend(x) && h->dtype == x->dtype &&
      ag_tensor_same_shape(h, x))
    return AG_OK;
  for (int j = 0; j < 2; j++) {
    ag_tensor_free(s->x0[j]);
    s->x0[j] = ag_tensor_new(ag_tensor_backend(x), x->dtype, x->ndim, x->shape);
  }
  s->x0_step = -1;
  if (!s->x0[0] || !s->x0[1]) return ag_set_error(AG_ERR_OOM, "sampler: no memory for the x0 history");
  return AG_OK;
}

ag_status ag_sampler_step(ag_sampler *s, int64_t i, ag_tensor *x, const ag_tensor *model_out,
                          float guidance, uint64_t seed, int64_t first) {
  if (!x || !model_out) return ag_set_error(AG_ERR_INVALID, "sampler step: x or model output is missing");
  ag_diffusion_step_args a;
  AG_TRY(ag_sampler_step_args(s, i, guidance, seed, first, &a));
  AG_TRY(ensure_history(s, x));
  if (a.k.c1 != 0 && s->x0_step != i - 1) return history_error(i);
  ag_tensor *out = s->x0[i % 2];
  const ag_tensor *prev = a.k.c1 != 0 ? s->x0[(i + 1) % 2] : x;
  s->x0_step = -1;
  AG_TRY(ag_eager_diffusion_step(x, model_out, prev, x, out, &a));
  s->x0_step = i;
  return AG_OK;
}

/* ---------------------------------------------------------------------------
 * The double host path. */

static int cmp_double(const void *a, const void *b) {
  const double x = *(const double *)a, y = *(const double *)b;
  return (x > y) - (x < y);
}

/* diffusers' _threshold_sample scale: torch.quantile(|x0|, ratio) (linear
 * interpolation), clamped to [1, sample_max]. Sorts `v` in place. */
static double threshold_scale(double *v, int64_t n, double ratio, double sample_max) {
  for (int64_t j = 0; j < n; j++) v[j] = fabs(v[j]);
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  int64_t k;
  double w;
  ag_diffusion_quantile_rank(ratio, n, &k, &w);
  const double q = k + 1 < n ? v[k] + w * (v[k + 1] - v[k]) : v[k];
  return q < 1 ? 1 : (q > sample_max ? sample_max : q);
}

/* x0 of one image (raw in, final out) given the step's mode, with the
 * sampler's options in double (the op's arguments hold them in float). */
static void finish_x0(const ag_sampler *s, ag_diffusion_x0_mode mode, double *x0, double *scratch,
                      int64_t n) {
  if (mode == AG_X0_CLIP) {
    const double r = s->c.clip_sample_range;
    for (int64_t e = 0; e < n; e++) x0[e] = x0[e] < -r ? -r : (x0[e] > r ? r : x0[e]);
  } else if (mode == AG_X0_THRESHOLD) {
    memcpy(scratch, x0, sizeof *x0 * (size_t)n);
    const double sc =
        threshold_scale(scratch, n, s->c.dynamic_thresholding_ratio, s->c.sample_max_value);
    for (int64_t e = 0; e < n; e++) x0[e] = (x0[e] < -sc ? -sc : (x0[e] > sc ? sc : x0[e])) / sc;
  }
}

ag_status ag_sampler_step_f64(ag_sampler *s, int64_t i, double *x, const double *model_out,
                              const double *noise, int64_t images, int64_t image_numel) {
  ag_diffusion_step_args a;
  AG_TRY(ag_sampler_step_args(s, i, 0.0f, 0, 0, &a));
  const ag_diffusion_coefs k = a.k;
  const int64_t n = image_numel, total = images * n;
  if (images < 1 || n < 1)
    return ag_set_error(AG_ERR_INVALID, "sampler step f64: %lld images of %lld values",
                        (long long)images, (long long)n);
  if (k.cn != 0 && !noise) return ag_set_error(AG_ERR_INVALID, "sampler step %lld draws noise: none given", (long long)i);
  if (k.c1 != 0 && (s->x0_host_step != i - 1 || s->x0_host_n != total)) return history_error(i);
  double *x0 = malloc(sizeof *x0 * (size_t)total), *scratch = malloc(sizeof *scratch * (size_t)n);
  if (!x0 || !scratch) {
    free(x0);
    free(scratch);
    return ag_set_error(AG_ERR_OOM, "sampler step f64: out of memory");
  }
  for (int64_t j = 0; j < total; j++) x0[j] = k.px * x[j] + k.pm * model_out[j];
  for (int64_t b = 0; b < images; b++) finish_x0(s, a.x0_mode, x0 + b * n, scratch, n);
  for (int64_t j = 0; j < total; j++) {
    const double prev = k.c1 != 0 ? s->x0_host[j] : 0, eps = k.cn != 0 ? noise[j] : 0;
    x[j] = k.cx * x[j] + k.cm * model_out[j] + k.c0 * x0[j] + k.c1 * prev + k.cn * eps;
  }
  free(scratch);
  free(s->x0_host);
  s->x0_host = x0;
  s->x0_host_n = total;
  s->x0_host_step = i;
  return AG_OK;
}
