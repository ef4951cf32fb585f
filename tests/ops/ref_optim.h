// ref_optim.h - the f64 AdamW step (torch.optim.AdamW, decoupled weight
// decay), shared by the optim references (tests/ops/ref_optim.cpp) and the
// multi-step trajectory check (tests/ops/test_optim.cpp).
#ifndef AG_REF_OPTIM_H
#define AG_REF_OPTIM_H

#include <cmath>

#include "runtime/ops/ag_ops.h"

namespace ag_test {

struct AdamwState {
  double p, m, v;
};

// One element of step a.step (1-based): decay the param, move the moments
// towards g and g^2, then step by the bias-corrected ratio.
inline AdamwState adamw_step(const ag_adamw_args &a, AdamwState s, double g) {
  const double t = (double)a.step;
  s.m = a.beta1 * s.m + (1.0 - a.beta1) * g;
  s.v = a.beta2 * s.v + (1.0 - a.beta2) * g * g;
  const double m_hat = s.m / (1.0 - std::pow((double)a.beta1, t));
  const double v_hat = s.v / (1.0 - std::pow((double)a.beta2, t));
  s.p = s.p * (1.0 - (double)a.lr * a.weight_decay) - a.lr * m_hat / (std::sqrt(v_hat) + a.eps);
  return s;
}

}  // namespace ag_test

#endif
