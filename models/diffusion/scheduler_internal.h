/* scheduler_internal.h - the sampler's state, shared by scheduler.c (noise
 * schedules, timesteps and sigmas, as diffusers' set_timesteps builds them)
 * and scheduler_step.c (each sampler's step coefficients and the two ways
 * of applying them). */
#ifndef AG_SCHEDULER_INTERNAL_H
#define AG_SCHEDULER_INTERNAL_H

#include "ag_scheduler.h"

struct ag_sampler {
  ag_noise_schedule_config n;
  ag_sampler_config c;
  int64_t steps;
  double *alphas_cumprod; /* [T] */
  double *timesteps;      /* [steps]: what the model sees */
  double *sigmas;         /* [steps + 1]: Euler, Euler ancestral, DPM-Solver++ */
  double init_sigma;
  /* DPM-Solver++'s x0 history: the step that last wrote it (-1: none). */
  ag_tensor *x0[2];       /* device: step i writes x0[i % 2] */
  int64_t x0_step;
  double *x0_host;        /* host: the previous step's x0 */
  int64_t x0_host_n, x0_host_step;
};

#endif
