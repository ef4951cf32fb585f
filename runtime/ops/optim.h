/* optim.h - eager API of the optim ops: fused optimizer steps and global
 * gradient-norm clipping. The steps update their state in place.
 *
 * Clipping N gradients to a global norm (torch.nn.utils.clip_grad_norm_):
 *   zero an f32 [1] accumulator `sq`;
 *   ag_eager_sq_norm_acc(sq, g_k) for every gradient (sq += sum g_k^2);
 *   ag_eager_clip_scale(g_k, g_k, sq, max_norm) for every gradient. */
#ifndef AG_OPS_OPTIM_H
#define AG_OPS_OPTIM_H

#include <string.h>

#include "runtime/core/ag_tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct ag_adamw_params {
  float lr, beta1, beta2, eps, weight_decay;
  int64_t step; /* 1-based: the step being taken */
} ag_adamw_params;

typedef struct ag_sgd_params {
  float lr, momentum, weight_decay, dampening;
  int nesterov;
  int first_step; /* the buffer starts at the gradient (torch's lazy init) */
} ag_sgd_params;

/* How a float parameter travels in an op call's i[] (adamw's weight decay):
 * its exact bit pattern. */
static inline int64_t ag_optim_f32_bits(float x) {
  uint32_t u;
  memcpy(&u, &x, sizeof u);
  return (int64_t)u;
}

static inline float ag_optim_f32_from_bits(int64_t bits) {
  uint32_t u = (uint32_t)bits;
  float x;
  memcpy(&x, &u, sizeof x);
  return x;
}

/* param, m, v updated in place from grad. */
ag_status ag_eager_adamw(ag_tensor *param, ag_tensor *m, ag_tensor *v, const ag_tensor *grad,
                         const ag_adamw_params *hp);
/* master, m, v (f32) updated in place; param (grad's dtype) gets master rounded. */
ag_status ag_eager_adamw_master(ag_tensor *param, ag_tensor *master, ag_tensor *m, ag_tensor *v,
                                const ag_tensor *grad, const ag_adamw_params *hp);
/* param and buf updated in place from grad. */
ag_status ag_eager_sgd(ag_tensor *param, ag_tensor *buf, const ag_tensor *grad,
                       const ag_sgd_params *hp);
/* acc (f32 [1]) += sum x^2. */
ag_status ag_eager_sq_norm_acc(ag_tensor *acc, const ag_tensor *x);
/* gx = g * min(1, max_norm / (sqrt(sq_total) + 1e-6)). */
ag_status ag_eager_clip_scale(ag_tensor *gx, const ag_tensor *g, const ag_tensor *sq_total,
                              float max_norm);

#ifdef __cplusplus
}
#endif

#endif
