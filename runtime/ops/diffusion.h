/* diffusion.h - typed arguments, graph builders and eager calls of the
 * diffusion sampler ops: forward noising for training, the fused sampler
 * step and the classifier-free-guidance combine. The math and the step's
 * argument struct are kernels/common/ag_diffusion.h; the coefficients come
 * from the host schedulers (models/diffusion/ag_scheduler.h). */
#ifndef AG_OPS_DIFFUSION_H
#define AG_OPS_DIFFUSION_H

#include "ag_ops.h"
#include "kernels/common/ag_diffusion.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_graph ag_graph;

/* DIFFUSION_NOISE: the target type, and the noise stream (seed, and the
 * global index of the batch's first image). */
typedef struct ag_diffusion_noise_args {
  ag_diffusion_prediction prediction;
  uint64_t seed, first;
} ag_diffusion_noise_args;

/* CFG_COMBINE: the guidance scale g. */
typedef struct ag_cfg_combine_args {
  float guidance;
} ag_cfg_combine_args;

void ag_diffusion_noise_args_encode(ag_op_call *c, const ag_diffusion_noise_args *a);
ag_diffusion_noise_args ag_diffusion_noise_args_decode(const ag_op_call *c);
void ag_diffusion_step_args_encode(ag_op_call *c, const ag_diffusion_step_args *a);
ag_diffusion_step_args ag_diffusion_step_args_decode(const ag_op_call *c);
void ag_cfg_combine_args_encode(ag_op_call *c, const ag_cfg_combine_args *a);
ag_cfg_combine_args ag_cfg_combine_args_decode(const ag_op_call *c);

/* Eager calls on the backend of the first output. x_t and target have x0's
 * shape and dtype; image b's noise is drawn at stream offset
 * (first + b) * image_numel, so it does not depend on the batch. */
ag_status ag_eager_diffusion_noise(const ag_tensor *x0, const ag_tensor *t,
                                   const ag_tensor *alphas_cumprod, ag_tensor *x_t,
                                   ag_tensor *target, const ag_diffusion_noise_args *a);
/* x_next may be x (in place). x0_prev is any tensor of x's shape when
 * a->k.c1 == 0 (it is not read). */
ag_status ag_eager_diffusion_step(const ag_tensor *x, const ag_tensor *model_out,
                                  const ag_tensor *x0_prev, ag_tensor *x_next, ag_tensor *x0,
                                  const ag_diffusion_step_args *a);
ag_status ag_eager_cfg_combine(const ag_tensor *x, ag_tensor *y, float guidance);

/* Graph builder: u + g (c - u) of x = [c; u] along dim 0; NULL on error
 * (the graph keeps it). */
ag_tensor *ag_cfg_combine(ag_graph *g, ag_tensor *x, float guidance);

#ifdef __cplusplus
}
#endif

#endif
