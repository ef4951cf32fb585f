// f64 references: optimizer steps and gradient-norm clipping
// (runtime/ops/optim.list). None has a gradient.
#include <algorithm>
#include <cmath>

#include "op_reference.h"
#include "ref_optim.h"

using namespace ag_test;

namespace {

// The AdamW step of every element: in = {param, grad, m, v} -> {param', m', v'}.
RefTensors adamw(const RefCall &r) {
  const ag_adamw_args a = ag_adamw_args_decode(&r.params);
  RefTensor p = r.in[0], m = r.in[2], v = r.in[3];
  for (size_t k = 0; k < p.v.size(); k++) {
    const AdamwState s = adamw_step(a, {p.v[k], m.v[k], v.v[k]}, r.in[1].v[k]);
    p.v[k] = s.p;
    m.v[k] = s.m;
    v.v[k] = s.v;
  }
  return {p, m, v};
}

// in = {grad, master, m, v} -> {param, master', m', v'}: AdamW on the
// master weights, whose result param repeats in grad's dtype (the harness
// rounds it).
RefTensors adamw_master(const RefCall &r) {
  RefCall plain = r;
  std::swap(plain.in[0], plain.in[1]);
  RefTensors out = adamw(plain);
  out.insert(out.begin(), out[0]);
  return out;
}

// torch.optim.SGD: in = {param, grad, buf} -> {param', buf'}; the buffer
// starts at the (decayed) gradient on the first step or without momentum.
RefTensors sgd(const RefCall &r) {
  const ag_sgd_args a = ag_sgd_args_decode(&r.params);
  RefTensor p = r.in[0], buf = r.in[2];
  for (size_t k = 0; k < p.v.size(); k++) {
    const double d = r.in[1].v[k] + (double)a.weight_decay * p.v[k];
    buf.v[k] = a.first_step || a.momentum == 0.0f
                   ? d
                   : a.momentum * buf.v[k] + (1.0 - a.dampening) * d;
    p.v[k] -= a.lr * (a.nesterov ? d + a.momentum * buf.v[k] : buf.v[k]);
  }
  return {p, buf};
}

// acc + sum(x^2): in = {x, acc [1]}.
RefTensors sq_norm(const RefCall &r) {
  RefTensor acc = r.in[1];
  for (double x : r.in[0].v) acc.v[0] += x * x;
  return {acc};
}

// torch.nn.utils.clip_grad_norm_'s factor min(1, max_norm / (norm + 1e-6)).
RefTensors clip_scale(const RefCall &r) {
  const double max_norm = ag_clip_args_decode(&r.params).max_norm;
  const double coef = std::min(1.0, max_norm / (std::sqrt(r.in[1].v[0]) + 1e-6));
  RefTensor g = r.in[0];
  for (double &x : g.v) x *= coef;
  return {g};
}

}  // namespace

AG_OP_REFERENCE(optim) {
  return {
      {AG_OP_ADAMW, {adamw, nullptr}},
      {AG_OP_ADAMW_MASTER, {adamw_master, nullptr}},
      {AG_OP_SGD, {sgd, nullptr}},
      {AG_OP_SQ_NORM, {sq_norm, nullptr}},
      {AG_OP_CLIP_SCALE, {clip_scale, nullptr}},
  };
}
