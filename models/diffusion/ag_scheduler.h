/* ag_scheduler.h - the host side of diffusion sampling: noise schedules and
 * the samplers of Hugging Face diffusers 0.30.3 of the same names
 * (DDPMScheduler, DDIMScheduler, EulerDiscreteScheduler,
 * EulerAncestralDiscreteScheduler, DPMSolverMultistepScheduler), formulas
 * and edge cases included; tests/models/test_schedulers_diffusers.py
 * compares whole trajectories with diffusers itself.
 *
 * A sampler turns step i into the coefficients of one fused
 * `diffusion_step` op (kernels/common/ag_diffusion.h): ag_sampler_step runs
 * it on x's backend, ag_sampler_step_f64 evaluates the same coefficients in
 * double on host arrays. One function per sampler computes them, so the two
 * paths cannot drift.
 *
 * Sampling loop (the model sees x scaled by the input scale):
 *   ag_sampler_init_noise(s, x, seed, first);
 *   for i in 0 .. steps-1:
 *     m = model(x * ag_sampler_input_scale(s, i), ag_sampler_timestep(s, i));
 *     ag_sampler_step(s, i, x, m, guidance, seed, first);
 * Steps run in order 0, 1, ...; step 0 starts a new trajectory (DPM-Solver's
 * history is dropped). */
#ifndef AG_SCHEDULER_H
#define AG_SCHEDULER_H

#include <stdint.h>

#include "kernels/common/ag_diffusion.h"
#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum ag_beta_schedule {
  AG_BETA_LINEAR,            /* linspace(beta_start, beta_end, T) */
  AG_BETA_SCALED_LINEAR,     /* linspace(sqrt(beta_start), sqrt(beta_end), T)^2 */
  AG_BETA_SQUAREDCOS_CAP_V2, /* Nichol & Dhariwal's cosine, betas capped at 0.999 */
} ag_beta_schedule;

/* The training-side noise schedule (also what a checkpoint stores). */
typedef struct ag_noise_schedule_config {
  int64_t train_timesteps; /* T */
  ag_beta_schedule beta_schedule;
  double beta_start, beta_end; /* unused by squaredcos_cap_v2 */
  ag_diffusion_prediction prediction;
} ag_noise_schedule_config;

/* T = 1000, linear 1e-4 .. 0.02, epsilon: diffusers' defaults. */
ag_noise_schedule_config ag_noise_schedule_default(void);
/* Errors on T < 1, unknown enums, betas outside (0, 1). */
ag_status ag_noise_schedule_check(const ag_noise_schedule_config *n);
/* out[t] = prod_{s <= t} (1 - beta_s), t = 0 .. T-1. */
ag_status ag_alphas_cumprod(const ag_noise_schedule_config *n, double *out);

/* Names as diffusers spells them: "linear", "scaled_linear",
 * "squaredcos_cap_v2"; "epsilon", "v_prediction", "sample". Unknown names:
 * an error listing the known ones. */
const char *ag_beta_schedule_name(ag_beta_schedule b);
ag_status ag_beta_schedule_parse(const char *name, ag_beta_schedule *out);
const char *ag_prediction_name(ag_diffusion_prediction p);
ag_status ag_prediction_parse(const char *name, ag_diffusion_prediction *out);

typedef enum ag_timestep_spacing {
  AG_SPACING_LINSPACE,
  AG_SPACING_LEADING,
  AG_SPACING_TRAILING,
} ag_timestep_spacing;

typedef enum ag_sampler_kind {
  AG_SAMPLER_DDPM,
  AG_SAMPLER_DDIM,
  AG_SAMPLER_EULER,
  AG_SAMPLER_EULER_ANCESTRAL,
  AG_SAMPLER_DPMPP_2M, /* DPM-Solver++(2M): solver_order 2, algorithm dpmsolver++ */
} ag_sampler_kind;

/* Each sampler reads the options its diffusers class has; others are
 * ignored. */
typedef struct ag_sampler_config {
  ag_sampler_kind kind;
  ag_timestep_spacing spacing;
  int64_t steps_offset;
  int set_alpha_to_one;              /* DDIM: the final alpha_cumprod is 1 (else alphas_cumprod[0]) */
  double eta;                        /* DDIM: 0 deterministic, 1 DDPM-like */
  int clip_sample;                   /* DDPM, DDIM */
  double clip_sample_range;
  int thresholding;                  /* DDPM, DDIM, DPM-Solver++ (precedes clip_sample) */
  double dynamic_thresholding_ratio; /* quantile of |x0| per image */
  double sample_max_value;
  int karras_sigmas;                 /* DPM-Solver++ */
  int final_sigmas_zero;             /* DPM-Solver++: final_sigmas_type zero (1) or sigma_min (0) */
  int lower_order_final;             /* DPM-Solver++: first-order steps at the end when < 15 steps */
} ag_sampler_config;

/* "ddpm" "ddim" "euler" "euler_a" "dpmpp_2m" "dpmpp_2m_karras": diffusers'
 * defaults for each class (spacing leading for DDPM and DDIM, linspace for
 * the others; clip_sample on for DDPM and DDIM; DPM-Solver++ with
 * lower_order_final and final_sigmas_type zero; "_karras" adds Karras
 * sigmas). Timesteps as diffusers makes them, one difference: a trailing
 * spacing for which numpy's arange yields steps + 1 timesteps (T = 1000,
 * steps 61, 103, ...) is refused, where diffusers would index
 * alphas_cumprod[-1].
 * Unknown names: an error listing ag_sampler_names(). */
ag_status ag_sampler_config_named(const char *name, ag_sampler_config *out);
/* "ddpm, ddim, euler, euler_a, dpmpp_2m, dpmpp_2m_karras" */
const char *ag_sampler_names(void);

typedef struct ag_sampler ag_sampler;

/* A sampler of `steps` inference steps over noise schedule n. Errors: bad
 * schedule, steps < 1 or > T, a prediction type the diffusers class refuses
 * (Euler ancestral: sample), options out of range. */
ag_status ag_sampler_new(const ag_noise_schedule_config *n, const ag_sampler_config *c,
                         int64_t steps, ag_sampler **out);
void ag_sampler_free(ag_sampler *s);
int64_t ag_sampler_steps(const ag_sampler *s);
/* The timestep the model sees at step i (a float for Euler and Karras). */
double ag_sampler_timestep(const ag_sampler *s, int64_t i);
/* The std of the initial noise (diffusers' init_noise_sigma). */
double ag_sampler_init_noise_sigma(const ag_sampler *s);
/* The factor scale_model_input applies at step i (1 except for Euler). */
double ag_sampler_input_scale(const ag_sampler *s, int64_t i);

/* x = init_noise_sigma * N(0, 1), image b of x (global index first + b)
 * from the Philox stream of ag_sampler_noise_seed(seed, -1): the same
 * initial noise for an image whatever its batch, rank or backend. */
ag_status ag_sampler_init_noise(const ag_sampler *s, ag_tensor *x, uint64_t seed, int64_t first);
/* The Philox seed of step i's noise (i = -1: the initial noise). */
uint64_t ag_sampler_noise_seed(uint64_t seed, int64_t i);
/* The noise step i draws (or the initial N(0, 1) for i = -1, unscaled), in
 * double, for `images` images of image_numel values from global image
 * `first` on: exactly what the device step reads. */
void ag_sampler_draw_noise(uint64_t seed, int64_t i, int64_t first, int64_t images,
                           int64_t image_numel, double *out);

/* Step i's fused-op arguments: the coefficients (ag_diffusion_coefs), the
 * x0 mode and the noise seed of (seed, i). c1 != 0 reads the previous
 * step's x0; cn != 0 draws noise. A pure function of i. */
ag_status ag_sampler_step_args(const ag_sampler *s, int64_t i, float guidance, uint64_t seed,
                               int64_t first, ag_diffusion_step_args *out);

/* The fused device step, in place: x <- step i of x given model_out, on x's
 * backend. model_out holds x's batch (guidance unused) or twice it, rows
 * [cond B; uncond B], combined as u + guidance (c - u) (guidance 1: the
 * conditional output alone). Noise is drawn from (seed, i, first + b). The
 * x0 history lives in tensors the sampler allocates on x's backend. */
ag_status ag_sampler_step(ag_sampler *s, int64_t i, ag_tensor *x, const ag_tensor *model_out,
                          float guidance, uint64_t seed, int64_t first);

/* The same step in double on host arrays of `images` images of image_numel
 * values (model_out unguided, noise as drawn by ag_sampler_draw_noise; NULL
 * when the step draws none): the verification path. */
ag_status ag_sampler_step_f64(ag_sampler *s, int64_t i, double *x, const double *model_out,
                              const double *noise, int64_t images, int64_t image_numel);

#ifdef __cplusplus
}
#endif

#endif
