/* ag_diffusion.h - the diffusion sampler math that the CPU kernels (C11), the
 * CUDA kernels (nvcc), the emulator (host C++), the op references and the
 * host schedulers (models/diffusion) share, so that every path evaluates the
 * same formulas.
 *
 * Every supported sampler step is linear once the model output m is
 * converted to a prediction of x0 (the coefficients come from the host
 * schedulers, computed in double, once per step):
 *   x0      = px x + pm m                        (the raw x0 prediction)
 *   x0c     = clip(x0) | threshold(x0) | x0      (x0_mode)
 *   x_next  = cx x + cm m + c0 x0c + c1 x0_prev + cn noise
 * cm carries what DDIM reads from the unclipped prediction (its epsilon).
 * With classifier-free guidance m = u + g (c - u) from the [cond; uncond]
 * rows of the model output.
 *
 * Noise: element e of image b (global index first + b, images of n values)
 * is value (first + b) n + e of the Philox stream for the step's seed
 * (kernels/common/ag_philox.h), so an image's noise never depends on the
 * batch or the rank that draws it. */
#ifndef AG_DIFFUSION_H
#define AG_DIFFUSION_H

#include <math.h>
#include <stdint.h>

#include "ag_hd.h"
#include "ag_philox.h"

#ifdef __cplusplus
extern "C" {
#endif

/* What the denoiser predicts (diffusers' prediction_type). */
typedef enum ag_diffusion_prediction {
  AG_PRED_EPSILON, /* the noise */
  AG_PRED_V,       /* v = sqrt(ab) eps - sqrt(1 - ab) x0 */
  AG_PRED_SAMPLE,  /* x0 itself */
} ag_diffusion_prediction;

/* What happens to the x0 prediction before the update. */
typedef enum ag_diffusion_x0_mode {
  AG_X0_RAW,       /* used as predicted */
  AG_X0_CLIP,      /* clamped to [-clip_range, clip_range] */
  AG_X0_THRESHOLD, /* dynamic thresholding (diffusers' _threshold_sample) */
} ag_diffusion_x0_mode;

/* One step's coefficients (see the header comment), in double on the host. */
typedef struct ag_diffusion_coefs {
  double px, pm, cx, cm, c0, c1, cn;
} ag_diffusion_coefs;

/* The fused step's arguments (also the diffusion_step op's typed arguments). */
typedef struct ag_diffusion_step_args {
  ag_diffusion_coefs k;
  ag_diffusion_x0_mode x0_mode;
  float clip_range;                        /* AG_X0_CLIP */
  float threshold_ratio, sample_max;       /* AG_X0_THRESHOLD */
  float guidance;                          /* when model_out is [cond; uncond] */
  uint64_t seed, first;                    /* noise: step seed, first image's global index */
} ag_diffusion_step_args;

/* A step's coefficients as the kernels use them (f32 math). */
typedef struct ag_diffusion_fcoefs {
  float px, pm, cx, cm, c0, c1, cn;
} ag_diffusion_fcoefs;

AG_HD ag_diffusion_fcoefs ag_diffusion_fcoefs_of(ag_diffusion_coefs k) {
  ag_diffusion_fcoefs f;
  f.px = (float)k.px, f.pm = (float)k.pm, f.cx = (float)k.cx, f.cm = (float)k.cm;
  f.c0 = (float)k.c0, f.c1 = (float)k.c1, f.cn = (float)k.cn;
  return f;
}

/* The raw x0 prediction px x + pm m. */
AG_HD float ag_diffusion_x0_raw(ag_diffusion_fcoefs k, float x, float m) {
  return k.px * x + k.pm * m;
}

/* The x0 the update uses: clamped to [-r, r] (AG_X0_CLIP, r = clip_range),
 * clamp(x0, -s, s) / s (AG_X0_THRESHOLD, r = the sample's scale s), or raw. */
AG_HD float ag_diffusion_x0_final(int mode, float x0, float r) {
  if (mode == AG_X0_CLIP) return x0 < -r ? -r : (x0 > r ? r : x0);
  if (mode == AG_X0_THRESHOLD) return (x0 < -r ? -r : (x0 > r ? r : x0)) / r;
  return x0;
}

/* x_next = cx x + cm m + c0 x0 + c1 x0_prev + cn noise; the caller passes
 * 0 for x0_prev and noise where their coefficient is 0 (never read). */
AG_HD float ag_diffusion_update(ag_diffusion_fcoefs k, float x, float m, float x0, float prev,
                                float noise) {
  return k.cx * x + k.cm * m + k.c0 * x0 + k.c1 * prev + k.cn * noise;
}

/* The splitmix64 finaliser: a well-mixed 64-bit value from any input. */
AG_HD uint64_t ag_diffusion_mix64(uint64_t z) {
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* The Philox seed of sampling step `step` under the run's `seed`: distinct
 * steps draw unrelated streams. */
AG_HD uint64_t ag_diffusion_step_seed(uint64_t seed, uint64_t step) {
  return ag_diffusion_mix64(ag_diffusion_mix64(seed + 0x9E3779B97F4A7C15ull) ^
                            (step * 0xD1B54A32D192ED03ull + 1u));
}

/* Value `s` of the N(0, 1) Philox stream for `seed`: word s % 4 of block s / 4
 * through ag_philox_normal4's Box-Muller pairs, computing only the pair it
 * needs. */
AG_HD float ag_diffusion_noise_at(uint64_t seed, uint64_t s) {
  const ag_philox4 b = ag_philox_block(seed, s >> 2);
  const unsigned w = (unsigned)(s & 3u), pair = w & 2u;
  float za, zb;
  ag_philox_box_muller(b.v[pair], b.v[pair + 1], 0.0f, 1.0f, &za, &zb);
  return (w & 1u) ? zb : za;
}

/* Classifier-free guidance: u + g (c - u). */
AG_HD float ag_diffusion_cfg(float c, float u, float g) { return u + g * (c - u); }

/* q(x_t | x0) = sqrt(ab) x0 + sqrt(1 - ab) eps, and the training target of
 * the prediction type; sa = sqrt(ab), sb = sqrt(1 - ab). */
AG_HD float ag_diffusion_noised(float x0, float eps, float sa, float sb) {
  return sa * x0 + sb * eps;
}
AG_HD float ag_diffusion_target(int prediction, float x0, float eps, float sa, float sb) {
  if (prediction == AG_PRED_V) return sa * eps - sb * x0;
  return prediction == AG_PRED_SAMPLE ? x0 : eps;
}

/* Dynamic thresholding's scale from the quantile q of |x0| (Saharia et al.;
 * diffusers clamps it to [1, sample_max]); x0 becomes clamp(x0, -s, s) / s. */
AG_HD float ag_diffusion_threshold_scale(float q, float sample_max) {
  return q < 1.0f ? 1.0f : (q > sample_max ? sample_max : q);
}

/* torch.quantile's linear interpolation: the order statistics k and k + 1
 * (0-based, of n values) and the weight between them for quantile `ratio`. */
AG_HD void ag_diffusion_quantile_rank(double ratio, int64_t n, int64_t *k, double *w) {
  const double pos = ratio * (double)(n - 1);
  int64_t lo = (int64_t)floor(pos);
  if (lo > n - 1) lo = n - 1;
  if (lo < 0) lo = 0;
  *k = lo;
  *w = pos - (double)lo;
}

#ifdef __cplusplus
}
#endif

#endif
