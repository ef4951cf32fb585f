/* ag_optim.h - optimizer update math shared by the CPU kernels (C11) and the
 * CUDA kernels, so both backends evaluate the same formulas in the same order.
 * Per-step scalars (bias corrections, decay factors) are folded on the host in
 * double, as torch.optim does in Python, and rounded once to f32; the
 * per-element updates are f32. */
#ifndef AG_OPTIM_H
#define AG_OPTIM_H

#include <math.h>
#include <stdint.h>

#include "ag_hd.h"

/* One AdamW step's scalars (torch.optim.AdamW, decoupled weight decay). */
typedef struct ag_adamw_coef {
  float decay;            /* 1 - lr * weight_decay, applied to the param first */
  float beta1, one_minus_beta1;
  float beta2, one_minus_beta2;
  float step_size;        /* lr / (1 - beta1^t) */
  float bc2_sqrt;         /* sqrt(1 - beta2^t) */
  float eps;
} ag_adamw_coef;

/* `step` is the 1-based count of steps taken, this one included. */
static inline ag_adamw_coef ag_adamw_coef_make(float lr, float beta1, float beta2, float eps,
                                               float weight_decay, int64_t step) {
  double bc1 = 1.0 - pow((double)beta1, (double)step);
  double bc2 = 1.0 - pow((double)beta2, (double)step);
  ag_adamw_coef c;
  c.decay = (float)(1.0 - (double)lr * (double)weight_decay);
  c.beta1 = beta1;
  c.one_minus_beta1 = (float)(1.0 - (double)beta1);
  c.beta2 = beta2;
  c.one_minus_beta2 = (float)(1.0 - (double)beta2);
  c.step_size = (float)((double)lr / bc1);
  c.bc2_sqrt = (float)sqrt(bc2);
  c.eps = eps;
  return c;
}

typedef struct ag_adamw_state {
  float p, m, v;
} ag_adamw_state;

/* One element of an AdamW step, in torch's order of operations: decay the
 * param, move the moments towards g and g^2, then step by the bias-corrected
 * ratio. */
AG_HD ag_adamw_state ag_adamw_update(ag_adamw_coef c, float p, float g, float m, float v) {
  ag_adamw_state s;
  s.m = m + c.one_minus_beta1 * (g - m);
  s.v = v * c.beta2 + c.one_minus_beta2 * g * g;
  float denom = sqrtf(s.v) / c.bc2_sqrt + c.eps;
  s.p = p * c.decay - c.step_size * s.m / denom;
  return s;
}

/* One SGD step's scalars (torch.optim.SGD). `first` marks the first step with
 * momentum, where torch starts the buffer at the gradient instead of reading
 * it. */
typedef struct ag_sgd_coef {
  float lr, momentum, weight_decay, dampening;
  int nesterov, first;
} ag_sgd_coef;

typedef struct ag_sgd_state {
  float p, buf;
} ag_sgd_state;

/* With momentum 0 the buffer is just the (decayed) gradient, so plain SGD
 * writes it too and never reads it. */
AG_HD ag_sgd_state ag_sgd_update(ag_sgd_coef c, float p, float g, float buf) {
  ag_sgd_state s;
  float d = g + c.weight_decay * p;
  s.buf = (c.first || c.momentum == 0.0f) ? d : buf * c.momentum + (1.0f - c.dampening) * d;
  float step = c.nesterov ? d + c.momentum * s.buf : s.buf;
  s.p = p - c.lr * step;
  return s;
}

/* The factor torch.nn.utils.clip_grad_norm_ scales every gradient by, from
 * the sum of squares over all of them. */
AG_HD float ag_clip_coef(float sq_total, float max_norm) {
  float coef = max_norm / (sqrtf(sq_total) + 1e-6f);
  return coef < 1.0f ? coef : 1.0f;
}

#endif
