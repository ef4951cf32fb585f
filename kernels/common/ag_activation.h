/* ag_activation.h - activation functions and their derivatives, shared by the
 * CPU and CUDA kernels so both evaluate the same formula. */
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

#endif
