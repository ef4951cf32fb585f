// References: the diffusion sampler ops (runtime/ops/diffusion.list), stated
// in double from the formulas of kernels/common/ag_diffusion.h. The noise is
// the Philox stream value itself (ag_diffusion_noise_at, a float that every
// backend computes bit for bit); everything else is double.
#include <algorithm>

#include "kernels/common/ag_diffusion.h"
#include "op_reference.h"

using namespace ag_test;

namespace {

int64_t image_size(const RefTensor &x) { return numel(x.shape) / x.shape[0]; }

double noise(uint64_t seed, uint64_t first, int64_t b, int64_t n, int64_t e) {
  return ag_diffusion_noise_at(seed, (first + (uint64_t)b) * (uint64_t)n + (uint64_t)e);
}

RefTensors diffusion_noise(const RefCall &r) {
  const ag_diffusion_noise_args a = ag_diffusion_noise_args_decode(&r.params);
  const RefTensor &x0 = r.in[0], &t = r.in[1], &ac = r.in[2];
  RefTensor xt = zeros(x0.shape), target = zeros(x0.shape);
  const int64_t n = image_size(x0);
  for (int64_t b = 0; b < x0.shape[0]; b++) {
    const double ab = ac.v[(size_t)t.v[(size_t)b]], sa = std::sqrt(ab), sb = std::sqrt(1 - ab);
    for (int64_t e = 0; e < n; e++) {
      const size_t i = (size_t)(b * n + e);
      const double eps = noise(a.seed, a.first, b, n, e), x = x0.v[i];
      xt.v[i] = sa * x + sb * eps;
      target.v[i] = a.prediction == AG_PRED_V ? sa * eps - sb * x
                                              : (a.prediction == AG_PRED_SAMPLE ? x : eps);
    }
  }
  return {xt, target};
}

// torch.quantile(v, q) with linear interpolation.
double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  const double pos = q * (double)(v.size() - 1);
  const size_t k = std::min((size_t)pos, v.size() - 1);
  return k + 1 < v.size() ? v[k] + (pos - (double)k) * (v[k + 1] - v[k]) : v[k];
}

double clamp(double x, double r) { return std::min(std::max(x, -r), r); }

RefTensors diffusion_step(const RefCall &r) {
  const ag_diffusion_step_args a = ag_diffusion_step_args_decode(&r.params);
  const ag_diffusion_coefs k = a.k;
  const RefTensor &x = r.in[0], &m = r.in[1], &prev = r.in[2];
  const int64_t batch = x.shape[0], n = image_size(x);
  const bool guided = m.shape[0] == 2 * batch;
  RefTensor xn = zeros(x.shape), x0 = zeros(x.shape);
  for (int64_t b = 0; b < batch; b++) {
    std::vector<double> mv((size_t)n), raw((size_t)n), absv((size_t)n);
    for (int64_t e = 0; e < n; e++) {
      const double c = m.v[(size_t)(b * n + e)];
      mv[(size_t)e] = guided ? m.v[(size_t)((batch + b) * n + e)] +
                                   a.guidance * (c - m.v[(size_t)((batch + b) * n + e)])
                             : c;
      raw[(size_t)e] = k.px * x.v[(size_t)(b * n + e)] + k.pm * mv[(size_t)e];
      absv[(size_t)e] = std::fabs(raw[(size_t)e]);
    }
    double s = 1;
    if (a.x0_mode == AG_X0_THRESHOLD)
      s = std::min(std::max(quantile(absv, a.threshold_ratio), 1.0), (double)a.sample_max);
    for (int64_t e = 0; e < n; e++) {
      const size_t i = (size_t)(b * n + e);
      double v = raw[(size_t)e];
      if (a.x0_mode == AG_X0_CLIP) v = clamp(v, a.clip_range);
      if (a.x0_mode == AG_X0_THRESHOLD) v = clamp(v, s) / s;
      x0.v[i] = v;
      xn.v[i] = k.cx * x.v[i] + k.cm * mv[(size_t)e] + k.c0 * v + k.c1 * prev.v[i] +
                (k.cn != 0 ? k.cn * noise(a.seed, a.first, b, n, e) : 0.0);
    }
  }
  return {xn, x0};
}

RefTensors cfg_combine(const RefCall &r) {
  const ag_cfg_combine_args a = ag_cfg_combine_args_decode(&r.params);
  const RefTensor &x = r.in[0];
  Shape shape = x.shape;
  shape[0] /= 2;
  RefTensor y = zeros(shape);
  const size_t half = y.v.size();
  for (size_t i = 0; i < half; i++) y.v[i] = x.v[half + i] + a.guidance * (x.v[i] - x.v[half + i]);
  return {y};
}

}  // namespace

AG_OP_REFERENCE(diffusion) {
  return {
      {AG_OP_DIFFUSION_NOISE, {diffusion_noise, nullptr}},
      {AG_OP_DIFFUSION_STEP, {diffusion_step, nullptr}},
      {AG_OP_CFG_COMBINE, {cfg_combine, nullptr}},
  };
}
