/* optim.h - typed arguments and eager API of the optim ops: fused optimizer steps and global
 * gradient-norm clipping. The steps update their state in place.
 *
 * Clipping N gradients to a global norm (torch.nn.utils.clip_grad_norm_):
 *   zero an f32 [1] accumulator `sq`;
 *   ag_eager_sq_norm_acc(sq, g_k) for every gradient (sq += sum g_k^2);
 *   ag_eager_clip_scale(g_k, g_k, sq, max_norm) for every gradient. */
#ifndef AG_OPS_OPTIM_H
#define AG_OPS_OPTIM_H

#include "ag_ops.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ADAMW and ADAMW_MASTER. */
typedef struct ag_adamw_args {
  float lr, beta1, beta2, eps, weight_decay;
  int64_t step; /* 1-based: the step being taken */
} ag_adamw_args;

/* SGD. */
typedef struct ag_sgd_args {
  float lr, momentum, weight_decay, dampening;
  int nesterov;
  int first_step; /* the buffer starts at the gradient (torch's lazy init) */
} ag_sgd_args;

/* CLIP_SCALE: the global norm gradients are clipped to (> 0). */
typedef struct ag_clip_args {
  float max_norm;
} ag_clip_args;

void ag_adamw_args_encode(ag_op_call *c, const ag_adamw_args *a);
ag_adamw_args ag_adamw_args_decode(const ag_op_call *c);
void ag_sgd_args_encode(ag_op_call *c, const ag_sgd_args *a);
ag_sgd_args ag_sgd_args_decode(const ag_op_call *c);
void ag_clip_args_encode(ag_op_call *c, const ag_clip_args *a);
ag_clip_args ag_clip_args_decode(const ag_op_call *c);

/* param, m, v updated in place from grad. */
ag_status ag_eager_adamw(ag_tensor *param, ag_tensor *m, ag_tensor *v, const ag_tensor *grad,
                         const ag_adamw_args *hp);
/* master, m, v (f32) updated in place; param (grad's dtype) gets master rounded. */
ag_status ag_eager_adamw_master(ag_tensor *param, ag_tensor *master, ag_tensor *m, ag_tensor *v,
                                const ag_tensor *grad, const ag_adamw_args *hp);
/* param and buf updated in place from grad. */
ag_status ag_eager_sgd(ag_tensor *param, ag_tensor *buf, const ag_tensor *grad,
                       const ag_sgd_args *hp);
/* acc (f32 [1]) += sum x^2. */
ag_status ag_eager_sq_norm_acc(ag_tensor *acc, const ag_tensor *x);
/* gx = g * min(1, max_norm / (sqrt(sq_total) + 1e-6)). */
ag_status ag_eager_clip_scale(ag_tensor *gx, const ag_tensor *g, const ag_tensor *sq_total,
                              float max_norm);

#ifdef __cplusplus
}
#endif

#endif
