/* ag_activation.h - activation functions and their derivatives, shared by the
 * CPU and CUDA kernels (elementwise and fused epilogues) so every backend
 * evaluates the same formula. Derivatives are taken from x, not from the
 * forward output: elementwise kernels are memory-bound, so recomputing is free
 * and avoids differentiating through a bf16/f16-rounded y. */
#ifndef AG_ACTIVATION_H
#define AG_ACTIVATION_H

#include <math.h>

#include "ag_hd.h"

/* GELU, tanh approximation (as in GPT-2 / PyTorch approximate="tanh"). */
#define AG_GELU_K 0.7978845608028654f /* sqrt(2/pi) */
#define AG_GELU_C 0.044715f

AG_HD float ag_act_gelu(float x) {
  float t = tanhf(AG_GELU_K * (x + AG_GELU_C * x * x * x));
  return 0.5f * x * (1.0f + t);
}

AG_HD float ag_act_gelu_grad(float x) {
  float t = tanhf(AG_GELU_K * (x + AG_GELU_C * x * x * x));
  float dt = AG_GELU_K * (1.0f + 3.0f * AG_GELU_C * x * x) * (1.0f - t * t);
  return 0.5f * (1.0f + t) + 0.5f * x * dt;
}

AG_HD float ag_act_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

AG_HD float ag_act_silu(float x) { return x * ag_act_sigmoid(x); }

AG_HD float ag_act_silu_grad(float x) {
  float s = ag_act_sigmoid(x);
  return s * (1.0f + x * (1.0f - s));
}

/* PyTorch's softplus with beta = 1: above the threshold it is the identity
 * (log1p(exp(x)) == x to f32 precision there, and exp would overflow later). */
#define AG_SOFTPLUS_THRESHOLD 20.0f

AG_HD float ag_act_softplus(float x) {
  return x > AG_SOFTPLUS_THRESHOLD ? x : log1pf(expf(x));
}

AG_HD float ag_act_softplus_grad(float x) {
  return x > AG_SOFTPLUS_THRESHOLD ? 1.0f : ag_act_sigmoid(x);
}

/* instant-ngp's truncated exponential (density activation): exp(x) forward,
 * but the derivative is exp(clamp(x, -15, 15)), so one large density cannot
 * produce an inf/huge gradient that wrecks the hash-grid training. */
#define AG_TRUNC_EXP_LIMIT 15.0f

AG_HD float ag_act_trunc_exp_grad(float x) {
  float c = x < -AG_TRUNC_EXP_LIMIT ? -AG_TRUNC_EXP_LIMIT : x;
  return expf(c > AG_TRUNC_EXP_LIMIT ? AG_TRUNC_EXP_LIMIT : c);
}

#endif
